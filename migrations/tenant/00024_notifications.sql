-- Notification emails the merchant edits: one row per kind the store has
-- customised (order_confirmation, shipping_confirmation, …). A kind without
-- a row sends the default shipped in the binary, so defaults improve for
-- every store that kept them, and deleting a row goes back to the default.
-- The shop's logo brands those emails; the dashboard sets it.

-- +goose Up
CREATE TABLE notification_templates (
    kind       text PRIMARY KEY CHECK (kind ~ '^[a-z_]{1,64}$'),
    subject    text NOT NULL CHECK (subject <> ''),
    body_html  text NOT NULL,
    body_text  text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE shop ADD COLUMN logo_url text;

-- +goose Down
ALTER TABLE shop DROP COLUMN logo_url;
DROP TABLE notification_templates;
