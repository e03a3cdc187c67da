//! On PostgreSQL, what a write adds to an application in one statement: its timeline entries,
//! its events and their messages, after a first CTE `app` that gives the application's id. For
//! a new application that CTE is the application's INSERT itself (diesel's, as on SQLite); for a
//! change it names the changed application.
//!
//! One statement is atomic on its own, so a new application needs no transaction (unless an
//! idempotency claim must be marked in the same one): with the number taken just before it from
//! its sequence, creating an application costs two round trips where a statement a table, in a
//! transaction, cost six or seven; a change writes all it adds in one round trip. The lists
//! (timeline entries, events, messages) go as arrays, so the text is the same for any number of
//! them and the statement stays prepared on its connection.
//!
//! Order: each list is inserted `ORDER BY` its place in the arrays, so ids (and with them the
//! order in which the dispatcher sends messages) follow the order the use case gave, as when
//! each row was its own statement: the events in order, and for each its applicant's messages
//! first, then its webhook messages by subscription.

use crate::prepared_sql::prepared_sql;
use crate::time::to_stored;
use chrono::NaiveDateTime;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::result::{Error as DieselError, QueryResult};
use diesel::{PgConnection, RunQueryDsl};
use domain::application::TimelineEntry;
use domain::notifications::{Channel, DeliveryStatus, NewEvent};

/// What follows the CTE `app` (which gives the application's id). Its parameters,
/// numbered from `$1` here, follow the INSERT's in the statement sent.
const AFTER_THE_APPLICATION: &str = "\
    , timeline AS ( \
        INSERT INTO application_timeline \
            (application_id, at, actor_id, actor_role, action, from_status, to_status, comment) \
        SELECT app.id, entry.at, entry.actor_id, entry.actor_role, entry.action, \
            entry.from_status, entry.to_status, entry.comment \
        FROM app, unnest($1::TIMESTAMP[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::TEXT[], \
            $6::TEXT[], $7::TEXT[]) WITH ORDINALITY \
            AS entry (at, actor_id, actor_role, action, from_status, to_status, comment, place) \
        ORDER BY entry.place \
    ), event AS ( \
        INSERT INTO notification_events \
            (public_id, application_id, event_type, occurred_at, language, mobile, email, facts) \
        SELECT given.public_id, app.id, given.event_type, given.occurred_at, given.language, \
            given.mobile, given.email, given.facts \
        FROM app, unnest($8::TEXT[], $9::TEXT[], $10::TIMESTAMP[], $11::TEXT[], $12::TEXT[], \
            $13::TEXT[], $14::TEXT[]) WITH ORDINALITY \
            AS given (public_id, event_type, occurred_at, language, mobile, email, facts, place) \
        ORDER BY given.place \
        RETURNING id, public_id, event_type \
    ), messages AS ( \
        SELECT event.id AS event_id, given.channel, given.recipient, \
            NULL::BIGINT AS subscription_id, 0 AS batch, given.place \
        FROM unnest($15::TEXT[], $16::TEXT[], $17::TEXT[]) WITH ORDINALITY \
            AS given (event_public_id, channel, recipient, place) \
        JOIN event ON event.public_id = given.event_public_id \
        UNION ALL \
        SELECT event.id, $18, subscription.url, subscription.id, 1, subscription.id \
        FROM event JOIN webhook_subscriptions subscription \
            ON subscription.active \
            AND event.event_type = ANY (string_to_array(subscription.event_types, ',')) \
    ) \
    INSERT INTO outbox_messages \
        (event_id, channel, recipient, subscription_id, fallback_of, status, attempts, \
         next_attempt_at, created_at, updated_at) \
    SELECT messages.event_id, messages.channel, messages.recipient, messages.subscription_id, \
        NULL, $19, 0, $20, $20, $20 \
    FROM messages ORDER BY messages.event_id, messages.batch, messages.place";

/// `WITH app AS (<app>) <rest>`: a query giving the application's `id` as the first CTE.
struct WithApplication<App, Rest> {
    app: App,
    rest: Rest,
}

impl<App, Rest> QueryFragment<Pg> for WithApplication<App, Rest>
where
    App: QueryFragment<Pg>,
    Rest: QueryFragment<Pg>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("WITH app AS (");
        self.app.walk_ast(out.reborrow())?;
        out.push_sql(") ");
        self.rest.walk_ast(out.reborrow())
    }
}

impl<App, Rest> QueryId for WithApplication<App, Rest> {
    type QueryId = ();
    // The text is the statement cache's key, as for `PreparedSql`.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<App, Rest, Conn> RunQueryDsl<Conn> for WithApplication<App, Rest> {}

/// Runs the application's `insert` (a diesel INSERT … RETURNING its id) with its timeline
/// `entries` and its `events` with their messages, as one statement.
pub(crate) fn create(
    pg: &mut PgConnection,
    insert: impl QueryFragment<Pg>,
    entries: &[TimelineEntry],
    events: &[NewEvent],
) -> Result<(), DieselError> {
    with_entries_and_events(pg, insert, entries, events)
}

/// Adds the timeline `entries` and the `events` with their messages of a change to the
/// application `application_id`, as one statement.
pub(crate) fn append(
    pg: &mut PgConnection,
    application_id: i64,
    entries: &[TimelineEntry],
    events: &[NewEvent],
) -> Result<(), DieselError> {
    let app = prepared_sql("SELECT $1::BIGINT AS id")
        .bind::<diesel::sql_types::BigInt, _>(application_id);
    with_entries_and_events(pg, app, entries, events)
}

fn with_entries_and_events(
    pg: &mut PgConnection,
    app: impl QueryFragment<Pg>,
    entries: &[TimelineEntry],
    events: &[NewEvent],
) -> Result<(), DieselError> {
    use diesel::sql_types::{Array, Nullable, Text, Timestamp};
    let timeline = Columns::of_timeline(entries);
    let given = Columns::of_events(events)?;
    // Due at once by the real clock: the event's time may come from a fixed clock.
    let at = to_stored(chrono::Utc::now());
    let rest = prepared_sql(AFTER_THE_APPLICATION)
        .bind::<Array<Timestamp>, _>(&timeline.at)
        .bind::<Array<Text>, _>(&timeline.actor_id)
        .bind::<Array<Text>, _>(&timeline.actor_role)
        .bind::<Array<Text>, _>(&timeline.action)
        .bind::<Array<Nullable<Text>>, _>(&timeline.from_status)
        .bind::<Array<Text>, _>(&timeline.to_status)
        .bind::<Array<Nullable<Text>>, _>(&timeline.comment)
        .bind::<Array<Text>, _>(&given.public_id)
        .bind::<Array<Text>, _>(&given.event_type)
        .bind::<Array<Timestamp>, _>(&given.occurred_at)
        .bind::<Array<Text>, _>(&given.language)
        .bind::<Array<Nullable<Text>>, _>(&given.mobile)
        .bind::<Array<Nullable<Text>>, _>(&given.email)
        .bind::<Array<Text>, _>(&given.facts)
        .bind::<Array<Text>, _>(&given.message_event)
        .bind::<Array<Text>, _>(&given.message_channel)
        .bind::<Array<Text>, _>(&given.message_recipient)
        .bind::<Text, _>(Channel::Webhook.as_str())
        .bind::<Text, _>(DeliveryStatus::Queued.as_str())
        .bind::<Timestamp, _>(at);
    WithApplication { app, rest }.execute(pg)?;
    Ok(())
}

/// The lists of the statement, a column an array.
#[derive(Debug, Default)]
struct Columns {
    at: Vec<NaiveDateTime>,
    actor_id: Vec<String>,
    actor_role: Vec<&'static str>,
    action: Vec<&'static str>,
    from_status: Vec<Option<&'static str>>,
    to_status: Vec<&'static str>,
    comment: Vec<Option<String>>,
    public_id: Vec<String>,
    event_type: Vec<&'static str>,
    occurred_at: Vec<NaiveDateTime>,
    language: Vec<&'static str>,
    mobile: Vec<Option<String>>,
    email: Vec<Option<String>>,
    facts: Vec<String>,
    /// The applicant's messages: each one's event (by its public id), channel and address.
    message_event: Vec<String>,
    message_channel: Vec<&'static str>,
    message_recipient: Vec<String>,
}

impl Columns {
    fn of_timeline(entries: &[TimelineEntry]) -> Self {
        let mut columns = Self::default();
        for entry in entries {
            columns.at.push(to_stored(entry.at));
            columns.actor_id.push(entry.actor.id.clone());
            columns.actor_role.push(entry.actor.role.as_str());
            columns.action.push(entry.action.as_str());
            columns.from_status.push(entry.from.map(|s| s.as_str()));
            columns.to_status.push(entry.to.as_str());
            columns.comment.push(entry.comment.clone());
        }
        columns
    }

    fn of_events(events: &[NewEvent]) -> Result<Self, DieselError> {
        let mut columns = Self::default();
        for event in events {
            let public_id = uuid::Uuid::new_v4().to_string();
            for (channel, recipient) in event.applicant_messages() {
                columns.message_event.push(public_id.clone());
                columns.message_channel.push(channel.as_str());
                columns.message_recipient.push(recipient);
            }
            columns.public_id.push(public_id);
            columns.event_type.push(event.event_type.as_str());
            columns.occurred_at.push(to_stored(event.occurred_at));
            columns.language.push(event.language.as_str());
            columns.mobile.push(event.recipients.mobile.clone());
            columns.email.push(event.recipients.email.clone());
            columns.facts.push(
                serde_json::to_string(&event.facts)
                    .map_err(|e| DieselError::SerializationError(Box::new(e)))?,
            );
        }
        Ok(columns)
    }
}
