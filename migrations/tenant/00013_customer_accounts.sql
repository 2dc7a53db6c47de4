-- Customer accounts on the storefront: a customer who registers gets a
-- password (argon2id) and the state "enabled".

-- +goose Up
ALTER TABLE customers ADD COLUMN password_hash text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE customers DROP COLUMN password_hash;
