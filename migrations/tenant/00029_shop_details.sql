-- The store's postal address and its sender email (Shopify's shop
-- address1 … country_code, phone and customer_email). Customer emails show
-- the address in their footer, as commercial email must in many places, and
-- send replies to customer_email ('' means the contact email). Each column
-- has a default, so a release that does not know them keeps working.

-- +goose Up
ALTER TABLE shop ADD COLUMN address1 text NOT NULL DEFAULT '';
ALTER TABLE shop ADD COLUMN address2 text NOT NULL DEFAULT '';
ALTER TABLE shop ADD COLUMN city text NOT NULL DEFAULT '';
ALTER TABLE shop ADD COLUMN province_code text NOT NULL DEFAULT '';
ALTER TABLE shop ADD COLUMN zip text NOT NULL DEFAULT '';
ALTER TABLE shop ADD COLUMN country_code text NOT NULL DEFAULT '';
ALTER TABLE shop ADD COLUMN phone text NOT NULL DEFAULT '';
ALTER TABLE shop ADD COLUMN customer_email text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE shop DROP COLUMN customer_email;
ALTER TABLE shop DROP COLUMN phone;
ALTER TABLE shop DROP COLUMN country_code;
ALTER TABLE shop DROP COLUMN zip;
ALTER TABLE shop DROP COLUMN province_code;
ALTER TABLE shop DROP COLUMN city;
ALTER TABLE shop DROP COLUMN address2;
ALTER TABLE shop DROP COLUMN address1;
