-- Customer account emails: whether the customer proved their email
-- (Shopify's verified_email), the one-use token of the verification link
-- sent on sign-up, and the one-use token of an account invitation (the
-- merchant's send_invite), each kept by its SHA-256 with when it stops
-- working.

-- +goose Up
ALTER TABLE customers ADD COLUMN verified_email boolean NOT NULL DEFAULT false;
ALTER TABLE customers ADD COLUMN verify_token_hash bytea;
ALTER TABLE customers ADD COLUMN verify_expires_at timestamptz;
ALTER TABLE customers ADD COLUMN activation_token_hash bytea;
ALTER TABLE customers ADD COLUMN activation_expires_at timestamptz;

-- +goose Down
ALTER TABLE customers DROP COLUMN activation_expires_at;
ALTER TABLE customers DROP COLUMN activation_token_hash;
ALTER TABLE customers DROP COLUMN verify_expires_at;
ALTER TABLE customers DROP COLUMN verify_token_hash;
ALTER TABLE customers DROP COLUMN verified_email;
