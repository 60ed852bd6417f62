-- Organisation tree. `path` is the materialised path "/<root>/.../<id>/", so a
-- subtree check is a prefix comparison and never a recursive query.
CREATE TABLE orgs (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('city', 'district', 'street', 'community')),
    parent_id   TEXT REFERENCES orgs (id),
    path        TEXT NOT NULL UNIQUE,
    district_id TEXT,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX orgs_parent_idx ON orgs (parent_id);

CREATE TABLE users (
    id            TEXT PRIMARY KEY NOT NULL,
    name          TEXT NOT NULL,
    phone         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL
);

CREATE TABLE volunteers (
    user_id         TEXT PRIMARY KEY NOT NULL REFERENCES users (id),
    community_id    TEXT NOT NULL REFERENCES orgs (id),
    status          TEXT NOT NULL CHECK (status IN ('pending', 'active', 'suspended')),
    skills          TEXT NOT NULL,
    approved_at     TIMESTAMP,
    approved_by     TEXT,
    suspended_until TIMESTAMP,
    created_at      TIMESTAMP NOT NULL
);
CREATE INDEX volunteers_community_idx ON volunteers (community_id);

-- org_admin and auditor are scoped to an org subtree, site_operator to a site.
CREATE TABLE role_grants (
    id         TEXT PRIMARY KEY NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id),
    role       TEXT NOT NULL CHECK (role IN ('org_admin', 'site_operator', 'auditor')),
    org_id     TEXT REFERENCES orgs (id),
    site_id    TEXT,
    granted_by TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX role_grants_user_idx ON role_grants (user_id);

-- Refresh tokens are stored as SHA-256 of the token; a family links rotations
-- so that reuse of a rotated token can revoke the whole family.
CREATE TABLE refresh_tokens (
    id         TEXT PRIMARY KEY NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id),
    family_id  TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at    TIMESTAMP,
    revoked_at TIMESTAMP
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);

-- Ledger accounts. `last_seq`/`head_hash` are the head of the account's hash
-- chain; the row is what a writer locks before touching the account.
CREATE TABLE accounts (
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

-- Cached balances in hundredths; recomputable from postings (`timebank verify`).
CREATE TABLE balances (
    account_id      TEXT NOT NULL REFERENCES accounts (id),
    asset           TEXT NOT NULL CHECK (asset IN ('POINT', 'HOUR')),
    amount          BIGINT NOT NULL,
    earned          BIGINT NOT NULL,
    may_go_negative BOOLEAN NOT NULL,
    PRIMARY KEY (account_id, asset),
    CHECK (may_go_negative OR amount >= 0)
);

CREATE TABLE transactions (
    id           TEXT PRIMARY KEY NOT NULL,
    kind         TEXT NOT NULL,
    actor_id     TEXT,
    reason       TEXT NOT NULL,
    external_id  TEXT UNIQUE,
    rule_version TEXT,
    reverses_id  TEXT UNIQUE REFERENCES transactions (id),
    request_id   TEXT,
    created_at   TIMESTAMP NOT NULL
);

CREATE TABLE postings (
    id             TEXT PRIMARY KEY NOT NULL,
    transaction_id TEXT NOT NULL REFERENCES transactions (id),
    account_id     TEXT NOT NULL REFERENCES accounts (id),
    seq            BIGINT NOT NULL,
    asset          TEXT NOT NULL CHECK (asset IN ('POINT', 'HOUR')),
    amount         BIGINT NOT NULL,
    balance_after  BIGINT NOT NULL,
    prev_hash      TEXT NOT NULL,
    hash           TEXT NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    UNIQUE (account_id, seq)
);
CREATE INDEX postings_transaction_idx ON postings (transaction_id);

-- Stored in the same database transaction as the effect it answers for.
CREATE TABLE idempotency_keys (
    caller_id     TEXT NOT NULL,
    idem_key      TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    status_code   INTEGER NOT NULL,
    response_body TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (caller_id, idem_key)
);

-- The ledger is append-only in the database itself, not only in code.
CREATE TRIGGER transactions_no_update BEFORE UPDATE ON transactions
BEGIN SELECT RAISE(ABORT, 'ledger table transactions is append-only'); END;
CREATE TRIGGER transactions_no_delete BEFORE DELETE ON transactions
BEGIN SELECT RAISE(ABORT, 'ledger table transactions is append-only'); END;
CREATE TRIGGER postings_no_update BEFORE UPDATE ON postings
BEGIN SELECT RAISE(ABORT, 'ledger table postings is append-only'); END;
CREATE TRIGGER postings_no_delete BEFORE DELETE ON postings
BEGIN SELECT RAISE(ABORT, 'ledger table postings is append-only'); END;
