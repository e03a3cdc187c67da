//! Requests made with an `Idempotency-Key`, in `idempotency_keys`.
//!
//! A request first claims its key ([`IdempotencyKeys::claim`]); while it runs, the claim is this
//! thread's ([`run_claimed`]), and the application store marks it committed inside the
//! operation's own transaction ([`mark_committed`]), which fails when another request has taken
//! the key over meanwhile. So the effects of one key are committed at most once, even when a
//! server dies between the commit and storing the response. The response is stored last
//! ([`IdempotencyKeys::complete`]) and given again to every retry.

use crate::connection::{Database, DbConnection, unavailable};
use crate::schema::idempotency_keys;
use crate::time::{from_stored, to_stored};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use domain::ports::Unavailable;
use std::cell::RefCell;

/// Who holds a key while its request runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub owner: String,
    pub key: String,
    pub fence: String,
}

/// A response as stored for replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// What a request with a key may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claimed {
    /// The key is this request's: run it.
    Run(Claim),
    /// The key's request finished: give its response again.
    Replay(StoredResponse),
    /// The key was used for a different request.
    Mismatch,
    /// The key's first request is still running (or its server died less than a lease ago).
    InProgress { retry_after_seconds: i64 },
    /// The key's first request committed its effects, but its server died before storing the
    /// response.
    Interrupted,
}

/// The times that bound a claim.
#[derive(Debug, Clone, Copy)]
pub struct ClaimTimes {
    pub now: DateTime<Utc>,
    /// How long a running request holds its key before a retry may take it over.
    pub lease: chrono::TimeDelta,
    /// How long a key is kept.
    pub keep: chrono::TimeDelta,
}

enum ClaimError {
    Diesel(DieselError),
    Unavailable(Unavailable),
}

impl From<DieselError> for ClaimError {
    fn from(error: DieselError) -> Self {
        Self::Diesel(error)
    }
}

impl From<Unavailable> for ClaimError {
    fn from(error: Unavailable) -> Self {
        Self::Unavailable(error)
    }
}

#[derive(Queryable)]
struct KeyRow {
    fence: String,
    request_hash: String,
    locked_until: chrono::NaiveDateTime,
    committed: bool,
    response_status: Option<i32>,
    response_headers: Option<String>,
    response_body: Option<Vec<u8>>,
    expires_at: chrono::NaiveDateTime,
}

/// The table of idempotency keys.
#[derive(Debug, Clone)]
pub struct IdempotencyKeys {
    db: Database,
}

impl IdempotencyKeys {
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// Claims `key` of `owner` for a request whose content hashes to `request_hash`, with
    /// `fence` as the claim's identity (a fresh id per request).
    pub fn claim(
        &self,
        owner: &str,
        key: &str,
        request_hash: &str,
        fence: &str,
        times: ClaimTimes,
    ) -> Result<Claimed, Unavailable> {
        let now = to_stored(times.now);
        let locked_until = to_stored(times.now + times.lease);
        let outcome = self.db.write(|conn| -> Result<Claimed, ClaimError> {
            let existing: Option<KeyRow> = idempotency_keys::table
                .find((owner, key))
                .select((
                    idempotency_keys::fence,
                    idempotency_keys::request_hash,
                    idempotency_keys::locked_until,
                    idempotency_keys::committed,
                    idempotency_keys::response_status,
                    idempotency_keys::response_headers,
                    idempotency_keys::response_body,
                    idempotency_keys::expires_at,
                ))
                .first(conn)
                .optional()?;
            let run = Claimed::Run(Claim {
                owner: owner.to_owned(),
                key: key.to_owned(),
                fence: fence.to_owned(),
            });
            let Some(row) = existing.filter(|row| row.expires_at > now) else {
                // Only an expired row goes: one another request inserted after the read above
                // (committed since, so this statement sees it) must stay, and the insert below
                // then fails on it as the second of two first requests.
                diesel::delete(
                    idempotency_keys::table
                        .find((owner, key))
                        .filter(idempotency_keys::expires_at.le(now)),
                )
                .execute(conn)?;
                diesel::insert_into(idempotency_keys::table)
                    .values((
                        idempotency_keys::owner.eq(owner),
                        idempotency_keys::idempotency_key.eq(key),
                        idempotency_keys::request_hash.eq(request_hash),
                        idempotency_keys::fence.eq(fence),
                        idempotency_keys::locked_until.eq(locked_until),
                        idempotency_keys::committed.eq(false),
                        idempotency_keys::created_at.eq(now),
                        idempotency_keys::expires_at.eq(to_stored(times.now + times.keep)),
                    ))
                    .execute(conn)?;
                return Ok(run);
            };
            if row.request_hash != request_hash {
                return Ok(Claimed::Mismatch);
            }
            if let (Some(status), Some(body)) = (row.response_status, row.response_body) {
                let headers = row
                    .response_headers
                    .as_deref()
                    .and_then(|json| serde_json::from_str(json).ok())
                    .unwrap_or_default();
                return Ok(Claimed::Replay(StoredResponse {
                    status: u16::try_from(status).unwrap_or(500),
                    headers,
                    body,
                }));
            }
            // A holder within its lease may be about to store its response, even after its commit.
            if row.committed && row.locked_until <= now {
                return Ok(Claimed::Interrupted);
            }
            if row.locked_until > now {
                // The first request usually ends within a second; the lease is only the bound
                // for a dead one.
                let left = (from_stored(row.locked_until) - times.now).num_seconds();
                return Ok(Claimed::InProgress {
                    retry_after_seconds: left.clamp(1, 2),
                });
            }
            // The holder's lease ran out without a commit: its server died, or it is slower
            // than the lease and will find its fence gone when it tries to commit. Taken over
            // only if the row is still as read: on PostgreSQL the holder may have marked it
            // committed meanwhile (this UPDATE then waits for its commit and matches nothing).
            let taken = diesel::update(
                idempotency_keys::table
                    .find((owner, key))
                    .filter(idempotency_keys::fence.eq(&row.fence))
                    .filter(idempotency_keys::committed.eq(false))
                    .filter(idempotency_keys::response_status.is_null()),
            )
            .set((
                idempotency_keys::fence.eq(fence),
                idempotency_keys::locked_until.eq(locked_until),
            ))
            .execute(conn)?;
            if taken == 1 {
                Ok(run)
            } else {
                Ok(Claimed::InProgress {
                    retry_after_seconds: 1,
                })
            }
        });
        match outcome {
            Ok(claimed) => Ok(claimed),
            // Two first requests with one key at once on PostgreSQL: the second to insert loses.
            Err(ClaimError::Diesel(DieselError::DatabaseError(
                DatabaseErrorKind::UniqueViolation,
                _,
            ))) => Ok(Claimed::InProgress {
                retry_after_seconds: 1,
            }),
            Err(ClaimError::Diesel(error)) => Err(unavailable(&error)),
            Err(ClaimError::Unavailable(error)) => Err(error),
        }
    }

    /// Stores the response of a claimed request, if the claim is still the holder's.
    pub fn complete(&self, claim: &Claim, response: &StoredResponse) -> Result<(), Unavailable> {
        let headers = serde_json::to_string(&response.headers).unwrap_or_else(|_| "[]".into());
        let mut conn = self.db.connection()?;
        diesel::update(
            idempotency_keys::table
                .find((&claim.owner, &claim.key))
                .filter(idempotency_keys::fence.eq(&claim.fence)),
        )
        .set((
            idempotency_keys::response_status.eq(i32::from(response.status)),
            idempotency_keys::response_headers.eq(headers),
            idempotency_keys::response_body.eq(&response.body),
        ))
        .execute(&mut *conn)
        .map_err(|e| unavailable(&e))?;
        Ok(())
    }

    /// Gives up a claim whose request failed on our side before committing anything, so that a
    /// retry runs it again.
    pub fn release(&self, claim: &Claim) -> Result<(), Unavailable> {
        let mut conn = self.db.connection()?;
        diesel::delete(
            idempotency_keys::table
                .find((&claim.owner, &claim.key))
                .filter(idempotency_keys::fence.eq(&claim.fence))
                .filter(idempotency_keys::committed.eq(false)),
        )
        .execute(&mut *conn)
        .map_err(|e| unavailable(&e))?;
        Ok(())
    }

    /// Removes the keys kept longer than their time; returns how many.
    pub fn remove_expired(&self, now: DateTime<Utc>) -> Result<usize, Unavailable> {
        let mut conn = self.db.connection()?;
        diesel::delete(
            idempotency_keys::table.filter(idempotency_keys::expires_at.le(to_stored(now))),
        )
        .execute(&mut *conn)
        .map_err(|e| unavailable(&e))
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Claim>> = const { RefCell::new(None) };
}

/// Puts the thread's previous claim back when dropped, also when the work panics.
struct Restore(Option<Claim>);

impl Drop for Restore {
    fn drop(&mut self) {
        let previous = self.0.take();
        CURRENT.with(|current| current.replace(previous));
    }
}

/// Runs `work` with `claim` as this thread's current claim.
pub fn run_claimed<T>(claim: Option<Claim>, work: impl FnOnce() -> T) -> T {
    let _restore = Restore(CURRENT.with(|current| current.replace(claim)));
    work()
}

/// Why a write whose claim was taken over is rolled back: a retry owns the key now, and it runs
/// the operation itself.
pub(crate) fn taken_over() -> Unavailable {
    Unavailable {
        system: "database",
        reason: "the request's idempotency key was taken over by a retry".to_owned(),
    }
}

/// Whether this thread holds a claim, so that a write must mark it committed in its transaction.
pub(crate) fn is_claimed() -> bool {
    CURRENT.with(|current| current.borrow().is_some())
}

/// Why a claimed operation may not commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimLost;

/// Marks the thread's claim, if any, as committed, in the caller's transaction. Fails when the
/// claim was taken over (its fence is gone), and the caller then rolls back.
pub(crate) fn mark_committed(
    conn: &mut DbConnection,
) -> Result<Result<(), ClaimLost>, DieselError> {
    let Some(claim) = CURRENT.with(|current| current.borrow().clone()) else {
        return Ok(Ok(()));
    };
    let marked = diesel::update(
        idempotency_keys::table
            .find((&claim.owner, &claim.key))
            .filter(idempotency_keys::fence.eq(&claim.fence)),
    )
    .set(idempotency_keys::committed.eq(true))
    .execute(conn)?;
    Ok(if marked == 1 { Ok(()) } else { Err(ClaimLost) })
}
