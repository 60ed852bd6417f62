CREATE TABLE sites (
    id         TEXT PRIMARY KEY NOT NULL,
    org_id     TEXT NOT NULL REFERENCES orgs (id),
    name       TEXT NOT NULL,
    address    TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX sites_org_idx ON sites (org_id);

CREATE TABLE catalog_items (
    id                           TEXT PRIMARY KEY NOT NULL,
    org_id                       TEXT NOT NULL REFERENCES orgs (id),
    name                         TEXT NOT NULL,
    description                  TEXT NOT NULL,
    points_price                 BIGINT NOT NULL CHECK (points_price > 0),
    min_star_level               INTEGER,
    limit_per_person_per_quarter INTEGER,
    status                       TEXT NOT NULL CHECK (status IN ('active', 'retired')),
    created_by                   TEXT NOT NULL,
    created_at                   TIMESTAMP NOT NULL
);

-- Stock is what its movements add up to; this row is the cache writers
-- update with a conditional UPDATE, so it can never go below zero.
CREATE TABLE stock_levels (
    site_id   TEXT NOT NULL REFERENCES sites (id),
    item_id   TEXT NOT NULL REFERENCES catalog_items (id),
    available INTEGER NOT NULL CHECK (available >= 0),
    reserved  INTEGER NOT NULL CHECK (reserved >= 0),
    PRIMARY KEY (site_id, item_id)
);

CREATE TABLE stock_movements (
    id              TEXT PRIMARY KEY NOT NULL,
    site_id         TEXT NOT NULL REFERENCES sites (id),
    item_id         TEXT NOT NULL REFERENCES catalog_items (id),
    kind            TEXT NOT NULL CHECK (kind IN ('restock', 'correction', 'reservation', 'release', 'handout')),
    delta_available INTEGER NOT NULL,
    delta_reserved  INTEGER NOT NULL,
    reason          TEXT NOT NULL,
    order_id        TEXT,
    actor_id        TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL
);
CREATE INDEX stock_movements_level_idx ON stock_movements (site_id, item_id);

CREATE TABLE orders (
    id                    TEXT PRIMARY KEY NOT NULL,
    volunteer_id          TEXT NOT NULL REFERENCES volunteers (user_id),
    site_id               TEXT NOT NULL REFERENCES sites (id),
    item_id               TEXT NOT NULL REFERENCES catalog_items (id),
    quantity              INTEGER NOT NULL CHECK (quantity > 0),
    points                BIGINT NOT NULL CHECK (points > 0),
    quarter               TEXT NOT NULL,
    status                TEXT NOT NULL CHECK (status IN ('reserved', 'fulfilled', 'cancelled', 'expired')),
    pickup_code           TEXT NOT NULL,
    wrong_attempts        INTEGER NOT NULL,
    locked_until          TIMESTAMP,
    expires_at            TIMESTAMP NOT NULL,
    transaction_id        TEXT NOT NULL REFERENCES transactions (id),
    refund_transaction_id TEXT REFERENCES transactions (id),
    created_at            TIMESTAMP NOT NULL,
    closed_at             TIMESTAMP,
    closed_by             TEXT
);
CREATE INDEX orders_volunteer_idx ON orders (volunteer_id, created_at);
CREATE INDEX orders_limit_idx ON orders (volunteer_id, item_id, quarter, status);
CREATE INDEX orders_expiry_idx ON orders (status, expires_at);

CREATE TABLE family_links (
    id           TEXT PRIMARY KEY NOT NULL,
    requester_id TEXT NOT NULL REFERENCES users (id),
    other_id     TEXT NOT NULL REFERENCES users (id),
    relation     TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'confirmed')),
    created_at   TIMESTAMP NOT NULL,
    confirmed_at TIMESTAMP,
    UNIQUE (requester_id, other_id)
);
CREATE INDEX family_links_other_idx ON family_links (other_id);

-- Gifts are ledger transactions; this row keeps who gave what to whom for
-- the yearly limit without scanning the ledger.
CREATE TABLE gifts (
    id             TEXT PRIMARY KEY NOT NULL,
    from_id        TEXT NOT NULL REFERENCES users (id),
    to_id          TEXT,
    to_pool        BOOLEAN NOT NULL,
    points         BIGINT NOT NULL CHECK (points > 0),
    year           INTEGER NOT NULL,
    note           TEXT,
    transaction_id TEXT NOT NULL REFERENCES transactions (id),
    created_at     TIMESTAMP NOT NULL
);
CREATE INDEX gifts_from_year_idx ON gifts (from_id, year);

CREATE TRIGGER stock_movements_append_only BEFORE UPDATE OR DELETE ON stock_movements
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER stock_movements_no_truncate BEFORE TRUNCATE ON stock_movements
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
