-- Password resets for customer accounts: the SHA-256 of the one-time token
-- emailed to the customer, and when it stops working.

-- +goose Up
ALTER TABLE customers ADD COLUMN reset_token_hash bytea;
ALTER TABLE customers ADD COLUMN reset_expires_at timestamptz;

-- +goose Down
ALTER TABLE customers DROP COLUMN reset_expires_at;
ALTER TABLE customers DROP COLUMN reset_token_hash;
