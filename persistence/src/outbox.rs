//! The outbox: notification events and their messages, written in the transaction of the change
//! that raised them ([`enqueue`]), and read, claimed and settled by the dispatcher
//! ([`DieselOutbox`]). Webhook subscriptions live here too, since their messages do.
//!
//! Claiming is safe with several dispatchers on one PostgreSQL: the due rows are selected
//! `FOR UPDATE SKIP LOCKED` and leased (`locked_by`, `locked_until`) in one transaction, so a
//! second dispatcher neither waits for nor takes them. SQLite serialises writers, which gives
//! the same guarantee for its single process.

use crate::connection::{Database, DbConnection, unavailable};
use crate::idempotency;
use crate::schema::{
    applications, notification_events, outbox_attempts, outbox_messages, webhook_subscriptions,
};
use crate::time::{from_stored, to_stored};
use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use diesel::prelude::*;
use diesel::result::Error as DieselError;
use domain::application::ApplicationNumber;
use domain::notifications::retry::NextStep;
use domain::notifications::{
    Channel, DeliveryStatus, EventFacts, EventType, Language, NewEvent, Recipients,
    fallback_channel, subscription_wants,
};
use domain::ports::Unavailable;
use domain::routing::DepartmentCode;

const EVENT_TYPES_SEPARATOR: char = ',';

/// Writes the events and their messages: the applicant's (each channel with an address) and one
/// per active webhook subscription that wants the event. Runs inside the caller's transaction,
/// one row at a time: SQLite's way, in process (PostgreSQL writes them with the application's
/// timeline in one statement, `create_on_postgres`).
pub(crate) fn enqueue(
    conn: &mut DbConnection,
    application_id: i64,
    events: &[NewEvent],
) -> Result<(), DieselError> {
    if events.is_empty() {
        return Ok(());
    }
    let subscriptions: Vec<(i64, String, String)> = webhook_subscriptions::table
        .filter(webhook_subscriptions::active.eq(true))
        .select((
            webhook_subscriptions::id,
            webhook_subscriptions::url,
            webhook_subscriptions::event_types,
        ))
        .load(conn)?;
    for event in events {
        let public_id = uuid::Uuid::new_v4().to_string();
        let facts = serde_json::to_string(&event.facts)
            .map_err(|e| DieselError::SerializationError(Box::new(e)))?;
        let event_id: i64 = diesel::insert_into(notification_events::table)
            .values((
                notification_events::public_id.eq(&public_id),
                notification_events::application_id.eq(application_id),
                notification_events::event_type.eq(event.event_type.as_str()),
                notification_events::occurred_at.eq(to_stored(event.occurred_at)),
                notification_events::language.eq(event.language.as_str()),
                notification_events::mobile.eq(event.recipients.mobile.as_deref()),
                notification_events::email.eq(event.recipients.email.as_deref()),
                notification_events::facts.eq(&facts),
            ))
            .returning(notification_events::id)
            .get_result(conn)?;
        // Due at once by the real clock: the event's time may come from a fixed clock.
        let at = to_stored(Utc::now());
        for (channel, recipient) in event.applicant_messages() {
            insert_message(conn, event_id, channel, &recipient, None, None, at)?;
        }
        for (id, url, types) in &subscriptions {
            if subscription_wants(&parse_event_types(types), event.event_type) {
                insert_message(conn, event_id, Channel::Webhook, url, Some(*id), None, at)?;
            }
        }
    }
    Ok(())
}

fn insert_message(
    conn: &mut DbConnection,
    event_id: i64,
    channel: Channel,
    recipient: &str,
    subscription_id: Option<i64>,
    fallback_of: Option<i64>,
    at: NaiveDateTime,
) -> Result<(), DieselError> {
    diesel::insert_into(outbox_messages::table)
        .values((
            outbox_messages::event_id.eq(event_id),
            outbox_messages::channel.eq(channel.as_str()),
            outbox_messages::recipient.eq(recipient),
            outbox_messages::subscription_id.eq(subscription_id),
            outbox_messages::fallback_of.eq(fallback_of),
            outbox_messages::status.eq(DeliveryStatus::Queued.as_str()),
            outbox_messages::attempts.eq(0),
            outbox_messages::next_attempt_at.eq(at),
            outbox_messages::created_at.eq(at),
            outbox_messages::updated_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

fn parse_event_types(stored: &str) -> Vec<EventType> {
    stored
        .split(EVENT_TYPES_SEPARATOR)
        .filter_map(EventType::parse)
        .collect()
}

/// An event as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// The id integrators see.
    pub public_id: String,
    pub event_type: EventType,
    pub occurred_at: DateTime<Utc>,
    pub language: Language,
    pub recipients: Recipients,
    pub facts: EventFacts,
}

/// Where a webhook message goes.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookTarget {
    pub subscription_id: i64,
    pub url: String,
    pub secret: String,
}

impl std::fmt::Debug for WebhookTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookTarget")
            .field("subscription_id", &self.subscription_id)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// A message a dispatcher holds for one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedMessage {
    pub id: i64,
    pub channel: Channel,
    pub recipient: String,
    /// The number of this attempt, from 1.
    pub attempt: u32,
    pub event: StoredEvent,
    /// For a webhook message: the subscription as it is now (a changed URL or secret applies to
    /// the messages not yet delivered).
    pub webhook: Option<WebhookTarget>,
}

/// A message as the timeline and the delivery log show it (defined with the read port).
pub use domain::notifications::MessageView;

/// One attempt of the delivery log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptView {
    pub attempt: u32,
    pub at: DateTime<Utc>,
    pub outcome: String,
    pub detail: Option<String>,
}

/// A webhook subscription (without its secret, which is never read back).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub id: i64,
    pub url: String,
    pub event_types: Vec<EventType>,
    pub description: Option<String>,
    pub active: bool,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// A subscription about to be stored.
#[derive(Clone, PartialEq, Eq)]
pub struct NewSubscription {
    pub url: String,
    pub event_types: Vec<EventType>,
    pub secret: String,
    pub description: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for NewSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSubscription")
            .field("url", &self.url)
            .field("event_types", &self.event_types)
            .finish_non_exhaustive()
    }
}

/// How an attempt ended, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptKind {
    Sent,
    Transient,
    Permanent,
}

impl AttemptKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Transient => "transient",
            Self::Permanent => "permanent",
        }
    }
}

/// The size of the backlog, for health checks and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Backlog {
    pub queued: u64,
    pub failed: u64,
}

#[derive(Debug)]
enum Fault {
    Diesel(DieselError),
    Unavailable(Unavailable),
}

impl From<DieselError> for Fault {
    fn from(error: DieselError) -> Self {
        Self::Diesel(error)
    }
}

impl From<Unavailable> for Fault {
    fn from(error: Unavailable) -> Self {
        Self::Unavailable(error)
    }
}

/// Marks the request's Idempotency-Key committed in this write's transaction (see
/// `idempotency`): a retry after a crash between this commit and the stored answer is then told
/// the request was interrupted instead of acting twice. A key taken over rolls the write back.
fn committed_once(conn: &mut DbConnection) -> Result<(), Fault> {
    idempotency::mark_committed(conn)?.map_err(|_| Fault::Unavailable(idempotency::taken_over()))
}

impl From<Fault> for Unavailable {
    fn from(fault: Fault) -> Self {
        match fault {
            Fault::Diesel(error) => unavailable(&error),
            Fault::Unavailable(error) => error,
        }
    }
}

pub(crate) type MessageRow = (
    (
        i64,
        i64,
        String,
        String,
        Option<i64>,
        Option<i64>,
        String,
        i32,
    ),
    (
        Option<NaiveDateTime>,
        NaiveDateTime,
        Option<String>,
        NaiveDateTime,
    ),
    (Option<NaiveDateTime>, Option<NaiveDateTime>),
);
pub(crate) type EventRow = (
    String,
    String,
    NaiveDateTime,
    String,
    Option<String>,
    Option<String>,
    String,
);
/// A message as shown: see `view_columns!`.
pub(crate) type ViewRow = (MessageRow, EventRow, String, Option<String>);

fn corrupt(what: &str, value: &str) -> Unavailable {
    Unavailable::stored_data(format!("outbox: unknown {what} {value:?}"))
}

fn to_event(row: EventRow) -> Result<StoredEvent, Unavailable> {
    let (public_id, event_type, occurred_at, language, mobile, email, facts) = row;
    Ok(StoredEvent {
        event_type: EventType::parse(&event_type)
            .ok_or_else(|| corrupt("event type", &event_type))?,
        occurred_at: from_stored(occurred_at),
        language: Language::parse(&language).ok_or_else(|| corrupt("language", &language))?,
        recipients: Recipients { mobile, email },
        facts: serde_json::from_str(&facts)
            .map_err(|e| Unavailable::stored_data(format!("outbox: event {public_id}: {e}")))?,
        public_id,
    })
}

/// The outbox on PostgreSQL or SQLite.
#[derive(Debug, Clone)]
pub struct DieselOutbox {
    db: Database,
}

macro_rules! message_columns {
    () => {
        (
            (
                outbox_messages::id,
                outbox_messages::event_id,
                outbox_messages::channel,
                outbox_messages::recipient,
                outbox_messages::subscription_id,
                outbox_messages::fallback_of,
                outbox_messages::status,
                outbox_messages::attempts,
            ),
            (
                outbox_messages::next_attempt_at.nullable(),
                outbox_messages::updated_at,
                outbox_messages::last_error,
                outbox_messages::created_at,
            ),
            (outbox_messages::sent_at, outbox_messages::delivered_at),
        )
    };
}
pub(crate) use message_columns;

macro_rules! event_columns {
    () => {
        (
            notification_events::public_id,
            notification_events::event_type,
            notification_events::occurred_at,
            notification_events::language,
            notification_events::mobile,
            notification_events::email,
            notification_events::facts,
        )
    };
}
pub(crate) use event_columns;

/// A message as shown: its row, its event, and its application's number and department.
macro_rules! view_columns {
    () => {
        (
            message_columns!(),
            event_columns!(),
            applications::number,
            applications::department_code,
        )
    };
}
pub(crate) use view_columns;

/// The messages of the application with this number, oldest first (a macro, so that the sync
/// connections here and the async one in `reads` run the same SQL).
macro_rules! messages_by_number {
    ($number:expr) => {
        $crate::schema::outbox_messages::table
            .inner_join(
                $crate::schema::notification_events::table
                    .inner_join($crate::schema::applications::table),
            )
            .filter($crate::schema::applications::number.eq($number))
            .order($crate::schema::outbox_messages::id.asc())
            .select(view_columns!())
    };
}
pub(crate) use messages_by_number;

impl DieselOutbox {
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// Leases up to `limit` due messages to `worker` until `now + lease` and counts the attempt.
    pub fn claim(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease: TimeDelta,
        limit: i64,
    ) -> Result<Vec<ClaimedMessage>, Unavailable> {
        let stored_now = to_stored(now);
        self.db
            .write(|conn| -> Result<Vec<ClaimedMessage>, Fault> {
                let due = outbox_messages::table
                    .filter(outbox_messages::status.eq(DeliveryStatus::Queued.as_str()))
                    .filter(outbox_messages::next_attempt_at.le(stored_now))
                    .filter(
                        outbox_messages::locked_until
                            .is_null()
                            .or(outbox_messages::locked_until.lt(stored_now)),
                    )
                    .order((
                        outbox_messages::next_attempt_at.asc(),
                        outbox_messages::id.asc(),
                    ))
                    .limit(limit)
                    .select(outbox_messages::id);
                let ids: Vec<i64> = match conn {
                    DbConnection::Postgresql(pg) => due.for_update().skip_locked().load(pg)?,
                    DbConnection::Sqlite(sqlite) => due.load(sqlite)?,
                };
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                diesel::update(outbox_messages::table.filter(outbox_messages::id.eq_any(&ids)))
                    .set((
                        outbox_messages::locked_by.eq(worker),
                        outbox_messages::locked_until
                            .eq(to_stored(now.checked_add_signed(lease).unwrap_or(now))),
                        outbox_messages::attempts.eq(outbox_messages::attempts + 1),
                    ))
                    .execute(conn)?;
                let rows: Vec<(MessageRow, EventRow)> = outbox_messages::table
                    .inner_join(notification_events::table)
                    .filter(outbox_messages::id.eq_any(&ids))
                    .order(outbox_messages::id.asc())
                    .select((message_columns!(), event_columns!()))
                    .load(conn)?;
                let subscription_ids: Vec<i64> = rows.iter().filter_map(|(m, _)| m.0.4).collect();
                let targets: Vec<(i64, String, String)> = if subscription_ids.is_empty() {
                    Vec::new()
                } else {
                    webhook_subscriptions::table
                        .filter(webhook_subscriptions::id.eq_any(&subscription_ids))
                        .select((
                            webhook_subscriptions::id,
                            webhook_subscriptions::url,
                            webhook_subscriptions::secret,
                        ))
                        .load(conn)?
                };
                let mut claimed = Vec::with_capacity(rows.len());
                let mut unreadable: Vec<(i64, String)> = Vec::new();
                for (message, event) in rows {
                    let ((id, _, channel, recipient, subscription_id, _, _, attempts), _, _) =
                        message;
                    let webhook = subscription_id.and_then(|sid| {
                        targets
                            .iter()
                            .find(|(id, _, _)| *id == sid)
                            .map(|(id, url, secret)| WebhookTarget {
                                subscription_id: *id,
                                url: url.clone(),
                                secret: secret.clone(),
                            })
                    });
                    // A row this version cannot read (written by a newer one, or damaged)
                    // fails alone instead of stopping the whole outbox.
                    let readable = Channel::parse(&channel)
                        .ok_or_else(|| corrupt("channel", &channel))
                        .and_then(|channel| Ok((channel, to_event(event)?)));
                    match readable {
                        Ok((channel, event)) => claimed.push(ClaimedMessage {
                            id,
                            channel,
                            recipient,
                            attempt: u32::try_from(attempts).unwrap_or(1),
                            event,
                            webhook,
                        }),
                        Err(error) => unreadable.push((id, error.reason)),
                    }
                }
                for (id, reason) in unreadable {
                    tracing::error!(message = id, %reason, "outbox: an unreadable message is failed");
                    diesel::update(outbox_messages::table.find(id))
                        .set((
                            outbox_messages::status.eq(DeliveryStatus::Failed.as_str()),
                            outbox_messages::last_error.eq(format!("unreadable: {reason}")),
                            outbox_messages::locked_by.eq(None::<String>),
                            outbox_messages::locked_until.eq(None::<NaiveDateTime>),
                            outbox_messages::updated_at.eq(stored_now),
                        ))
                        .execute(conn)?;
                }
                Ok(claimed)

            })
            .map_err(Unavailable::from)
    }

    /// Settles an attempt of a message this worker holds: sent, to be retried, or failed (then,
    /// for the applicant's channels, the fallback message is queued). A message whose lease was
    /// lost meanwhile is left alone: `false`.
    pub fn finish(
        &self,
        message: &ClaimedMessage,
        worker: &str,
        step: &NextStep,
        kind: AttemptKind,
        now: DateTime<Utc>,
    ) -> Result<bool, Unavailable> {
        let stored_now = to_stored(now);
        self.db
            .write(|conn| -> Result<bool, Fault> {
                let held = outbox_messages::table
                    .filter(outbox_messages::id.eq(message.id))
                    .filter(outbox_messages::locked_by.eq(worker))
                    .filter(outbox_messages::status.eq(DeliveryStatus::Queued.as_str()));
                let detail = match step {
                    NextStep::Sent { reference } => reference.clone(),
                    NextStep::RetryAt { reason, .. } | NextStep::Fail { reason } => {
                        Some(reason.clone())
                    }
                };
                let updated = match step {
                    NextStep::Sent { reference } => diesel::update(held)
                        .set((
                            outbox_messages::status.eq(DeliveryStatus::Sent.as_str()),
                            outbox_messages::provider_reference.eq(reference.as_deref()),
                            outbox_messages::sent_at.eq(Some(stored_now)),
                            outbox_messages::last_error.eq(None::<String>),
                            outbox_messages::locked_by.eq(None::<String>),
                            outbox_messages::locked_until.eq(None::<NaiveDateTime>),
                            outbox_messages::updated_at.eq(stored_now),
                        ))
                        .execute(conn)?,
                    NextStep::RetryAt { at, reason } => diesel::update(held)
                        .set((
                            outbox_messages::next_attempt_at.eq(to_stored(*at)),
                            outbox_messages::last_error.eq(Some(reason)),
                            outbox_messages::locked_by.eq(None::<String>),
                            outbox_messages::locked_until.eq(None::<NaiveDateTime>),
                            outbox_messages::updated_at.eq(stored_now),
                        ))
                        .execute(conn)?,
                    NextStep::Fail { reason } => diesel::update(held)
                        .set((
                            outbox_messages::status.eq(DeliveryStatus::Failed.as_str()),
                            outbox_messages::last_error.eq(Some(reason)),
                            outbox_messages::locked_by.eq(None::<String>),
                            outbox_messages::locked_until.eq(None::<NaiveDateTime>),
                            outbox_messages::updated_at.eq(stored_now),
                        ))
                        .execute(conn)?,
                };
                if updated == 0 {
                    return Ok(false);
                }
                diesel::insert_into(outbox_attempts::table)
                    .values((
                        outbox_attempts::message_id.eq(message.id),
                        outbox_attempts::attempt.eq(i32::try_from(message.attempt).unwrap_or(0)),
                        outbox_attempts::at.eq(stored_now),
                        outbox_attempts::outcome.eq(kind.as_str()),
                        outbox_attempts::detail.eq(detail),
                        outbox_attempts::worker.eq(worker),
                    ))
                    .execute(conn)?;
                if matches!(step, NextStep::Fail { .. }) {
                    queue_fallback(conn, message, stored_now)?;
                }
                Ok(true)
            })
            .map_err(Unavailable::from)
    }

    /// Queues a failed message again for a new round of attempts (an operator's retry).
    /// `false` when it is not (or no longer) failed: a double click queues it once.
    pub fn retry_failed(&self, id: i64, now: DateTime<Utc>) -> Result<bool, Unavailable> {
        self.requeue(id, now, true)
    }

    /// Sends a message again, whatever came of it (an admin's redelivery of a webhook).
    /// `false` when it is queued or being sent right now: it is not taken from its dispatcher.
    pub fn redeliver(&self, id: i64, now: DateTime<Utc>) -> Result<bool, Unavailable> {
        self.requeue(id, now, false)
    }

    fn requeue(&self, id: i64, now: DateTime<Utc>, only_failed: bool) -> Result<bool, Unavailable> {
        let stored_now = to_stored(now);
        self.db
            .write(|conn| -> Result<bool, Fault> {
                let target = outbox_messages::table.find(id);
                let changes = (
                    outbox_messages::status.eq(DeliveryStatus::Queued.as_str()),
                    outbox_messages::attempts.eq(0),
                    outbox_messages::next_attempt_at.eq(stored_now),
                    outbox_messages::locked_by.eq(None::<String>),
                    outbox_messages::locked_until.eq(None::<NaiveDateTime>),
                    outbox_messages::last_error.eq(None::<String>),
                    outbox_messages::provider_reference.eq(None::<String>),
                    outbox_messages::sent_at.eq(None::<NaiveDateTime>),
                    outbox_messages::delivered_at.eq(None::<NaiveDateTime>),
                    outbox_messages::updated_at.eq(stored_now),
                );
                let updated = if only_failed {
                    diesel::update(
                        target.filter(outbox_messages::status.eq(DeliveryStatus::Failed.as_str())),
                    )
                    .set(changes)
                    .execute(conn)?
                } else {
                    diesel::update(
                        target.filter(outbox_messages::status.ne(DeliveryStatus::Queued.as_str())),
                    )
                    .set(changes)
                    .execute(conn)?
                };
                committed_once(conn)?;
                Ok(updated > 0)
            })
            .map_err(Unavailable::from)
    }

    /// Records the SMS gateway's delivery report of the message it knows as `reference`.
    /// `false` when no sent message has that reference.
    pub fn delivery_report(
        &self,
        reference: &str,
        delivered: bool,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool, Unavailable> {
        let stored_now = to_stored(now);
        self.db
            .write(|conn| -> Result<bool, Fault> {
                let sent = outbox_messages::table
                    .filter(outbox_messages::provider_reference.eq(reference))
                    .filter(outbox_messages::channel.eq(Channel::Sms.as_str()))
                    .filter(outbox_messages::status.eq(DeliveryStatus::Sent.as_str()));
                let updated = if delivered {
                    diesel::update(sent)
                        .set((
                            outbox_messages::status.eq(DeliveryStatus::Delivered.as_str()),
                            outbox_messages::delivered_at.eq(Some(stored_now)),
                            outbox_messages::updated_at.eq(stored_now),
                        ))
                        .execute(conn)?
                } else {
                    let message: Option<(MessageRow, EventRow)> = outbox_messages::table
                        .inner_join(notification_events::table)
                        .filter(outbox_messages::provider_reference.eq(reference))
                        .filter(outbox_messages::channel.eq(Channel::Sms.as_str()))
                        .filter(outbox_messages::status.eq(DeliveryStatus::Sent.as_str()))
                        .select((message_columns!(), event_columns!()))
                        .first(conn)
                        .optional()?;
                    let Some((row, event)) = message else {
                        return Ok(false);
                    };
                    let updated = diesel::update(sent)
                        .set((
                            outbox_messages::status.eq(DeliveryStatus::Failed.as_str()),
                            outbox_messages::last_error
                                .eq(Some(reason.unwrap_or("the gateway could not deliver it"))),
                            outbox_messages::updated_at.eq(stored_now),
                        ))
                        .execute(conn)?;
                    if updated == 0 {
                        // Settled meanwhile (a "delivered" report won): no fallback.
                        return Ok(false);
                    }
                    let claimed = ClaimedMessage {
                        id: row.0.0,
                        channel: Channel::Sms,
                        recipient: row.0.3.clone(),
                        attempt: 0,
                        event: to_event(event)?,
                        webhook: None,
                    };
                    queue_fallback(conn, &claimed, stored_now)?;
                    updated
                };
                Ok(updated > 0)
            })
            .map_err(Unavailable::from)
    }

    /// The messages of an application, oldest first; webhooks only when `with_webhooks`.
    pub fn messages_of(
        &self,
        number: &ApplicationNumber,
        with_webhooks: bool,
    ) -> Result<Vec<MessageView>, Unavailable> {
        let mut conn = self.db.connection()?;
        let mut query = messages_by_number!(number.as_str()).into_boxed();
        if !with_webhooks {
            query = query.filter(outbox_messages::channel.ne(Channel::Webhook.as_str()));
        }
        let rows: Vec<ViewRow> = query.load(&mut *conn).map_err(|e| unavailable(&e))?;
        rows.into_iter().map(to_view).collect()
    }

    /// One message, with its application.
    pub fn message(&self, id: i64) -> Result<Option<MessageView>, Unavailable> {
        let mut conn = self.db.connection()?;
        let row: Option<ViewRow> = outbox_messages::table
            .inner_join(notification_events::table.inner_join(applications::table))
            .filter(outbox_messages::id.eq(id))
            .select(view_columns!())
            .first(&mut *conn)
            .optional()
            .map_err(|e| unavailable(&e))?;
        row.map(to_view).transpose()
    }

    /// The messages that failed for good, newest first: of one department's applications, or
    /// of all.
    pub fn failed(
        &self,
        department: Option<&DepartmentCode>,
        limit: i64,
    ) -> Result<Vec<MessageView>, Unavailable> {
        let mut conn = self.db.connection()?;
        let mut query = outbox_messages::table
            .inner_join(notification_events::table.inner_join(applications::table))
            .filter(outbox_messages::status.eq(DeliveryStatus::Failed.as_str()))
            .filter(outbox_messages::channel.ne(Channel::Webhook.as_str()))
            .order((
                outbox_messages::updated_at.desc(),
                outbox_messages::id.desc(),
            ))
            .limit(limit)
            .select(view_columns!())
            .into_boxed();
        if let Some(department) = department {
            query = query.filter(applications::department_code.eq(department.as_str()));
        }
        let rows: Vec<ViewRow> = query.load(&mut *conn).map_err(|e| unavailable(&e))?;
        rows.into_iter().map(to_view).collect()
    }

    /// A subscription's deliveries, newest first, each with its attempts.
    pub fn deliveries(
        &self,
        subscription_id: i64,
        limit: i64,
    ) -> Result<Vec<(MessageView, Vec<AttemptView>)>, Unavailable> {
        let mut conn = self.db.connection()?;
        let rows: Vec<ViewRow> = outbox_messages::table
            .inner_join(notification_events::table.inner_join(applications::table))
            .filter(outbox_messages::subscription_id.eq(subscription_id))
            .order(outbox_messages::id.desc())
            .limit(limit)
            .select(view_columns!())
            .load(&mut *conn)
            .map_err(|e| unavailable(&e))?;
        let views: Vec<MessageView> = rows.into_iter().map(to_view).collect::<Result<_, _>>()?;
        let ids: Vec<i64> = views.iter().map(|v| v.id).collect();
        let attempts: Vec<(i64, i32, NaiveDateTime, String, Option<String>)> =
            outbox_attempts::table
                .filter(outbox_attempts::message_id.eq_any(&ids))
                .order(outbox_attempts::id.asc())
                .select((
                    outbox_attempts::message_id,
                    outbox_attempts::attempt,
                    outbox_attempts::at,
                    outbox_attempts::outcome,
                    outbox_attempts::detail,
                ))
                .load(&mut *conn)
                .map_err(|e| unavailable(&e))?;
        Ok(views
            .into_iter()
            .map(|view| {
                let log = attempts
                    .iter()
                    .filter(|a| a.0 == view.id)
                    .map(|(_, attempt, at, outcome, detail)| AttemptView {
                        attempt: u32::try_from(*attempt).unwrap_or_default(),
                        at: from_stored(*at),
                        outcome: outcome.clone(),
                        detail: detail.clone(),
                    })
                    .collect();
                (view, log)
            })
            .collect())
    }

    pub fn create_subscription(&self, new: &NewSubscription) -> Result<Subscription, Unavailable> {
        let types = join_event_types(&new.event_types);
        self.db
            .write(|conn| -> Result<Subscription, Fault> {
                let row: StoredSubscription = diesel::insert_into(webhook_subscriptions::table)
                    .values((
                        webhook_subscriptions::url.eq(&new.url),
                        webhook_subscriptions::event_types.eq(&types),
                        webhook_subscriptions::secret.eq(&new.secret),
                        webhook_subscriptions::description.eq(new.description.as_deref()),
                        webhook_subscriptions::active.eq(true),
                        webhook_subscriptions::created_by.eq(&new.created_by),
                        webhook_subscriptions::created_at.eq(to_stored(new.created_at)),
                    ))
                    .returning(webhook_subscriptions::all_columns)
                    .get_result(conn)?;
                committed_once(conn)?;
                let (id, url, event_types, _secret, description, active, created_by, created_at) =
                    row;
                Ok(to_subscription((
                    id,
                    url,
                    event_types,
                    description,
                    active,
                    created_by,
                    created_at,
                )))
            })
            .map_err(Unavailable::from)
    }

    pub fn subscriptions(&self) -> Result<Vec<Subscription>, Unavailable> {
        let mut conn = self.db.connection()?;
        let rows: Vec<SubscriptionRow> = webhook_subscriptions::table
            .order(webhook_subscriptions::id.asc())
            .select(subscription_columns())
            .load(&mut *conn)
            .map_err(|e| unavailable(&e))?;
        Ok(rows.into_iter().map(to_subscription).collect())
    }

    pub fn subscription(&self, id: i64) -> Result<Option<Subscription>, Unavailable> {
        let mut conn = self.db.connection()?;
        let row: Option<SubscriptionRow> = webhook_subscriptions::table
            .find(id)
            .select(subscription_columns())
            .first(&mut *conn)
            .optional()
            .map_err(|e| unavailable(&e))?;
        Ok(row.map(to_subscription))
    }

    /// Stops a subscription: no new messages; those queued are still delivered, and the
    /// delivery log stays. `false` when there is no such subscription.
    pub fn deactivate_subscription(&self, id: i64) -> Result<bool, Unavailable> {
        self.db
            .write(|conn| -> Result<bool, Fault> {
                let updated = diesel::update(webhook_subscriptions::table.find(id))
                    .set(webhook_subscriptions::active.eq(false))
                    .execute(conn)?;
                committed_once(conn)?;
                Ok(updated > 0)
            })
            .map_err(Unavailable::from)
    }

    /// How many messages wait, and how many failed for good.
    pub fn backlog(&self) -> Result<Backlog, Unavailable> {
        let mut conn = self.db.connection()?;
        let count = |conn: &mut DbConnection, status: DeliveryStatus| {
            outbox_messages::table
                .filter(outbox_messages::status.eq(status.as_str()))
                .count()
                .get_result::<i64>(conn)
                .map(|n| u64::try_from(n).unwrap_or_default())
                .map_err(|e| unavailable(&e))
        };
        Ok(Backlog {
            queued: count(&mut conn, DeliveryStatus::Queued)?,
            failed: count(&mut conn, DeliveryStatus::Failed)?,
        })
    }
}

type SubscriptionRow = (
    i64,
    String,
    String,
    Option<String>,
    bool,
    String,
    NaiveDateTime,
);

#[allow(clippy::type_complexity)]
fn subscription_columns() -> (
    webhook_subscriptions::id,
    webhook_subscriptions::url,
    webhook_subscriptions::event_types,
    webhook_subscriptions::description,
    webhook_subscriptions::active,
    webhook_subscriptions::created_by,
    webhook_subscriptions::created_at,
) {
    (
        webhook_subscriptions::id,
        webhook_subscriptions::url,
        webhook_subscriptions::event_types,
        webhook_subscriptions::description,
        webhook_subscriptions::active,
        webhook_subscriptions::created_by,
        webhook_subscriptions::created_at,
    )
}

fn to_subscription(row: SubscriptionRow) -> Subscription {
    let (id, url, types, description, active, created_by, created_at) = row;
    Subscription {
        id,
        url,
        event_types: parse_event_types(&types),
        description,
        active,
        created_by,
        created_at: from_stored(created_at),
    }
}

fn join_event_types(types: &[EventType]) -> String {
    types
        .iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

pub(crate) fn to_view(
    (message, event, number, department): ViewRow,
) -> Result<MessageView, Unavailable> {
    let (
        (id, _, channel, recipient, subscription_id, fallback_of, status, attempts),
        (next_attempt_at, updated_at, last_error, _),
        (sent_at, delivered_at),
    ) = message;
    let event = to_event(event)?;
    let status = DeliveryStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?;
    Ok(MessageView {
        id,
        application: ApplicationNumber::parse(&number)
            .map_err(|_| corrupt("application number", &number))?,
        department,
        event_id: event.public_id,
        event_type: event.event_type,
        occurred_at: event.occurred_at,
        channel: Channel::parse(&channel).ok_or_else(|| corrupt("channel", &channel))?,
        recipient,
        subscription_id,
        fallback_of,
        next_attempt_at: next_attempt_at
            .filter(|_| status == DeliveryStatus::Queued)
            .map(from_stored),
        status,
        attempts: u32::try_from(attempts).unwrap_or_default(),
        last_error,
        updated_at: from_stored(updated_at),
        sent_at: sent_at.map(from_stored),
        delivered_at: delivered_at.map(from_stored),
    })
}

/// After `failed` failed for good: the other channel, if the domain says so.
fn queue_fallback(
    conn: &mut DbConnection,
    failed: &ClaimedMessage,
    now: NaiveDateTime,
) -> Result<(), DieselError> {
    let event_id: i64 = outbox_messages::table
        .find(failed.id)
        .select(outbox_messages::event_id)
        .first(conn)?;
    let channels: Vec<String> = outbox_messages::table
        .filter(outbox_messages::event_id.eq(event_id))
        .select(outbox_messages::channel)
        .load(conn)?;
    let channels: Vec<Channel> = channels.iter().filter_map(|c| Channel::parse(c)).collect();
    if let Some((channel, recipient)) =
        fallback_channel(failed.channel, &failed.event.recipients, &channels)
    {
        insert_message(
            conn,
            event_id,
            channel,
            &recipient,
            None,
            Some(failed.id),
            now,
        )?;
    }
    Ok(())
}

/// Every column of `webhook_subscriptions`, the secret included.
type StoredSubscription = (
    i64,
    String,
    String,
    String,
    Option<String>,
    bool,
    String,
    NaiveDateTime,
);
