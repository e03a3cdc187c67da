-- Notifications: the events an application's changes raise, the messages that tell of them
-- (SMS, e-mail, webhooks), written in the same transaction as the change and delivered later by
-- the dispatcher; and the integrators' webhook subscriptions.

ALTER TABLE applications ADD COLUMN language TEXT NOT NULL DEFAULT 'az'
    CHECK (language IN ('az', 'en', 'ru'));

CREATE TABLE webhook_subscriptions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    url TEXT NOT NULL,
    -- Event types separated by commas.
    event_types TEXT NOT NULL,
    secret TEXT NOT NULL,
    description TEXT,
    active BOOLEAN NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE notification_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The id integrators see and deduplicate by.
    public_id TEXT NOT NULL UNIQUE,
    application_id BIGINT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    event_type TEXT NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    language TEXT NOT NULL,
    mobile TEXT,
    email TEXT,
    -- The facts the messages are written from, as JSON.
    facts TEXT NOT NULL
);
CREATE INDEX notification_events_by_application ON notification_events (application_id, id);

CREATE TABLE outbox_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id BIGINT NOT NULL REFERENCES notification_events (id) ON DELETE CASCADE,
    channel TEXT NOT NULL CHECK (channel IN ('sms', 'email', 'webhook')),
    -- A mobile number, an e-mail address, or the webhook's URL when it was queued.
    recipient TEXT NOT NULL,
    subscription_id BIGINT REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    -- The message whose permanent failure made this one (the other channel).
    fallback_of BIGINT REFERENCES outbox_messages (id),
    status TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'delivered', 'failed')),
    attempts INTEGER NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    -- The dispatcher that holds the message, until when: others skip it meanwhile.
    locked_by TEXT,
    locked_until TIMESTAMP,
    last_error TEXT,
    -- The gateway's id of the message, for its delivery reports.
    provider_reference TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP,
    delivered_at TIMESTAMP
);
CREATE INDEX outbox_messages_due ON outbox_messages (next_attempt_at, id) WHERE status = 'queued';
CREATE INDEX outbox_messages_by_event ON outbox_messages (event_id, id);
CREATE INDEX outbox_messages_by_subscription ON outbox_messages (subscription_id, id)
    WHERE subscription_id IS NOT NULL;
CREATE INDEX outbox_messages_failed ON outbox_messages (updated_at, id) WHERE status = 'failed';
CREATE INDEX outbox_messages_by_reference ON outbox_messages (provider_reference)
    WHERE provider_reference IS NOT NULL;

-- Every attempt to send a message: the delivery log.
CREATE TABLE outbox_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id BIGINT NOT NULL REFERENCES outbox_messages (id) ON DELETE CASCADE,
    attempt INTEGER NOT NULL,
    at TIMESTAMP NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('sent', 'transient', 'permanent')),
    detail TEXT,
    worker TEXT NOT NULL
);
CREATE INDEX outbox_attempts_by_message ON outbox_attempts (message_id, id);
