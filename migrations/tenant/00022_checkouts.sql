-- Checkouts: a shopper's way from cart to order. A checkout snapshots the
-- cart's lines when it starts (prices as the shopper saw them), collects
-- contact, address, shipping method, discount code and payment method, and
-- is completed once: order_id is set in the transaction that places the
-- order, so a double click, a retry or a second tab finds the same order.
-- A cart has at most one open checkout.

-- +goose Up
CREATE TABLE checkouts (
    token            text PRIMARY KEY CHECK (token ~ '^[0-9a-f]{32}$'),
    cart_token       text NOT NULL CHECK (cart_token <> ''),
    email            text NOT NULL DEFAULT '' CHECK (length(email) <= 254),
    customer_id      bigint,
    shipping_address jsonb CHECK (jsonb_typeof(shipping_address) = 'object'),
    shipping_rate    text NOT NULL DEFAULT '' CHECK (length(shipping_rate) <= 100),
    discount_code    text NOT NULL DEFAULT '' CHECK (length(discount_code) <= 255),
    lines            jsonb NOT NULL CHECK (jsonb_typeof(lines) = 'array'),
    accepts_marketing boolean NOT NULL DEFAULT false,
    order_id         bigint,
    completed_at     timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CHECK ((order_id IS NULL) = (completed_at IS NULL))
);
CREATE UNIQUE INDEX checkouts_open_cart_idx ON checkouts (cart_token) WHERE order_id IS NULL;
CREATE INDEX checkouts_updated_idx ON checkouts (updated_at) WHERE order_id IS NULL;

-- +goose Down
DROP TABLE checkouts;
