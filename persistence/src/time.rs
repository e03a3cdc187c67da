//! Times are stored as UTC without a zone; these convert at the boundary.

use chrono::{DateTime, NaiveDateTime, Utc};

pub(crate) fn to_stored(time: DateTime<Utc>) -> NaiveDateTime {
    time.naive_utc()
}

pub(crate) fn from_stored(time: NaiveDateTime) -> DateTime<Utc> {
    time.and_utc()
}
