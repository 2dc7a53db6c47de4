-- Each app token gets a signing secret: webhooks to the app are signed with
-- it (X-Shopify-Hmac-Sha256), as Shopify signs with an app's secret. Unlike
-- the token it is kept, since both sides must hold it; the dashboard shows
-- it to the merchant.

-- +goose Up
ALTER TABLE platform.api_tokens ADD COLUMN signing_secret text NOT NULL
    DEFAULT replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '');

-- +goose Down
ALTER TABLE platform.api_tokens DROP COLUMN signing_secret;
