PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
CREATE TABLE accounts_rebuilt (
    id              TEXT PRIMARY KEY NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('volunteer_wallet', 'org_issuance', 'district_pool', 'site_sink', 'expiry_sink', 'escrow')),
    owner_id        TEXT NOT NULL,
    org_path        TEXT NOT NULL,
    may_go_negative BOOLEAN NOT NULL,
    last_seq        BIGINT NOT NULL,
    head_hash       TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    UNIQUE (kind, owner_id)
);
INSERT INTO accounts_rebuilt (id, kind, owner_id, org_path, may_go_negative, last_seq, head_hash, created_at)
    SELECT id, kind, owner_id, org_path, may_go_negative, last_seq, head_hash, created_at FROM accounts;
DROP TABLE accounts;
ALTER TABLE accounts_rebuilt RENAME TO accounts;
CREATE INDEX accounts_path_idx ON accounts (org_path, id);
COMMIT;
PRAGMA foreign_keys = ON;
