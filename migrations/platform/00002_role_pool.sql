-- Store roles made ahead of time, in batches. Creating a role and granting it
-- to the application's role invalidates, in every backend, PostgreSQL's cached
-- list of the roles the application's role belongs to; rebuilding that list
-- costs O(n^2) in the number of stores on PostgreSQL 15 (14 ms at 3,000 stores,
-- measured). Making roles a batch at a time turns one invalidation per sign-up
-- into one per batch. Each row reserves a store id (from the tenants sequence)
-- whose role t_<id> already exists on the shard.

-- +goose Up
CREATE TABLE platform.role_pool (
    tenant_id  bigint PRIMARY KEY,
    shard_id   integer NOT NULL REFERENCES platform.shards (id),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX role_pool_shard_id_idx ON platform.role_pool (shard_id, tenant_id);

-- +goose Down
DROP TABLE platform.role_pool;
