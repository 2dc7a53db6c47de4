-- Themes and content (pages, menus) join the Admin API's objects: scopes for
-- apps, and the staff role's rules. Owners and admins have every object
-- already ('*'), viewers read every object ('*', read), and fulfillment staff
-- get neither.

-- +goose Up
INSERT INTO platform.casbin_rule (ptype, v0, v1, v2)
SELECT 'p', 'scope:read_' || o, o, 'read' FROM unnest(ARRAY['themes', 'content']) o
UNION ALL
SELECT 'p', 'scope:write_' || o, o, a FROM unnest(ARRAY['themes', 'content']) o, unnest(ARRAY['read', 'write']) a
UNION ALL
SELECT 'p', 'role:staff', o, a FROM unnest(ARRAY['themes', 'content']) o, unnest(ARRAY['read', 'write']) a
ON CONFLICT DO NOTHING;

-- +goose Down
DELETE FROM platform.casbin_rule
WHERE ptype = 'p' AND v1 IN ('themes', 'content') AND v0 IN (
    'scope:read_themes', 'scope:write_themes', 'scope:read_content', 'scope:write_content', 'role:staff');
