//! Response bodies, built from domain values.

use crate::problem::{DebtDetails, debt_details};
use crate::steps::{AccountSelection, Contact, Property, SubscriberSelection};
use crate::vocabulary::{
    Action, ApplicationKind, DistrictKind, LoginMethod, PropertyType, Role, Status,
};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use domain::application::{Application, MeterDamageTarget, Steps, TimelineEntry, missing_steps};
use domain::ports::{DebtStatement, HeadCodeAccount, MeteringPoint, SubscriberAccount};
use domain::service::MainInformationView;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The applicant's main information, from the state registries.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "pin": "5R7KQ2M", "first_name": "Rəşad", "last_name": "Məmmədov", "patronymic": "Vaqif oğlu",
    "birth_date": "1984-03-17", "registered_address": "Bakı şəhəri, Yasamal rayonu, Şərifzadə küç. 12, mənzil 34",
    "login_method": "asan-imza"
}))]
pub struct MainInformation {
    pub pin: String,
    pub first_name: String,
    pub last_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patronymic: Option<String>,
    pub birth_date: NaiveDate,
    pub registered_address: String,
    /// How the applicant signed in (from the token).
    pub login_method: LoginMethod,
    /// When the applicant acts for a business.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub business: Option<Business>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Business {
    #[schema(example = "1700456782")]
    pub tin: String,
    #[schema(example = "Xəzər Qida MMC")]
    pub name: String,
}

impl MainInformation {
    pub fn new(view: MainInformationView, login_method: domain::identity::LoginMethod) -> Self {
        let person = view.person;
        Self {
            pin: person.pin.to_string(),
            first_name: person.name.first_name,
            last_name: person.name.last_name,
            patronymic: person.patronymic,
            birth_date: person.birth_date,
            registered_address: person.registered_address,
            login_method: login_method.into(),
            business: view.business.map(|b| Business {
                tin: b.tin.to_string(),
                name: b.name,
            }),
        }
    }
}

/// A residential subscriber account of the applicant.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"subscriber_code": "1000000001", "holder": "Rəşad Məmmədov", "address": "Bakı şəhəri, Yasamal rayonu, Şərifzadə küç. 12, mənzil 34", "district": "AZ-BA-YSM"}))]
pub struct SubscriberAccountView {
    pub subscriber_code: String,
    /// The holder's name as billing has it.
    pub holder: String,
    pub address: String,
    pub district: String,
}

impl From<SubscriberAccount> for SubscriberAccountView {
    fn from(account: SubscriberAccount) -> Self {
        Self {
            subscriber_code: account.code.to_string(),
            holder: format!(
                "{} {}",
                account.holder_name.first_name, account.holder_name.last_name
            ),
            address: account.address,
            district: account.district.to_string(),
        }
    }
}

/// A non-residential contract of the applicant's business.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"head_code": "50000001", "contract_name": "Xəzər Qida MMC — istehsal sahəsi", "address": "Sumqayıt şəhəri, Sənaye zonası 4", "district": "AZ-SM"}))]
pub struct HeadCodeView {
    pub head_code: String,
    pub contract_name: String,
    pub address: String,
    pub district: String,
}

impl From<HeadCodeAccount> for HeadCodeView {
    fn from(account: HeadCodeAccount) -> Self {
        Self {
            head_code: account.code.to_string(),
            contract_name: account.contract_name,
            address: account.address,
            district: account.district.to_string(),
        }
    }
}

/// A metering point under a head code.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"metering_point": "50000001-02", "head_code": "50000001", "address": "Sumqayıt şəhəri, Sənaye zonası 4, sex 2", "meter_number": "MTR-0045871"}))]
pub struct MeteringPointView {
    pub metering_point: String,
    pub head_code: String,
    pub address: String,
    pub meter_number: String,
}

impl From<MeteringPoint> for MeteringPointView {
    fn from(point: MeteringPoint) -> Self {
        Self {
            metering_point: point.code.to_string(),
            head_code: point.head_code.to_string(),
            address: point.address,
            meter_number: point.meter_number,
        }
    }
}

/// The debt check of a subscriber code: the balance only, no personal data of the holder.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"subscriber_code": "1000000005", "amount_qapik": 452370, "currency": "AZN", "as_of": "2026-11-01T00:00:00Z", "has_debt": true}))]
pub struct DebtView {
    pub subscriber_code: String,
    /// Unpaid balance in qəpik (1 AZN = 100 qəpik); zero or negative (a credit) is no debt.
    pub amount_qapik: i64,
    /// Always `AZN`.
    pub currency: String,
    /// When billing stated the balance.
    pub as_of: DateTime<Utc>,
    pub has_debt: bool,
}

impl DebtView {
    pub fn new(code: &domain::codes::SubscriberCode, statement: DebtStatement) -> Self {
        Self {
            subscriber_code: code.to_string(),
            amount_qapik: statement.amount.value(),
            currency: domain::money::Qapik::CURRENCY.to_owned(),
            as_of: statement.as_of,
            has_debt: statement.amount.is_debt(),
        }
    }
}

/// A district or city.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"code": "AZ-BA-YSM", "name_az": "Yasamal", "name_en": "Yasamal", "kind": "city-district"}))]
pub struct DistrictView {
    /// Stable code: ISO 3166-2:AZ, or `AZ-BA-…` for Baku's city districts.
    pub code: String,
    pub name_az: String,
    pub name_en: String,
    pub kind: DistrictKind,
}

impl From<domain::district::District> for DistrictView {
    fn from(d: domain::district::District) -> Self {
        Self {
            code: d.code.to_owned(),
            name_az: d.name_az.to_owned(),
            name_en: d.name_en.to_owned(),
            kind: d.kind.into(),
        }
    }
}

/// One e-service of the catalogue.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceView {
    pub kind: ApplicationKind,
    pub title_az: String,
    pub title_en: String,
    pub summary: String,
    pub audience: Vec<String>,
    pub steps: Vec<ServiceStepView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceStepView {
    /// The request field that fills the step, or `main-information`.
    pub id: String,
    pub title_az: String,
    pub title_en: String,
    pub fields: Vec<ServiceFieldView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceFieldView {
    pub name: String,
    pub required: bool,
    pub format: String,
    /// The operation that lists the choices.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub choices_from: Option<String>,
}

impl From<&domain::catalogue::ServiceDescription> for ServiceView {
    fn from(s: &domain::catalogue::ServiceDescription) -> Self {
        Self {
            kind: s.kind.into(),
            title_az: s.title_az.to_owned(),
            title_en: s.title_en.to_owned(),
            summary: s.summary.to_owned(),
            audience: s.audience.iter().map(|a| (*a).to_owned()).collect(),
            steps: s
                .steps
                .iter()
                .map(|step| ServiceStepView {
                    id: step.id.to_owned(),
                    title_az: step.title_az.to_owned(),
                    title_en: step.title_en.to_owned(),
                    fields: step
                        .fields
                        .iter()
                        .map(|f| ServiceFieldView {
                            name: f.name.to_owned(),
                            required: f.required,
                            format: f.format.to_owned(),
                            choices_from: f.choices_from.map(str::to_owned),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// Who applied, and how they signed in.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicantView {
    pub pin: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tin: Option<String>,
    pub login_method: LoginMethod,
}

/// The debt check recorded with an account change.
#[derive(Debug, Serialize, ToSchema)]
pub struct DebtCheckView {
    #[serde(flatten)]
    pub balance: DebtDetails,
    /// When this service asked billing.
    pub checked_at: DateTime<Utc>,
}

/// One status change.
#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineEntryView {
    pub at: DateTime<Utc>,
    /// The PIN of the applicant, or the staff member's identifier (to applicants, only the role).
    pub actor: String,
    pub actor_role: Role,
    pub action: Action,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<Status>,
    pub to: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The SMS and e-mails that told the applicant of this change, with where each stands
    /// (when one application is read).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notifications: Vec<NotificationView>,
}

impl From<&TimelineEntry> for TimelineEntryView {
    fn from(entry: &TimelineEntry) -> Self {
        Self {
            at: entry.at,
            actor: entry.actor.id.clone(),
            actor_role: entry.actor.role.into(),
            action: entry.action.into(),
            from: entry.from.map(Into::into),
            to: entry.to.into(),
            comment: entry.comment.clone(),
            notifications: Vec::new(),
        }
    }
}

/// An application with its steps and timeline.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "number": "MD-2026-000001", "kind": "meter-damage-investigation", "status": "submitted", "status_label": "Göndərilib",
    "applicant": {"pin": "5R7KQ2M", "login_method": "asan-imza"},
    "subscriber": {"type": "residential", "subscriber_code": "1000000001"},
    "damage_description": "Sayğacın şüşəsi sınıb.",
    "contact": {"mobile_numbers": ["+994501234567"], "email": "resad.memmedov@example.az"},
    "created_at": "2026-11-23T09:00:00Z", "updated_at": "2026-11-23T09:02:00Z", "submitted_at": "2026-11-23T09:02:00Z",
    "version": 3, "missing_steps": [], "allowed_actions": ["cancel"], "language": "az",
    "timeline": [
        {"at": "2026-11-23T09:00:00Z", "actor": "5R7KQ2M", "actor_role": "applicant", "action": "create", "to": "draft"},
        {"at": "2026-11-23T09:02:00Z", "actor": "5R7KQ2M", "actor_role": "applicant", "action": "submit", "from": "draft", "to": "submitted"}
    ]
}))]
pub struct ApplicationView {
    /// Human-readable and unique: kind prefix, year, sequence.
    pub number: String,
    pub kind: ApplicationKind,
    pub status: Status,
    /// The status in the language of `Accept-Language` (Azerbaijani by default), for display.
    pub status_label: String,
    pub applicant: ApplicantView,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscriber: Option<SubscriberSelection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub damage_description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountSelection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub property: Option<Property>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub debt_check: Option<DebtCheckView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<Contact>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submitted_at: Option<DateTime<Utc>>,
    /// Grows with every change.
    pub version: i64,
    /// Steps still to fill before submitting (`subscriber`, `account`, `property`, `contact`).
    pub missing_steps: Vec<String>,
    /// What the caller may do next.
    pub allowed_actions: Vec<Action>,
    /// Every status change, oldest first.
    pub timeline: Vec<TimelineEntryView>,
    /// The company's side, once submitted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub work: Option<WorkView>,
    /// The language of the applicant's SMS and e-mails.
    pub language: crate::vocabulary::Language,
}

/// A message to the applicant (or, in the delivery log, to a webhook receiver).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 41, "event": "registered", "event_id": "0b6f2c7e-3f0c-4c35-9d8e-5b1a2f6d7c10",
    "occurred_at": "2026-11-23T09:02:00Z", "channel": "sms", "recipient": "+994*****4567",
    "status": "sent", "attempts": 1, "updated_at": "2026-11-23T09:02:01Z", "sent_at": "2026-11-23T09:02:01Z"
}))]
pub struct NotificationView {
    pub id: i64,
    /// The timeline event it tells of.
    pub event: crate::vocabulary::EventType,
    /// The event's id, the same on every channel and in webhooks.
    pub event_id: String,
    pub occurred_at: DateTime<Utc>,
    pub channel: crate::vocabulary::Channel,
    /// The mobile number or e-mail address, partly masked; the URL for a webhook.
    pub recipient: String,
    pub status: crate::vocabulary::DeliveryStatus,
    /// Attempts made in the current round.
    pub attempts: u32,
    /// Why the last attempt failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When a queued message is tried next.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The failed message on the other channel that this one stands in for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback_of: Option<i64>,
    pub updated_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<DateTime<Utc>>,
    /// The application it is about (in staff lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application: Option<String>,
}

/// Hides the middle of a mobile number or the name of an e-mail address: enough to recognise
/// one's own, not enough to learn someone else's.
pub fn mask_recipient(channel: domain::notifications::Channel, recipient: &str) -> String {
    use domain::notifications::Channel;
    match channel {
        Channel::Webhook => recipient.to_owned(),
        Channel::Sms => {
            let chars: Vec<char> = recipient.chars().collect();
            let keep_start = chars.len().min(4);
            let keep_end = chars.len().saturating_sub(keep_start).min(4);
            let hidden = chars.len() - keep_start - keep_end;
            let start: String = chars.iter().take(keep_start).collect();
            let end: String = chars.iter().skip(keep_start + hidden).collect();
            format!("{start}{}{end}", "*".repeat(hidden))
        }
        Channel::Email => match recipient.split_once('@') {
            Some((name, domain)) => {
                let first: String = name.chars().take(1).collect();
                format!("{first}***@{domain}")
            }
            None => "***".to_owned(),
        },
    }
}

impl ApplicationView {
    /// Puts each message on the timeline entry whose change raised its event: the entry of the
    /// same time whose action raises that event ("documents ready" goes with the decision).
    /// Applicants see where a message stands, not the other side's error text.
    pub fn attach_notifications(
        &mut self,
        application: &Application,
        messages: &[persistence::outbox::MessageView],
        caller: domain::identity::Role,
    ) {
        use domain::notifications::EventType;
        for message in messages {
            let entries = application.timeline.iter().enumerate().rev();
            let mut earlier = entries.filter(|(_, e)| e.at <= message.occurred_at);
            let raised = |entry: &TimelineEntry| {
                message.event_type == EventType::DocumentsReady
                    || EventType::of_action(entry.action) == Some(message.event_type)
            };
            let index = earlier
                .clone()
                .find(|(_, e)| raised(e))
                .or_else(|| earlier.next())
                .map(|(i, _)| i);
            let Some(entry) = index
                .or(self.timeline.len().checked_sub(1))
                .and_then(|i| self.timeline.get_mut(i))
            else {
                continue;
            };
            let mut view = NotificationView::new(message, false);
            if caller == domain::identity::Role::Applicant {
                view.last_error = None;
            }
            entry.notifications.push(view);
        }
    }
}

impl NotificationView {
    pub fn new(message: &persistence::outbox::MessageView, with_application: bool) -> Self {
        Self {
            id: message.id,
            event: message.event_type.into(),
            event_id: message.event_id.clone(),
            occurred_at: message.occurred_at,
            channel: message.channel.into(),
            recipient: mask_recipient(message.channel, &message.recipient),
            status: message.status.into(),
            attempts: message.attempts,
            last_error: message.last_error.clone(),
            next_attempt_at: message.next_attempt_at,
            fallback_of: message.fallback_of,
            updated_at: message.updated_at,
            sent_at: message.sent_at,
            delivered_at: message.delivered_at,
            application: with_application.then(|| message.application.to_string()),
        }
    }
}

/// Where the application is worked, until when, and what came of it.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkView {
    /// The district it is routed by.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub district: Option<String>,
    /// The department working it; absent while no department serves the district.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// The operator it is assigned to (shown to staff only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    /// When it is due: the end of the last working day of its service level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inspection_visit: Option<InspectionVisitView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inspection_findings: Option<InspectionFindingsView>,
    /// The result of a completed meter damage investigation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejection_reason: Option<String>,
    /// While returned: what the applicant is asked to correct.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correction: Option<CorrectionView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<DateTime<Utc>>,
}

/// When the inspector comes (Baku time).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"date": "2026-11-26", "from": "10:00:00", "to": "13:00:00"}))]
pub struct InspectionVisitView {
    pub date: NaiveDate,
    /// `HH:MM:SS` (or `HH:MM`).
    #[schema(value_type = String, example = "10:00:00", pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,9})?)?$")]
    pub from: NaiveTime,
    /// `HH:MM:SS` (or `HH:MM`).
    #[schema(value_type = String, example = "13:00:00", pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,9})?)?$")]
    pub to: NaiveTime,
}

/// One meter register read at the inspection.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeterReadingView {
    /// `total`, `day`, `night`, `peak`…
    #[schema(example = "total", max_length = 16)]
    pub register: String,
    /// Whole kWh.
    #[schema(example = 12345, minimum = 0)]
    pub value_kwh: i64,
}

/// What the inspection found.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"damage_found": true, "cause": "broken-seal", "act_number": "AKT-2026/0457", "readings": [{"register": "total", "value_kwh": 12345}]}))]
pub struct InspectionFindingsView {
    pub damage_found: bool,
    /// Required when damage was found, absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<crate::vocabulary::DamageCause>,
    #[schema(max_length = 32)]
    pub act_number: String,
    /// At most 8, each register once.
    #[serde(default)]
    #[schema(max_items = 8)]
    pub readings: Vec<MeterReadingView>,
}

/// What the applicant is asked to correct.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"steps": ["contact"], "request": "Mobil nömrə aktiv deyil, zəhmət olmasa düzəldin."}))]
pub struct CorrectionView {
    /// At least one; a step named twice counts once.
    #[schema(min_items = 1)]
    pub steps: Vec<crate::vocabulary::Step>,
    #[schema(max_length = 2000)]
    pub request: String,
}

impl WorkView {
    fn new(work: &domain::application::Work, for_staff: bool) -> Self {
        let outcome = &work.outcome;
        Self {
            district: work.district.map(|d| d.to_string()),
            department: work.department.as_ref().map(ToString::to_string),
            assignee: work.assignee.clone().filter(|_| for_staff),
            due_at: work.due_at,
            inspection_visit: outcome.visit.map(|v| InspectionVisitView {
                date: v.date,
                from: v.from,
                to: v.to,
            }),
            inspection_findings: outcome.findings.as_ref().map(|f| InspectionFindingsView {
                damage_found: f.damage_found,
                cause: f.cause.map(Into::into),
                act_number: f.act_number.clone(),
                readings: f
                    .readings
                    .iter()
                    .map(|r| MeterReadingView {
                        register: r.register.clone(),
                        value_kwh: r.value_kwh,
                    })
                    .collect(),
            }),
            result: outcome.result.clone(),
            rejection_reason: outcome.rejection_reason.clone(),
            correction: outcome
                .correction
                .as_ref()
                .map(|(steps, request)| CorrectionView {
                    steps: steps.iter().copied().map(Into::into).collect(),
                    request: request.clone(),
                }),
            decided_at: outcome.decided_at,
        }
    }
}

fn subscriber_of(target: &MeterDamageTarget) -> SubscriberSelection {
    match target {
        MeterDamageTarget::Residential { subscriber_code } => SubscriberSelection::Residential {
            subscriber_code: subscriber_code.to_string(),
        },
        MeterDamageTarget::NonResidential {
            head_code,
            metering_point,
        } => SubscriberSelection::NonResidential {
            head_code: head_code.to_string(),
            metering_point: metering_point.to_string(),
        },
    }
}

impl ApplicationView {
    pub fn new(
        application: &Application,
        caller: domain::identity::Role,
        language: domain::notifications::Language,
    ) -> Self {
        let mut view = Self {
            number: application.number.to_string(),
            kind: application.kind().into(),
            status: application.status.into(),
            status_label: crate::translations::status_label(application.status, language)
                .to_owned(),
            applicant: ApplicantView {
                pin: application.applicant.pin.to_string(),
                tin: application.applicant.tin.as_ref().map(ToString::to_string),
                login_method: application.applicant.login_method.into(),
            },
            subscriber: None,
            damage_description: None,
            account: None,
            property: None,
            debt_check: None,
            contact: application.contact.as_ref().map(|c| Contact {
                mobile_numbers: c.mobile_numbers().iter().map(ToString::to_string).collect(),
                email: c.email().map(ToString::to_string),
            }),
            created_at: application.created_at,
            updated_at: application.updated_at,
            submitted_at: application.submitted_at,
            version: application.version,
            missing_steps: if application.status.is_editable_by_applicant() {
                missing_steps(&application.steps, application.contact.as_ref())
                    .iter()
                    .map(|s| s.field().to_owned())
                    .collect()
            } else {
                Vec::new()
            },
            allowed_actions: domain::status::allowed_actions(
                application.kind(),
                application.status,
                caller,
            )
            .into_iter()
            .map(Into::into)
            .collect(),
            timeline: application
                .timeline
                .iter()
                .map(|entry| {
                    let mut view = TimelineEntryView::from(entry);
                    // Applicants see who acted by role; the staff's identifiers stay internal.
                    if caller == domain::identity::Role::Applicant
                        && entry.actor.role != domain::identity::Role::Applicant
                    {
                        view.actor = entry.actor.role.as_str().to_owned();
                    }
                    view
                })
                .collect(),
            language: application.language.into(),
            work: (application.status != domain::status::Status::Draft).then(|| {
                WorkView::new(
                    &application.work,
                    caller != domain::identity::Role::Applicant,
                )
            }),
        };
        match &application.steps {
            Steps::MeterDamage {
                target,
                description,
            } => {
                view.subscriber = target.as_ref().map(subscriber_of);
                view.damage_description = description.as_ref().map(|d| d.as_str().to_owned());
            }
            Steps::AccountChange {
                account,
                property,
                debt_check,
            } => {
                view.account = account.as_ref().map(|a| AccountSelection {
                    variant: a.variant.into(),
                    subscriber_code: a.subscriber_code.to_string(),
                });
                view.property = property.as_ref().map(|p| Property {
                    district: p.key.district.to_string(),
                    registry_number: p.key.registry_number.to_string(),
                    registration_number: p.key.registration_number.to_string(),
                    property_type: PropertyType::from(p.property_type),
                });
                view.debt_check = debt_check.map(|check| DebtCheckView {
                    balance: debt_details(check.amount, check.as_of),
                    checked_at: check.checked_at,
                });
            }
        }
        view
    }
}

/// One line of "My applications".
#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationSummary {
    pub number: String,
    pub kind: ApplicationKind,
    pub status: Status,
    /// The status in the language of `Accept-Language` (Azerbaijani by default), for display.
    pub status_label: String,
    /// The subscriber code or metering point the application is about, once chosen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submitted_at: Option<DateTime<Utc>>,
}

impl ApplicationSummary {
    pub fn new(
        application: &domain::ports::ApplicationSummary,
        language: domain::notifications::Language,
    ) -> Self {
        Self {
            number: application.number.to_string(),
            kind: application.kind.into(),
            status: application.status.into(),
            status_label: crate::translations::status_label(application.status, language)
                .to_owned(),
            target: application.target.clone(),
            created_at: application.created_at,
            updated_at: application.updated_at,
            submitted_at: application.submitted_at,
        }
    }
}

/// A page of "My applications", newest first.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "items": [{"number": "MD-2026-000001", "kind": "meter-damage-investigation", "status": "submitted", "status_label": "Göndərilib", "target": "1000000001", "created_at": "2026-11-23T09:00:00Z", "updated_at": "2026-11-23T09:02:00Z", "submitted_at": "2026-11-23T09:02:00Z"}],
    "total": 1, "limit": 20
}))]
pub struct ApplicationList {
    pub items: Vec<ApplicationSummary>,
    /// How many applications match the filters, on all pages.
    pub total: u64,
    pub limit: u32,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}
