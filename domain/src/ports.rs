//! What the rules need from outside, as traits. Adapters live outside `domain`: table-backed ones
//! in `persistence`, HTTP ones beside the layer that owns their I/O. Configuration picks one.
//!
//! The ports are synchronous: the API calls use cases on a blocking thread pool, never on its
//! async workers.

use crate::application::{
    Application, ApplicationKind, ApplicationNumber, NewApplication, TimelineEntry,
};
use crate::codes::{HeadCode, MeteringPointCode, SubscriberCode};
use crate::district::DistrictCode;
use crate::documents::{DocumentInfo, NewDocument};
use crate::identity::{Pin, Tin};
use crate::money::Qapik;
use crate::property::{PropertyKey, PropertyType, RegisterExtractNumber};
use crate::routing::{Department, DepartmentCode};
use crate::status::Status;
use chrono::{DateTime, NaiveDate, Utc};

/// A person's name as a registry or billing holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName {
    pub first_name: String,
    pub last_name: String,
}

impl PersonName {
    /// Names compare without regard to case, Unicode composition and surrounding spaces, with
    /// Azerbaijani case rules: `İ`/`i` and `I`/`ı` are the two pairs of distinct letters.
    pub fn same_as(&self, other: &Self) -> bool {
        fold(&self.first_name) == fold(&other.first_name)
            && fold(&self.last_name) == fold(&other.last_name)
    }
}

/// Azerbaijani case folding of a name after NFC normalisation.
fn fold(name: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    name.trim()
        .nfc()
        .flat_map(|c| match c {
            'İ' => vec!['i'],
            'I' => vec!['ı'],
            other => other.to_lowercase().collect(),
        })
        .collect()
}

/// The applicant's main information (Əsas məlumatlar) from the citizen registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MainInformation {
    pub pin: Pin,
    pub name: PersonName,
    pub patronymic: Option<String>,
    pub birth_date: NaiveDate,
    pub registered_address: String,
}

/// A business or entrepreneur from the business registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessInformation {
    pub tin: Tin,
    pub name: String,
    /// The people who may act for it.
    pub representatives: Vec<Pin>,
}

/// A residential subscriber account from billing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriberAccount {
    pub code: SubscriberCode,
    pub holder_pin: Pin,
    pub holder_name: PersonName,
    pub address: String,
    pub district: DistrictCode,
    /// The real-estate registry number of the property supplied, when billing knows it.
    pub property_registry_number: Option<RegisterExtractNumber>,
}

/// The balance of a subscriber account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DebtStatement {
    pub amount: Qapik,
    pub as_of: DateTime<Utc>,
}

/// A non-residential contract from billing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadCodeAccount {
    pub code: HeadCode,
    pub tin: Tin,
    pub contract_name: String,
    pub address: String,
    pub district: DistrictCode,
}

/// A metering point under a head code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeteringPoint {
    pub code: MeteringPointCode,
    pub head_code: HeadCode,
    pub address: String,
    pub meter_number: String,
}

/// A property from the real-estate register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyRecord {
    pub key: PropertyKey,
    pub property_type: PropertyType,
    pub address: String,
    pub owners: Vec<Pin>,
}

/// An outside system could not answer. The record not existing is not an error: it is `None`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{system} is unavailable: {reason}")]
pub struct Unavailable {
    /// Which system: `citizen-registry`, `billing`, `property-registry`, `database`, or
    /// [`Unavailable::STORED_DATA`].
    pub system: &'static str,
    pub reason: String,
}

impl Unavailable {
    /// Our own stored data is inconsistent (changed outside the service, or a bug): retrying
    /// cannot help, unlike with the systems that are merely down.
    pub const STORED_DATA: &'static str = "stored-data";

    pub fn stored_data(reason: impl Into<String>) -> Self {
        Self {
            system: Self::STORED_DATA,
            reason: reason.into(),
        }
    }
}

/// The citizen and business registries: the applicant's main information.
pub trait CitizenRegistry: Send + Sync {
    fn main_information(&self, pin: &Pin) -> Result<Option<MainInformation>, Unavailable>;
    fn business(&self, tin: &Tin) -> Result<Option<BusinessInformation>, Unavailable>;
}

/// The company's billing system: accounts, contracts, metering points, balances.
pub trait Billing: Send + Sync {
    fn residential_accounts(&self, holder: &Pin) -> Result<Vec<SubscriberAccount>, Unavailable>;
    fn account(&self, code: &SubscriberCode) -> Result<Option<SubscriberAccount>, Unavailable>;
    fn debt(&self, code: &SubscriberCode) -> Result<Option<DebtStatement>, Unavailable>;
    fn head_codes(&self, tin: &Tin) -> Result<Vec<HeadCodeAccount>, Unavailable>;
    fn head_code(&self, code: &HeadCode) -> Result<Option<HeadCodeAccount>, Unavailable>;
    fn metering_points(&self, head_code: &HeadCode) -> Result<Vec<MeteringPoint>, Unavailable>;
    fn metering_point(
        &self,
        code: &MeteringPointCode,
    ) -> Result<Option<MeteringPoint>, Unavailable>;
}

/// The real-estate register.
pub trait PropertyRegistry: Send + Sync {
    fn property(&self, key: &PropertyKey) -> Result<Option<PropertyRecord>, Unavailable>;
}

/// The time.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The company's departments (master data).
pub trait DepartmentDirectory: Send + Sync {
    fn departments(&self) -> Result<Vec<Department>, Unavailable>;
}

/// A change of the subscriber account that an approved account change makes, stored in the same
/// transaction as the approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountEffect {
    /// The applicant becomes the holder of the account.
    Transfer {
        code: SubscriberCode,
        new_holder: Pin,
        name: PersonName,
    },
    /// The holder's new name is written on the account.
    Rename {
        code: SubscriberCode,
        name: PersonName,
    },
}

/// How the inbox is sorted (oldest first: the longest waiting on top).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InboxOrder {
    #[default]
    SubmittedAt,
    DueAt,
}

/// Filters and page of the staff inbox.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InboxQuery {
    /// Only this department's applications; `None` for all (supervisors).
    pub department: Option<DepartmentCode>,
    pub status: Option<Status>,
    pub kind: Option<ApplicationKind>,
    pub district: Option<DistrictCode>,
    pub assignee: Option<String>,
    pub submitted_from: Option<DateTime<Utc>>,
    pub submitted_to: Option<DateTime<Utc>>,
    /// Only applications open and past due at this time.
    pub overdue_at: Option<DateTime<Utc>>,
    pub order: InboxOrder,
    pub limit: u32,
    pub offset: u64,
}

/// Filters and page of "My applications".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationQuery {
    pub applicant: Pin,
    /// The business the applicant acts for: only the applications made for it (or, without one,
    /// only those made for the applicant personally).
    pub acting_for: Option<Tin>,
    pub status: Option<Status>,
    pub kind: Option<ApplicationKind>,
    /// At most this many, newest first.
    pub limit: u32,
    /// Continue after this position (an opaque cursor decoded by the API).
    pub after: Option<i64>,
}

/// An application as the lists ("My applications", the inbox) show it, and no more: the lists
/// read only these columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationSummary {
    pub number: ApplicationNumber,
    pub kind: ApplicationKind,
    pub status: Status,
    /// The subscriber code or metering point the application is about, once chosen.
    pub target: Option<String>,
    pub district: Option<DistrictCode>,
    pub department: Option<DepartmentCode>,
    pub assignee: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
}

/// One page of "My applications" or of the inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationPage {
    pub items: Vec<ApplicationSummary>,
    /// All applications that match the filters, on every page.
    pub total: u64,
    /// Where the next page starts, if there is one.
    pub next_after: Option<i64>,
}

/// Why the store refused a write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("application {0} is already open for this target")]
    OpenApplicationExists(ApplicationNumber),
    #[error("the application was changed by someone else; read it again")]
    VersionConflict,
    #[error("no such application")]
    NotFound,
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
}

/// Where applications are kept. Each method is one transaction: the application, its timeline
/// entries and (later) its outbox rows are written together or not at all.
pub trait ApplicationStore: Send + Sync {
    /// Stores a new application, giving it the next number of its kind and year (unique, not
    /// necessarily gapless). Refuses a second open application of the same kind and target
    /// (`OpenApplicationExists`, naming the open one): the use case does not ask first.
    fn create(&self, application: NewApplication) -> Result<Application, StoreError>;

    fn find(&self, number: &ApplicationNumber) -> Result<Option<Application>, Unavailable>;

    /// Writes `application` over the stored one if that is still at `application.version`,
    /// appends `new_entries` to its timeline, and returns it at the next version. Refuses a
    /// second open application of the same kind and target.
    fn update(
        &self,
        application: &Application,
        new_entries: &[TimelineEntry],
    ) -> Result<Application, StoreError> {
        self.update_with_effects(application, new_entries, &[], &[])
    }

    /// [`ApplicationStore::update`], and in the same transaction the account changes and the
    /// documents the change produced.
    fn update_with_effects(
        &self,
        application: &Application,
        new_entries: &[TimelineEntry],
        effects: &[AccountEffect],
        documents: &[NewDocument],
    ) -> Result<Application, StoreError>;

    /// The documents of an application, oldest first.
    fn documents(&self, number: &ApplicationNumber) -> Result<Vec<DocumentInfo>, Unavailable>;

    /// One document of an application, with its content.
    fn document(
        &self,
        number: &ApplicationNumber,
        id: i64,
    ) -> Result<Option<(DocumentInfo, Vec<u8>)>, Unavailable>;

    /// The open application of `kind` for the target, if any.
    fn open_application_for(
        &self,
        kind: ApplicationKind,
        target_key: &str,
    ) -> Result<Option<ApplicationNumber>, Unavailable>;

    fn list(&self, query: &ApplicationQuery) -> Result<ApplicationPage, Unavailable>;

    /// The staff inbox (pages by offset; `next_after` is unused).
    fn inbox(&self, query: &InboxQuery) -> Result<ApplicationPage, Unavailable>;

    /// How many submitted applications are in each status, in a department or in all.
    fn counts(
        &self,
        department: Option<&DepartmentCode>,
    ) -> Result<Vec<(Status, u64)>, Unavailable>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_compare_without_case_including_azerbaijani_letters() {
        let a = PersonName {
            first_name: "Əli".into(),
            last_name: "Şükürov".into(),
        };
        let b = PersonName {
            first_name: " əli ".into(),
            last_name: "ŞÜKÜROV".into(),
        };
        let c = PersonName {
            first_name: "Əli".into(),
            last_name: "Şükürlü".into(),
        };
        assert!(a.same_as(&b));
        assert!(!a.same_as(&c));
    }

    #[test]
    fn names_fold_with_azerbaijani_dotted_and_dotless_i() {
        let name = |first: &str, last: &str| PersonName {
            first_name: first.into(),
            last_name: last.into(),
        };
        assert!(name("ƏLİ", "İSMAYILOV").same_as(&name("Əli", "İsmayılov")));
        assert!(name("ILQAR", "QASIMOV").same_as(&name("ılqar", "Qasımov")));
        assert!(
            !name("Ilqar", "A").same_as(&name("ilqar", "A")),
            "I and i are different letters"
        );
        // Composed and decomposed letters are the same name.
        assert!(name("Şükür", "A").same_as(&name("S\u{0327}u\u{0308}ku\u{0308}r", "A")));
    }
}
