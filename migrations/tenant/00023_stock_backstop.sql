-- The database's own guard against overselling, behind inventory.TakeIn's
-- conditional update: each write to a stock level says whether it may take
-- the level below zero. A merchant's adjustment may (Shopify allows
-- negative stock), and so may a sale of a variant sold on when out of stock
-- (inventory_policy continue); any other sale may not, and should a bug
-- ever let one through, the CHECK refuses it and the order rolls back.

-- +goose Up
ALTER TABLE inventory_levels ADD COLUMN negative_allowed boolean NOT NULL DEFAULT true;
ALTER TABLE inventory_levels ADD CONSTRAINT inventory_levels_no_oversell CHECK (available >= 0 OR negative_allowed);

-- +goose Down
ALTER TABLE inventory_levels DROP CONSTRAINT inventory_levels_no_oversell;
ALTER TABLE inventory_levels DROP COLUMN negative_allowed;
