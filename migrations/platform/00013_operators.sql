-- Operators run the fleet: they see every store's queues and tasks in the
-- operator console (app.<domain>/ops). An operator is an account listed
-- here; nobody is one until `storefleet operator add` says so.

-- +goose Up
CREATE TABLE platform.operators (
    account_id bigint PRIMARY KEY REFERENCES platform.accounts (id) ON DELETE CASCADE,
    added_at   timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE platform.operators;
