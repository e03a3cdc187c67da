//! The applicant's use cases. Each reads the facts it needs through the ports, asks the rules for
//! a decision, and stores the decision with one call to the store (one transaction).

use crate::account_change::{self, AccountChangeRefusal};
use crate::application::Work;
use crate::application::{
    AccountSelection, Actor, Application, ApplicationKind, ApplicationNumber, DamageDescription,
    DebtCheck, MeterDamageTarget, NewApplication, Step, Steps, TimelineEntry, missing_steps,
};
use crate::codes::{HeadCode, SubscriberCode};
use crate::contact::ContactInformation;
use crate::district::DistrictCode;
use crate::identity::{Applicant, Role, Tin};
use crate::meter_damage::{self, MeterDamageRefusal};
use crate::notifications::Language;
use crate::ports::{
    ApplicationStore, Billing, BusinessInformation, CitizenRegistry, Clock, DebtStatement,
    DepartmentDirectory, HeadCodeAccount, MainInformation, MeteringPoint, PropertyRegistry,
    StoreError, SubscriberAccount, Unavailable,
};
use crate::property::PropertyData;
use crate::routing::{application_district, route};
use crate::service_level::ServiceLevels;
use crate::status::{Action, Status, TransitionError, next_status};
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// Why a use case did not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    #[error("no such application")]
    ApplicationNotFound,
    #[error("the citizen registry has no person with this PIN")]
    PersonNotInRegistry,
    #[error("a business is needed: sign in with its taxpayer number (VÖEN)")]
    BusinessRequired,
    #[error("you are not a representative of the business {0}")]
    NotARepresentative(Tin),
    #[error("head code {0} is not a contract of your business")]
    HeadCodeNotYours(HeadCode),
    #[error("subscriber code {0} is not known to billing")]
    SubscriberCodeUnknown(SubscriberCode),
    #[error("the {step} step does not belong to a {kind} application", step = .step.field(), kind = .kind.as_str())]
    StepNotForKind { step: Step, kind: ApplicationKind },
    #[error("the application cannot be changed while it is {}", .0.as_str())]
    NotEditable(Status),
    #[error("the application is incomplete")]
    Incomplete(Vec<Step>),
    #[error(transparent)]
    MeterDamage(#[from] MeterDamageRefusal),
    #[error(transparent)]
    AccountChange(#[from] AccountChangeRefusal),
    /// The number is given when the open application is the applicant's own; another person's
    /// number is not revealed.
    #[error("an application for this target is already open")]
    OpenApplicationExists { yours: Option<ApplicationNumber> },
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error("the application was changed meanwhile; read it again")]
    VersionConflict,
    #[error("the application has changed since it was read; read it again and retry")]
    StaleVersion,
    #[error("no such document")]
    DocumentNotFound,
    #[error(transparent)]
    ActionData(#[from] crate::workflow::ActionDataError),
    #[error("no department {0} works applications of this kind")]
    UnknownDepartment(crate::routing::DepartmentCode),
    #[error("an operator's token must name the department")]
    NoDepartment,
    #[error("this operation is for staff")]
    ForbiddenRole,
    #[error("reassign with the assignment operation")]
    UseAssignment,
    #[error("the {step} step was not asked to be corrected", step = .0.field())]
    StepNotRequested(Step),
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
}

impl From<StoreError> for ServiceError {
    fn from(error: StoreError) -> Self {
        match error {
            // Without knowing who asks, nobody's number is revealed; see `conflict_for`.
            StoreError::OpenApplicationExists(_) => Self::OpenApplicationExists { yours: None },
            StoreError::VersionConflict => Self::VersionConflict,
            StoreError::NotFound => Self::ApplicationNotFound,
            StoreError::Unavailable(unavailable) => Self::Unavailable(unavailable),
        }
    }
}

/// Changes to the steps of a draft, already parsed into domain types. `None` leaves a step as it
/// is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepChanges {
    pub subscriber: Option<MeterDamageTarget>,
    /// `Some(None)` removes the description.
    pub damage_description: Option<Option<DamageDescription>>,
    pub account: Option<AccountSelection>,
    pub property: Option<PropertyData>,
    pub contact: Option<ContactInformation>,
}

impl StepChanges {
    /// The steps these changes touch.
    pub fn steps(&self) -> Vec<Step> {
        [
            self.subscriber.as_ref().map(|_| Step::Subscriber),
            self.damage_description
                .as_ref()
                .map(|_| Step::DamageDescription),
            self.account.as_ref().map(|_| Step::Account),
            self.property.as_ref().map(|_| Step::Property),
            self.contact.as_ref().map(|_| Step::Contact),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

/// The applicant's main information, and the business when acting for one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MainInformationView {
    pub person: MainInformation,
    pub business: Option<BusinessInformation>,
}

/// The ports the use cases run on.
#[derive(Clone)]
pub struct Ports {
    pub citizens: Arc<dyn CitizenRegistry>,
    pub billing: Arc<dyn Billing>,
    pub properties: Arc<dyn PropertyRegistry>,
    pub departments: Arc<dyn DepartmentDirectory>,
    pub store: Arc<dyn ApplicationStore>,
    pub clock: Arc<dyn Clock>,
    pub service_levels: ServiceLevels,
    pub renderer: Arc<dyn crate::documents::DocumentRenderer>,
}

impl std::fmt::Debug for Ports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ports").finish_non_exhaustive()
    }
}

/// The applicant's side of both e-services.
#[derive(Debug, Clone)]
pub struct ApplicantService {
    ports: Ports,
}

impl ApplicantService {
    pub fn new(ports: Ports) -> Self {
        Self { ports }
    }

    /// "Main information": from the citizen registry by PIN, with the business when the applicant
    /// acts for one.
    pub fn main_information(
        &self,
        applicant: &Applicant,
    ) -> Result<MainInformationView, ServiceError> {
        let person = self.person(applicant)?;
        let business = match &applicant.tin {
            Some(_) => Some(self.business_of(applicant)?),
            None => None,
        };
        Ok(MainInformationView { person, business })
    }

    pub fn subscriber_accounts(
        &self,
        applicant: &Applicant,
    ) -> Result<Vec<SubscriberAccount>, ServiceError> {
        Ok(self.ports.billing.residential_accounts(&applicant.pin)?)
    }

    pub fn head_codes(&self, applicant: &Applicant) -> Result<Vec<HeadCodeAccount>, ServiceError> {
        let business = self.business_of(applicant)?;
        Ok(self.ports.billing.head_codes(&business.tin)?)
    }

    pub fn metering_points(
        &self,
        applicant: &Applicant,
        head_code: &HeadCode,
    ) -> Result<Vec<MeteringPoint>, ServiceError> {
        let business = self.business_of(applicant)?;
        match self.ports.billing.head_code(head_code)? {
            Some(account) if account.tin == business.tin => {
                Ok(self.ports.billing.metering_points(head_code)?)
            }
            _ => Err(ServiceError::HeadCodeNotYours(head_code.clone())),
        }
    }

    /// The debt check of any subscriber code: the balance only, nothing about the holder.
    pub fn debt(&self, code: &SubscriberCode) -> Result<DebtStatement, ServiceError> {
        self.ports
            .billing
            .debt(code)?
            .ok_or_else(|| ServiceError::SubscriberCodeUnknown(code.clone()))
    }

    /// Creates a draft with whatever steps are given (each checked), and submits it at once when
    /// `submit` is set: then it is stored submitted, or not at all.
    pub fn create(
        &self,
        applicant: &Applicant,
        kind: ApplicationKind,
        changes: StepChanges,
        submit: bool,
        language: Option<Language>,
    ) -> Result<Application, ServiceError> {
        let now = self.ports.clock.now();
        let mut draft = Draft {
            number: None,
            applicant,
            steps: Steps::empty(kind),
            contact: None,
            // Submitted at once, the application is open: the store refuses a second open
            // application for the target as it creates this one (OpenApplicationExists), and
            // asking it first would cost a round trip. A draft is not open, so it asks.
            open_target_check: if submit {
                OpenTargetCheck::ByTheStoreOnWrite
            } else {
                OpenTargetCheck::Before
            },
        };
        let changed = merge_changes(&mut draft, changes)?;
        let mut timeline = vec![entry(
            applicant,
            now,
            Action::Create,
            None,
            Status::Draft,
            None,
        )];
        let mut work = Work::default();
        let (status, submitted_at) = if submit {
            // Submitting checks every step, the given ones included.
            let submitted = next_status(kind, Status::Draft, Action::Submit, Role::Applicant)?;
            let checked = self.check_complete(&mut draft, now)?;
            work = self.routed_work(&draft.steps, checked.supply_district, now)?;
            timeline.push(entry(
                applicant,
                now,
                Action::Submit,
                Some(Status::Draft),
                submitted,
                None,
            ));
            (submitted, Some(now))
        } else {
            self.check_steps(&mut draft, changed, now)?;
            (Status::Draft, None)
        };
        let new = NewApplication {
            status,
            applicant: applicant.clone(),
            steps: draft.steps,
            contact: draft.contact,
            work,
            created_at: now,
            submitted_at,
            timeline,
            language: language.unwrap_or_default(),
        };
        self.ports
            .store
            .create(new)
            .map_err(|e| self.store_error(applicant, e))
    }

    /// Fills or changes steps of the applicant's draft (or of an application returned for a
    /// correction), checking each given step as the portal's form does.
    pub fn update(
        &self,
        applicant: &Applicant,
        number: &ApplicationNumber,
        changes: StepChanges,
    ) -> Result<Application, ServiceError> {
        let mut application = self.own(applicant, number)?;
        if !application.status.is_editable_by_applicant() {
            return Err(ServiceError::NotEditable(application.status));
        }
        let now = self.ports.clock.now();
        let mut draft = Draft {
            number: Some(&application.number),
            applicant,
            steps: application.steps.clone(),
            contact: application.contact.clone(),
            open_target_check: OpenTargetCheck::Before,
        };
        // Returned for a correction: only the steps asked for may change.
        let requested = application
            .work
            .outcome
            .correction
            .as_ref()
            .map(|(steps, _)| steps);
        if let Some(step) =
            requested.and_then(|steps| changes.steps().into_iter().find(|s| !steps.contains(s)))
        {
            return Err(ServiceError::StepNotRequested(step));
        }
        let changed = merge_changes(&mut draft, changes)?;
        self.check_steps(&mut draft, changed, now)?;
        application.steps = draft.steps;
        application.contact = draft.contact;
        application.updated_at = now;
        self.ports
            .store
            .update(&application, &[])
            .map_err(|e| self.store_error(applicant, e))
    }

    /// Sends the application to the company: every step present and checked again with fresh
    /// facts (the debt is read anew and recorded).
    pub fn submit(
        &self,
        applicant: &Applicant,
        number: &ApplicationNumber,
        language: Option<Language>,
    ) -> Result<Application, ServiceError> {
        let mut application = self.own(applicant, number)?;
        if let Some(language) = language {
            application.language = language;
        }
        let action = if application.status == Status::ReturnedForCorrection {
            Action::Resubmit
        } else {
            Action::Submit
        };
        let to = next_status(
            application.kind(),
            application.status,
            action,
            Role::Applicant,
        )?;
        let now = self.ports.clock.now();
        let mut draft = Draft {
            number: Some(&application.number),
            applicant,
            steps: application.steps.clone(),
            contact: application.contact.clone(),
            open_target_check: OpenTargetCheck::Before,
        };
        let checked = self.check_complete(&mut draft, now)?;
        let from = application.status;
        application.steps = draft.steps;
        let comment = if action == Action::Resubmit {
            self.resume_work(&mut application, checked.supply_district, now)?
        } else {
            application.work =
                self.routed_work(&application.steps, checked.supply_district, now)?;
            application.submitted_at = Some(now);
            None
        };
        application.status = to;
        application.updated_at = now;
        let submitted = entry(applicant, now, action, Some(from), to, comment);
        self.ports
            .store
            .update(&application, &[submitted])
            .map_err(|e| self.store_error(applicant, e))
    }

    /// Changes the language of the applicant's messages, at any status.
    pub fn set_language(
        &self,
        applicant: &Applicant,
        number: &ApplicationNumber,
        language: Language,
    ) -> Result<Application, ServiceError> {
        let mut application = self.own(applicant, number)?;
        if application.language == language {
            return Ok(application);
        }
        application.language = language;
        application.updated_at = self.ports.clock.now();
        self.ports
            .store
            .update(&application, &[])
            .map_err(|e| self.store_error(applicant, e))
    }

    /// Withdraws the application while nobody has started work on it.
    pub fn cancel(
        &self,
        applicant: &Applicant,
        number: &ApplicationNumber,
        reason: Option<String>,
    ) -> Result<Application, ServiceError> {
        let mut application = self.own(applicant, number)?;
        let to = next_status(
            application.kind(),
            application.status,
            Action::Cancel,
            Role::Applicant,
        )?;
        let now = self.ports.clock.now();
        let from = application.status;
        application.status = to;
        application.updated_at = now;
        let cancelled = entry(applicant, now, Action::Cancel, Some(from), to, reason);
        Ok(self.ports.store.update(&application, &[cancelled])?)
    }

    /// The documents of one of the applicant's applications.
    pub fn documents(
        &self,
        applicant: &Applicant,
        number: &ApplicationNumber,
    ) -> Result<Vec<crate::documents::DocumentInfo>, ServiceError> {
        self.own(applicant, number)?;
        Ok(self.ports.store.documents(number)?)
    }

    /// One document of one of the applicant's applications.
    pub fn document(
        &self,
        applicant: &Applicant,
        number: &ApplicationNumber,
        id: i64,
    ) -> Result<(crate::documents::DocumentInfo, Vec<u8>), ServiceError> {
        self.own(applicant, number)?;
        self.document_by_link(number, id)
    }

    /// A document reached by a signed link: the link's signature, checked by the caller, stands
    /// for the applicant's permission.
    pub fn document_by_link(
        &self,
        number: &ApplicationNumber,
        id: i64,
    ) -> Result<(crate::documents::DocumentInfo, Vec<u8>), ServiceError> {
        self.ports
            .store
            .document(number, id)?
            .ok_or(ServiceError::DocumentNotFound)
    }

    fn own(
        &self,
        applicant: &Applicant,
        number: &ApplicationNumber,
    ) -> Result<Application, ServiceError> {
        self.ports
            .store
            .find(number)?
            .filter(|application| application.belongs_to(applicant))
            .ok_or(ServiceError::ApplicationNotFound)
    }

    /// Where a newly submitted application goes, and when it is due. `supply_district` is the
    /// district billing gave for the subscriber or head code when the steps were checked.
    fn routed_work(
        &self,
        steps: &Steps,
        supply_district: Option<DistrictCode>,
        now: DateTime<Utc>,
    ) -> Result<Work, ServiceError> {
        let district = application_district(steps, supply_district);
        let departments = self.ports.departments.departments()?;
        // No department for the district: the application waits, unassigned, for a supervisor.
        let department = route(steps.kind(), district, &departments).ok();
        Ok(Work {
            district,
            department,
            assignee: None,
            due_at: Some(self.ports.service_levels.due_at(steps.kind(), now)),
            outcome: Default::default(),
        })
    }

    /// Back from the applicant after a correction: the clock runs again for the working days
    /// that were left, and the request is answered.
    fn resume_work(
        &self,
        application: &mut Application,
        supply_district: Option<DistrictCode>,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, ServiceError> {
        let returned_at = application
            .timeline
            .iter()
            .rev()
            .find(|e| e.action == Action::ReturnForCorrection)
            .map(|e| e.at);
        if let (Some(due_at), Some(returned_at)) = (application.work.due_at, returned_at) {
            application.work.due_at = Some(self.ports.service_levels.due_after_correction(
                due_at,
                returned_at,
                now,
            ));
        }
        // A corrected subscriber or property may lie in another district: route it again.
        let routed = self.routed_work(&application.steps, supply_district, now)?;
        if routed.district != application.work.district {
            application.work.district = routed.district;
            application.work.department = routed.department;
            application.work.assignee = None;
        }
        // The timeline says what was corrected.
        Ok(application
            .work
            .outcome
            .correction
            .take()
            .map(|(steps, _)| {
                let fields: Vec<&str> = steps.iter().map(|s| s.field()).collect();
                format!("corrected: {}", fields.join(", "))
            }))
    }

    /// The 409 for `applicant` about the open application `open`.
    fn conflict_for(&self, applicant: &Applicant, open: ApplicationNumber) -> ServiceError {
        let yours = match self.ports.store.find(&open) {
            Ok(Some(application)) if application.belongs_to(applicant) => Some(open),
            _ => None,
        };
        ServiceError::OpenApplicationExists { yours }
    }

    /// Maps a store error for `applicant`, naming their own open application on a conflict.
    fn store_error(&self, applicant: &Applicant, error: StoreError) -> ServiceError {
        match error {
            StoreError::OpenApplicationExists(open) => self.conflict_for(applicant, open),
            other => other.into(),
        }
    }

    fn person(&self, applicant: &Applicant) -> Result<MainInformation, ServiceError> {
        self.ports
            .citizens
            .main_information(&applicant.pin)?
            .ok_or(ServiceError::PersonNotInRegistry)
    }

    /// The business the applicant acts for, if the registry lists the applicant among its
    /// representatives.
    fn business_of(&self, applicant: &Applicant) -> Result<BusinessInformation, ServiceError> {
        let tin = applicant
            .tin
            .as_ref()
            .ok_or(ServiceError::BusinessRequired)?;
        self.ports
            .citizens
            .business(tin)?
            .filter(|business| business.representatives.contains(&applicant.pin))
            .ok_or_else(|| ServiceError::NotARepresentative(tin.clone()))
    }

    /// Every step present, every step checked anew.
    fn check_complete(
        &self,
        draft: &mut Draft<'_>,
        now: DateTime<Utc>,
    ) -> Result<CheckedFacts, ServiceError> {
        let missing = missing_steps(&draft.steps, draft.contact.as_ref());
        if !missing.is_empty() {
            return Err(ServiceError::Incomplete(missing));
        }
        let everything = ChangedSteps {
            subscriber: true,
            account: true,
            property: true,
        };
        self.check_steps(draft, everything, now)
    }

    /// Checks the named steps (when present) against the facts, records the debt check, and
    /// refuses a target that already has an open application (or leaves that to the store, as
    /// `draft.open_target_check` says). Gives what billing told about the subscriber.
    fn check_steps(
        &self,
        draft: &mut Draft<'_>,
        which: ChangedSteps,
        now: DateTime<Utc>,
    ) -> Result<CheckedFacts, ServiceError> {
        let applicant = draft.applicant;
        let mut checked = CheckedFacts::default();
        match &mut draft.steps {
            Steps::MeterDamage {
                target: Some(target),
                ..
            } if which.subscriber => match target {
                MeterDamageTarget::Residential { subscriber_code } => {
                    let own = self.ports.billing.residential_accounts(&applicant.pin)?;
                    meter_damage::check_residential(subscriber_code, &own)?;
                    checked.supply_district = own
                        .iter()
                        .find(|account| account.code == *subscriber_code)
                        .map(|account| account.district);
                }
                MeterDamageTarget::NonResidential {
                    head_code,
                    metering_point,
                } => {
                    let business = self.business_of(applicant).map_err(|error| match error {
                        ServiceError::BusinessRequired => {
                            MeterDamageRefusal::BusinessRequired.into()
                        }
                        other => other,
                    })?;
                    let contract = self.ports.billing.head_code(head_code)?;
                    let point = self.ports.billing.metering_point(metering_point)?;
                    meter_damage::check_non_residential(
                        Some(&business.tin),
                        head_code,
                        contract.as_ref(),
                        metering_point,
                        point.as_ref(),
                    )?;
                    checked.supply_district = contract.map(|contract| contract.district);
                }
            },
            Steps::MeterDamage { .. } => {}
            Steps::AccountChange {
                account,
                property,
                debt_check,
            } => {
                let mut account_record = None;
                if let Some(selection) =
                    account.as_ref().filter(|_| which.account || which.property)
                {
                    let record = self.ports.billing.account(&selection.subscriber_code)?;
                    if which.account {
                        let person = self.person(applicant)?;
                        account_change::check_account(
                            &applicant.pin,
                            &person.name,
                            selection.variant,
                            &selection.subscriber_code,
                            record.as_ref(),
                        )?;
                        let statement = self.ports.billing.debt(&selection.subscriber_code)?;
                        let statement =
                            account_change::check_debt(&selection.subscriber_code, statement)?;
                        *debt_check = Some(DebtCheck {
                            amount: statement.amount,
                            as_of: statement.as_of,
                            checked_at: now,
                        });
                    }
                    account_record = record;
                }
                if let Some(data) = property.as_ref().filter(|_| which.property) {
                    let record = self.ports.properties.property(&data.key)?;
                    account_change::check_property(
                        &applicant.pin,
                        account.as_ref().map(|a| a.variant),
                        data,
                        record.as_ref(),
                        account_record.as_ref(),
                    )?;
                }
            }
        }
        let target_changed = which.subscriber || which.account;
        let ask_first = draft.open_target_check == OpenTargetCheck::Before;
        if let Some(key) = draft
            .steps
            .target_key()
            .filter(|_| target_changed && ask_first)
        {
            let open = self
                .ports
                .store
                .open_application_for(draft.steps.kind(), &key)?;
            if let Some(open) = open.filter(|open| Some(open) != draft.number) {
                return Err(self.conflict_for(applicant, open));
            }
        }
        Ok(checked)
    }
}

/// What checking the steps learnt from billing, for routing.
#[derive(Debug, Default)]
struct CheckedFacts {
    /// The district of the subscriber account or head code, when that step was checked.
    supply_district: Option<DistrictCode>,
}

/// Who refuses a second open application for the same target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OpenTargetCheck {
    /// The use case asks the store before writing (a draft's change is refused at once).
    Before,
    /// The store's write refuses it (creating an open application: the store's refusal names
    /// the other application, as asking first would).
    ByTheStoreOnWrite,
}

/// The parts of an application being checked.
struct Draft<'a> {
    number: Option<&'a ApplicationNumber>,
    applicant: &'a Applicant,
    steps: Steps,
    contact: Option<ContactInformation>,
    open_target_check: OpenTargetCheck,
}

/// Puts the given steps into the draft, refusing steps of the other kind; says which steps
/// changed and need checking against the facts.
fn merge_changes(
    draft: &mut Draft<'_>,
    changes: StepChanges,
) -> Result<ChangedSteps, ServiceError> {
    let changed = ChangedSteps {
        subscriber: changes.subscriber.is_some(),
        account: changes.account.is_some(),
        // The property's checks depend on the account's variant and district.
        property: changes.property.is_some() || changes.account.is_some(),
    };
    let kind = draft.steps.kind();
    let not_for_kind = |step| ServiceError::StepNotForKind { step, kind };
    match &mut draft.steps {
        Steps::MeterDamage {
            target,
            description,
        } => {
            if changes.account.is_some() {
                return Err(not_for_kind(Step::Account));
            }
            if changes.property.is_some() {
                return Err(not_for_kind(Step::Property));
            }
            if let Some(new_description) = changes.damage_description {
                *description = new_description;
            }
            if let Some(new_target) = changes.subscriber {
                *target = Some(new_target);
            }
        }
        Steps::AccountChange {
            account, property, ..
        } => {
            if changes.subscriber.is_some() {
                return Err(not_for_kind(Step::Subscriber));
            }
            if changes.damage_description.is_some() {
                return Err(not_for_kind(Step::DamageDescription));
            }
            if let Some(new_account) = changes.account {
                *account = Some(new_account);
            }
            if let Some(new_property) = changes.property {
                *property = Some(new_property);
            }
        }
    }
    if let Some(contact) = changes.contact {
        draft.contact = Some(contact);
    }
    Ok(changed)
}

/// Which steps to check against the facts.
#[derive(Debug, Clone, Copy)]
struct ChangedSteps {
    subscriber: bool,
    account: bool,
    property: bool,
}

fn entry(
    applicant: &Applicant,
    at: DateTime<Utc>,
    action: Action,
    from: Option<Status>,
    to: Status,
    comment: Option<String>,
) -> TimelineEntry {
    TimelineEntry {
        at,
        actor: Actor {
            id: applicant.pin.to_string(),
            role: Role::Applicant,
        },
        action,
        from,
        to,
        comment,
    }
}

#[cfg(test)]
mod tests {
    //! The use cases on in-memory ports: what is read, what is stored, and what is not.

    use super::*;
    use crate::codes::MeteringPointCode;
    use crate::contact::ContactInformation;
    use crate::district::DistrictCode;
    use crate::identity::{LoginMethod, Pin};
    use crate::money::Qapik;
    use crate::ports::{ApplicationPage, ApplicationQuery, PersonName, PropertyRecord};
    use crate::property::PropertyKey;
    use chrono::TimeZone;
    use std::sync::Mutex;

    #[derive(Default)]
    struct World {
        accounts: Vec<SubscriberAccount>,
        debts: Vec<(SubscriberCode, Qapik)>,
        applications: Mutex<Vec<Application>>,
        /// Set to make the next update fail as if another writer came first.
        stale: Mutex<bool>,
    }

    fn pin(s: &str) -> Pin {
        Pin::parse(s).unwrap_or_else(|_| unreachable!())
    }
    fn code(s: &str) -> SubscriberCode {
        SubscriberCode::parse(s).unwrap_or_else(|_| unreachable!())
    }
    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, day, 9, 0, 0)
            .single()
            .unwrap_or_default()
    }
    fn applicant(p: &str) -> Applicant {
        Applicant {
            pin: pin(p),
            tin: None,
            login_method: LoginMethod::AsanImza,
        }
    }

    impl CitizenRegistry for World {
        fn main_information(&self, pin: &Pin) -> Result<Option<MainInformation>, Unavailable> {
            Ok(Some(MainInformation {
                pin: pin.clone(),
                name: PersonName {
                    first_name: "Tural".into(),
                    last_name: "Abbasov".into(),
                },
                patronymic: None,
                birth_date: chrono::NaiveDate::from_ymd_opt(1990, 1, 1).unwrap_or_default(),
                registered_address: "Bakı".into(),
            }))
        }
        fn business(&self, _: &Tin) -> Result<Option<BusinessInformation>, Unavailable> {
            Ok(None)
        }
    }

    impl Billing for World {
        fn residential_accounts(
            &self,
            holder: &Pin,
        ) -> Result<Vec<SubscriberAccount>, Unavailable> {
            Ok(self
                .accounts
                .iter()
                .filter(|a| &a.holder_pin == holder)
                .cloned()
                .collect())
        }
        fn account(&self, code: &SubscriberCode) -> Result<Option<SubscriberAccount>, Unavailable> {
            Ok(self.accounts.iter().find(|a| &a.code == code).cloned())
        }
        fn debt(&self, code: &SubscriberCode) -> Result<Option<DebtStatement>, Unavailable> {
            Ok(self
                .debts
                .iter()
                .find(|(c, _)| c == code)
                .map(|(_, amount)| DebtStatement {
                    amount: *amount,
                    as_of: at(1),
                }))
        }
        fn head_codes(&self, _: &Tin) -> Result<Vec<HeadCodeAccount>, Unavailable> {
            Ok(vec![])
        }
        fn head_code(&self, _: &HeadCode) -> Result<Option<HeadCodeAccount>, Unavailable> {
            Ok(None)
        }
        fn metering_points(&self, _: &HeadCode) -> Result<Vec<MeteringPoint>, Unavailable> {
            Ok(vec![])
        }
        fn metering_point(
            &self,
            _: &MeteringPointCode,
        ) -> Result<Option<MeteringPoint>, Unavailable> {
            Ok(None)
        }
    }

    impl PropertyRegistry for World {
        fn property(&self, key: &PropertyKey) -> Result<Option<PropertyRecord>, Unavailable> {
            Ok(Some(PropertyRecord {
                key: key.clone(),
                property_type: crate::property::PropertyType::Apartment,
                address: "Bakı".into(),
                owners: vec![pin("5T9BQ4E")],
            }))
        }
    }

    impl ApplicationStore for World {
        fn create(&self, new: NewApplication) -> Result<Application, StoreError> {
            let mut stored = self.applications.lock().unwrap_or_else(|e| e.into_inner());
            // As the real stores' unique index on the open target does.
            if let Some(open) = stored.iter().find(|a| {
                new.status.is_open()
                    && a.kind() == new.steps.kind()
                    && a.status.is_open()
                    && a.steps.target_key().is_some()
                    && a.steps.target_key() == new.steps.target_key()
            }) {
                return Err(StoreError::OpenApplicationExists(open.number.clone()));
            }
            let application = Application {
                number: ApplicationNumber::new(
                    new.steps.kind(),
                    2026,
                    u64::try_from(stored.len()).unwrap_or_default() + 1,
                ),
                status: new.status,
                applicant: new.applicant,
                steps: new.steps,
                contact: new.contact,
                work: new.work,
                created_at: new.created_at,
                updated_at: new.created_at,
                submitted_at: new.submitted_at,
                language: new.language,
                version: 1,
                timeline: new.timeline,
            };
            stored.push(application.clone());
            Ok(application)
        }
        fn find(&self, number: &ApplicationNumber) -> Result<Option<Application>, Unavailable> {
            let stored = self.applications.lock().unwrap_or_else(|e| e.into_inner());
            Ok(stored.iter().find(|a| &a.number == number).cloned())
        }
        fn update_with_effects(
            &self,
            application: &Application,
            new_entries: &[TimelineEntry],
            _effects: &[crate::ports::AccountEffect],
            _documents: &[crate::documents::NewDocument],
        ) -> Result<Application, StoreError> {
            if std::mem::take(&mut *self.stale.lock().unwrap_or_else(|e| e.into_inner())) {
                return Err(StoreError::VersionConflict);
            }
            let mut stored = self.applications.lock().unwrap_or_else(|e| e.into_inner());
            let slot = stored
                .iter_mut()
                .find(|a| a.number == application.number)
                .ok_or(StoreError::NotFound)?;
            if slot.version != application.version {
                return Err(StoreError::VersionConflict);
            }
            let mut updated = application.clone();
            updated.version += 1;
            updated.timeline.extend_from_slice(new_entries);
            *slot = updated.clone();
            Ok(updated)
        }
        fn open_application_for(
            &self,
            kind: ApplicationKind,
            key: &str,
        ) -> Result<Option<ApplicationNumber>, Unavailable> {
            let stored = self.applications.lock().unwrap_or_else(|e| e.into_inner());
            Ok(stored
                .iter()
                .find(|a| {
                    a.kind() == kind
                        && a.status.is_open()
                        && a.steps.target_key().as_deref() == Some(key)
                })
                .map(|a| a.number.clone()))
        }
        fn list(&self, _: &ApplicationQuery) -> Result<ApplicationPage, Unavailable> {
            Ok(ApplicationPage {
                items: vec![],
                total: 0,
                next_after: None,
            })
        }
        fn inbox(&self, _: &crate::ports::InboxQuery) -> Result<ApplicationPage, Unavailable> {
            self.list(&ApplicationQuery {
                applicant: pin("5T9BQ4E"),
                acting_for: None,
                status: None,
                kind: None,
                limit: 0,
                after: None,
            })
        }
        fn documents(
            &self,
            _: &ApplicationNumber,
        ) -> Result<Vec<crate::documents::DocumentInfo>, Unavailable> {
            Ok(vec![])
        }
        fn document(
            &self,
            _: &ApplicationNumber,
            _: i64,
        ) -> Result<Option<(crate::documents::DocumentInfo, Vec<u8>)>, Unavailable> {
            Ok(None)
        }
        fn counts(
            &self,
            _: Option<&crate::routing::DepartmentCode>,
        ) -> Result<Vec<(Status, u64)>, Unavailable> {
            Ok(vec![])
        }
    }

    impl DepartmentDirectory for World {
        fn departments(&self) -> Result<Vec<crate::routing::Department>, Unavailable> {
            Ok(vec![crate::routing::Department {
                code: crate::routing::DepartmentCode::parse("BAKI-QEYDIYYAT")
                    .unwrap_or_else(|_| unreachable!()),
                name: "Bakı qeydiyyat ofisi".into(),
                kind: ApplicationKind::AccountChange,
                districts: vec![
                    DistrictCode::parse("AZ-BA-NRM").unwrap_or_else(|_| unreachable!()),
                ],
            }])
        }
    }

    /// Renders a document as its plain text lines.
    struct TextRenderer;
    impl crate::documents::DocumentRenderer for TextRenderer {
        fn render(&self, text: &crate::documents::DocumentText) -> Vec<u8> {
            text.lines.join("\n").into_bytes()
        }
        fn content_type(&self) -> &'static str {
            "text/plain"
        }
    }

    struct FixedClock;
    impl Clock for FixedClock {
        fn now(&self) -> DateTime<Utc> {
            at(23)
        }
    }

    fn service_on(world: World) -> (ApplicantService, Arc<World>) {
        let world = Arc::new(world);
        let ports = Ports {
            citizens: world.clone(),
            billing: world.clone(),
            properties: world.clone(),
            departments: world.clone(),
            store: world.clone(),
            clock: Arc::new(FixedClock),
            service_levels: ServiceLevels::default(),
            renderer: Arc::new(TextRenderer),
        };
        (ApplicantService::new(ports), world)
    }

    fn transfer_world(debt: i64) -> World {
        World {
            accounts: vec![SubscriberAccount {
                code: code("1000000004"),
                holder_pin: pin("5P2SF6L"),
                holder_name: PersonName {
                    first_name: "Pərvin".into(),
                    last_name: "Səfərova".into(),
                },
                address: "Bakı".into(),
                district: DistrictCode::parse("AZ-BA-NRM").unwrap_or_else(|_| unreachable!()),
                property_registry_number: None,
            }],
            debts: vec![(code("1000000004"), Qapik::new(debt))],
            ..World::default()
        }
    }

    fn complete_transfer() -> StepChanges {
        StepChanges {
            account: Some(AccountSelection {
                variant: crate::application::AccountChangeVariant::Transfer,
                subscriber_code: code("1000000004"),
            }),
            property: PropertyData::parse("AZ-BA-NRM", "110033056204", "2026-203517", "apartment")
                .ok(),
            contact: ContactInformation::parse(&["0501234567".to_owned()], None).ok(),
            ..StepChanges::default()
        }
    }

    #[test]
    fn a_refused_create_and_submit_stores_nothing() {
        let (service, world) = service_on(transfer_world(452_370));
        let result = service.create(
            &applicant("5T9BQ4E"),
            ApplicationKind::AccountChange,
            complete_transfer(),
            true,
            None,
        );
        assert!(matches!(
            result,
            Err(ServiceError::AccountChange(
                AccountChangeRefusal::DebtOutstanding { .. }
            ))
        ));
        assert!(
            world
                .applications
                .lock()
                .map(|a| a.is_empty())
                .unwrap_or(false)
        );
    }

    #[test]
    fn create_and_submit_records_the_debt_check_and_two_timeline_entries() {
        let (service, _) = service_on(transfer_world(0));
        let created = service
            .create(
                &applicant("5T9BQ4E"),
                ApplicationKind::AccountChange,
                complete_transfer(),
                true,
                None,
            )
            .unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(created.status, Status::Submitted);
        assert_eq!(
            created
                .timeline
                .iter()
                .map(|e| e.action)
                .collect::<Vec<_>>(),
            [Action::Create, Action::Submit]
        );
        assert_eq!(
            created.work.department.as_ref().map(|d| d.as_str()),
            Some("BAKI-QEYDIYYAT"),
            "routed by the property's district"
        );
        assert!(created.work.due_at.is_some());
        let Steps::AccountChange {
            debt_check: Some(check),
            ..
        } = created.steps
        else {
            unreachable!()
        };
        assert_eq!((check.amount, check.checked_at), (Qapik::ZERO, at(23)));
    }

    #[test]
    fn submission_reads_the_debt_again() {
        let (service, world) = service_on(transfer_world(0));
        let me = applicant("5T9BQ4E");
        let draft = service
            .create(
                &me,
                ApplicationKind::AccountChange,
                complete_transfer(),
                false,
                None,
            )
            .unwrap_or_else(|e| unreachable!("{e}"));
        // A new world where billing now has a debt, with the same stored draft.
        let mut indebted = transfer_world(100);
        indebted.applications = Mutex::new(
            world
                .applications
                .lock()
                .map(|a| a.clone())
                .unwrap_or_default(),
        );
        let (indebted_service, world) = service_on(indebted);
        let refused = indebted_service.submit(&me, &draft.number, None);
        assert!(
            matches!(refused, Err(ServiceError::AccountChange(AccountChangeRefusal::DebtOutstanding { amount, .. })) if amount == Qapik::new(100))
        );
        let stored = world
            .find(&draft.number)
            .ok()
            .flatten()
            .map(|a| (a.status, a.version));
        assert_eq!(stored, Some((Status::Draft, 1)), "nothing stored");
    }

    #[test]
    fn the_open_target_check_does_not_count_the_application_itself() {
        let (service, _) = service_on(transfer_world(0));
        let me = applicant("5T9BQ4E");
        let submitted = service
            .create(
                &me,
                ApplicationKind::AccountChange,
                complete_transfer(),
                true,
                None,
            )
            .unwrap_or_else(|e| unreachable!("{e}"));
        let again = service.create(
            &me,
            ApplicationKind::AccountChange,
            complete_transfer(),
            false,
            None,
        );
        assert_eq!(
            again.err(),
            Some(ServiceError::OpenApplicationExists {
                yours: Some(submitted.number.clone())
            })
        );
        let stranger = applicant("5X0NT7Y");
        let theirs = service.create(
            &stranger,
            ApplicationKind::AccountChange,
            StepChanges {
                account: complete_transfer().account,
                ..StepChanges::default()
            },
            false,
            None,
        );
        assert_eq!(
            theirs.err(),
            Some(ServiceError::OpenApplicationExists { yours: None }),
            "another person's number stays hidden"
        );
    }

    #[test]
    fn a_concurrent_change_is_a_version_conflict_and_other_applicants_see_nothing() {
        let (service, world) = service_on(transfer_world(0));
        let me = applicant("5T9BQ4E");
        let draft = service
            .create(
                &me,
                ApplicationKind::AccountChange,
                StepChanges::default(),
                false,
                None,
            )
            .unwrap_or_else(|e| unreachable!("{e}"));
        if let Ok(mut stale) = world.stale.lock() {
            *stale = true;
        }
        assert_eq!(
            service
                .update(&me, &draft.number, complete_transfer())
                .err(),
            Some(ServiceError::VersionConflict)
        );
        assert_eq!(
            service
                .documents(&applicant("5X0NT7Y"), &draft.number)
                .err(),
            Some(ServiceError::ApplicationNotFound)
        );
        let as_business = Applicant {
            tin: Tin::parse("1700456782").ok(),
            ..me
        };
        assert_eq!(
            service.documents(&as_business, &draft.number).err(),
            Some(ServiceError::ApplicationNotFound)
        );
    }
}
