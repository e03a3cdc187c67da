-- The requests made with an Idempotency-Key: claimed before the operation runs, marked in the
-- operation's own transaction when it commits (so a key's effects happen once), and completed
-- with the response that a retry with the same key is given again. Removed after expires_at.
CREATE TABLE idempotency_keys (
    owner TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    -- Who holds the key now: a retry after the lease took over gets a new fence, and the holder
    -- whose fence is gone may no longer commit.
    fence TEXT NOT NULL,
    locked_until TIMESTAMP NOT NULL,
    committed BOOLEAN NOT NULL DEFAULT FALSE,
    response_status INTEGER,
    response_headers TEXT,
    response_body BLOB,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    PRIMARY KEY (owner, idempotency_key)
);
CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys (expires_at);
