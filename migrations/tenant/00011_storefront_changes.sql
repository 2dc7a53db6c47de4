-- Announce changes shoppers can see, so that every server drops its cached
-- pages of this store: once per statement, on commit (NOTIFY is
-- transactional), with the store's schema as payload. See
-- tenant.StorefrontChanges.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION storefront_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('storefront_changes', current_schema());
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['shop', 'products', 'product_options', 'variants', 'product_images', 'collections',
        'collects', 'inventory_levels', 'inventory_items', 'locations', 'pages', 'menus', 'menu_links', 'themes', 'theme_files']
    LOOP
        EXECUTE format('CREATE TRIGGER storefront_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %I
            FOR EACH STATEMENT EXECUTE FUNCTION storefront_changed()', t);
    END LOOP;
END
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['shop', 'products', 'product_options', 'variants', 'product_images', 'collections',
        'collects', 'inventory_levels', 'inventory_items', 'locations', 'pages', 'menus', 'menu_links', 'themes', 'theme_files']
    LOOP
        EXECUTE format('DROP TRIGGER storefront_changed ON %I', t);
    END LOOP;
END
$$;
-- +goose StatementEnd
DROP FUNCTION storefront_changed();
