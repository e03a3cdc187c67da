//! Times are stored as UTC without a zone; these convert at the boundary.

use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};

/// Microseconds, the precision PostgreSQL keeps, so that a time reads back the same on both
/// backends.
pub(crate) fn to_stored(time: DateTime<Utc>) -> NaiveDateTime {
    time.trunc_subsecs(6).naive_utc()
}

pub(crate) fn from_stored(time: NaiveDateTime) -> DateTime<Utc> {
    time.and_utc()
}
