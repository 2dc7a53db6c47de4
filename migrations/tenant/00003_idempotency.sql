-- Idempotency keys of Admin API writes: the first response to a key is kept
-- (24 hours) and replayed to retries of the same request.

-- +goose Up
CREATE TABLE idempotency_keys (
    key          text PRIMARY KEY CHECK (length(key) BETWEEN 1 AND 255),
    request_hash bytea NOT NULL,
    status       integer,          -- null while the first request runs
    content_type text NOT NULL DEFAULT '',
    body         bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz
);
CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);

-- +goose Down
DROP TABLE idempotency_keys;
