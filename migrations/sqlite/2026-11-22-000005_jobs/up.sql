CREATE TABLE job_runs (
    id          TEXT PRIMARY KEY NOT NULL,
    job         TEXT NOT NULL,
    actor_id    TEXT NOT NULL,
    started_at  TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    summary     TEXT
);

-- A checkpoint pins every account's chain head at one moment; verify then
-- checks that the ledger still extends it. The digest can be kept outside
-- the database.
CREATE TABLE checkpoints (
    id         TEXT PRIMARY KEY NOT NULL,
    created_at TIMESTAMP NOT NULL,
    accounts   BIGINT NOT NULL,
    postings   BIGINT NOT NULL,
    digest     TEXT NOT NULL
);

CREATE TABLE checkpoint_heads (
    checkpoint_id TEXT NOT NULL REFERENCES checkpoints (id),
    account_id    TEXT NOT NULL REFERENCES accounts (id),
    seq           BIGINT NOT NULL,
    hash          TEXT NOT NULL,
    PRIMARY KEY (checkpoint_id, account_id)
);

-- One row per imported record, written with its effect: re-importing a file,
-- or resuming a killed import, applies nothing twice.
CREATE TABLE import_keys (
    import_key TEXT PRIMARY KEY NOT NULL,
    created_at TIMESTAMP NOT NULL
);
