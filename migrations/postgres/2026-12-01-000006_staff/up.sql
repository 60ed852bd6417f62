-- Names compare by code point on both backends, so a prefix search is one
-- index range whatever the database's default collation.
ALTER TABLE users ALTER COLUMN name TYPE TEXT COLLATE "C";
-- Staff work queues: each list walks one index newest first and stops at
-- its page size; a single community's queue has an index of its own.
CREATE INDEX users_name_idx ON users (name);
CREATE INDEX volunteers_queue_idx ON volunteers (community_id, status, created_at, user_id);
CREATE INDEX volunteers_status_idx ON volunteers (status, created_at, user_id);
CREATE INDEX volunteers_community_created_idx ON volunteers (community_id, created_at, user_id);
CREATE INDEX residents_queue_idx ON residents (community_id, status, created_at, user_id);
CREATE INDEX residents_status_idx ON residents (status, created_at, user_id);
CREATE INDEX residents_community_created_idx ON residents (community_id, created_at, user_id);
CREATE INDEX case_awards_queue_idx ON case_awards (status, created_at, id);
CREATE INDEX wishes_status_idx ON wishes (status, created_at, id);
CREATE INDEX wishes_community_created_idx ON wishes (community_id, created_at, id);
CREATE INDEX orders_site_queue_idx ON orders (site_id, status, created_at, id);
CREATE INDEX orders_site_created_idx ON orders (site_id, created_at, id);
CREATE INDEX violations_created_idx ON violations (created_at, id);
CREATE INDEX transactions_created_idx ON transactions (created_at, id);
CREATE INDEX transactions_kind_created_idx ON transactions (kind, created_at, id);
CREATE INDEX job_runs_started_idx ON job_runs (started_at, id);
CREATE INDEX role_grants_org_idx ON role_grants (org_id);
CREATE INDEX role_grants_site_idx ON role_grants (site_id);
CREATE INDEX service_requests_status_idx ON service_requests (status, created_at, id);

-- Account recovery: an admin issues a one-time code after checking the
-- person at the office. Only its argon2 hash is kept; a newer code voids
-- the older, five wrong tries void it too.
CREATE TABLE reset_codes (
    id          TEXT PRIMARY KEY NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users (id),
    code_hash   TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    used_at     TIMESTAMP,
    voided_at   TIMESTAMP
);
CREATE INDEX reset_codes_user_idx ON reset_codes (user_id, created_at);

-- A revoked grant is kept, with who revoked it and when.
ALTER TABLE role_grants ADD COLUMN revoked_at TIMESTAMP;
ALTER TABLE role_grants ADD COLUMN revoked_by TEXT;

-- Verifying one subtree walks its accounts as one range of paths.
ALTER TABLE accounts ALTER COLUMN org_path TYPE TEXT COLLATE "C";
CREATE INDEX accounts_path_idx ON accounts (org_path, id);
