//! The answers' shapes, the same JSON as the service's (api/src/responses.rs), and the small pure
//! rules they need: the cursor, the status labels, the applicant's next actions, the masking of
//! recipients, the due time, the parsing of a contact.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Datelike, Days, FixedOffset, NaiveDate, NaiveTime, Utc, Weekday};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The service's cursor: `after:<id>`, base64url without padding (api/src/routes/applications.rs).
pub fn encode_cursor(after: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("after:{after}"))
}

pub fn decode_cursor(cursor: &str) -> Option<i64> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    String::from_utf8(bytes)
        .ok()?
        .strip_prefix("after:")?
        .parse()
        .ok()
}

/// The status in Azerbaijani (api/src/translations.rs, `status_label`, the default language).
pub fn status_label(status: &str) -> &'static str {
    match status {
        "draft" => "Qaralama",
        "submitted" => "Göndərilib",
        "accepted" => "Qəbul edilib",
        "inspection-scheduled" => "Baxış təyin edilib",
        "inspected" => "Baxış keçirilib",
        "under-review" => "Baxılır",
        "returned-for-correction" => "Düzəliş üçün qaytarılıb",
        "completed" => "Başa çatıb",
        "approved" => "Təsdiq edilib",
        "rejected" => "İmtina edilib",
        "cancelled" => "Ləğv edilib",
        _ => "",
    }
}

/// What an applicant may do next (domain/src/status.rs, `allowed_actions` for the applicant
/// role, in the order of `Action::ALL`).
pub fn applicant_actions(status: &str) -> Vec<&'static str> {
    match status {
        "draft" => vec!["submit", "cancel"],
        "submitted" => vec!["cancel"],
        "returned-for-correction" => vec!["cancel", "resubmit"],
        _ => Vec::new(),
    }
}

/// The event a timeline action raises (domain/src/notifications, `EventType::of_action`).
pub fn event_of_action(action: &str) -> Option<&'static str> {
    Some(match action {
        "submit" => "registered",
        "resubmit" => "resubmitted",
        "accept" => "accepted",
        "schedule-inspection" => "inspection-scheduled",
        "record-inspection" => "inspected",
        "start-review" => "review-started",
        "return-for-correction" => "returned-for-correction",
        "approve" => "approved",
        "reject" => "rejected",
        "complete" => "completed",
        "cancel" => "cancelled",
        _ => return None,
    })
}

/// Hides the middle of a mobile number or the name of an e-mail address (api/src/responses.rs,
/// `mask_recipient`).
pub fn mask_recipient(channel: &str, recipient: &str) -> String {
    match channel {
        "sms" => {
            let chars: Vec<char> = recipient.chars().collect();
            let keep_start = chars.len().min(4);
            let keep_end = chars.len().saturating_sub(keep_start).min(4);
            let hidden = chars.len() - keep_start - keep_end;
            let start: String = chars.iter().take(keep_start).collect();
            let end: String = chars.iter().skip(keep_start + hidden).collect();
            format!("{start}{}{end}", "*".repeat(hidden))
        }
        "email" => match recipient.split_once('@') {
            Some((name, domain)) => {
                let first: String = name.chars().take(1).collect();
                format!("{first}***@{domain}")
            }
            None => "***".to_owned(),
        },
        _ => recipient.to_owned(),
    }
}

/// Working days: Monday to Friday less the holidays; days are Baku's (UTC+4).
#[derive(Debug, Clone, Default)]
pub struct Calendar {
    pub holidays: BTreeSet<NaiveDate>,
}

const BAKU_OFFSET_SECONDS: i32 = 4 * 3600;

impl Calendar {
    fn working(&self, date: NaiveDate) -> bool {
        !matches!(date.weekday(), Weekday::Sat | Weekday::Sun) && !self.holidays.contains(&date)
    }

    /// The end (Baku midnight) of the `days`-th working day after the Baku date of `start`
    /// (domain/src/service_level.rs, `due_after`).
    pub fn due_after(&self, start: DateTime<Utc>, days: u32) -> DateTime<Utc> {
        let Some(baku) = FixedOffset::east_opt(BAKU_OFFSET_SECONDS) else {
            return start;
        };
        let mut current = start.with_timezone(&baku).date_naive();
        while days == 0 && !self.working(current) {
            current = current.checked_add_days(Days::new(1)).unwrap_or(current);
        }
        let mut left = days;
        while left > 0 {
            current = current.checked_add_days(Days::new(1)).unwrap_or(current);
            if self.working(current) {
                left -= 1;
            }
        }
        let end = current.checked_add_days(Days::new(1)).unwrap_or(current);
        end.and_hms_opt(0, 0, 0)
            .and_then(|midnight| midnight.and_local_timezone(baku).single())
            .map_or(start, |local| local.with_timezone(&Utc))
    }
}

/// A mobile number in E.164 (domain/src/contact.rs, `MobileNumber::parse`).
pub fn mobile_number(input: &str) -> Option<String> {
    const OPERATORS: [&str; 8] = ["10", "50", "51", "55", "60", "70", "77", "99"];
    let trimmed = input.trim();
    let (plus, body) = match trimmed.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, trimmed),
    };
    let mut digits = String::with_capacity(body.len());
    for c in body.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '(' | ')' | '.' => {}
            _ => return None,
        }
    }
    let national = if plus {
        digits.strip_prefix("994")
    } else if let Some(rest) = digits.strip_prefix("00994") {
        Some(rest)
    } else if digits.len() == 12 {
        digits.strip_prefix("994")
    } else if digits.len() == 10 {
        digits.strip_prefix('0')
    } else {
        Some(digits.as_str())
    }?;
    (national.len() == 9 && OPERATORS.contains(&national.get(..2)?))
        .then(|| format!("+994{national}"))
}

/// An e-mail address with its domain in lower case (domain/src/contact.rs, `EmailAddress`).
pub fn email_address(input: &str) -> Option<String> {
    let candidate = input.trim();
    if candidate.len() > 254 {
        return None;
    }
    let (local, domain) = candidate.split_once('@')?;
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_alphabetic()));
    (local_ok && domain_ok).then(|| format!("{local}@{}", domain.to_ascii_lowercase()))
}

/// A free text too long or with control characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidText;

/// A free text: trimmed, at most `max` characters, no control characters but line breaks and
/// tabs; `Ok(None)` when empty.
pub fn free_text(input: &str, max: usize) -> Result<Option<String>, InvalidText> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    if trimmed.chars().count() > max
        || trimmed
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(InvalidText);
    }
    Ok(Some(trimmed.to_owned()))
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Subscriber {
    Residential {
        subscriber_code: String,
    },
    NonResidential {
        head_code: String,
        metering_point: String,
    },
}

#[derive(Debug, Serialize)]
pub struct Account {
    pub variant: String,
    pub subscriber_code: String,
}

#[derive(Debug, Serialize)]
pub struct Property {
    pub district: String,
    pub registry_number: String,
    pub registration_number: String,
    pub property_type: String,
}

#[derive(Debug, Serialize)]
pub struct DebtCheck {
    pub amount_qapik: i64,
    pub currency: &'static str,
    pub as_of: DateTime<Utc>,
    pub checked_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    pub mobile_numbers: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Applicant {
    pub pin: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tin: Option<String>,
    pub login_method: String,
}

#[derive(Debug, Serialize)]
pub struct Notification {
    pub id: i64,
    pub event: String,
    pub event_id: String,
    pub occurred_at: DateTime<Utc>,
    pub channel: String,
    pub recipient: String,
    pub status: String,
    pub attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback_of: Option<i64>,
    pub updated_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize)]
pub struct TimelineEntry {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub actor_role: String,
    pub action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    pub to: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notifications: Vec<Notification>,
}

#[derive(Debug, Serialize)]
pub struct Visit {
    pub date: NaiveDate,
    pub from: NaiveTime,
    pub to: NaiveTime,
}

#[derive(Debug, Serialize)]
pub struct Reading {
    pub register: String,
    pub value_kwh: i64,
}

#[derive(Debug, Serialize)]
pub struct Findings {
    pub damage_found: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    pub act_number: String,
    pub readings: Vec<Reading>,
}

#[derive(Debug, Serialize)]
pub struct Correction {
    pub steps: Vec<String>,
    pub request: String,
}

/// The company's side; the assignee is never shown to applicants.
#[derive(Debug, Default, Serialize)]
pub struct Work {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub district: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inspection_visit: Option<Visit>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inspection_findings: Option<Findings>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejection_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correction: Option<Correction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<DateTime<Utc>>,
}

/// An application as its applicant reads it (the service's `ApplicationView`).
#[derive(Debug, Serialize)]
pub struct ApplicationView {
    pub number: String,
    pub kind: String,
    pub status: String,
    pub status_label: &'static str,
    pub applicant: Applicant,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscriber: Option<Subscriber>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub damage_description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<Account>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub property: Option<Property>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub debt_check: Option<DebtCheck>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<Contact>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submitted_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub missing_steps: Vec<&'static str>,
    pub allowed_actions: Vec<&'static str>,
    pub timeline: Vec<TimelineEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub work: Option<Work>,
    pub language: String,
}

impl ApplicationView {
    /// Puts each message on the timeline entry whose change raised its event (the service's
    /// `attach_notifications`): the latest entry at or before the message's event that raises
    /// that event, else the latest entry before it, else the last.
    pub fn attach(&mut self, messages: Vec<Notification>) {
        for message in messages {
            let earlier = self
                .timeline
                .iter()
                .enumerate()
                .rev()
                .filter(|(_, e)| e.at <= message.occurred_at);
            let raised = |e: &TimelineEntry| {
                message.event == "documents-ready"
                    || event_of_action(&e.action) == Some(message.event.as_str())
            };
            let index = earlier
                .clone()
                .find(|(_, e)| raised(e))
                .or_else(|| earlier.clone().next())
                .map(|(i, _)| i)
                .or(self.timeline.len().checked_sub(1));
            if let Some(entry) = index.and_then(|i| self.timeline.get_mut(i)) {
                entry.notifications.push(message);
            }
        }
    }
}

/// One line of "My applications" (the service's `ApplicationSummary`).
#[derive(Debug, Serialize)]
pub struct Summary {
    pub number: String,
    pub kind: String,
    pub status: String,
    pub status_label: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submitted_at: Option<DateTime<Utc>>,
}

/// A page of "My applications" (the service's `ApplicationList`).
#[derive(Debug, Serialize)]
pub struct Page {
    pub items: Vec<Summary>,
    pub total: u64,
    pub limit: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// An RFC 9457 problem, in Azerbaijani as the service answers by default.
#[derive(Debug, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    pub code: &'static str,
}

impl Problem {
    pub fn new(code: &'static str, status: u16, title: &'static str) -> Self {
        Self {
            problem_type: format!("urn:azerisiq:eservices:problem:{code}"),
            title,
            status,
            detail: title.to_owned(),
            code,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests fail by panicking")]
mod tests {
    use super::*;

    #[test]
    fn cursors_are_the_services() {
        // base64url("after:42"), as the service gives it out.
        assert_eq!(encode_cursor(42), "YWZ0ZXI6NDI");
        assert_eq!(decode_cursor(&encode_cursor(9_876_543)), Some(9_876_543));
        assert_eq!(decode_cursor("NDI"), None);
        assert_eq!(decode_cursor("!!"), None);
    }

    #[test]
    fn labels_and_actions() {
        assert_eq!(status_label("submitted"), "Göndərilib");
        assert_eq!(status_label("completed"), "Başa çatıb");
        assert_eq!(applicant_actions("draft"), ["submit", "cancel"]);
        assert_eq!(applicant_actions("submitted"), ["cancel"]);
        assert!(applicant_actions("completed").is_empty());
    }

    #[test]
    fn contacts_are_normalised_as_the_service_does() {
        assert_eq!(
            mobile_number("050 123 45 67").as_deref(),
            Some("+994501234567")
        );
        assert_eq!(
            mobile_number("+994 55 123 45 67").as_deref(),
            Some("+994551234567")
        );
        assert_eq!(mobile_number("040 123 45 67"), None);
        assert_eq!(
            email_address(" Abonent@Example.AZ ").as_deref(),
            Some("Abonent@example.az")
        );
        assert_eq!(email_address("no-at-sign"), None);
        assert_eq!(mask_recipient("sms", "+994501234567"), "+994*****4567");
        assert_eq!(
            mask_recipient("email", "abonent@example.az"),
            "a***@example.az"
        );
    }

    #[test]
    fn due_after_counts_working_days_in_baku() {
        let calendar = Calendar::default();
        // Friday 2026-12-04 10:00 in Baku; one working day: the end of Monday, Baku time.
        let friday = DateTime::parse_from_rfc3339("2026-12-04T06:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            calendar.due_after(friday, 1).to_rfc3339(),
            "2026-12-07T20:00:00+00:00"
        );
    }

    #[test]
    fn a_summary_has_the_services_shape() {
        let at = DateTime::parse_from_rfc3339("2026-11-23T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let page = Page {
            items: vec![Summary {
                number: "MD-2026-000001".to_owned(),
                kind: "meter-damage-investigation".to_owned(),
                status: "submitted".to_owned(),
                status_label: status_label("submitted"),
                target: Some("1000000001".to_owned()),
                created_at: at,
                updated_at: at,
                submitted_at: Some(at),
            }],
            total: 1,
            limit: 20,
            next_cursor: None,
        };
        assert_eq!(
            serde_json::to_string(&page).unwrap(),
            r#"{"items":[{"number":"MD-2026-000001","kind":"meter-damage-investigation","status":"submitted","status_label":"Göndərilib","target":"1000000001","created_at":"2026-11-23T09:00:00Z","updated_at":"2026-11-23T09:00:00Z","submitted_at":"2026-11-23T09:00:00Z"}],"total":1,"limit":20}"#
        );
    }
}
