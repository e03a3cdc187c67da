//! The message templates, kept as files in `notifications/templates/notifications/` (one TOML file per
//! language and an HTML layout) and built into the binary; checked whole at start.

use domain::notifications::Language;
use domain::notifications::templates::{LanguageSource, SmsLimits, TemplateSet};
use std::collections::BTreeMap;

const AZ: &str = include_str!("../templates/notifications/az.toml");
const EN: &str = include_str!("../templates/notifications/en.toml");
const RU: &str = include_str!("../templates/notifications/ru.toml");
const LAYOUT: &str = include_str!("../templates/notifications/layout.html");

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct LanguageFile {
    services: BTreeMap<String, String>,
    events: BTreeMap<String, BTreeMap<String, String>>,
}

/// Parses and checks the built-in templates against the SMS limits.
pub fn load(limits: SmsLimits) -> Result<TemplateSet, String> {
    let mut sources = BTreeMap::new();
    for (language, text) in [(Language::Az, AZ), (Language::En, EN), (Language::Ru, RU)] {
        let file: LanguageFile = toml::from_str(text)
            .map_err(|e| format!("templates/notifications/{}.toml: {e}", language.as_str()))?;
        sources.insert(
            language,
            LanguageSource {
                services: file.services,
                events: file.events,
            },
        );
    }
    TemplateSet::new(&sources, LAYOUT, limits).map_err(|errors| {
        errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::application::{ApplicationKind, ApplicationNumber};
    use domain::notifications::templates::{MessageValues, RenderedMessage};
    use domain::notifications::{EventFacts, EventType};
    use domain::status::Status;

    #[test]
    fn the_built_in_templates_are_complete_and_fit_three_segments_with_a_long_link() {
        let set = load(SmsLimits {
            max_segments: 4,
            longest_link: 200,
        });
        assert!(set.is_ok(), "{:?}", set.err());
    }

    #[test]
    fn each_language_renders_its_own_text() {
        let Ok(set) = load(SmsLimits {
            max_segments: 4,
            longest_link: 200,
        }) else {
            unreachable!("checked above")
        };
        let facts = EventFacts {
            number: ApplicationNumber::new(ApplicationKind::MeterDamageInvestigation, 2026, 42),
            kind: ApplicationKind::MeterDamageInvestigation,
            status: Status::Submitted,
            applicant_pin: "5R7KQ2M".into(),
            applicant_tin: None,
            department: None,
            visit_date: None,
            visit_from: None,
            visit_to: None,
            correction_request: None,
            rejection_reason: None,
            result: None,
        };
        for language in Language::ALL {
            let sms = set.sms(
                EventType::Registered,
                language,
                &facts,
                &MessageValues::default(),
            );
            let Some(RenderedMessage::Sms { text, .. }) = sms else {
                unreachable!("registered has an SMS")
            };
            assert!(text.contains("MD-2026-000042"), "{language:?}: {text}");
        }
    }
}
