//! The data staff give with each workflow action, and its checks: the inspection visit, the
//! findings, the result, the reason of a rejection, the correction asked of the applicant.

use crate::application::{ApplicationKind, Step};
use crate::service_level::WorkingCalendar;
use crate::status::Action;
use crate::text::{FreeTextFault, free_text};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

/// A free text of staff (comment, reason, result): 1 to `max` characters, no control characters
/// but line breaks.
fn staff_text(input: &str, max: usize) -> Result<String, InvalidActionData> {
    match free_text(input, max) {
        Ok(Some(text)) => Ok(text),
        Ok(None) => Err(InvalidActionData::Empty),
        Err(FreeTextFault::TooLong) => Err(InvalidActionData::TooLong { max }),
        Err(FreeTextFault::ControlCharacters) => Err(InvalidActionData::ControlCharacters),
    }
}

pub const MAX_TEXT_CHARACTERS: usize = 2000;

/// The causes of meter damage an inspection can record (a fixed list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DamageCause {
    MechanicalDamage,
    BrokenSeal,
    Burnout,
    Overvoltage,
    WaterIngress,
    Tampering,
    ManufacturingDefect,
    WearAndTear,
    Other,
}

impl DamageCause {
    pub const ALL: [Self; 9] = [
        Self::MechanicalDamage,
        Self::BrokenSeal,
        Self::Burnout,
        Self::Overvoltage,
        Self::WaterIngress,
        Self::Tampering,
        Self::ManufacturingDefect,
        Self::WearAndTear,
        Self::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::MechanicalDamage => "mechanical-damage",
            Self::BrokenSeal => "broken-seal",
            Self::Burnout => "burnout",
            Self::Overvoltage => "overvoltage",
            Self::WaterIngress => "water-ingress",
            Self::Tampering => "tampering",
            Self::ManufacturingDefect => "manufacturing-defect",
            Self::WearAndTear => "wear-and-tear",
            Self::Other => "other",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == input)
    }
}

/// When the inspector comes: a date and a time window (Baku local time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InspectionVisit {
    pub date: NaiveDate,
    pub from: NaiveTime,
    pub to: NaiveTime,
}

/// One reading of a meter register at the inspection, in kWh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterReading {
    /// The register: `total`, `day`, `night`, `peak`…, 1 to 16 Latin letters.
    pub register: String,
    /// Whole kWh.
    pub value_kwh: i64,
}

/// What the inspection found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InspectionFindings {
    pub damage_found: bool,
    /// Required when damage was found, absent otherwise.
    pub cause: Option<DamageCause>,
    /// The number of the inspection act (akt).
    pub act_number: String,
    pub readings: Vec<MeterReading>,
}

/// The data of one action, by action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionData {
    Accept,
    ScheduleInspection(InspectionVisit),
    RecordInspection(InspectionFindings),
    Complete { result: String },
    StartReview,
    Approve,
    Reject { reason: String },
    ReturnForCorrection { steps: Vec<Step>, request: String },
}

impl ActionData {
    pub fn action(&self) -> Action {
        match self {
            Self::Accept => Action::Accept,
            Self::ScheduleInspection(_) => Action::ScheduleInspection,
            Self::RecordInspection(_) => Action::RecordInspection,
            Self::Complete { .. } => Action::Complete,
            Self::StartReview => Action::StartReview,
            Self::Approve => Action::Approve,
            Self::Reject { .. } => Action::Reject,
            Self::ReturnForCorrection { .. } => Action::ReturnForCorrection,
        }
    }
}

/// Why action data is refused; `field` names the request field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct ActionDataError {
    pub field: &'static str,
    pub problem: InvalidActionData,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidActionData {
    #[error("is required for this action")]
    Missing,
    #[error("may not be empty")]
    Empty,
    #[error("is at most {max} characters")]
    TooLong { max: usize },
    #[error("may not contain control characters")]
    ControlCharacters,
    #[error("must be a working day from today to 90 days ahead")]
    VisitNotAhead,
    #[error("the window must start before it ends, between 08:00 and 20:00")]
    BadWindow,
    #[error("a cause is given when damage was found, and only then")]
    CauseMismatch,
    #[error("a register is 1 to 16 Latin letters and a reading a whole number of kWh from 0")]
    BadReading,
    #[error("at most 8 readings, each register once")]
    TooManyReadings,
    #[error("name at least one step the applicant is to correct")]
    NoSteps,
    #[error("this step does not belong to the application's kind")]
    StepNotForKind,
    #[error("an act number is 1 to 32 Latin letters, digits, '/' and '-'")]
    BadActNumber,
}

fn at(field: &'static str) -> impl Fn(InvalidActionData) -> ActionDataError {
    move |problem| ActionDataError { field, problem }
}

/// The working hours in which visits are made.
const VISIT_DAY_START: (u32, u32) = (8, 0);
const VISIT_DAY_END: (u32, u32) = (20, 0);

/// How far ahead a visit may be scheduled.
pub const MAX_VISIT_DAYS_AHEAD: u64 = 90;

pub fn check_visit(
    visit: InspectionVisit,
    today: NaiveDate,
    calendar: &WorkingCalendar,
) -> Result<InspectionVisit, ActionDataError> {
    let horizon = today
        .checked_add_days(chrono::Days::new(MAX_VISIT_DAYS_AHEAD))
        .unwrap_or(today);
    if visit.date < today || visit.date > horizon || !calendar.is_working_day(visit.date) {
        return Err(ActionDataError {
            field: "visit.date",
            problem: InvalidActionData::VisitNotAhead,
        });
    }
    let start =
        NaiveTime::from_hms_opt(VISIT_DAY_START.0, VISIT_DAY_START.1, 0).unwrap_or_default();
    let end = NaiveTime::from_hms_opt(VISIT_DAY_END.0, VISIT_DAY_END.1, 0).unwrap_or_default();
    if !(start <= visit.from && visit.from < visit.to && visit.to <= end) {
        return Err(ActionDataError {
            field: "visit",
            problem: InvalidActionData::BadWindow,
        });
    }
    Ok(visit)
}

pub fn check_findings(findings: InspectionFindings) -> Result<InspectionFindings, ActionDataError> {
    if findings.damage_found != findings.cause.is_some() {
        return Err(ActionDataError {
            field: "findings.cause",
            problem: InvalidActionData::CauseMismatch,
        });
    }
    let act = findings.act_number.trim();
    let act_ok = (1..=32).contains(&act.len())
        && act
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '/' || c == '-');
    if !act_ok {
        return Err(ActionDataError {
            field: "findings.act_number",
            problem: InvalidActionData::BadActNumber,
        });
    }
    if findings.readings.len() > 8 {
        return Err(ActionDataError {
            field: "findings.readings",
            problem: InvalidActionData::TooManyReadings,
        });
    }
    let mut registers: Vec<&str> = Vec::new();
    for reading in &findings.readings {
        let register_ok = (1..=16).contains(&reading.register.len())
            && reading.register.chars().all(|c| c.is_ascii_alphabetic());
        if !register_ok || reading.value_kwh < 0 {
            return Err(ActionDataError {
                field: "findings.readings",
                problem: InvalidActionData::BadReading,
            });
        }
        if registers.contains(&reading.register.as_str()) {
            return Err(ActionDataError {
                field: "findings.readings",
                problem: InvalidActionData::TooManyReadings,
            });
        }
        registers.push(&reading.register);
    }
    Ok(InspectionFindings {
        act_number: act.to_owned(),
        ..findings
    })
}

/// The raw data of an action as it arrives, before checking.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawActionData {
    pub visit: Option<InspectionVisit>,
    pub findings: Option<InspectionFindings>,
    pub result: Option<String>,
    pub reason: Option<String>,
    pub correction_steps: Option<Vec<Step>>,
    pub correction_request: Option<String>,
}

/// Checks the data an action needs, for an application of `kind`, as of `now`'s date in Baku.
pub fn check_action_data(
    action: Action,
    kind: ApplicationKind,
    raw: RawActionData,
    today: NaiveDate,
    calendar: &WorkingCalendar,
) -> Result<ActionData, ActionDataError> {
    Ok(match action {
        Action::Accept => ActionData::Accept,
        Action::StartReview => ActionData::StartReview,
        Action::Approve => ActionData::Approve,
        Action::ScheduleInspection => {
            let visit = raw
                .visit
                .ok_or_else(|| at("visit")(InvalidActionData::Missing))?;
            ActionData::ScheduleInspection(check_visit(visit, today, calendar)?)
        }
        Action::RecordInspection => {
            let findings = raw
                .findings
                .ok_or_else(|| at("findings")(InvalidActionData::Missing))?;
            ActionData::RecordInspection(check_findings(findings)?)
        }
        Action::Complete => {
            let result = raw
                .result
                .ok_or_else(|| at("result")(InvalidActionData::Missing))?;
            ActionData::Complete {
                result: staff_text(&result, MAX_TEXT_CHARACTERS).map_err(at("result"))?,
            }
        }
        Action::Reject => {
            let reason = raw
                .reason
                .ok_or_else(|| at("reason")(InvalidActionData::Missing))?;
            ActionData::Reject {
                reason: staff_text(&reason, MAX_TEXT_CHARACTERS).map_err(at("reason"))?,
            }
        }
        Action::ReturnForCorrection => {
            let steps = raw.correction_steps.unwrap_or_default();
            if steps.is_empty() {
                return Err(at("correction.steps")(InvalidActionData::NoSteps));
            }
            let of_kind = |step: &Step| match kind {
                ApplicationKind::MeterDamageInvestigation => {
                    matches!(
                        step,
                        Step::Subscriber | Step::DamageDescription | Step::Contact
                    )
                }
                ApplicationKind::AccountChange => {
                    matches!(step, Step::Account | Step::Property | Step::Contact)
                }
            };
            if !steps.iter().all(of_kind) {
                return Err(at("correction.steps")(InvalidActionData::StepNotForKind));
            }
            let request = raw
                .correction_request
                .ok_or_else(|| at("correction.request")(InvalidActionData::Missing))?;
            let mut unique: Vec<Step> = Vec::with_capacity(steps.len());
            for step in steps {
                if !unique.contains(&step) {
                    unique.push(step);
                }
            }
            ActionData::ReturnForCorrection {
                steps: unique,
                request: staff_text(&request, MAX_TEXT_CHARACTERS)
                    .map_err(at("correction.request"))?,
            }
        }
        // The applicant's actions are not taken with staff data.
        Action::Create | Action::Submit | Action::Cancel | Action::Resubmit | Action::Assign => {
            return Err(at("action")(InvalidActionData::Missing));
        }
    })
}

/// A comment on a timeline entry: optional, bounded.
pub fn check_comment(comment: Option<&str>) -> Result<Option<String>, ActionDataError> {
    match comment.map(str::trim).filter(|c| !c.is_empty()) {
        None => Ok(None),
        Some(text) => staff_text(text, MAX_TEXT_CHARACTERS)
            .map(Some)
            .map_err(at("comment")),
    }
}

/// The recorded outcome of the inspection and the result, kept with the application.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    pub visit: Option<InspectionVisit>,
    pub findings: Option<InspectionFindings>,
    pub result: Option<String>,
    pub rejection_reason: Option<String>,
    /// While returned for correction: the steps to correct and what is asked.
    pub correction: Option<(Vec<Step>, String)>,
    pub decided_at: Option<DateTime<Utc>>,
}
