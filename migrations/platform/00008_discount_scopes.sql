-- Discounts (price rules and discount codes) join the Admin API's objects,
-- as "discounts": scopes read_discounts/write_discounts for apps, with
-- Shopify's names read_price_rules/write_price_rules granting the same
-- object, so that an existing Shopify app asks for what it always asked
-- for. Staff read and write discounts; owners and admins have every object
-- already ('*'), viewers read every object ('*', read), and fulfillment
-- staff get neither.

-- +goose Up
INSERT INTO platform.casbin_rule (ptype, v0, v1, v2)
SELECT 'p', 'scope:read_' || s, 'discounts', 'read' FROM unnest(ARRAY['discounts', 'price_rules']) s
UNION ALL
SELECT 'p', 'scope:write_' || s, 'discounts', a FROM unnest(ARRAY['discounts', 'price_rules']) s, unnest(ARRAY['read', 'write']) a
UNION ALL
SELECT 'p', 'role:staff', 'discounts', a FROM unnest(ARRAY['read', 'write']) a
ON CONFLICT DO NOTHING;

-- +goose Down
DELETE FROM platform.casbin_rule
WHERE ptype = 'p' AND v1 = 'discounts' AND v0 IN (
    'scope:read_discounts', 'scope:write_discounts', 'scope:read_price_rules', 'scope:write_price_rules', 'role:staff');
