-- Residents (居民) ask for services; a volunteer can be one too.
CREATE TABLE residents (
    user_id      TEXT PRIMARY KEY NOT NULL REFERENCES users (id),
    community_id TEXT NOT NULL REFERENCES orgs (id),
    status       TEXT NOT NULL CHECK (status IN ('pending', 'active')),
    approved_at  TIMESTAMP,
    approved_by  TEXT,
    created_at   TIMESTAMP NOT NULL
);

CREATE TABLE service_requests (
    id                        TEXT PRIMARY KEY NOT NULL,
    requester_id              TEXT NOT NULL REFERENCES users (id),
    community_id              TEXT NOT NULL REFERENCES orgs (id),
    category                  TEXT NOT NULL,
    description               TEXT NOT NULL,
    wanted_at                 TIMESTAMP NOT NULL,
    wanted_until              TIMESTAMP,
    payment                   TEXT NOT NULL CHECK (payment IN ('platform', 'requester')),
    max_hours                 BIGINT NOT NULL CHECK (max_hours > 0),
    status                    TEXT NOT NULL CHECK (status IN ('open', 'dispatched', 'accepted', 'completed', 'disputed', 'rated', 'settled', 'cancelled')),
    volunteer_id              TEXT REFERENCES volunteers (user_id),
    dispatched_by             TEXT,
    reported_hours            BIGINT,
    completed_at              TIMESTAMP,
    stars                     INTEGER CHECK (stars BETWEEN 1 AND 5),
    comment                   TEXT,
    rated_at                  TIMESTAMP,
    settled_hours             BIGINT,
    settled_points            BIGINT,
    held_points               BIGINT NOT NULL,
    hold_transaction_id       TEXT REFERENCES transactions (id),
    settlement_transaction_id TEXT REFERENCES transactions (id),
    release_transaction_id    TEXT REFERENCES transactions (id),
    declines                  TEXT NOT NULL,
    cancelled_by              TEXT,
    cancel_reason             TEXT,
    created_at                TIMESTAMP NOT NULL,
    updated_at                TIMESTAMP NOT NULL
);
CREATE INDEX service_requests_community_idx ON service_requests (community_id, status);
CREATE INDEX service_requests_requester_idx ON service_requests (requester_id);
CREATE INDEX service_requests_volunteer_idx ON service_requests (volunteer_id);

CREATE TABLE wishes (
    id                   TEXT PRIMARY KEY NOT NULL,
    requester_id         TEXT NOT NULL REFERENCES users (id),
    community_id         TEXT NOT NULL REFERENCES orgs (id),
    category             TEXT NOT NULL,
    description          TEXT NOT NULL,
    budget               BIGINT,
    status               TEXT NOT NULL CHECK (status IN ('open', 'claimed', 'fulfilled', 'confirmed')),
    claimed_by_volunteer TEXT REFERENCES volunteers (user_id),
    claimed_by_org       TEXT REFERENCES orgs (id),
    claimed_at           TIMESTAMP,
    fulfil_note          TEXT,
    fulfilled_at         TIMESTAMP,
    confirmed_at         TIMESTAMP,
    award_id             TEXT,
    created_at           TIMESTAMP NOT NULL
);
CREATE INDEX wishes_community_idx ON wishes (community_id, status);
