//! The company's side: staff see the applications of their department (supervisors all), take the
//! workflow's actions, and reassign work. Each use case reads, decides with the state machine and
//! the workflow checks, and stores in one call.

use crate::application::{
    AccountChangeVariant, AccountSelection, Actor, Application, ApplicationNumber, Steps,
    TimelineEntry,
};
use crate::documents::{DocumentInfo, NewDocument, account_change_confirmation, inspection_result};
use crate::identity::Role;
use crate::ports::{AccountEffect, ApplicationPage, InboxQuery, StoreError};
use crate::routing::{Department, DepartmentCode};
use crate::service::{Ports, ServiceError};
use crate::service_level::baku_date;
use crate::status::{Action, Status, next_status};
use crate::workflow::{ActionData, RawActionData, check_action_data, check_comment};

/// A company employee, from a verified token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staff {
    /// The employee's identifier (the token's subject).
    pub id: String,
    /// `Operator` or `Supervisor`.
    pub role: Role,
    /// An operator's department.
    pub department: Option<DepartmentCode>,
}

impl Staff {
    /// Operators see their department's submitted applications, supervisors all of them; nobody
    /// of the staff sees drafts.
    pub fn may_see(&self, application: &Application) -> bool {
        // Drafts, and drafts the applicant cancelled, were never the company's.
        if application.submitted_at.is_none() {
            return false;
        }
        match self.role {
            Role::Supervisor => true,
            Role::Operator => {
                self.department.is_some() && application.work.department == self.department
            }
            Role::Applicant | Role::Admin => false,
        }
    }
}

/// The staff's use cases.
#[derive(Debug, Clone)]
pub struct BackOfficeService {
    ports: Ports,
}

impl BackOfficeService {
    pub fn new(ports: Ports) -> Self {
        Self { ports }
    }

    /// An application the staff member may see; others are "not found".
    fn visible(
        &self,
        staff: &Staff,
        number: &ApplicationNumber,
    ) -> Result<Application, ServiceError> {
        self.ports
            .store
            .find(number)?
            .filter(|application| staff.may_see(application))
            .ok_or(ServiceError::ApplicationNotFound)
    }

    /// The inbox: an operator's is always their department's.
    pub fn inbox(
        &self,
        staff: &Staff,
        mut query: InboxQuery,
    ) -> Result<ApplicationPage, ServiceError> {
        query.department = self.scope(staff)?;
        Ok(self.ports.store.inbox(&query)?)
    }

    /// Counts per status of the inbox.
    pub fn counts(&self, staff: &Staff) -> Result<Vec<(Status, u64)>, ServiceError> {
        let department = self.scope(staff)?;
        Ok(self.ports.store.counts(department.as_ref())?)
    }

    pub fn departments(&self) -> Result<Vec<Department>, ServiceError> {
        Ok(self.ports.departments.departments()?)
    }

    fn scope(&self, staff: &Staff) -> Result<Option<DepartmentCode>, ServiceError> {
        match staff.role {
            Role::Supervisor => Ok(None),
            Role::Operator => staff
                .department
                .clone()
                .map(Some)
                .ok_or(ServiceError::NoDepartment),
            Role::Applicant | Role::Admin => Err(ServiceError::ForbiddenRole),
        }
    }

    /// Takes a workflow action on the version of the application the caller has seen.
    pub fn act(
        &self,
        staff: &Staff,
        number: &ApplicationNumber,
        seen_version: i64,
        action: Action,
        data: RawActionData,
        comment: Option<&str>,
    ) -> Result<Application, ServiceError> {
        let mut application = self.visible(staff, number)?;
        if action == Action::Assign {
            return Err(ServiceError::UseAssignment);
        }
        if application.version != seen_version {
            return Err(ServiceError::StaleVersion);
        }
        let to = next_status(application.kind(), application.status, action, staff.role)?;
        let now = self.ports.clock.now();
        let data = check_action_data(
            action,
            application.kind(),
            data,
            baku_date(now),
            &self.ports.service_levels.calendar,
        )?;
        let mut comment = check_comment(comment)?;
        let mut effects = Vec::new();
        let outcome = &mut application.work.outcome;
        match data {
            ActionData::Accept | ActionData::StartReview => {
                if application.work.assignee.is_none() {
                    application.work.assignee = Some(staff.id.clone());
                }
            }
            ActionData::ScheduleInspection(visit) => outcome.visit = Some(visit),
            ActionData::RecordInspection(findings) => outcome.findings = Some(findings),
            ActionData::Complete { result } => {
                outcome.result = Some(result);
                outcome.decided_at = Some(now);
            }
            ActionData::Reject { reason } => {
                comment = comment.or_else(|| Some(reason.clone()));
                outcome.rejection_reason = Some(reason);
                outcome.decided_at = Some(now);
            }
            ActionData::ReturnForCorrection { steps, request } => {
                comment = comment.or_else(|| Some(request.clone()));
                outcome.correction = Some((steps, request));
            }
            ActionData::Approve => {
                outcome.decided_at = Some(now);
                effects.push(self.account_effect(&application)?);
            }
        }
        let documents = self.documents_of(&application, action, effects.first(), now);
        let from = application.status;
        application.status = to;
        application.updated_at = now;
        let entry = TimelineEntry {
            at: now,
            actor: Actor {
                id: staff.id.clone(),
                role: staff.role,
            },
            action,
            from: Some(from),
            to,
            comment,
        };
        self.ports
            .store
            .update_with_effects(&application, &[entry], &effects, &documents)
            .map_err(stale_on_conflict)
    }

    /// A supervisor gives the application to a department (the same or another) and, optionally,
    /// one of its operators.
    pub fn assign(
        &self,
        staff: &Staff,
        number: &ApplicationNumber,
        seen_version: i64,
        department: DepartmentCode,
        assignee: Option<String>,
        comment: Option<&str>,
    ) -> Result<Application, ServiceError> {
        let mut application = self.visible(staff, number)?;
        if application.version != seen_version {
            return Err(ServiceError::StaleVersion);
        }
        let status = next_status(
            application.kind(),
            application.status,
            Action::Assign,
            staff.role,
        )?;
        let known = self
            .ports
            .departments
            .departments()?
            .into_iter()
            .any(|d| d.code == department && d.kind == application.kind());
        if !known {
            return Err(ServiceError::UnknownDepartment(department));
        }
        if application.work.department.as_ref() != Some(&department) {
            application.work.department = Some(department);
            // A new department chooses its own operator unless one is named.
            application.work.assignee = None;
        }
        if let Some(operator) = assignee {
            application.work.assignee = Some(operator);
        }
        let now = self.ports.clock.now();
        application.updated_at = now;
        // The operator's identifier stays in the work data, which applicants do not see.
        let described = format!(
            "assigned to {}",
            application
                .work
                .department
                .as_ref()
                .map_or("-", DepartmentCode::as_str)
        );
        let comment =
            check_comment(comment)?.map_or(described.clone(), |c| format!("{described}: {c}"));
        let entry = TimelineEntry {
            at: now,
            actor: Actor {
                id: staff.id.clone(),
                role: staff.role,
            },
            action: Action::Assign,
            from: Some(status),
            to: status,
            comment: Some(comment),
        };
        self.ports
            .store
            .update(&application, &[entry])
            .map_err(stale_on_conflict)
    }

    /// The documents an action produces: the confirmation on approval, the inspection result on
    /// completion.
    fn documents_of(
        &self,
        application: &Application,
        action: Action,
        effect: Option<&AccountEffect>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Vec<NewDocument> {
        let text = match (action, effect) {
            (
                Action::Approve,
                Some(AccountEffect::Transfer { name, .. } | AccountEffect::Rename { name, .. }),
            ) => account_change_confirmation(application, name, now),
            (Action::Complete, _) => inspection_result(application, now),
            _ => None,
        };
        text.map(|text| NewDocument {
            kind: text.kind,
            file_name: text.file_name.clone(),
            content_type: self.ports.renderer.content_type(),
            content: self.ports.renderer.render(&text),
            created_at: now,
        })
        .into_iter()
        .collect()
    }

    /// The documents of an application the staff member may see.
    pub fn documents(
        &self,
        staff: &Staff,
        number: &ApplicationNumber,
    ) -> Result<Vec<DocumentInfo>, ServiceError> {
        self.visible(staff, number)?;
        Ok(self.ports.store.documents(number)?)
    }

    /// One document of an application the staff member may see.
    pub fn document(
        &self,
        staff: &Staff,
        number: &ApplicationNumber,
        id: i64,
    ) -> Result<(DocumentInfo, Vec<u8>), ServiceError> {
        self.visible(staff, number)?;
        self.ports
            .store
            .document(number, id)?
            .ok_or(ServiceError::DocumentNotFound)
    }

    /// What approving an account change does to the account: the applicant becomes the holder
    /// (transfer) or the holder's new name from the registry is written (name change).
    fn account_effect(&self, application: &Application) -> Result<AccountEffect, ServiceError> {
        let Steps::AccountChange {
            account:
                Some(AccountSelection {
                    variant,
                    subscriber_code,
                }),
            ..
        } = &application.steps
        else {
            return Err(ServiceError::Incomplete(vec![
                crate::application::Step::Account,
            ]));
        };
        let person = self
            .ports
            .citizens
            .main_information(&application.applicant.pin)?
            .ok_or(ServiceError::PersonNotInRegistry)?;
        Ok(match variant {
            AccountChangeVariant::Transfer => AccountEffect::Transfer {
                code: subscriber_code.clone(),
                new_holder: application.applicant.pin.clone(),
                name: person.name,
            },
            AccountChangeVariant::NameChange => AccountEffect::Rename {
                code: subscriber_code.clone(),
                name: person.name,
            },
        })
    }
}

/// Someone else changed the application between our read and our write.
fn stale_on_conflict(error: StoreError) -> ServiceError {
    match error {
        StoreError::VersionConflict => ServiceError::StaleVersion,
        other => other.into(),
    }
}
