-- Shipping zones and tax rates (shipping_zones.json, countries.json) join the
-- Admin API's objects as "shipping": scopes for apps, and the staff role's
-- rules (staff set up where the store ships and what it charges). Owners and
-- admins have every object already ('*'), viewers read every object ('*',
-- read), and fulfillment staff get neither.

-- +goose Up
INSERT INTO platform.casbin_rule (ptype, v0, v1, v2) VALUES
    ('p', 'scope:read_shipping', 'shipping', 'read'),
    ('p', 'scope:write_shipping', 'shipping', 'read'),
    ('p', 'scope:write_shipping', 'shipping', 'write'),
    ('p', 'role:staff', 'shipping', 'read'),
    ('p', 'role:staff', 'shipping', 'write')
ON CONFLICT DO NOTHING;

-- +goose Down
DELETE FROM platform.casbin_rule
WHERE ptype = 'p' AND v1 = 'shipping' AND v0 IN ('scope:read_shipping', 'scope:write_shipping', 'role:staff');
