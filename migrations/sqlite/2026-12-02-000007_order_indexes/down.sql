CREATE INDEX stock_movements_level_idx ON stock_movements (site_id, item_id);
CREATE INDEX orders_limit_idx ON orders (volunteer_id, item_id, quarter, status);
