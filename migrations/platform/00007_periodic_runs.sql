-- Periodic jobs run once per fleet: each run is keyed by its job and period
-- (such as outbox-prune, 2026-11-21), and the worker that inserts the key
-- runs it; the others see the key and skip. A failed run is recorded, and
-- the next period has a new key, so a failure never blocks what follows.

-- +goose Up
CREATE TABLE platform.periodic_runs (
    job         text NOT NULL,
    period      text NOT NULL,
    worker      text NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    error       text,
    PRIMARY KEY (job, period)
);

-- +goose Down
DROP TABLE platform.periodic_runs;
