DROP TABLE gifts;
DROP TABLE family_links;
DROP TABLE orders;
DROP TABLE stock_movements;
DROP TABLE stock_levels;
DROP TABLE catalog_items;
DROP TABLE sites;
