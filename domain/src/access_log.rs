//! The log of personal-data reads: every read of a registry or billing about a person or their
//! account is recorded with who read it (and for whom), whose data it was, which system, what
//! and why. Admins can query it; nobody can change it (the store refuses updates and deletes).

use chrono::{DateTime, Utc};

/// Who reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReaderKind {
    Applicant,
    Operator,
    Supervisor,
    Admin,
    /// An outside system's service account (the e-gov portal, another agency).
    Integrator,
    /// The service itself, with no caller (a background job).
    System,
}

impl ReaderKind {
    pub const ALL: [Self; 6] = [
        Self::Applicant,
        Self::Operator,
        Self::Supervisor,
        Self::Admin,
        Self::Integrator,
        Self::System,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Applicant => "applicant",
            Self::Operator => "operator",
            Self::Supervisor => "supervisor",
            Self::Admin => "admin",
            Self::Integrator => "integrator",
            Self::System => "system",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == input)
    }
}

/// The reader: their identifier, and for an integrator the person it acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reader {
    pub kind: ReaderKind,
    pub id: String,
    pub on_behalf_of: Option<String>,
}

impl Reader {
    pub fn system() -> Self {
        Self {
            kind: ReaderKind::System,
            id: "eservices".to_owned(),
            on_behalf_of: None,
        }
    }
}

/// One read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonalDataRead {
    pub at: DateTime<Utc>,
    pub reader: Reader,
    /// Whose data: a PIN, a TIN, a subscriber code or head code, a property.
    pub subject: String,
    /// `citizen-registry`, `business-registry`, `property-registry`, `billing`.
    pub registry: &'static str,
    /// What was read: `main-information`, `business`, `subscriber-accounts`, `account`, `debt`,
    /// `head-codes`, `head-code`, `metering-points`, `metering-point`, `property`.
    pub data: &'static str,
    /// Why: the operation (and action) that needed it.
    pub purpose: String,
}

/// Filters of an admin's query of the log.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccessLogQuery {
    pub subject: Option<String>,
    pub reader_id: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub limit: u32,
}

/// Where reads are recorded.
pub trait AccessLog: Send + Sync {
    /// Records a read; an error means the read must not be used.
    fn record(&self, read: &PersonalDataRead) -> Result<(), crate::ports::Unavailable>;

    /// The reads that match, newest first.
    fn query(
        &self,
        query: &AccessLogQuery,
    ) -> Result<Vec<PersonalDataRead>, crate::ports::Unavailable>;
}
