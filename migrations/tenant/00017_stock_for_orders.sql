-- Orders take and return stock: their adjustments say so. A level's
-- available may go below zero only for what is sold on when out of stock
-- (inventory_policy continue); inventory.TakeIn refuses the rest with a
-- conditional update under row locks.

-- +goose Up
ALTER TABLE inventory_adjustments DROP CONSTRAINT inventory_adjustments_reason_check;
ALTER TABLE inventory_adjustments ADD CONSTRAINT inventory_adjustments_reason_check CHECK (reason IN ('correction', 'received',
    'restock', 'damaged', 'shrinkage', 'promotion', 'cycle_count_available', 'other', 'movement_created', 'movement_updated',
    'movement_received', 'movement_canceled', 'order', 'order_returned'));

-- +goose Down
DELETE FROM inventory_adjustments WHERE reason IN ('order', 'order_returned');
ALTER TABLE inventory_adjustments DROP CONSTRAINT inventory_adjustments_reason_check;
ALTER TABLE inventory_adjustments ADD CONSTRAINT inventory_adjustments_reason_check CHECK (reason IN ('correction', 'received',
    'restock', 'damaged', 'shrinkage', 'promotion', 'cycle_count_available', 'other', 'movement_created', 'movement_updated',
    'movement_received', 'movement_canceled'));
