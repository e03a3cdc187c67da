//! The reads the portal makes most: "My applications" and an application with its messages.
//!
//! They go through a port of their own, awaited rather than run on a blocking thread, so that
//! an adapter can answer them on an async driver (PostgreSQL) without a hand-off per request.
//! Who may read what stays here: an applicant reads their own applications, staff what
//! [`Staff::may_see`] allows; anything else is `ApplicationNotFound`, so that numbers reveal
//! nothing.

use crate::application::{Application, ApplicationNumber};
use crate::back_office::Staff;
use crate::identity::Applicant;
use crate::notifications::MessageView;
use crate::ports::{ApplicationPage, ApplicationQuery, Unavailable};
use crate::service::ServiceError;
use std::future::Future;

/// An application with the SMS and e-mail messages its changes raised (webhooks are the
/// integrators' and not shown with it), oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationWithMessages {
    pub application: Application,
    pub messages: Vec<MessageView>,
}

/// Port: the stored applications, read without blocking the caller's thread.
pub trait ApplicationReads: Send + Sync {
    /// The application with this number and its messages; `None` when there is none.
    fn find_with_messages(
        &self,
        number: &ApplicationNumber,
    ) -> impl Future<Output = Result<Option<ApplicationWithMessages>, Unavailable>> + Send;

    /// A page of an applicant's applications, newest first, with the total that match.
    fn list(
        &self,
        query: &ApplicationQuery,
    ) -> impl Future<Output = Result<ApplicationPage, Unavailable>> + Send;
}

/// The read use cases over an [`ApplicationReads`] adapter.
#[derive(Debug, Clone)]
pub struct ApplicationReading<R> {
    reads: R,
}

impl<R: ApplicationReads> ApplicationReading<R> {
    pub fn new(reads: R) -> Self {
        Self { reads }
    }

    /// One of the applicant's own applications (in the capacity of their token: as a person,
    /// or for the business they act for).
    pub async fn own(
        &self,
        applicant: &Applicant,
        number: &ApplicationNumber,
    ) -> Result<ApplicationWithMessages, ServiceError> {
        self.readable(number, |application| application.belongs_to(applicant))
            .await
    }

    /// An application as staff may see it: an operator their department's, a supervisor any
    /// submitted one.
    pub async fn for_staff(
        &self,
        staff: &Staff,
        number: &ApplicationNumber,
    ) -> Result<ApplicationWithMessages, ServiceError> {
        self.readable(number, |application| staff.may_see(application))
            .await
    }

    /// The application if `may_read` allows it, else (or when there is none) not found.
    async fn readable(
        &self,
        number: &ApplicationNumber,
        may_read: impl FnOnce(&Application) -> bool,
    ) -> Result<ApplicationWithMessages, ServiceError> {
        self.reads
            .find_with_messages(number)
            .await?
            .filter(|found| may_read(&found.application))
            .ok_or(ServiceError::ApplicationNotFound)
    }

    /// "My applications": the query names the applicant, so that nobody else's are listed.
    pub async fn my_applications(
        &self,
        query: &ApplicationQuery,
    ) -> Result<ApplicationPage, ServiceError> {
        Ok(self.reads.list(query).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::application::{Steps, Work};
    use crate::identity::{LoginMethod, Pin, Role, Tin};
    use crate::notifications::Language;
    use crate::ports::ApplicationSummary;
    use crate::routing::DepartmentCode;
    use crate::status::Status;
    use chrono::{DateTime, TimeZone, Utc};
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    /// The fake below answers at once, so one poll finishes any of these futures.
    fn ready<T>(future: impl Future<Output = T>) -> T {
        let mut future = pin!(future);
        match future
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
        {
            Poll::Ready(value) => value,
            Poll::Pending => unreachable!("the fake reads never wait"),
        }
    }

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0)
            .single()
            .unwrap_or_default()
    }

    fn applicant(pin: &str, tin: Option<&str>) -> Applicant {
        Applicant {
            pin: Pin::parse(pin).unwrap_or_else(|_| unreachable!("a valid PIN")),
            tin: tin.map(|t| Tin::parse(t).unwrap_or_else(|_| unreachable!("a valid TIN"))),
            login_method: LoginMethod::AsanImza,
        }
    }

    fn department(code: &str) -> DepartmentCode {
        DepartmentCode::parse(code).unwrap_or_else(|_| unreachable!("a valid department"))
    }

    fn number() -> ApplicationNumber {
        ApplicationNumber::parse("MD-2026-000042").unwrap_or_else(|_| unreachable!("a number"))
    }

    /// One stored application of 5T9BQ4E acting for VÖEN 1234567890, with `submitted` telling
    /// whether it left the drafts (for department BAKI-1).
    struct OneApplication {
        submitted: bool,
    }

    impl ApplicationReads for OneApplication {
        async fn find_with_messages(
            &self,
            wanted: &ApplicationNumber,
        ) -> Result<Option<ApplicationWithMessages>, Unavailable> {
            if *wanted != number() {
                return Ok(None);
            }
            Ok(Some(ApplicationWithMessages {
                application: Application {
                    number: number(),
                    status: if self.submitted {
                        Status::Submitted
                    } else {
                        Status::Draft
                    },
                    applicant: applicant("5T9BQ4E", Some("1234567890")),
                    steps: Steps::MeterDamage {
                        target: None,
                        description: None,
                    },
                    contact: None,
                    work: Work {
                        department: Some(department("BAKI-1")),
                        ..Work::default()
                    },
                    created_at: at(),
                    updated_at: at(),
                    submitted_at: self.submitted.then(at),
                    version: 1,
                    timeline: Vec::new(),
                    language: Language::Az,
                },
                messages: Vec::new(),
            }))
        }

        async fn list(&self, query: &ApplicationQuery) -> Result<ApplicationPage, Unavailable> {
            Ok(ApplicationPage {
                items: Vec::<ApplicationSummary>::new(),
                total: u64::from(query.limit),
                next_after: None,
            })
        }
    }

    fn staff(role: Role, department_code: Option<&str>) -> Staff {
        Staff {
            id: "op-1".to_owned(),
            role,
            department: department_code.map(department),
        }
    }

    #[test]
    fn an_applicant_reads_only_what_they_made_in_the_same_capacity() {
        let reading = ApplicationReading::new(OneApplication { submitted: false });
        let own = ready(reading.own(&applicant("5T9BQ4E", Some("1234567890")), &number()));
        assert_eq!(own.map(|found| found.application.number), Ok(number()));
        for stranger in [
            applicant("5T9BQ4E", None),
            applicant("5T9BQ4E", Some("9876543210")),
            applicant("7K2MX9A", Some("1234567890")),
        ] {
            assert_eq!(
                ready(reading.own(&stranger, &number())),
                Err(ServiceError::ApplicationNotFound)
            );
        }
        let missing = ApplicationNumber::parse("MD-2026-000043").unwrap_or_else(|_| number());
        assert_eq!(
            ready(reading.own(&applicant("5T9BQ4E", Some("1234567890")), &missing)),
            Err(ServiceError::ApplicationNotFound)
        );
    }

    #[test]
    fn staff_read_what_they_may_see_and_never_a_draft() {
        let submitted = ApplicationReading::new(OneApplication { submitted: true });
        let draft = ApplicationReading::new(OneApplication { submitted: false });
        let cases = [
            (staff(Role::Operator, Some("BAKI-1")), true),
            (staff(Role::Operator, Some("GENCE-1")), false),
            (staff(Role::Operator, None), false),
            (staff(Role::Supervisor, None), true),
            (staff(Role::Admin, None), false),
        ];
        for (staff, sees_submitted) in cases {
            assert_eq!(
                ready(submitted.for_staff(&staff, &number())).is_ok(),
                sees_submitted,
                "{staff:?}"
            );
            assert_eq!(
                ready(draft.for_staff(&staff, &number())),
                Err(ServiceError::ApplicationNotFound),
                "{staff:?}"
            );
        }
    }

    #[test]
    fn my_applications_is_the_adapters_page_for_the_query() {
        let reading = ApplicationReading::new(OneApplication { submitted: true });
        let query = ApplicationQuery {
            applicant: applicant("5T9BQ4E", None).pin,
            acting_for: None,
            status: None,
            kind: None,
            limit: 7,
            after: None,
        };
        assert_eq!(
            ready(reading.my_applications(&query)).map(|page| page.total),
            Ok(7)
        );
    }
}
