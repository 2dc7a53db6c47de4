-- The outbox of a shard database: events every store on the shard writes in
-- the same transaction as the change that causes them, for the job fleet's
-- relay to hand to the queue. One table per shard rather than one per
-- store, so the relay reads one index per database, not thousands of
-- schemas. Stores may only add rows: a trigger stamps each row with the
-- role that wrote it (the store's), which the store cannot choose, and no
-- store can read, change or delete rows.

-- +goose Up
CREATE TABLE outbox.events (
    id         uuid PRIMARY KEY,
    store_role text NOT NULL,
    topic      text NOT NULL CHECK (topic ~ '^[a-z_]+/[a-z_]+$'),
    payload    jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    sent_at    timestamptz
);
CREATE INDEX events_pending_idx ON outbox.events (created_at) WHERE sent_at IS NULL;
CREATE INDEX events_sent_idx ON outbox.events (sent_at) WHERE sent_at IS NOT NULL;

-- +goose StatementBegin
CREATE FUNCTION outbox.stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.store_role := current_user;
    NEW.created_at := clock_timestamp();
    NEW.sent_at := NULL;
    RETURN NEW;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER stamp BEFORE INSERT ON outbox.events FOR EACH ROW EXECUTE FUNCTION outbox.stamp();

-- +goose StatementBegin
CREATE FUNCTION outbox.wake() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('outbox_events', '');
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER wake AFTER INSERT ON outbox.events FOR EACH STATEMENT EXECUTE FUNCTION outbox.wake();

GRANT USAGE ON SCHEMA outbox TO PUBLIC;
GRANT INSERT ON outbox.events TO PUBLIC;

-- +goose Down
DROP TABLE outbox.events;
DROP FUNCTION outbox.wake();
DROP FUNCTION outbox.stamp();
