-- Stores' Stripe Connect accounts: the platform creates one per store that
-- takes card payments, and charges land on it directly (the merchant is the
-- seller of record). Stripe's webhooks name the account, not the store, so the
-- account id is unique and indexed: it is how an event finds its store.

-- +goose Up
CREATE TABLE platform.payment_accounts (
    tenant_id         bigint PRIMARY KEY REFERENCES platform.tenants (id) ON DELETE CASCADE,
    stripe_account    text NOT NULL UNIQUE CHECK (stripe_account ~ '^acct_[A-Za-z0-9]+$'),
    charges_enabled   boolean NOT NULL DEFAULT false,
    details_submitted boolean NOT NULL DEFAULT false,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE platform.payment_accounts;
