//! The hot reads (`domain::reads::ApplicationReads`): "My applications" and an application with
//! its messages.
//!
//! On PostgreSQL they run on diesel-async: the request's worker awaits the answer instead of
//! handing the work to a blocking thread and back, and the statements of one read are pipelined
//! on one connection (sent together, answered in one round trip). Each HTTP worker has a pool
//! of its own (`connection::ReadPools`), so that a connection is driven on the thread whose
//! requests use it. On SQLite, whose driver
//! blocks, and where PostgreSQL is reached only over TLS, they run on the blocking pool through
//! the sync store. Both run the same SQL: the queries are the macros of `applications` and
//! `outbox`.

use crate::applications::{
    ApplicationRow, DieselApplicationStore, SummaryRow, TimelineRow, application_by_number,
    my_applications, my_applications_page, page_of, timeline_by_number, to_domain,
};
use crate::connection::{Database, DatabaseError, ReadPools, unavailable};
use crate::outbox::{
    DieselOutbox, ViewRow, event_columns, message_columns, messages_by_number, to_view,
    view_columns,
};
use crate::schema::{applications, notification_events, outbox_messages};
use diesel::prelude::*;
use diesel_async::pooled_connection::deadpool::{Pool, PoolError};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use domain::application::ApplicationNumber;
use domain::notifications::Channel;
use domain::ports::{ApplicationPage, ApplicationQuery, ApplicationStore, Unavailable};
use domain::reads::{ApplicationReads, ApplicationWithMessages};

/// The pool of async PostgreSQL connections the reads use.
pub type ReadPool = Pool<AsyncPgConnection>;

/// The hot reads on the database's backend.
#[derive(Clone)]
pub struct DieselApplicationReads {
    inner: Inner,
}

#[derive(Clone)]
enum Inner {
    Async(ReadPool),
    Blocking {
        store: DieselApplicationStore,
        outbox: DieselOutbox,
    },
}

impl std::fmt::Debug for DieselApplicationReads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DieselApplicationReads")
            .field("async", &self.is_async())
            .finish()
    }
}

impl DieselApplicationReads {
    /// Async when the database has read pools (PostgreSQL, see `Database::connect`), with one
    /// pool of the whole size; otherwise on the blocking pool.
    pub fn new(db: Database) -> Result<Self, DatabaseError> {
        Self::with_pool(db, ReadPools::whole)
    }

    /// The reads of one of `workers` HTTP workers: its own share of the async connections.
    pub fn for_worker(db: Database, workers: usize) -> Result<Self, DatabaseError> {
        Self::with_pool(db, |pools| pools.for_worker(workers))
    }

    fn with_pool(
        db: Database,
        make: impl FnOnce(&ReadPools) -> Result<ReadPool, DatabaseError>,
    ) -> Result<Self, DatabaseError> {
        let inner = match db.read_pools() {
            Some(pools) => Inner::Async(make(pools)?),
            None => Inner::Blocking {
                store: DieselApplicationStore::new(db.clone()),
                outbox: DieselOutbox::new(db),
            },
        };
        Ok(Self { inner })
    }

    /// Whether the reads are awaited on an async driver (rather than run on the blocking pool).
    pub fn is_async(&self) -> bool {
        matches!(self.inner, Inner::Async(_))
    }

    /// Opens one connection of the async pool, so that a URL the async driver cannot use
    /// (a password only in `~/.pgpass`, say) stops the start-up with the driver's own message
    /// instead of failing every read later. Nothing to check on the blocking pool.
    ///
    /// The connection is closed, not kept: its driver task runs on the runtime that opened it,
    /// and one opened by the start-up would have every read on it wake that runtime's threads
    /// as well as the HTTP worker's.
    pub async fn check(&self) -> Result<(), Unavailable> {
        match &self.inner {
            Inner::Async(pool) => {
                let connection = pool.get().await.map_err(|e| pool_unavailable(&e))?;
                drop(deadpool::managed::Object::take(connection));
                Ok(())
            }
            Inner::Blocking { .. } => Ok(()),
        }
    }
}

fn pool_unavailable(error: &PoolError) -> Unavailable {
    Unavailable {
        system: "database",
        reason: format!("no connection for the read: {error}"),
    }
}

fn cancelled(error: &tokio::task::JoinError) -> Unavailable {
    Unavailable {
        system: "database",
        reason: format!("the read on the blocking pool did not finish: {error}"),
    }
}

impl ApplicationReads for DieselApplicationReads {
    async fn find_with_messages(
        &self,
        number: &ApplicationNumber,
    ) -> Result<Option<ApplicationWithMessages>, Unavailable> {
        match &self.inner {
            Inner::Async(pool) => {
                let conn = pool.get().await.map_err(|e| pool_unavailable(&e))?;
                let conn: &AsyncPgConnection = &conn;
                let number = number.as_str();
                // Three statements, one round trip. Each sees the database as its own statement
                // began (as the sync reads do): a change committed between them can show in the
                // timeline or the messages and not yet in the row, never the other way round.
                let row = application_by_number!(number).load::<ApplicationRow>(&mut &*conn);
                let timeline = timeline_by_number!(number).load::<TimelineRow>(&mut &*conn);
                let messages = messages_by_number!(number)
                    .filter(outbox_messages::channel.ne(Channel::Webhook.as_str()))
                    .load::<ViewRow>(&mut &*conn);
                let (rows, timeline, messages) =
                    tokio::try_join!(row, timeline, messages).map_err(|e| unavailable(&e))?;
                let Some(row) = rows.into_iter().next() else {
                    return Ok(None);
                };
                Ok(Some(ApplicationWithMessages {
                    application: to_domain(&row, timeline)?,
                    messages: messages
                        .into_iter()
                        .map(to_view)
                        .collect::<Result<_, _>>()?,
                }))
            }
            Inner::Blocking { store, outbox } => {
                let (store, outbox, number) = (store.clone(), outbox.clone(), number.clone());
                tokio::task::spawn_blocking(move || {
                    let Some(application) = store.find(&number)? else {
                        return Ok(None);
                    };
                    let messages = outbox.messages_of(&number, false)?;
                    Ok(Some(ApplicationWithMessages {
                        application,
                        messages,
                    }))
                })
                .await
                .map_err(|e| cancelled(&e))?
            }
        }
    }

    async fn list(&self, query: &ApplicationQuery) -> Result<ApplicationPage, Unavailable> {
        match &self.inner {
            Inner::Async(pool) => {
                let conn = pool.get().await.map_err(|e| pool_unavailable(&e))?;
                let conn: &AsyncPgConnection = &conn;
                let total = my_applications!(query)
                    .count()
                    .get_result::<i64>(&mut &*conn);
                let rows = my_applications_page!(query).load::<SummaryRow>(&mut &*conn);
                let (total, rows) = tokio::try_join!(total, rows).map_err(|e| unavailable(&e))?;
                page_of(query, total, rows)
            }
            Inner::Blocking { store, .. } => {
                let (store, query) = (store.clone(), query.clone());
                tokio::task::spawn_blocking(move || store.list(&query))
                    .await
                    .map_err(|e| cancelled(&e))?
            }
        }
    }
}
