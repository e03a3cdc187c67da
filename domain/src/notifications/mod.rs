//! What the applicant and the integrators are told, and how: the events an application's
//! changes raise, the channels each event goes by, the fallback when a channel fails for good,
//! and the retry schedule. The dispatcher that sends them lives outside `domain`.
//!
//! Every event is written to the outbox in the same transaction as the change that raised it
//! ([`crate::ports::ApplicationStore`]); nothing is sent inside a request.

pub mod retry;
pub mod sms;
pub mod templates;

use crate::application::{Application, ApplicationKind, ApplicationNumber, TimelineEntry};
use crate::documents::NewDocument;
use crate::status::{Action, Status};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

/// Something that happened to an application that someone outside should learn of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventType {
    Registered,
    Resubmitted,
    Accepted,
    InspectionScheduled,
    Inspected,
    ReviewStarted,
    ReturnedForCorrection,
    Approved,
    Rejected,
    Completed,
    Cancelled,
    DocumentsReady,
}

impl EventType {
    pub const ALL: [Self; 12] = [
        Self::Registered,
        Self::Resubmitted,
        Self::Accepted,
        Self::InspectionScheduled,
        Self::Inspected,
        Self::ReviewStarted,
        Self::ReturnedForCorrection,
        Self::Approved,
        Self::Rejected,
        Self::Completed,
        Self::Cancelled,
        Self::DocumentsReady,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Registered => "registered",
            Self::Resubmitted => "resubmitted",
            Self::Accepted => "accepted",
            Self::InspectionScheduled => "inspection-scheduled",
            Self::Inspected => "inspected",
            Self::ReviewStarted => "review-started",
            Self::ReturnedForCorrection => "returned-for-correction",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
            Self::DocumentsReady => "documents-ready",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == input)
    }

    /// The event a timeline entry raises, if any. Creating a draft and reassigning are internal.
    pub fn of_action(action: Action) -> Option<Self> {
        Some(match action {
            Action::Submit => Self::Registered,
            Action::Resubmit => Self::Resubmitted,
            Action::Accept => Self::Accepted,
            Action::ScheduleInspection => Self::InspectionScheduled,
            Action::RecordInspection => Self::Inspected,
            Action::StartReview => Self::ReviewStarted,
            Action::ReturnForCorrection => Self::ReturnedForCorrection,
            Action::Approve => Self::Approved,
            Action::Reject => Self::Rejected,
            Action::Complete => Self::Completed,
            Action::Cancel => Self::Cancelled,
            Action::Create | Action::Assign => return None,
        })
    }

    /// The channels the applicant is told by. The seeds promise an SMS and an e-mail at
    /// registration and at the result, and the document set by SMS; the stages in between go by
    /// SMS, and what asks the applicant to act (a visit, a correction) by e-mail too. Events
    /// without channels reach only the integrators' webhooks.
    pub fn applicant_channels(self) -> &'static [Channel] {
        match self {
            Self::Registered
            | Self::InspectionScheduled
            | Self::ReturnedForCorrection
            | Self::Approved
            | Self::Rejected
            | Self::Completed => &[Channel::Sms, Channel::Email],
            Self::Resubmitted | Self::Accepted | Self::DocumentsReady => &[Channel::Sms],
            Self::Inspected | Self::ReviewStarted | Self::Cancelled => &[],
        }
    }

    /// Whether the applicant is told of this event at all (and so templates must exist).
    pub fn reaches_applicant(self) -> bool {
        !self.applicant_channels().is_empty()
    }
}

/// How a message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Channel {
    Sms,
    Email,
    Webhook,
}

impl Channel {
    pub const ALL: [Self; 3] = [Self::Sms, Self::Email, Self::Webhook];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sms => "sms",
            Self::Email => "email",
            Self::Webhook => "webhook",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == input)
    }
}

/// The language the applicant reads their messages in.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Language {
    /// Azerbaijani, the default.
    #[default]
    Az,
    En,
    Ru,
}

impl Language {
    pub const ALL: [Self; 3] = [Self::Az, Self::En, Self::Ru];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Az => "az",
            Self::En => "en",
            Self::Ru => "ru",
        }
    }

    /// A language tag such as `az`, `az-Latn-AZ`, `en-GB` or `RU`.
    pub fn parse(tag: &str) -> Option<Self> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        Self::ALL.into_iter().find(|l| l.as_str() == primary)
    }

    /// The best language of an `Accept-Language` header (RFC 9110 §12.5.4): the supported tag
    /// with the highest weight, the earlier on a tie; `None` when nothing supported is asked for
    /// (the caller then keeps Azerbaijani). Weights are compared in thousandths, as written.
    pub fn from_accept_language(header: &str) -> Option<Self> {
        let mut best: Option<(u16, Self)> = None;
        for item in header.split(',') {
            let mut parts = item.split(';');
            let Some(language) = parts.next().and_then(Self::parse) else {
                continue;
            };
            let weight = parts
                .find_map(|p| p.trim().strip_prefix("q=").map(parse_weight))
                .unwrap_or(Some(1000));
            let Some(weight) = weight.filter(|w| *w > 0) else {
                continue;
            };
            if best.is_none_or(|(w, _)| weight > w) {
                best = Some((weight, language));
            }
        }
        best.map(|(_, language)| language)
    }
}

/// A `q` value (`0`, `0.5`, `1.000`) in thousandths; `None` when malformed.
fn parse_weight(text: &str) -> Option<u16> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 3 || !fraction.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let whole: u16 = match whole {
        "0" => 0,
        "1" => 1000,
        _ => return None,
    };
    let mut thousandths = 0_u16;
    for (i, digit) in fraction.chars().enumerate() {
        let d = u16::try_from(digit.to_digit(10)?).ok()?;
        thousandths += d * [100, 10, 1].get(i).copied()?;
    }
    if whole == 1000 && thousandths > 0 {
        return None;
    }
    Some(whole + thousandths)
}

/// The facts an event's messages are made of, kept with the event so that a message can be
/// written (and rewritten for a retry or a fallback) without reading the application again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventFacts {
    pub number: ApplicationNumber,
    pub kind: ApplicationKind,
    /// The status after the change.
    pub status: Status,
    pub applicant_pin: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applicant_tin: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visit_date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visit_from: Option<NaiveTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visit_to: Option<NaiveTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correction_request: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
}

/// Where the applicant's messages go: the first mobile number of the contact step (the one the
/// applicant gave first), and the e-mail address when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipients {
    pub mobile: Option<String>,
    pub email: Option<String>,
}

impl Recipients {
    pub fn of(application: &Application) -> Self {
        let contact = application.contact.as_ref();
        Self {
            mobile: contact
                .and_then(|c| c.mobile_numbers().first())
                .map(|m| m.as_str().to_owned()),
            email: contact
                .and_then(|c| c.email())
                .map(|e| e.as_str().to_owned()),
        }
    }

    pub fn address(&self, channel: Channel) -> Option<&str> {
        match channel {
            Channel::Sms => self.mobile.as_deref(),
            Channel::Email => self.email.as_deref(),
            Channel::Webhook => None,
        }
    }
}

/// An event about to be written to the outbox with the change that raised it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub event_type: EventType,
    pub occurred_at: DateTime<Utc>,
    pub facts: EventFacts,
    pub language: Language,
    pub recipients: Recipients,
}

impl NewEvent {
    /// The applicant's messages of this event: each channel of the event for which the
    /// applicant gave an address.
    pub fn applicant_messages(&self) -> Vec<(Channel, String)> {
        self.event_type
            .applicant_channels()
            .iter()
            .filter_map(|&channel| {
                self.recipients
                    .address(channel)
                    .map(|address| (channel, address.to_owned()))
            })
            .collect()
    }
}

/// The events that `application` (as it is after the change) raises by the timeline entries
/// and documents written with it, in order: the status changes first, then "documents ready".
pub fn events_of(
    application: &Application,
    new_entries: &[TimelineEntry],
    documents: &[NewDocument],
    language: Language,
) -> Vec<NewEvent> {
    let facts = facts_of(application);
    let recipients = Recipients::of(application);
    let event = |event_type, occurred_at| NewEvent {
        event_type,
        occurred_at,
        facts: facts.clone(),
        language,
        recipients: recipients.clone(),
    };
    let mut events: Vec<NewEvent> = new_entries
        .iter()
        .filter_map(|entry| EventType::of_action(entry.action).map(|t| event(t, entry.at)))
        .collect();
    if let Some(first) = documents.first() {
        events.push(event(EventType::DocumentsReady, first.created_at));
    }
    events
}

fn facts_of(application: &Application) -> EventFacts {
    let outcome = &application.work.outcome;
    EventFacts {
        number: application.number.clone(),
        kind: application.kind(),
        status: application.status,
        applicant_pin: application.applicant.pin.as_str().to_owned(),
        applicant_tin: application
            .applicant
            .tin
            .as_ref()
            .map(|t| t.as_str().to_owned()),
        department: application
            .work
            .department
            .as_ref()
            .map(|d| d.as_str().to_owned()),
        visit_date: outcome.visit.map(|v| v.date),
        visit_from: outcome.visit.map(|v| v.from),
        visit_to: outcome.visit.map(|v| v.to),
        correction_request: outcome.correction.as_ref().map(|(_, r)| r.clone()),
        rejection_reason: outcome.rejection_reason.clone(),
        result: outcome.result.clone(),
    }
}

/// Where a message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeliveryStatus {
    /// Waiting for its (next) attempt.
    Queued,
    /// Handed to the SMTP server, the SMS gateway or the webhook receiver.
    Sent,
    /// The SMS gateway reported it delivered to the phone.
    Delivered,
    /// Given up: the attempts ran out, or the channel refused it for good.
    Failed,
}

impl DeliveryStatus {
    pub const ALL: [Self; 4] = [Self::Queued, Self::Sent, Self::Delivered, Self::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == input)
    }
}

/// A message as the timeline and the delivery log show it: the SMS, e-mail or webhook one event
/// of an application raised, and where its delivery stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageView {
    pub id: i64,
    pub application: ApplicationNumber,
    pub department: Option<String>,
    pub event_id: String,
    pub event_type: EventType,
    pub occurred_at: DateTime<Utc>,
    pub channel: Channel,
    pub recipient: String,
    pub subscription_id: Option<i64>,
    pub fallback_of: Option<i64>,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// What one attempt to send a message came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// Accepted by the other side; `reference` is its id for the message, when it gives one.
    Sent { reference: Option<String> },
    /// Worth trying again: a timeout, a refused connection, a 5xx, a 429.
    Transient(String),
    /// Trying again cannot help: a 4xx, an address the gateway refuses, a text too long.
    Permanent(String),
}

/// The other channel to tell the applicant by when `failed` failed for good: e-mail for an SMS
/// and SMS for an e-mail, when the applicant gave that address and the event has no message on
/// that channel already (it then goes anyway). Webhooks have no fallback.
pub fn fallback_channel(
    failed: Channel,
    recipients: &Recipients,
    channels_of_event: &[Channel],
) -> Option<(Channel, String)> {
    let other = match failed {
        Channel::Sms => Channel::Email,
        Channel::Email => Channel::Sms,
        Channel::Webhook => return None,
    };
    if channels_of_event.contains(&other) {
        return None;
    }
    recipients
        .address(other)
        .map(|address| (other, address.to_owned()))
}

/// A webhook subscription's filter: the event types it wants.
pub fn subscription_wants(event_types: &[EventType], event: EventType) -> bool {
    event_types.contains(&event)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_but_create_and_assign_raises_an_event() {
        for action in Action::ALL {
            let raised = EventType::of_action(action);
            assert_eq!(
                raised.is_none(),
                matches!(action, Action::Create | Action::Assign),
                "{action:?}"
            );
        }
    }

    #[test]
    fn registration_and_results_go_by_sms_and_email_documents_by_sms() {
        use EventType as E;
        for event in [E::Registered, E::Approved, E::Rejected, E::Completed] {
            assert_eq!(event.applicant_channels(), &[Channel::Sms, Channel::Email]);
        }
        assert_eq!(E::DocumentsReady.applicant_channels(), &[Channel::Sms]);
        assert!(!E::Cancelled.reaches_applicant());
    }

    #[test]
    fn names_round_trip() {
        for event in EventType::ALL {
            assert_eq!(EventType::parse(event.as_str()), Some(event));
        }
        for channel in Channel::ALL {
            assert_eq!(Channel::parse(channel.as_str()), Some(channel));
        }
        for status in DeliveryStatus::ALL {
            assert_eq!(DeliveryStatus::parse(status.as_str()), Some(status));
        }
        for language in Language::ALL {
            assert_eq!(Language::parse(language.as_str()), Some(language));
        }
    }

    #[test]
    fn accept_language_picks_the_heaviest_supported_tag() {
        let best = Language::from_accept_language;
        assert_eq!(best("ru-RU,ru;q=0.9,en;q=0.8"), Some(Language::Ru));
        assert_eq!(best("de-DE, en;q=0.5, az;q=0.7"), Some(Language::Az));
        assert_eq!(best("en-GB;q=0.3, ru;q=0.3"), Some(Language::En));
        assert_eq!(best("az-Latn-AZ"), Some(Language::Az));
        assert_eq!(best("fr, de;q=0.9"), None);
        assert_eq!(best("en;q=0, ru;q=0.001"), Some(Language::Ru));
        assert_eq!(
            best("en;q=2, ru;q=0.5"),
            Some(Language::Ru),
            "q=2 is malformed"
        );
        assert_eq!(best(""), None);
        assert_eq!(best("*"), None);
    }

    #[test]
    fn weights_parse_in_thousandths() {
        assert_eq!(parse_weight("1"), Some(1000));
        assert_eq!(parse_weight("1.000"), Some(1000));
        assert_eq!(parse_weight("0.5"), Some(500));
        assert_eq!(parse_weight("0.123"), Some(123));
        assert_eq!(parse_weight("0.1234"), None);
        assert_eq!(parse_weight("1.5"), None);
        assert_eq!(parse_weight("x"), None);
    }

    #[test]
    fn the_fallback_is_the_other_channel_when_the_event_does_not_use_it() {
        let both = Recipients {
            mobile: Some("+994501234567".into()),
            email: Some("a@example.az".into()),
        };
        assert_eq!(
            fallback_channel(Channel::Sms, &both, &[Channel::Sms]),
            Some((Channel::Email, "a@example.az".into()))
        );
        assert_eq!(
            fallback_channel(Channel::Sms, &both, &[Channel::Sms, Channel::Email]),
            None,
            "the e-mail goes anyway"
        );
        assert_eq!(
            fallback_channel(Channel::Email, &both, &[Channel::Email]),
            Some((Channel::Sms, "+994501234567".into()))
        );
        let mobile_only = Recipients {
            mobile: Some("+994501234567".into()),
            email: None,
        };
        assert_eq!(
            fallback_channel(Channel::Sms, &mobile_only, &[Channel::Sms]),
            None
        );
        assert_eq!(
            fallback_channel(Channel::Webhook, &both, &[Channel::Webhook]),
            None
        );
    }
}
