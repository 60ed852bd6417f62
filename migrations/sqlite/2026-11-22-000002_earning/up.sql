-- Versioned policies per organisation; the nearest ancestor's applies.
CREATE TABLE policies (
    id         TEXT PRIMARY KEY NOT NULL,
    org_id     TEXT NOT NULL REFERENCES orgs (id),
    kind       TEXT NOT NULL CHECK (kind IN ('earning', 'stars', 'spending')),
    version    INTEGER NOT NULL,
    body       TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (org_id, kind, version)
);

CREATE TABLE activities (
    id              TEXT PRIMARY KEY NOT NULL,
    org_id          TEXT NOT NULL REFERENCES orgs (id),
    title           TEXT NOT NULL,
    category        TEXT NOT NULL,
    description     TEXT NOT NULL,
    location        TEXT,
    starts_at       TIMESTAMP NOT NULL,
    ends_at         TIMESTAMP NOT NULL,
    capacity        INTEGER NOT NULL CHECK (capacity > 0),
    points_per_hour BIGINT,
    status          TEXT NOT NULL CHECK (status IN ('pending_review', 'published', 'rejected')),
    review_reason   TEXT,
    reviewed_by     TEXT,
    reviewed_at     TIMESTAMP,
    signed_up       INTEGER NOT NULL CHECK (signed_up >= 0),
    code_secret     TEXT NOT NULL,
    created_by      TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    CHECK (starts_at < ends_at),
    CHECK (signed_up <= capacity)
);
CREATE INDEX activities_org_idx ON activities (org_id);
CREATE INDEX activities_status_start_idx ON activities (status, starts_at);

CREATE TABLE activity_signups (
    id           TEXT PRIMARY KEY NOT NULL,
    activity_id  TEXT NOT NULL REFERENCES activities (id),
    volunteer_id TEXT NOT NULL REFERENCES volunteers (user_id),
    status       TEXT NOT NULL CHECK (status IN ('signed_up', 'cancelled')),
    created_at   TIMESTAMP NOT NULL,
    cancelled_at TIMESTAMP,
    UNIQUE (activity_id, volunteer_id)
);

-- One attendance per volunteer and activity; the settlement columns are
-- filled once, in the same database transaction as its ledger posting.
CREATE TABLE attendances (
    id             TEXT PRIMARY KEY NOT NULL,
    activity_id    TEXT NOT NULL REFERENCES activities (id),
    volunteer_id   TEXT NOT NULL REFERENCES volunteers (user_id),
    check_in_at    TIMESTAMP NOT NULL,
    check_out_at   TIMESTAMP,
    source         TEXT NOT NULL CHECK (source IN ('code', 'organiser')),
    recorded_by    TEXT NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    settled_at     TIMESTAMP,
    outcome        TEXT,
    transaction_id TEXT REFERENCES transactions (id),
    credited_from  TIMESTAMP,
    credited_to    TIMESTAMP,
    credited_day   TEXT,
    hours          BIGINT,
    points         BIGINT,
    rule_version   TEXT,
    UNIQUE (activity_id, volunteer_id)
);
CREATE INDEX attendances_volunteer_day_idx ON attendances (volunteer_id, credited_day);

CREATE TABLE case_rules (
    id                      TEXT PRIMARY KEY NOT NULL,
    org_id                  TEXT NOT NULL REFERENCES orgs (id),
    code                    TEXT NOT NULL,
    version                 INTEGER NOT NULL,
    name                    TEXT NOT NULL,
    points                  BIGINT NOT NULL CHECK (points >= 0),
    hours                   BIGINT NOT NULL CHECK (hours >= 0),
    max_per_person_per_year INTEGER,
    evidence_required       BOOLEAN NOT NULL,
    effective_from          TIMESTAMP NOT NULL,
    created_by              TEXT NOT NULL,
    created_at              TIMESTAMP NOT NULL,
    UNIQUE (org_id, code, version)
);

CREATE TABLE case_awards (
    id              TEXT PRIMARY KEY NOT NULL,
    volunteer_id    TEXT NOT NULL REFERENCES volunteers (user_id),
    rule_id         TEXT NOT NULL REFERENCES case_rules (id),
    rule_code       TEXT NOT NULL,
    occurred_at     TIMESTAMP NOT NULL,
    claim_year      INTEGER NOT NULL,
    evidence        TEXT,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    filed_by        TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    decided_by      TEXT,
    decided_at      TIMESTAMP,
    decision_reason TEXT,
    transaction_id  TEXT REFERENCES transactions (id)
);
CREATE INDEX case_awards_claims_idx ON case_awards (volunteer_id, rule_code, claim_year, status);

CREATE TABLE star_events (
    id             TEXT PRIMARY KEY NOT NULL,
    volunteer_id   TEXT NOT NULL REFERENCES volunteers (user_id),
    from_level     INTEGER NOT NULL,
    to_level       INTEGER NOT NULL,
    hours          BIGINT NOT NULL,
    transaction_id TEXT,
    rule_version   TEXT NOT NULL,
    created_at     TIMESTAMP NOT NULL
);
CREATE INDEX star_events_volunteer_idx ON star_events (volunteer_id, created_at);

CREATE TABLE violations (
    id                     TEXT PRIMARY KEY NOT NULL,
    volunteer_id           TEXT NOT NULL REFERENCES volunteers (user_id),
    kind                   TEXT NOT NULL CHECK (kind IN ('falsification', 'misconduct', 'other')),
    reason                 TEXT NOT NULL,
    reversals              TEXT NOT NULL,
    penalty_requested      BIGINT NOT NULL,
    penalty_applied        BIGINT NOT NULL,
    penalty_transaction_id TEXT REFERENCES transactions (id),
    suspended_until        TIMESTAMP,
    barred_until           TIMESTAMP,
    created_by             TEXT NOT NULL,
    request_id             TEXT,
    created_at             TIMESTAMP NOT NULL
);
CREATE INDEX violations_volunteer_idx ON violations (volunteer_id, created_at);

ALTER TABLE volunteers ADD COLUMN star_level INTEGER NOT NULL DEFAULT 0;
ALTER TABLE volunteers ADD COLUMN star_barred_until TIMESTAMP;
