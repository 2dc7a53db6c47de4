-- Plans: what a store pays for, and the limits that come with it. The
-- Admin API's leaky bucket is per plan, as on Shopify (40 requests, 2 a
-- second; 400 and 20 on Plus).

-- +goose Up
CREATE TABLE platform.plans (
    code            text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_-]{0,31}$'),
    name            text NOT NULL CHECK (name <> ''),
    api_rate_bucket integer NOT NULL CHECK (api_rate_bucket BETWEEN 1 AND 100000),
    api_rate_leak   double precision NOT NULL CHECK (api_rate_leak > 0 AND api_rate_leak <= 10000),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
INSERT INTO platform.plans (code, name, api_rate_bucket, api_rate_leak) VALUES
    ('trial', 'Trial', 40, 2),
    ('basic', 'Basic', 40, 2),
    ('advanced', 'Advanced', 80, 4),
    ('plus', 'Plus', 400, 20);
INSERT INTO platform.plans (code, name, api_rate_bucket, api_rate_leak)
    SELECT DISTINCT plan, initcap(plan), 40, 2 FROM platform.tenants
    ON CONFLICT (code) DO NOTHING;
ALTER TABLE platform.tenants ADD CONSTRAINT tenants_plan_fkey
    FOREIGN KEY (plan) REFERENCES platform.plans (code);

-- +goose Down
ALTER TABLE platform.tenants DROP CONSTRAINT tenants_plan_fkey;
DROP TABLE platform.plans;
