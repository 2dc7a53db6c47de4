-- Merchant account emails: verifying the email after sign-up, and
-- resetting a forgotten password. Each link carries a one-use token kept
-- here by its SHA-256 only. The email itself is written, in the same
-- transaction as its token, to a small platform outbox (account_emails):
-- the stores' outbox (outbox.events on each shard) is stamped with a
-- store's role and belongs to stores, and these emails are to a person,
-- not from a store. The relay queues each row under its own id; the worker
-- marks it sent and forgets its link, so an email is neither lost when
-- Redis is down nor sent twice when its task runs twice.

-- +goose Up
CREATE TABLE platform.account_tokens (
    hash        bytea PRIMARY KEY CHECK (octet_length(hash) = 32),
    account_id  bigint NOT NULL REFERENCES platform.accounts (id) ON DELETE CASCADE,
    purpose     text NOT NULL CHECK (purpose IN ('verify_email', 'password_reset')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX account_tokens_account_idx ON platform.account_tokens (account_id, purpose) WHERE used_at IS NULL;

CREATE TABLE platform.account_emails (
    id          uuid PRIMARY KEY,
    account_id  bigint NOT NULL REFERENCES platform.accounts (id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('verify_email', 'password_reset')),
    to_email    text NOT NULL CHECK (to_email <> ''),
    to_name     text NOT NULL DEFAULT '',
    -- The link the email carries; emptied once the email is sent.
    url         text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    relayed_at  timestamptz,
    sent_at     timestamptz
);
CREATE INDEX account_emails_pending_idx ON platform.account_emails (created_at, id) WHERE relayed_at IS NULL;

-- +goose Down
DROP TABLE platform.account_emails;
DROP TABLE platform.account_tokens;
