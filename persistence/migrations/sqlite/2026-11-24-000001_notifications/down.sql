DROP TABLE outbox_attempts;
DROP TABLE outbox_messages;
DROP TABLE notification_events;
DROP TABLE webhook_subscriptions;
ALTER TABLE applications DROP COLUMN language;
