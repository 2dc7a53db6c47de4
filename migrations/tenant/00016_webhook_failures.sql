-- A subscription whose deliveries keep failing: since when (the first
-- failure after a success), and when it was disabled for it. Deliveries
-- keep their body, so they can be replayed.

-- +goose Up
ALTER TABLE webhook_subscriptions ADD COLUMN failing_since timestamptz;
ALTER TABLE webhook_subscriptions ADD COLUMN disabled_at timestamptz;
ALTER TABLE webhook_deliveries ADD COLUMN payload jsonb;

-- +goose Down
ALTER TABLE webhook_deliveries DROP COLUMN payload;
ALTER TABLE webhook_subscriptions DROP COLUMN disabled_at;
ALTER TABLE webhook_subscriptions DROP COLUMN failing_since;
