//! The applicant's messages, written from templates kept as files (one per language, read by the
//! API). A template is text with `{placeholders}`; `{{` and `}}` stand for literal braces. Which
//! placeholders an event may use is fixed here, and a set of templates is checked whole when the
//! service starts: every event that reaches the applicant has its SMS, subject and text in every
//! language, and every SMS fits the allowed number of segments even with the longest values.

use super::sms::{self, SmsLength};
use super::{EventFacts, EventType, Language};
use crate::application::ApplicationKind;
use std::collections::BTreeMap;

/// The values a template may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Placeholder {
    Number,
    Service,
    VisitDate,
    VisitFrom,
    VisitTo,
    Request,
    Reason,
    Result,
    Link,
    LinkExpires,
}

impl Placeholder {
    pub const ALL: [Self; 10] = [
        Self::Number,
        Self::Service,
        Self::VisitDate,
        Self::VisitFrom,
        Self::VisitTo,
        Self::Request,
        Self::Reason,
        Self::Result,
        Self::Link,
        Self::LinkExpires,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Number => "number",
            Self::Service => "service",
            Self::VisitDate => "visit_date",
            Self::VisitFrom => "visit_from",
            Self::VisitTo => "visit_to",
            Self::Request => "request",
            Self::Reason => "reason",
            Self::Result => "result",
            Self::Link => "link",
            Self::LinkExpires => "link_expires",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    /// Free text of any length goes only in e-mails: an SMS must stay within its segments.
    fn allowed_in_sms(self) -> bool {
        !matches!(
            self,
            Self::Request | Self::Reason | Self::Result | Self::LinkExpires
        )
    }

    /// Which events have this value.
    fn available_for(self, event: EventType) -> bool {
        match self {
            Self::Number | Self::Service => true,
            Self::VisitDate | Self::VisitFrom | Self::VisitTo => {
                event == EventType::InspectionScheduled
            }
            Self::Request => event == EventType::ReturnedForCorrection,
            Self::Reason => event == EventType::Rejected,
            Self::Result => event == EventType::Completed,
            Self::Link | Self::LinkExpires => event == EventType::DocumentsReady,
        }
    }
}

/// The three parts of an event's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Part {
    Sms,
    Subject,
    Text,
}

impl Part {
    pub const ALL: [Self; 3] = [Self::Sms, Self::Subject, Self::Text];

    pub fn name(self) -> &'static str {
        match self {
            Self::Sms => "sms",
            Self::Subject => "subject",
            Self::Text => "text",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(String),
    Value(Placeholder),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pieces: Vec<Piece>,
}

/// A template that cannot be used, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("{at}: missing")]
    Missing { at: String },
    #[error("{at}: unknown placeholder {{{name}}}")]
    UnknownPlaceholder { at: String, name: String },
    #[error("{at}: {{{name}}} is not available here")]
    NotAvailable { at: String, name: String },
    #[error("{at}: an unclosed or stray brace (write {{{{ or }}}} for a literal one)")]
    Brace { at: String },
    #[error("{at}: {segments} SMS segments at the longest values, at most {max} allowed")]
    TooLong {
        at: String,
        segments: usize,
        max: usize,
    },
    #[error("{at}: must not be empty")]
    Empty { at: String },
    #[error("{at}: an SMS or a subject is one line")]
    LineBreak { at: String },
}

impl Template {
    /// Parses `text` into literal pieces and placeholders. `at` names the template in errors;
    /// `allowed` says which placeholders may appear.
    fn parse(
        text: &str,
        at: &str,
        allowed: impl Fn(Placeholder) -> bool,
    ) -> Result<Self, TemplateError> {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut chars = text.chars().peekable();
        let brace = || TemplateError::Brace { at: at.to_owned() };
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    literal.push('}');
                }
                '}' => return Err(brace()),
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(c) if c.is_ascii_lowercase() || c == '_' => name.push(c),
                            _ => return Err(brace()),
                        }
                    }
                    let placeholder = Placeholder::parse(&name).ok_or_else(|| {
                        TemplateError::UnknownPlaceholder {
                            at: at.to_owned(),
                            name: name.clone(),
                        }
                    })?;
                    if !allowed(placeholder) {
                        return Err(TemplateError::NotAvailable {
                            at: at.to_owned(),
                            name,
                        });
                    }
                    if !literal.is_empty() {
                        pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                    }
                    pieces.push(Piece::Value(placeholder));
                }
                other => literal.push(other),
            }
        }
        if !literal.is_empty() {
            pieces.push(Piece::Literal(literal));
        }
        if pieces.is_empty() {
            return Err(TemplateError::Empty { at: at.to_owned() });
        }
        Ok(Self { pieces })
    }

    fn render(&self, value: impl Fn(Placeholder) -> String) -> String {
        self.pieces
            .iter()
            .map(|piece| match piece {
                Piece::Literal(text) => text.clone(),
                Piece::Value(p) => value(*p),
            })
            .collect()
    }
}

/// One language's file as read: the service names and, per event, its parts' texts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LanguageSource {
    /// By [`ApplicationKind::as_str`].
    pub services: BTreeMap<String, String>,
    /// By [`EventType::as_str`], then by [`Part::name`].
    pub events: BTreeMap<String, BTreeMap<String, String>>,
}

/// Limits an SMS template is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmsLimits {
    pub max_segments: usize,
    /// The longest document link the service makes.
    pub longest_link: usize,
}

/// The values of one message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageValues {
    pub link: Option<String>,
    pub link_expires: Option<String>,
}

/// A message ready for its channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RenderedMessage {
    Sms {
        text: String,
        length: SmsLength,
    },
    Email {
        subject: String,
        text: String,
        html: String,
    },
}

/// Every language's templates, checked.
#[derive(Debug, Clone)]
pub struct TemplateSet {
    services: BTreeMap<(Language, ApplicationKind), String>,
    templates: BTreeMap<(Language, EventType, Part), Template>,
    layout_source: String,
    limits: SmsLimits,
}

impl TemplateSet {
    /// Checks and keeps the templates; every fault found is reported.
    pub fn new(
        sources: &BTreeMap<Language, LanguageSource>,
        layout: &str,
        limits: SmsLimits,
    ) -> Result<Self, Vec<TemplateError>> {
        let mut errors = Vec::new();
        let mut services = BTreeMap::new();
        let mut templates = BTreeMap::new();
        for language in Language::ALL {
            let file = format!("{}.toml", language.as_str());
            let Some(source) = sources.get(&language) else {
                errors.push(TemplateError::Missing { at: file });
                continue;
            };
            for kind in ApplicationKind::ALL {
                match source.services.get(kind.as_str()).map(|s| s.trim()) {
                    Some(name) if !name.is_empty() => {
                        services.insert((language, kind), name.to_owned());
                    }
                    _ => errors.push(TemplateError::Missing {
                        at: format!("{file}: services.{}", kind.as_str()),
                    }),
                }
            }
            for event in EventType::ALL.into_iter().filter(|e| e.reaches_applicant()) {
                for part in Part::ALL {
                    let at = format!("{file}: events.{}.{}", event.as_str(), part.name());
                    let Some(text) = source
                        .events
                        .get(event.as_str())
                        .and_then(|parts| parts.get(part.name()))
                    else {
                        errors.push(TemplateError::Missing { at });
                        continue;
                    };
                    let text = text.trim();
                    if part != Part::Text && text.contains('\n') {
                        errors.push(TemplateError::LineBreak { at });
                        continue;
                    }
                    let allowed = |p: Placeholder| {
                        p.available_for(event) && (part != Part::Sms || p.allowed_in_sms())
                    };
                    match Template::parse(text, &at, allowed) {
                        Ok(template) => {
                            templates.insert((language, event, part), template);
                        }
                        Err(error) => errors.push(error),
                    }
                }
            }
        }
        if let Err(error) = check_layout(layout) {
            errors.push(error);
        }
        let set = Self {
            services,
            templates,
            layout_source: layout.to_owned(),
            limits,
        };
        errors.extend(set.check_sms_lengths());
        if errors.is_empty() {
            Ok(set)
        } else {
            Err(errors)
        }
    }

    /// Renders each SMS with the longest values it can get and counts its segments.
    fn check_sms_lengths(&self) -> Vec<TemplateError> {
        let mut errors = Vec::new();
        for ((language, event, part), template) in &self.templates {
            if *part != Part::Sms {
                continue;
            }
            let longest_service = ApplicationKind::ALL
                .iter()
                .filter_map(|k| self.services.get(&(*language, *k)))
                .max_by_key(|s| s.encode_utf16().count())
                .cloned()
                .unwrap_or_default();
            let text = template.render(|p| match p {
                Placeholder::Number => "MD-2026-000000000000".to_owned(),
                Placeholder::Service => longest_service.clone(),
                Placeholder::VisitDate => "2026-12-31".to_owned(),
                Placeholder::VisitFrom | Placeholder::VisitTo => "10:00".to_owned(),
                Placeholder::Link => "a".repeat(self.limits.longest_link),
                _ => String::new(),
            });
            let length = sms::measure(&text);
            if length.segments > self.limits.max_segments {
                errors.push(TemplateError::TooLong {
                    at: format!("{}.toml: events.{}.sms", language.as_str(), event.as_str()),
                    segments: length.segments,
                    max: self.limits.max_segments,
                });
            }
        }
        errors
    }

    pub fn limits(&self) -> SmsLimits {
        self.limits
    }

    /// The service's name in `language`.
    pub fn service_name(&self, language: Language, kind: ApplicationKind) -> &str {
        self.services
            .get(&(language, kind))
            .map(String::as_str)
            .unwrap_or(kind.as_str())
    }

    fn value(
        &self,
        placeholder: Placeholder,
        language: Language,
        facts: &EventFacts,
        values: &MessageValues,
    ) -> String {
        let text = |value: &Option<String>| value.clone().unwrap_or_default();
        let time = |t: Option<chrono::NaiveTime>| {
            t.map(|t| t.format("%H:%M").to_string()).unwrap_or_default()
        };
        match placeholder {
            Placeholder::Number => facts.number.as_str().to_owned(),
            Placeholder::Service => self.service_name(language, facts.kind).to_owned(),
            Placeholder::VisitDate => facts
                .visit_date
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
            Placeholder::VisitFrom => time(facts.visit_from),
            Placeholder::VisitTo => time(facts.visit_to),
            Placeholder::Request => text(&facts.correction_request),
            Placeholder::Reason => text(&facts.rejection_reason),
            Placeholder::Result => text(&facts.result),
            Placeholder::Link => text(&values.link),
            Placeholder::LinkExpires => text(&values.link_expires),
        }
    }

    /// The SMS of an event; `None` for an event the applicant is not told of.
    pub fn sms(
        &self,
        event: EventType,
        language: Language,
        facts: &EventFacts,
        values: &MessageValues,
    ) -> Option<RenderedMessage> {
        let template = self.templates.get(&(language, event, Part::Sms))?;
        let text = template.render(|p| self.value(p, language, facts, values));
        let length = sms::measure(&text);
        Some(RenderedMessage::Sms { text, length })
    }

    /// The e-mail of an event: subject, plain text, and the text as HTML in the layout.
    pub fn email(
        &self,
        event: EventType,
        language: Language,
        facts: &EventFacts,
        values: &MessageValues,
    ) -> Option<RenderedMessage> {
        let value = |p| self.value(p, language, facts, values);
        let subject = self
            .templates
            .get(&(language, event, Part::Subject))?
            .render(value);
        let text = self
            .templates
            .get(&(language, event, Part::Text))?
            .render(value);
        let html = render_layout(&self.layout_source, language, &subject, &text);
        Some(RenderedMessage::Email {
            subject,
            text,
            html,
        })
    }
}

const LAYOUT_PLACEHOLDERS: [&str; 3] = ["{lang}", "{subject}", "{body}"];

/// The layout has `{lang}`, `{subject}` and `{body}`, and no other brace.
fn check_layout(layout: &str) -> Result<(), TemplateError> {
    let mut rest = layout.to_owned();
    for placeholder in LAYOUT_PLACEHOLDERS {
        if !rest.contains(placeholder) {
            return Err(TemplateError::Missing {
                at: format!("layout.html: {placeholder}"),
            });
        }
        rest = rest.replace(placeholder, "");
    }
    if rest.contains(['{', '}']) {
        return Err(TemplateError::Brace {
            at: "layout.html".to_owned(),
        });
    }
    Ok(())
}

fn render_layout(layout: &str, language: Language, subject: &str, text: &str) -> String {
    let body: String = text
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|paragraph| {
            let lines: Vec<String> = paragraph.lines().map(escape_html).collect();
            format!("<p>{}</p>\n", lines.join("<br>\n"))
        })
        .collect();
    // One pass, so that a value containing "{body}" is never replaced again.
    let mut out = String::with_capacity(layout.len() + body.len());
    let mut rest = layout;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let (value, skip) = if tail.starts_with("{lang}") {
            (language.as_str().to_owned(), "{lang}".len())
        } else if tail.starts_with("{subject}") {
            (escape_html(subject), "{subject}".len())
        } else if tail.starts_with("{body}") {
            (body.clone(), "{body}".len())
        } else {
            ("{".to_owned(), 1)
        };
        out.push_str(&value);
        rest = &tail[skip..];
    }
    out.push_str(rest);
    out
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;
    use crate::application::ApplicationNumber;
    use crate::status::Status;

    const LAYOUT: &str = "<html lang=\"{lang}\"><title>{subject}</title><body>{body}</body></html>";

    fn source(sms: &str) -> LanguageSource {
        let mut events = BTreeMap::new();
        for event in EventType::ALL.into_iter().filter(|e| e.reaches_applicant()) {
            let mut parts = BTreeMap::new();
            parts.insert("sms".to_owned(), sms.to_owned());
            parts.insert("subject".to_owned(), "Application {number}".to_owned());
            parts.insert(
                "text".to_owned(),
                "Dear subscriber,\n\nYour application {number} ({service}).\nThanks".to_owned(),
            );
            events.insert(event.as_str().to_owned(), parts);
        }
        let services = ApplicationKind::ALL
            .iter()
            .map(|k| (k.as_str().to_owned(), format!("Service <{}>", k.as_str())))
            .collect();
        LanguageSource { services, events }
    }

    fn sources(sms: &str) -> BTreeMap<Language, LanguageSource> {
        Language::ALL.iter().map(|l| (*l, source(sms))).collect()
    }

    fn limits() -> SmsLimits {
        SmsLimits {
            max_segments: 3,
            longest_link: 150,
        }
    }

    fn facts() -> EventFacts {
        EventFacts {
            number: ApplicationNumber::new(ApplicationKind::AccountChange, 2026, 7),
            kind: ApplicationKind::AccountChange,
            status: Status::Rejected,
            applicant_pin: "5R7KQ2M".into(),
            applicant_tin: None,
            department: None,
            visit_date: None,
            visit_from: None,
            visit_to: None,
            correction_request: None,
            rejection_reason: Some("Borc <ödənilməyib>".into()),
            result: None,
        }
    }

    #[test]
    fn a_complete_set_renders_sms_and_email() {
        let set = TemplateSet::new(
            &sources("Müraciət {number} qeydə alındı."),
            LAYOUT,
            limits(),
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        let Some(RenderedMessage::Sms { text, length }) = set.sms(
            EventType::Registered,
            Language::Az,
            &facts(),
            &MessageValues::default(),
        ) else {
            panic!("no sms")
        };
        assert_eq!(text, "Müraciət AC-2026-000007 qeydə alındı.");
        assert_eq!(length.encoding, sms::SmsEncoding::Ucs2);
        let Some(RenderedMessage::Email {
            subject,
            text,
            html,
        }) = set.email(
            EventType::Registered,
            Language::En,
            &facts(),
            &MessageValues::default(),
        )
        else {
            panic!("no email")
        };
        assert_eq!(subject, "Application AC-2026-000007");
        assert!(text.contains("(Service <account-change>)"));
        assert!(html.starts_with("<html lang=\"en\"><title>Application AC-2026-000007</title>"));
        assert!(html.contains("<p>Dear subscriber,</p>"));
        assert!(html.contains("(Service &lt;account-change&gt;).<br>\nThanks"));
        assert!(
            set.sms(
                EventType::Cancelled,
                Language::Az,
                &facts(),
                &MessageValues::default()
            )
            .is_none()
        );
    }

    #[test]
    fn free_text_is_refused_in_an_sms_and_values_are_refused_where_absent() {
        let mut all = sources("{number}");
        if let Some(parts) = all
            .get_mut(&Language::Ru)
            .and_then(|s| s.events.get_mut("rejected"))
        {
            parts.insert("sms".into(), "{number}: {reason}".into());
        }
        if let Some(parts) = all
            .get_mut(&Language::En)
            .and_then(|s| s.events.get_mut("registered"))
        {
            parts.insert("text".into(), "{link}".into());
        }
        let errors = TemplateSet::new(&all, LAYOUT, limits())
            .err()
            .unwrap_or_default();
        assert_eq!(
            errors,
            vec![
                TemplateError::NotAvailable {
                    at: "en.toml: events.registered.text".into(),
                    name: "link".into()
                },
                TemplateError::NotAvailable {
                    at: "ru.toml: events.rejected.sms".into(),
                    name: "reason".into()
                },
            ]
        );
    }

    #[test]
    fn missing_parts_unknown_names_and_stray_braces_are_all_reported() {
        let mut all = sources("{number} {nonsense}");
        all.remove(&Language::Ru);
        if let Some(source) = all.get_mut(&Language::En) {
            source.events.remove("approved");
            source.services.clear();
        }
        let errors = TemplateSet::new(&all, "<html>{body}</html>", limits())
            .err()
            .unwrap_or_default();
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert!(text.contains(&"ru.toml: missing".to_owned()), "{text:?}");
        assert!(text.contains(&"en.toml: events.approved.sms: missing".to_owned()));
        assert!(text.contains(&"en.toml: services.account-change: missing".to_owned()));
        assert!(text.contains(
            &"az.toml: events.registered.sms: unknown placeholder {nonsense}".to_owned()
        ));
        assert!(
            text.contains(&"layout.html: {lang}: missing".to_owned()),
            "{text:?}"
        );
        let stray = Template::parse("a } b", "x", |_| true);
        assert_eq!(stray, Err(TemplateError::Brace { at: "x".into() }));
        let unclosed = Template::parse("a {number", "x", |_| true);
        assert_eq!(unclosed, Err(TemplateError::Brace { at: "x".into() }));
        let literal = Template::parse("{{x}}", "x", |_| true).map(|t| t.render(|_| String::new()));
        assert_eq!(literal, Ok("{x}".to_owned()));
    }

    #[test]
    fn an_sms_too_long_at_the_longest_values_is_refused() {
        let long = format!("{} {{number}}", "ə".repeat(200));
        let errors = TemplateSet::new(&sources(&long), LAYOUT, limits())
            .err()
            .unwrap_or_default();
        assert!(
            errors.iter().any(|e| matches!(
                e,
                TemplateError::TooLong {
                    segments: 3..,
                    max: 3,
                    ..
                }
            )),
            "{errors:?}"
        );
        let mut with_link = sources("{number}");
        if let Some(parts) = with_link
            .get_mut(&Language::Az)
            .and_then(|s| s.events.get_mut("documents-ready"))
        {
            parts.insert("sms".into(), "Sənədlər: {link}".into());
        }
        let tight = SmsLimits {
            max_segments: 2,
            longest_link: 150,
        };
        assert!(
            TemplateSet::new(&with_link, LAYOUT, tight).is_err(),
            "a 150-character link needs 3 UCS-2 segments"
        );
        assert!(TemplateSet::new(&with_link, LAYOUT, limits()).is_ok());
    }

    #[test]
    fn a_value_that_looks_like_a_placeholder_is_not_expanded_again() {
        let html = render_layout(LAYOUT, Language::Az, "{body}", "{lang} & <b>");
        assert_eq!(
            html,
            "<html lang=\"az\"><title>{body}</title><body><p>{lang} &amp; &lt;b&gt;</p>\n</body></html>"
        );
    }
}
