//! Organisations and people: the org tree, users, volunteers and role
//! grants. Used by the HTTP handlers, the other domain crates and the CLI.

use chrono::NaiveDateTime;
use std::sync::LazyLock;

use diesel::prelude::*;
use serde::Serialize;
use timebank_kernel::{Code, DomainError};
use timebank_ledger::{AccountKind, open_account};
use timebank_rules::states::{MemberStatus, MemberStep};
use timebank_store::generation::REFERENCE;
use timebank_store::memo::Memo;
use timebank_store::schema::{orgs, role_grants, users, volunteers};
use timebank_store::{DbConnection, is_unique_violation, write_tx};

pub mod accounts;
pub mod bootstrap;
pub mod identity;
pub mod passwords;
pub mod sessions;
pub mod tokens;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgKind {
    City,
    District,
    Street,
    Community,
}

impl OrgKind {
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "city" => OrgKind::City,
            "district" => OrgKind::District,
            "street" => OrgKind::Street,
            "community" => OrgKind::Community,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OrgKind::City => "city",
            OrgKind::District => "district",
            OrgKind::Street => "street",
            OrgKind::Community => "community",
        }
    }

    /// The kind a child of this kind must have.
    pub fn child(self) -> Option<OrgKind> {
        match self {
            OrgKind::City => Some(OrgKind::District),
            OrgKind::District => Some(OrgKind::Street),
            OrgKind::Street => Some(OrgKind::Community),
            OrgKind::Community => None,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = orgs)]
pub struct Org {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub parent_id: Option<String>,
    #[serde(skip)]
    pub path: String,
    pub district_id: Option<String>,
    #[serde(serialize_with = "utc")]
    pub created_at: NaiveDateTime,
}

/// Orgs are never changed once created, so they are kept in memory.
pub fn find_org(conn: &mut DbConnection, id: &str) -> Result<Option<Org>, DomainError> {
    static MEMO: LazyLock<Memo<Org>> = LazyLock::new(|| Memo::new(&REFERENCE));
    let found = MEMO.find_or_load(id, || {
        orgs::table
            .find(id)
            .select(Org::as_select())
            .first(conn)
            .optional()
    })?;
    Ok(found.map(|org| (*org).clone()))
}

pub fn get_org(conn: &mut DbConnection, id: &str) -> Result<Org, DomainError> {
    find_org(conn, id)?.ok_or_else(|| DomainError::NotFound("organisation"))
}

/// The district an org lies in (communities and streets belong to one).
pub fn district_of(conn: &mut DbConnection, org: &Org) -> Result<Org, DomainError> {
    let id = org
        .district_id
        .as_deref()
        .ok_or(DomainError::NotFound("district"))?;
    get_org(conn, id)
}

/// The volunteer's wallet, opened on first use.
pub fn wallet_of(
    conn: &mut DbConnection,
    volunteer: &Volunteer,
) -> Result<timebank_ledger::Account, DomainError> {
    Ok(open_account(
        conn,
        AccountKind::VolunteerWallet,
        &volunteer.row.user_id,
        &volunteer.community_path,
    )?)
}

/// The org's own ledger account of `kind` (issuance, pool, escrow, sinks),
/// opened on first use.
pub fn org_account(
    conn: &mut DbConnection,
    kind: AccountKind,
    org: &Org,
) -> Result<timebank_ledger::Account, DomainError> {
    Ok(open_account(conn, kind, &org.id, &org.path)?)
}

pub fn root_org(conn: &mut DbConnection) -> Result<Option<Org>, DomainError> {
    Ok(orgs::table
        .filter(orgs::parent_id.is_null())
        .order(orgs::created_at.asc())
        .select(Org::as_select())
        .first(conn)
        .optional()?)
}

/// Creates an org under `parent` (or a root when `parent` is None) with its
/// issuance account, and a public pool for a district.
pub fn create_org(
    conn: &mut DbConnection,
    name: &str,
    kind: OrgKind,
    parent: Option<&Org>,
) -> Result<Org, DomainError> {
    if let Some(parent) = parent {
        let parent_kind =
            OrgKind::parse(&parent.kind).ok_or(DomainError::NotFound("organisation kind"))?;
        if parent_kind.child() != Some(kind) {
            return Err(DomainError::refused(
                Code::InvalidOrgKind,
                format!(
                    "a {} can only hold a {}",
                    parent_kind.as_str(),
                    parent_kind
                        .child()
                        .map(OrgKind::as_str)
                        .unwrap_or("nothing")
                ),
            ));
        }
    }
    let id = timebank_store::new_id();
    let path = format!("{}{id}/", parent.map(|p| p.path.as_str()).unwrap_or("/"));
    let district_id = match kind {
        OrgKind::District => Some(id.clone()),
        _ => parent.and_then(|p| p.district_id.clone()),
    };
    let org = Org {
        id,
        name: name.to_owned(),
        kind: kind.as_str().to_owned(),
        parent_id: parent.map(|p| p.id.clone()),
        path,
        district_id,
        created_at: timebank_store::now(),
    };
    write_tx(conn, |c| {
        diesel::insert_into(orgs::table)
            .values((
                orgs::id.eq(&org.id),
                orgs::name.eq(&org.name),
                orgs::kind.eq(&org.kind),
                orgs::parent_id.eq(&org.parent_id),
                orgs::path.eq(&org.path),
                orgs::district_id.eq(&org.district_id),
                orgs::created_at.eq(org.created_at),
            ))
            .execute(c)?;
        // A created org that rolls back must not stay in memory.
        REFERENCE.touch();
        open_account(c, AccountKind::OrgIssuance, &org.id, &org.path)?;
        if kind == OrgKind::District {
            open_account(c, AccountKind::DistrictPool, &org.id, &org.path)?;
            open_account(c, AccountKind::ExpirySink, &org.id, &org.path)?;
        }
        Ok::<_, DomainError>(())
    })?;
    Ok(org)
}

pub fn children(
    conn: &mut DbConnection,
    parent_id: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Org>, DomainError> {
    let mut query = orgs::table
        .filter(orgs::parent_id.eq(parent_id))
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(orgs::id.gt(after.to_owned()));
    }
    Ok(query
        .order(orgs::id.asc())
        .limit(limit)
        .select(Org::as_select())
        .load(conn)?)
}

/// Creates a user; a phone already registered is a 409 `phone_taken`.
pub fn create_user(
    conn: &mut DbConnection,
    name: &str,
    phone: &str,
    password_hash: &str,
) -> Result<String, DomainError> {
    let id = timebank_store::new_id();
    let inserted = diesel::insert_into(users::table)
        .values((
            users::id.eq(&id),
            users::name.eq(name),
            users::phone.eq(phone),
            users::password_hash.eq(password_hash),
            users::created_at.eq(timebank_store::now()),
        ))
        .execute(conn);
    match inserted {
        Ok(_) => Ok(id),
        Err(e) if is_unique_violation(&e) => Err(DomainError::refused(
            Code::PhoneTaken,
            "this phone number is already registered",
        )),
        Err(e) => Err(e.into()),
    }
}

pub fn user_exists(conn: &mut DbConnection, id: &str) -> Result<bool, DomainError> {
    Ok(users::table
        .find(id)
        .select(users::id)
        .first::<String>(conn)
        .optional()?
        .is_some())
}

/// Grants a role over an org to an existing user, if `allowed` over the
/// org. Whether the grant is new (granting again changes nothing).
pub fn grant_over(
    conn: &mut DbConnection,
    org_id: &str,
    user_id: &str,
    role: &str,
    actor: &str,
    allowed: timebank_kernel::Check<'_, Org>,
) -> Result<bool, DomainError> {
    let org = get_org(conn, org_id)?;
    if !allowed(&org) {
        return Err(DomainError::forbidden());
    }
    if !user_exists(conn, user_id)? {
        return Err(DomainError::refused(
            Code::UnknownUser,
            "user_id is not a user",
        ));
    }
    grant_org_role(conn, user_id, role, &org.id, Some(actor))
}

pub fn grant_org_role(
    conn: &mut DbConnection,
    user_id: &str,
    role: &str,
    org_id: &str,
    granted_by: Option<&str>,
) -> Result<bool, DomainError> {
    grant_role(conn, user_id, role, Some(org_id), None, granted_by)
}

/// Grants a role scoped to an org subtree or to a site; granting what is
/// already held changes nothing and returns false.
pub fn grant_role(
    conn: &mut DbConnection,
    user_id: &str,
    role: &str,
    org_id: Option<&str>,
    site_id: Option<&str>,
    granted_by: Option<&str>,
) -> Result<bool, DomainError> {
    write_tx(conn, |c| {
        let mut held = role_grants::table
            .filter(role_grants::user_id.eq(user_id))
            .filter(role_grants::role.eq(role))
            .filter(role_grants::revoked_at.is_null())
            .select(role_grants::id)
            .into_boxed();
        held = match org_id {
            Some(org) => held.filter(role_grants::org_id.eq(org)),
            None => held.filter(role_grants::org_id.is_null()),
        };
        held = match site_id {
            Some(site) => held.filter(role_grants::site_id.eq(site)),
            None => held.filter(role_grants::site_id.is_null()),
        };
        if held.first::<String>(c).optional()?.is_some() {
            return Ok(false);
        }
        diesel::insert_into(role_grants::table)
            .values((
                role_grants::id.eq(timebank_store::new_id()),
                role_grants::user_id.eq(user_id),
                role_grants::role.eq(role),
                role_grants::org_id.eq(org_id),
                role_grants::site_id.eq(site_id),
                role_grants::granted_by.eq(granted_by),
                role_grants::created_at.eq(timebank_store::now()),
            ))
            .execute(c)?;
        timebank_store::generation::IDENTITIES.touch();
        Ok(true)
    })
}

/// Revokes `user_id`'s grants of these roles at exactly this org or site:
/// the rows are kept with who revoked them and when. Returns the roles
/// revoked (empty: there was none to revoke).
/// Revokes `roles` held over an org, if `allowed` over it: the org and
/// the roles that were held (none is not an error: revoking is idempotent).
pub fn revoke_over(
    conn: &mut DbConnection,
    org_id: &str,
    user_id: &str,
    roles: &[&str],
    actor: &str,
    allowed: timebank_kernel::Check<'_, Org>,
) -> Result<(Org, Vec<String>), DomainError> {
    let org = get_org(conn, org_id)?;
    if !allowed(&org) {
        return Err(DomainError::forbidden());
    }
    let revoked = revoke_held(conn, user_id, GrantPlace::Org(&org.id), roles, actor)?;
    Ok((org, revoked))
}

/// Revokes another user's grants at one place. Nobody revokes their own:
/// an admin does not lock themselves out by mistake.
pub fn revoke_held(
    conn: &mut DbConnection,
    user_id: &str,
    at: GrantPlace<'_>,
    roles: &[&str],
    actor: &str,
) -> Result<Vec<String>, DomainError> {
    if actor == user_id {
        return Err(DomainError::refused(
            Code::OwnGrant,
            "you cannot revoke your own grant; ask another admin over this organisation",
        ));
    }
    if !user_exists(conn, user_id)? {
        return Err(DomainError::NotFound("user"));
    }
    revoke_grants(conn, user_id, at, roles, actor)
}

fn revoke_grants(
    conn: &mut DbConnection,
    user_id: &str,
    at: GrantPlace<'_>,
    roles: &[&str],
    revoked_by: &str,
) -> Result<Vec<String>, DomainError> {
    write_tx(conn, |c| {
        let mut held = role_grants::table
            .filter(role_grants::user_id.eq(user_id))
            .filter(role_grants::role.eq_any(roles))
            .filter(role_grants::revoked_at.is_null())
            .select((role_grants::id, role_grants::role))
            .into_boxed();
        held = match at {
            GrantPlace::Org(org) => held.filter(role_grants::org_id.eq(org)),
            GrantPlace::Site(site) => held.filter(role_grants::site_id.eq(site)),
        };
        let rows: Vec<(String, String)> = held.load(c)?;
        let ids: Vec<&String> = rows.iter().map(|(id, _)| id).collect();
        diesel::update(role_grants::table.filter(role_grants::id.eq_any(ids)))
            .set((
                role_grants::revoked_at.eq(timebank_store::now()),
                role_grants::revoked_by.eq(revoked_by),
            ))
            .execute(c)?;
        timebank_store::generation::IDENTITIES.touch();
        let mut revoked: Vec<String> = rows.into_iter().map(|(_, role)| role).collect();
        revoked.sort();
        revoked.dedup();
        Ok(revoked)
    })
}

#[derive(Debug, Clone, Copy)]
pub enum GrantPlace<'a> {
    Org(&'a str),
    Site(&'a str),
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = volunteers)]
pub struct VolunteerRow {
    pub user_id: String,
    pub community_id: String,
    #[diesel(deserialize_as = String)]
    pub status: MemberStatus,
    pub skills: String,
    pub approved_at: Option<NaiveDateTime>,
    pub approved_by: Option<String>,
    pub suspended_until: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub star_level: i32,
    pub star_barred_until: Option<NaiveDateTime>,
}

/// Whether a volunteer may take part now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Pending,
    Active,
    Suspended { until: NaiveDateTime },
}

impl VolunteerRow {
    /// Suspension ends by itself when its period is over.
    pub fn standing(&self, now: NaiveDateTime) -> Standing {
        match (self.status, self.suspended_until) {
            (MemberStatus::Pending, _) => Standing::Pending,
            (_, Some(until)) if until > now => Standing::Suspended { until },
            _ => Standing::Active,
        }
    }

    /// The status shown to clients: pending, active or suspended.
    pub fn effective_status(&self, now: NaiveDateTime) -> MemberStatus {
        match self.standing(now) {
            Standing::Pending => MemberStatus::Pending,
            Standing::Active => MemberStatus::Active,
            Standing::Suspended { .. } => MemberStatus::Suspended,
        }
    }

    /// Refuses anything but an active volunteer, with a 403 code.
    pub fn require_active(&self, now: NaiveDateTime) -> Result<(), DomainError> {
        match self.standing(now) {
            Standing::Active => Ok(()),
            Standing::Pending => Err(DomainError::refused(
                Code::VolunteerNotActive,
                "the volunteer is not approved yet",
            )),
            Standing::Suspended { until } => Err(DomainError::refused(
                Code::VolunteerSuspended,
                format!("the volunteer is suspended until {}", utc_string(&until)),
            )),
        }
    }
}

/// A volunteer with the user fields and the community's org path.
#[derive(Debug, Clone)]
pub struct Volunteer {
    pub row: VolunteerRow,
    pub name: String,
    pub phone: String,
    pub community_path: String,
}

pub fn find_volunteer(conn: &mut DbConnection, id: &str) -> Result<Option<Volunteer>, DomainError> {
    let found = volunteers::table
        .inner_join(users::table)
        .inner_join(orgs::table)
        .filter(volunteers::user_id.eq(id))
        .select((
            VolunteerRow::as_select(),
            users::name,
            users::phone,
            orgs::path,
        ))
        .first::<VolunteerColumns>(conn)
        .optional()?;
    Ok(found.map(volunteer_from))
}

/// The volunteers with these ids, in one statement (unknown ids are absent).
pub fn volunteers_by_id(
    conn: &mut DbConnection,
    ids: &[&str],
) -> Result<Vec<Volunteer>, DomainError> {
    let found = volunteers::table
        .inner_join(users::table)
        .inner_join(orgs::table)
        .filter(volunteers::user_id.eq_any(ids))
        .select((
            VolunteerRow::as_select(),
            users::name,
            users::phone,
            orgs::path,
        ))
        .load::<VolunteerColumns>(conn)?;
    Ok(found.into_iter().map(volunteer_from).collect())
}

/// A volunteer row, the user's name and phone, and the community's path.
type VolunteerColumns = (VolunteerRow, String, String, String);

fn volunteer_from((row, name, phone, community_path): VolunteerColumns) -> Volunteer {
    Volunteer {
        row,
        name,
        phone,
        community_path,
    }
}

/// A volunteer's star level, community path and wallet balances (if they
/// have a wallet), in one statement: all a balance read needs.
pub fn volunteer_balances(
    conn: &mut DbConnection,
    id: &str,
) -> Result<(i32, String, Option<timebank_ledger::AccountBalances>), DomainError> {
    use timebank_store::schema::{accounts, balances};
    /// star level, community path, then asset, amount and earned (if any)
    type Row = (i32, String, Option<String>, Option<i64>, Option<i64>);
    let query = volunteers::table
        .inner_join(orgs::table)
        .left_join(
            accounts::table.on(accounts::owner_id
                .eq(volunteers::user_id)
                .and(accounts::kind.eq(AccountKind::VolunteerWallet.as_str()))),
        )
        .left_join(balances::table.on(balances::account_id.eq(accounts::id)))
        .filter(volunteers::user_id.eq(id))
        .select((
            volunteers::star_level,
            orgs::path,
            balances::asset.nullable(),
            balances::amount.nullable(),
            balances::earned.nullable(),
        ));
    // On the backend's own connection: its statement cache keys on the
    // query's type, the multi-backend one on its SQL text, built each time.
    let rows: Vec<Row> = timebank_store::on_backend!(conn, c => query.load(c))?;
    let Some((level, path)) = rows.first().map(|r| (r.0, r.1.clone())) else {
        return Err(DomainError::NotFound("volunteer"));
    };
    let held: Vec<(String, i64, i64)> = rows
        .into_iter()
        .filter_map(|(_, _, asset, amount, earned)| Some((asset?, amount?, earned?)))
        .collect();
    let balances = if held.is_empty() {
        None
    } else {
        Some(timebank_ledger::read::balances_from(held)?)
    };
    Ok((level, path, balances))
}

pub fn get_volunteer(conn: &mut DbConnection, id: &str) -> Result<Volunteer, DomainError> {
    find_volunteer(conn, id)?.ok_or_else(|| DomainError::NotFound("volunteer"))
}

/// A volunteer as [`PG_LOCK_VOLUNTEER`] returns them.
#[derive(QueryableByName)]
#[diesel(table_name = volunteers)]
struct LockedVolunteer {
    user_id: String,
    community_id: String,
    status: String,
    skills: String,
    approved_at: Option<NaiveDateTime>,
    approved_by: Option<String>,
    suspended_until: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
    star_level: i32,
    star_barred_until: Option<NaiveDateTime>,
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    phone: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    community_path: String,
}

// `FOR UPDATE OF v`: the volunteer's row only, not their user or community.
const PG_LOCK_VOLUNTEER: &str = "SELECT v.user_id, v.community_id, v.status, v.skills, \
     v.approved_at, v.approved_by, v.suspended_until, v.created_at, v.star_level, \
     v.star_barred_until, u.name, u.phone, o.path AS community_path \
     FROM volunteers AS v JOIN users AS u ON u.id = v.user_id \
     JOIN orgs AS o ON o.id = v.community_id WHERE v.user_id = ? FOR UPDATE OF v";

/// The volunteer, their row locked for the rest of the write transaction
/// (Postgres; SQLite's `BEGIN IMMEDIATE` already serialises writers): one
/// statement for what `lock_row` and [`get_volunteer`] do in two.
pub fn lock_volunteer(conn: &mut DbConnection, id: &str) -> Result<Volunteer, DomainError> {
    use timebank_store::fixed::{Fixed, Param};
    if let DbConnection::Sqlite(_) = conn {
        return get_volunteer(conn, id);
    }
    let Some(l) = Fixed::new(PG_LOCK_VOLUNTEER, vec![Param::Text(id.to_owned())])
        .load::<LockedVolunteer>(conn)?
        .pop()
    else {
        return Err(DomainError::NotFound("volunteer"));
    };
    let status = l
        .status
        .parse()
        .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))?;
    Ok(Volunteer {
        row: VolunteerRow {
            user_id: l.user_id,
            community_id: l.community_id,
            status,
            skills: l.skills,
            approved_at: l.approved_at,
            approved_by: l.approved_by,
            suspended_until: l.suspended_until,
            created_at: l.created_at,
            star_level: l.star_level,
            star_barred_until: l.star_barred_until,
        },
        name: l.name,
        phone: l.phone,
        community_path: l.community_path,
    })
}

/// Locks these volunteers' rows (in id order, as every writer does) and
/// reads them: unknown ids are absent.
pub fn lock_volunteers_by_id(
    conn: &mut DbConnection,
    ids: &[&str],
) -> Result<Vec<Volunteer>, DomainError> {
    if let [id] = ids {
        return match lock_volunteer(conn, id) {
            Ok(v) => Ok(vec![v]),
            Err(DomainError::NotFound(_)) => Ok(Vec::new()),
            Err(e) => Err(e),
        };
    }
    let mut sorted = ids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    timebank_store::lock_volunteers(conn, &sorted)?;
    volunteers_by_id(conn, &sorted)
}

/// Registers a volunteer (pending approval) with a wallet, atomically.
pub fn register_volunteer(
    conn: &mut DbConnection,
    name: &str,
    phone: &str,
    password_hash: &str,
    community_id: &str,
    skills: &[String],
) -> Result<String, DomainError> {
    write_tx(conn, |c| {
        let (id, community) = new_member(c, name, phone, password_hash, community_id)?;
        let skills = serde_json::to_string(skills).unwrap_or_else(|_| "[]".to_owned());
        diesel::insert_into(volunteers::table)
            .values((
                volunteers::user_id.eq(&id),
                volunteers::community_id.eq(&community.id),
                volunteers::status.eq(MemberStatus::Pending),
                volunteers::skills.eq(skills),
                volunteers::created_at.eq(timebank_store::now()),
            ))
            .execute(c)?;
        timebank_store::generation::IDENTITIES.touch();
        Ok(id)
    })
}

/// The part every registration shares: the community must be one, the user
/// is created, and a wallet is opened.
fn new_member(
    conn: &mut DbConnection,
    name: &str,
    phone: &str,
    password_hash: &str,
    community_id: &str,
) -> Result<(String, Org), DomainError> {
    let community = find_org(conn, community_id)?
        .filter(|o| o.kind == "community")
        .ok_or_else(|| {
            DomainError::refused(Code::InvalidCommunity, "community_id is not a community")
        })?;
    let id = create_user(conn, name, phone, password_hash)?;
    open_account(conn, AccountKind::VolunteerWallet, &id, &community.path)?;
    Ok((id, community))
}

/// pending → active; anything else is a 409 naming the current state.
/// Approves a pending volunteer, if `allowed` on them (a compare-and-set
/// on the status: two admins approving at once approve once); the
/// volunteer as approved.
pub fn approve_volunteer(
    conn: &mut DbConnection,
    id: &str,
    approver: &str,
    allowed: timebank_kernel::Check<'_, Volunteer>,
) -> Result<Volunteer, DomainError> {
    let volunteer = get_volunteer(conn, id)?;
    if !allowed(&volunteer) {
        return Err(DomainError::forbidden());
    }
    let changed = diesel::update(
        volunteers::table
            .find(id)
            .filter(volunteers::status.eq_any(MemberStep::Approve.from_states())),
    )
    .set((
        volunteers::status.eq(MemberStep::Approve.to()),
        volunteers::approved_at.eq(timebank_store::now()),
        volunteers::approved_by.eq(approver),
    ))
    .execute(conn)?;
    timebank_store::generation::IDENTITIES.touch();
    let approved = get_volunteer(conn, id)?;
    if changed == 1 {
        return Ok(approved);
    }
    let current = approved.row.status;
    Err(DomainError::invalid_state(
        "volunteer",
        current.as_str(),
        &MemberStep::Approve.wanted(),
    ))
}

fn utc<S: serde::Serializer>(value: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&utc_string(value))
}

/// RFC 3339 UTC with microseconds, the one time format on the wire.
/// A phone number as lists, logs and other people see it: `138****5678`.
/// Anything not shaped like a phone keeps only its last two characters.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() >= 7 {
        let head: String = chars[..3].iter().collect();
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("{head}****{tail}")
    } else {
        let keep = chars.len().min(2);
        let tail: String = chars[chars.len() - keep..].iter().collect();
        format!("****{tail}")
    }
}

#[cfg(test)]
mod mask_tests {
    #[test]
    fn masks_phones() {
        assert_eq!(super::mask_phone("13812345678"), "138****5678");
        assert_eq!(super::mask_phone("12"), "****12");
        assert_eq!(super::mask_phone(""), "****");
    }
}

pub use timebank_kernel::wire::utc_string;

/// The ids of an org path's orgs, root first: "/a/b/c/" → [a, b, c].
pub fn path_ids(path: &str) -> Vec<&str> {
    path.split('/').filter(|p| !p.is_empty()).collect()
}

/// Registers a resident (pending approval) with a wallet, atomically.
pub fn register_resident(
    conn: &mut DbConnection,
    name: &str,
    phone: &str,
    password_hash: &str,
    community_id: &str,
) -> Result<String, DomainError> {
    use timebank_store::schema::residents;
    write_tx(conn, |c| {
        let (id, community) = new_member(c, name, phone, password_hash, community_id)?;
        diesel::insert_into(residents::table)
            .values((
                residents::user_id.eq(&id),
                residents::community_id.eq(&community.id),
                residents::status.eq(MemberStatus::Pending),
                residents::created_at.eq(timebank_store::now()),
            ))
            .execute(c)?;
        timebank_store::generation::IDENTITIES.touch();
        Ok(id)
    })
}

/// pending → active for a resident.
/// Approves a pending resident, if `allowed` on them (a compare-and-set
/// on the status, as for volunteers).
pub fn approve_resident(
    conn: &mut DbConnection,
    id: &str,
    approver: &str,
    allowed: timebank_kernel::Check<'_, Member>,
) -> Result<(), DomainError> {
    use timebank_store::schema::residents;
    let member = find_member(conn, id)?
        .filter(|m| !m.is_volunteer)
        .ok_or(DomainError::NotFound("resident"))?;
    if !allowed(&member) {
        return Err(DomainError::forbidden());
    }
    let changed = diesel::update(
        residents::table
            .find(id)
            .filter(residents::status.eq_any(MemberStep::Approve.from_states())),
    )
    .set((
        residents::status.eq(MemberStep::Approve.to()),
        residents::approved_at.eq(timebank_store::now()),
        residents::approved_by.eq(approver),
    ))
    .execute(conn)?;
    timebank_store::generation::IDENTITIES.touch();
    if changed == 1 {
        return Ok(());
    }
    let current = get_member(conn, id)?.status;
    Err(DomainError::invalid_state(
        "resident",
        current.as_str(),
        &MemberStep::Approve.wanted(),
    ))
}

/// Anyone who holds a wallet in a community: a volunteer, or a resident.
#[derive(Debug, Clone)]
pub struct Member {
    pub user_id: String,
    pub name: String,
    pub community_id: String,
    pub community_path: String,
    pub is_volunteer: bool,
    /// Volunteers only can be suspended.
    pub status: MemberStatus,
}

impl Member {
    pub fn require_active(&self) -> Result<(), DomainError> {
        match self.status {
            MemberStatus::Active => Ok(()),
            MemberStatus::Suspended => Err(DomainError::refused(
                Code::VolunteerSuspended,
                "the volunteer is suspended",
            )),
            MemberStatus::Pending => Err(DomainError::refused(
                Code::MemberNotActive,
                "the account is not approved yet",
            )),
        }
    }
}

pub fn find_member(conn: &mut DbConnection, user_id: &str) -> Result<Option<Member>, DomainError> {
    use timebank_store::schema::residents;
    if let Some(v) = find_volunteer(conn, user_id)? {
        return Ok(Some(Member {
            status: v.row.effective_status(timebank_store::now()),
            user_id: v.row.user_id,
            name: v.name,
            community_id: v.row.community_id,
            community_path: v.community_path,
            is_volunteer: true,
        }));
    }
    let found = residents::table
        .inner_join(users::table)
        .inner_join(orgs::table)
        .filter(residents::user_id.eq(user_id))
        .select((
            residents::community_id,
            residents::status,
            users::name,
            orgs::path,
        ))
        .first::<(String, String, String, String)>(conn)
        .optional()?;
    Ok(
        found.map(|(community_id, status, name, community_path)| Member {
            user_id: user_id.to_owned(),
            name,
            community_id,
            community_path,
            is_volunteer: false,
            // The table's check admits only known states.
            status: MemberStatus::parse(&status).unwrap_or(MemberStatus::Pending),
        }),
    )
}

pub fn get_member(conn: &mut DbConnection, user_id: &str) -> Result<Member, DomainError> {
    find_member(conn, user_id)?.ok_or(DomainError::NotFound("volunteer or resident"))
}

/// Whether staff recorded the volunteer as a party member (党员).
pub fn is_party_member(conn: &mut DbConnection, volunteer_id: &str) -> Result<bool, DomainError> {
    Ok(volunteers::table
        .find(volunteer_id)
        .select(volunteers::party_member)
        .first::<bool>(conn)
        .optional()?
        .unwrap_or(false))
}

pub fn set_party_member(
    conn: &mut DbConnection,
    volunteer_id: &str,
    party_member: bool,
) -> Result<(), DomainError> {
    let changed = diesel::update(volunteers::table.find(volunteer_id))
        .set(volunteers::party_member.eq(party_member))
        .execute(conn)?;
    if changed == 0 {
        return Err(DomainError::NotFound("volunteer"));
    }
    Ok(())
}
