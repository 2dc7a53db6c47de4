-- A store's own settings: one row, written at provisioning.
-- Tenant migrations run inside the tenant's own transaction (its role and
-- search_path), so they never name a schema; each must be transactional
-- (no "NO TRANSACTION" annotations) and expand-then-contract: add columns and
-- tables first, drop them only in a later release.

-- +goose Up
CREATE TABLE shop (
    id         integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    name       text NOT NULL CHECK (name <> ''),
    email      text NOT NULL DEFAULT '',
    currency   char(3) NOT NULL DEFAULT 'USD',
    timezone   text NOT NULL DEFAULT 'UTC',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE shop;
