-- How districts organise volunteers beyond one by one: teams (志愿服务队伍),
-- partner units whose people report to their home communities (双报到),
-- the three lists matched by two-way claiming (三张清单 · 双向认领), and the
-- projects those matches become (项目制).

CREATE TABLE teams (
    id          TEXT PRIMARY KEY NOT NULL,
    org_id      TEXT NOT NULL REFERENCES orgs (id),
    name        TEXT NOT NULL,
    category    TEXT NOT NULL,
    description TEXT NOT NULL,
    leader_id   TEXT NOT NULL REFERENCES volunteers (user_id),
    status      TEXT NOT NULL CHECK (status IN ('pending', 'active', 'rejected', 'dissolved')),
    applied_by  TEXT NOT NULL,
    decided_by  TEXT,
    decided_at  TIMESTAMP,
    reason      TEXT,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX teams_org_idx ON teams (org_id, status);
-- One standing team of a name per org (a rejected or dissolved one frees it).
CREATE UNIQUE INDEX teams_name_idx ON teams (org_id, name) WHERE status IN ('pending', 'active');
CREATE INDEX teams_leader_idx ON teams (leader_id);

-- A volunteer may be in several teams; leaving keeps the row (left_at).
CREATE TABLE team_members (
    team_id      TEXT NOT NULL REFERENCES teams (id),
    volunteer_id TEXT NOT NULL REFERENCES volunteers (user_id),
    joined_at    TIMESTAMP NOT NULL,
    added_by     TEXT NOT NULL,
    left_at      TIMESTAMP,
    PRIMARY KEY (team_id, volunteer_id)
);
CREATE INDEX team_members_volunteer_idx ON team_members (volunteer_id);

CREATE TABLE units (
    id            TEXT PRIMARY KEY NOT NULL,
    org_id        TEXT NOT NULL REFERENCES orgs (id),
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('enterprise', 'school', 'hospital', 'agency', 'social_org', 'other')),
    contact       TEXT,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'active', 'rejected', 'withdrawn')),
    registered_by TEXT NOT NULL,
    decided_by    TEXT,
    decided_at    TIMESTAMP,
    reason        TEXT,
    created_at    TIMESTAMP NOT NULL
);
CREATE INDEX units_org_idx ON units (org_id, status);
CREATE UNIQUE INDEX units_name_idx ON units (org_id, name) WHERE status IN ('pending', 'active');

-- Who manages a unit's list items, members and projects.
CREATE TABLE unit_admins (
    unit_id    TEXT NOT NULL REFERENCES units (id),
    user_id    TEXT NOT NULL REFERENCES users (id),
    granted_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    PRIMARY KEY (unit_id, user_id)
);
CREATE INDEX unit_admins_user_idx ON unit_admins (user_id);

-- A unit's people reporting to their residential community (到社区报到).
-- Added by the unit's admins, a member is confirmed once the volunteer
-- says so (or staff over the unit's org added them): only then does the
-- unit read their hours.
CREATE TABLE unit_members (
    unit_id      TEXT NOT NULL REFERENCES units (id),
    volunteer_id TEXT NOT NULL REFERENCES volunteers (user_id),
    reported_at  TIMESTAMP NOT NULL,
    added_by     TEXT NOT NULL,
    confirmed_at TIMESTAMP,
    left_at      TIMESTAMP,
    PRIMARY KEY (unit_id, volunteer_id)
);
CREATE INDEX unit_members_volunteer_idx ON unit_members (volunteer_id);

-- Set by staff; shown only to staff over the volunteer's community.
ALTER TABLE volunteers ADD COLUMN party_member BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE list_items (
    id          TEXT PRIMARY KEY NOT NULL,
    list        TEXT NOT NULL CHECK (list IN ('need', 'resource', 'project')),
    -- The org the item is published in (a unit's own org for a unit's item).
    org_id      TEXT NOT NULL REFERENCES orgs (id),
    unit_id     TEXT REFERENCES units (id),
    category    TEXT NOT NULL,
    title       TEXT NOT NULL,
    description TEXT NOT NULL,
    quantity    INTEGER CHECK (quantity > 0),
    until       TIMESTAMP,
    status      TEXT NOT NULL CHECK (status IN ('open', 'claimed', 'matched', 'withdrawn')),
    -- A need made of a resident's service request or wish (`request:<id>`,
    -- `wish:<id>`): one item per source.
    source      TEXT UNIQUE,
    claim_id    TEXT,
    project_id  TEXT,
    created_by  TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE INDEX list_items_org_idx ON list_items (org_id, list, status);
CREATE INDEX list_items_unit_idx ON list_items (unit_id);

-- Every claim made, confirmed, declined or withdrawn with its item.
CREATE TABLE list_claims (
    id          TEXT PRIMARY KEY NOT NULL,
    item_id     TEXT NOT NULL REFERENCES list_items (id),
    by_unit_id  TEXT REFERENCES units (id),
    by_org_id   TEXT REFERENCES orgs (id),
    by_team_id  TEXT REFERENCES teams (id),
    note        TEXT,
    claimed_by  TEXT NOT NULL,
    claimed_at  TIMESTAMP NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('pending', 'confirmed', 'declined', 'withdrawn')),
    decided_by  TEXT,
    decided_at  TIMESTAMP,
    reason      TEXT,
    CHECK (num_nonnulls(by_unit_id, by_org_id, by_team_id) = 1)
);
CREATE INDEX list_claims_item_idx ON list_claims (item_id);

CREATE TABLE projects (
    id            TEXT PRIMARY KEY NOT NULL,
    title         TEXT NOT NULL,
    category      TEXT NOT NULL,
    -- The org whose list the matched item was on: its admins assess.
    org_id        TEXT NOT NULL REFERENCES orgs (id),
    item_id       TEXT NOT NULL UNIQUE REFERENCES list_items (id),
    need_id       TEXT REFERENCES list_items (id),
    resource_id   TEXT REFERENCES list_items (id),
    owner_unit_id TEXT REFERENCES units (id),
    lead_unit_id  TEXT REFERENCES units (id),
    lead_org_id   TEXT REFERENCES orgs (id),
    lead_team_id  TEXT REFERENCES teams (id),
    status        TEXT NOT NULL CHECK (status IN ('planned', 'running', 'assessing', 'closed', 'cancelled')),
    started_at    TIMESTAMP,
    assessing_at  TIMESTAMP,
    closed_at     TIMESTAMP,
    closed_by     TEXT,
    result        TEXT,
    rating        INTEGER CHECK (rating BETWEEN 1 AND 5),
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    CHECK (num_nonnulls(lead_unit_id, lead_org_id, lead_team_id) = 1)
);
CREATE INDEX projects_org_idx ON projects (org_id, status);
CREATE INDEX projects_lead_unit_idx ON projects (lead_unit_id);
CREATE INDEX projects_owner_unit_idx ON projects (owner_unit_id);

-- Activities run by a team or for a project.
ALTER TABLE activities ADD COLUMN team_id TEXT REFERENCES teams (id);
ALTER TABLE activities ADD COLUMN project_id TEXT REFERENCES projects (id);
CREATE INDEX activities_team_idx ON activities (team_id);
CREATE INDEX activities_project_idx ON activities (project_id);

-- Honours a team earns as a group (集体荣誉): case rules marked for teams,
-- awarded by an admin over the team's org and posted to the team's own
-- ledger account, from which points go only to the district pool or, by an
-- admin, to its members.
ALTER TABLE case_rules ADD COLUMN for_teams BOOLEAN NOT NULL DEFAULT FALSE;
CREATE TABLE team_honours (
    id             TEXT PRIMARY KEY NOT NULL,
    team_id        TEXT NOT NULL REFERENCES teams (id),
    rule_id        TEXT NOT NULL REFERENCES case_rules (id),
    rule_code      TEXT NOT NULL,
    occurred_at    TIMESTAMP NOT NULL,
    claim_year     INTEGER NOT NULL,
    evidence       TEXT,
    awarded_by     TEXT NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    transaction_id TEXT NOT NULL REFERENCES transactions (id)
);
CREATE INDEX team_honours_team_idx ON team_honours (team_id, rule_code, claim_year);
