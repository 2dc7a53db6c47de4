-- Payments. payment_methods are the store's manual ways to pay (bank
-- transfer, cash on delivery): the order is placed pending, and the merchant
-- marks it paid; both start enabled with instructions the merchant can edit.
-- payment_events holds the ids of the Stripe events the store has handled:
-- Stripe delivers an event at least once, and one that is here already
-- changes nothing. payment_refunds holds the refund transactions billing has
-- carried out, so running a refund again never refunds twice, even after
-- Stripe has forgotten the idempotency key (24 hours).

-- +goose Up
CREATE TABLE payment_methods (
    code         text PRIMARY KEY CHECK (code ~ '^manual:[a-z][a-z0-9_]{0,63}$'),
    name         text NOT NULL CHECK (name <> ''),
    instructions text NOT NULL DEFAULT '',
    enabled      boolean NOT NULL DEFAULT true,
    position     integer NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
INSERT INTO payment_methods (code, name, instructions, position) VALUES
    ('manual:bank_transfer', 'Bank transfer',
     'Pay by bank transfer. Use your order number as the payment reference; we ship your order once the payment arrives.', 1),
    ('manual:cash_on_delivery', 'Cash on delivery',
     'Pay in cash when your order is delivered. Please have the exact amount ready.', 2);

CREATE TABLE payment_events (
    event_id    text PRIMARY KEY CHECK (event_id <> ''),
    type        text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payment_events_received_at_idx ON payment_events (received_at);

CREATE TABLE payment_refunds (
    transaction_id bigint PRIMARY KEY, -- the orders module's pending refund transaction
    reference      text NOT NULL,      -- the provider's refund id; empty when refused
    status         text NOT NULL CHECK (status IN ('success', 'failure')),
    created_at     timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE payment_refunds;
DROP TABLE payment_events;
DROP TABLE payment_methods;
