-- Dashboard sessions: a short-lived signed access token (a JWT, not
-- stored) is renewed from a long-lived refresh token kept here by its
-- SHA-256 only. Each refresh token is used once: using it makes its
-- successor; presenting a used one again (a stolen copy) ends every session
-- of the account.

-- +goose Up
CREATE TABLE platform.refresh_tokens (
    hash        bytea PRIMARY KEY CHECK (octet_length(hash) = 32),
    account_id  bigint NOT NULL REFERENCES platform.accounts (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    revoked_at  timestamptz
);
CREATE INDEX refresh_tokens_account_idx ON platform.refresh_tokens (account_id) WHERE revoked_at IS NULL;
CREATE INDEX refresh_tokens_expires_idx ON platform.refresh_tokens (expires_at);

-- +goose Down
DROP TABLE platform.refresh_tokens;
