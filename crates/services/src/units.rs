//! Partner units (共建单位): enterprises, schools, hospitals, agencies and
//! social organisations registered with a community, street or district.
//! Their people report to their residential communities (双报到) as the
//! unit's members; the unit's admins manage its list items, members and
//! projects.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use timebank_directory::get_org;
use timebank_kernel::{Check, Code, DomainError, anyone};
use timebank_rules::states::{ListItemStatus, UnitStatus, UnitStep};
use timebank_store::schema::{list_items, orgs, unit_admins, unit_members, units, users};
use timebank_store::{DbConnection, Lockable, lock_row, write_tx};

use crate::organising::escape_like;

pub const KINDS: &[&str] = &[
    "enterprise",
    "school",
    "hospital",
    "agency",
    "social_org",
    "other",
];

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = units)]
pub struct UnitRow {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub kind: String,
    pub contact: Option<String>,
    #[diesel(deserialize_as = String)]
    pub status: UnitStatus,
    pub registered_by: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<NaiveDateTime>,
    pub reason: Option<String>,
    pub created_at: NaiveDateTime,
}

/// What an access check sees of a unit: its org and its admins.
#[derive(Debug, Clone)]
pub struct UnitScope {
    pub unit_id: String,
    pub org_path: String,
    pub admins: Vec<String>,
    pub status: UnitStatus,
}

pub struct NewUnit {
    pub org_id: String,
    pub name: String,
    pub kind: String,
    pub contact: Option<String>,
}

/// A member as the unit's page shows them, with their lifetime hours.
#[derive(Debug, Clone)]
pub struct Member {
    pub volunteer_id: String,
    pub name: String,
    pub community_id: String,
    pub reported_at: NaiveDateTime,
    pub confirmed: bool,
}

pub fn get(conn: &mut DbConnection, id: &str) -> Result<UnitRow, DomainError> {
    units::table
        .find(id)
        .select(UnitRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(DomainError::NotFound("unit"))
}

/// A unit a body names: 422 `invalid_unit` when there is none.
pub fn named(conn: &mut DbConnection, id: &str) -> Result<UnitRow, DomainError> {
    get(conn, id).map_err(|e| match e {
        DomainError::NotFound(_) => DomainError::refused(Code::InvalidUnit, "no such partner unit"),
        other => other,
    })
}

pub fn admins(conn: &mut DbConnection, id: &str) -> Result<Vec<String>, DomainError> {
    Ok(unit_admins::table
        .filter(unit_admins::unit_id.eq(id))
        .filter(unit_admins::revoked_at.is_null())
        .select(unit_admins::user_id)
        .load(conn)?)
}

pub fn scope(conn: &mut DbConnection, unit: &UnitRow) -> Result<UnitScope, DomainError> {
    let org = get_org(conn, &unit.org_id)?;
    Ok(UnitScope {
        unit_id: unit.id.clone(),
        org_path: org.path,
        admins: admins(conn, &unit.id)?,
        status: unit.status,
    })
}

fn locked(
    conn: &mut DbConnection,
    id: &str,
    allowed: Check<'_, UnitScope>,
) -> Result<(UnitRow, UnitScope), DomainError> {
    lock_row(conn, Lockable::Unit, id)?;
    let unit = get(conn, id)?;
    let scope = scope(conn, &unit)?;
    if !allowed(&scope) {
        return Err(DomainError::forbidden());
    }
    Ok((unit, scope))
}

pub fn require_active(unit: &UnitRow) -> Result<(), DomainError> {
    if unit.status == UnitStatus::Active {
        Ok(())
    } else {
        Err(DomainError::refused(
            Code::UnitNotActive,
            format!("the unit {} is {}, not active", unit.name, unit.status),
        )
        .with_details(serde_json::json!({ "status": unit.status })))
    }
}

/// Registers a unit: active at once when `admin` (the caller administers
/// the org), else pending, with the caller as its admin.
pub fn register(
    conn: &mut DbConnection,
    new: NewUnit,
    actor: &str,
    admin: bool,
) -> Result<UnitRow, DomainError> {
    write_tx(conn, |c| {
        let org = get_org(c, &new.org_id)?;
        if !matches!(org.kind.as_str(), "district" | "street" | "community") {
            return Err(DomainError::refused(
                Code::InvalidOrgKind,
                "a unit registers with a district, a street or a community",
            ));
        }
        let taken = units::table
            .filter(units::org_id.eq(&org.id))
            .filter(units::name.eq(&new.name))
            .filter(units::status.eq_any([UnitStatus::Pending, UnitStatus::Active]))
            .count()
            .get_result::<i64>(c)?;
        if taken > 0 {
            return Err(DomainError::refused(
                Code::Conflict,
                format!("{} is already registered with {}", new.name, org.name),
            ));
        }
        let now = timebank_store::now();
        let id = timebank_store::new_id();
        let (status, decided_by, decided_at) = if admin {
            (UnitStatus::Active, Some(actor), Some(now))
        } else {
            (UnitStatus::Pending, None, None)
        };
        diesel::insert_into(units::table)
            .values((
                units::id.eq(&id),
                units::org_id.eq(&org.id),
                units::name.eq(&new.name),
                units::kind.eq(&new.kind),
                units::contact.eq(&new.contact),
                units::status.eq(status),
                units::registered_by.eq(actor),
                units::decided_by.eq(decided_by),
                units::decided_at.eq(decided_at),
                units::created_at.eq(now),
            ))
            .execute(c)?;
        if !admin {
            grant(c, &id, actor, actor)?;
        }
        get(c, &id)
    })
}

pub fn decide(
    conn: &mut DbConnection,
    id: &str,
    step: UnitStep,
    reason: Option<&str>,
    actor: &str,
    allowed: Check<'_, UnitScope>,
) -> Result<UnitRow, DomainError> {
    write_tx(conn, |c| {
        let (unit, _) = locked(c, id, allowed)?;
        if unit.status.after(step).is_none() {
            return Err(DomainError::invalid_state(
                "unit",
                unit.status.as_str(),
                &step.wanted(),
            ));
        }
        diesel::update(units::table.find(id))
            .set((
                units::status.eq(step.to()),
                units::decided_by.eq(actor),
                units::decided_at.eq(timebank_store::now()),
                units::reason.eq(reason),
            ))
            .execute(c)?;
        if step == UnitStep::Withdraw {
            // What a unit that left had on offer leaves the lists with it.
            let offered: Vec<String> = list_items::table
                .filter(list_items::unit_id.eq(id))
                .filter(list_items::status.eq_any([ListItemStatus::Open, ListItemStatus::Claimed]))
                .select(list_items::id)
                .load(c)?;
            for item in offered {
                crate::lists::withdraw(c, &item, Some("the unit withdrew"), actor, &anyone)?;
            }
        }
        get(c, id)
    })
}

fn grant(
    conn: &mut DbConnection,
    unit_id: &str,
    user_id: &str,
    actor: &str,
) -> Result<bool, DomainError> {
    let existing = unit_admins::table
        .find((unit_id, user_id))
        .select(unit_admins::revoked_at)
        .first::<Option<NaiveDateTime>>(conn)
        .optional()?;
    let now = timebank_store::now();
    match existing {
        Some(None) => Ok(false),
        Some(Some(_)) => {
            diesel::update(unit_admins::table.find((unit_id, user_id)))
                .set((
                    unit_admins::revoked_at.eq(None::<NaiveDateTime>),
                    unit_admins::granted_by.eq(actor),
                    unit_admins::created_at.eq(now),
                ))
                .execute(conn)?;
            Ok(true)
        }
        None => {
            diesel::insert_into(unit_admins::table)
                .values((
                    unit_admins::unit_id.eq(unit_id),
                    unit_admins::user_id.eq(user_id),
                    unit_admins::granted_by.eq(actor),
                    unit_admins::created_at.eq(now),
                ))
                .execute(conn)?;
            Ok(true)
        }
    }
}

/// Makes a user an admin of the unit; true when they were not one.
pub fn add_admin(
    conn: &mut DbConnection,
    id: &str,
    user_id: &str,
    actor: &str,
    allowed: Check<'_, UnitScope>,
) -> Result<bool, DomainError> {
    write_tx(conn, |c| {
        locked(c, id, allowed)?;
        let exists = users::table.find(user_id).count().get_result::<i64>(c)? > 0;
        if !exists {
            return Err(DomainError::refused(
                Code::UnknownUser,
                "user_id is not a user",
            ));
        }
        grant(c, id, user_id, actor)
    })
}

/// How a membership is recorded: `None` refused; `Some(true)` confirmed
/// (the volunteer themselves, or staff over the unit's org); `Some(false)`
/// added by the unit's admins, waiting for the volunteer to confirm.
pub type Joining<'a> = &'a dyn Fn(&UnitScope) -> Option<bool>;

/// What adding a member did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Joined {
    /// A new member (or one who had left), not one confirmed now.
    pub created: bool,
    pub confirmed: bool,
}

/// Records that an active volunteer reports from this active unit, or
/// confirms it when the volunteer (or staff) says so.
pub fn add_member(
    conn: &mut DbConnection,
    id: &str,
    volunteer_id: &str,
    actor: &str,
    joining: Joining<'_>,
) -> Result<Joined, DomainError> {
    write_tx(conn, |c| {
        lock_row(c, Lockable::Unit, id)?;
        let unit = get(c, id)?;
        let scope = scope(c, &unit)?;
        let confirms = joining(&scope).ok_or_else(DomainError::forbidden)?;
        require_active(&unit)?;
        crate::organising::named_active(c, volunteer_id)?;
        let now = timebank_store::now();
        let confirmed_now = confirms.then_some(now);
        let existing = unit_members::table
            .find((id, volunteer_id))
            .select((unit_members::left_at, unit_members::confirmed_at))
            .first::<(Option<NaiveDateTime>, Option<NaiveDateTime>)>(c)
            .optional()?;
        match existing {
            Some((None, Some(_))) => Ok(Joined {
                created: false,
                confirmed: true,
            }),
            Some((None, None)) => {
                if confirms {
                    diesel::update(unit_members::table.find((id, volunteer_id)))
                        .set(unit_members::confirmed_at.eq(now))
                        .execute(c)?;
                }
                Ok(Joined {
                    created: false,
                    confirmed: confirms,
                })
            }
            Some((Some(_), _)) => {
                diesel::update(unit_members::table.find((id, volunteer_id)))
                    .set((
                        unit_members::left_at.eq(None::<NaiveDateTime>),
                        unit_members::reported_at.eq(now),
                        unit_members::added_by.eq(actor),
                        unit_members::confirmed_at.eq(confirmed_now),
                    ))
                    .execute(c)?;
                Ok(Joined {
                    created: true,
                    confirmed: confirms,
                })
            }
            None => {
                diesel::insert_into(unit_members::table)
                    .values((
                        unit_members::unit_id.eq(id),
                        unit_members::volunteer_id.eq(volunteer_id),
                        unit_members::reported_at.eq(now),
                        unit_members::added_by.eq(actor),
                        unit_members::confirmed_at.eq(confirmed_now),
                    ))
                    .execute(c)?;
                Ok(Joined {
                    created: true,
                    confirmed: confirms,
                })
            }
        }
    })
}

pub fn remove_member(
    conn: &mut DbConnection,
    id: &str,
    volunteer_id: &str,
    allowed: Check<'_, UnitScope>,
) -> Result<(), DomainError> {
    write_tx(conn, |c| {
        locked(c, id, allowed)?;
        let removed = diesel::update(
            unit_members::table
                .find((id, volunteer_id))
                .filter(unit_members::left_at.is_null()),
        )
        .set(unit_members::left_at.eq(timebank_store::now()))
        .execute(c)?;
        if removed == 0 {
            return Err(DomainError::NotFound("unit member"));
        }
        Ok(())
    })
}

pub fn members(conn: &mut DbConnection, id: &str) -> Result<Vec<Member>, DomainError> {
    use timebank_store::schema::volunteers;
    let rows = unit_members::table
        .inner_join(users::table.on(users::id.eq(unit_members::volunteer_id)))
        .inner_join(volunteers::table.on(volunteers::user_id.eq(unit_members::volunteer_id)))
        .filter(unit_members::unit_id.eq(id))
        .filter(unit_members::left_at.is_null())
        .order((
            unit_members::reported_at.asc(),
            unit_members::volunteer_id.asc(),
        ))
        .select((
            unit_members::volunteer_id,
            users::name,
            volunteers::community_id,
            unit_members::reported_at,
            unit_members::confirmed_at,
        ))
        .load::<(String, String, String, NaiveDateTime, Option<NaiveDateTime>)>(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(volunteer_id, name, community_id, reported_at, confirmed_at)| Member {
                volunteer_id,
                name,
                community_id,
                reported_at,
                confirmed: confirmed_at.is_some(),
            },
        )
        .collect())
}

/// The units a user administers: (id, name, status).
pub fn administered_by(
    conn: &mut DbConnection,
    user_id: &str,
) -> Result<Vec<(String, String, String)>, DomainError> {
    Ok(unit_admins::table
        .inner_join(units::table)
        .filter(unit_admins::user_id.eq(user_id))
        .filter(unit_admins::revoked_at.is_null())
        .order(units::name.asc())
        .select((units::id, units::name, units::status))
        .load(conn)?)
}

/// The units a volunteer reports from now: (id, name, confirmed).
pub fn of_volunteer(
    conn: &mut DbConnection,
    volunteer_id: &str,
) -> Result<Vec<(String, String, bool)>, DomainError> {
    let rows: Vec<(String, String, Option<NaiveDateTime>)> = unit_members::table
        .inner_join(units::table)
        .filter(unit_members::volunteer_id.eq(volunteer_id))
        .filter(unit_members::left_at.is_null())
        .order(units::name.asc())
        .select((units::id, units::name, unit_members::confirmed_at))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, name, confirmed)| (id, name, confirmed.is_some()))
        .collect())
}

pub struct ListFilter {
    pub org_path: String,
    pub q: Option<String>,
    pub kind: Option<String>,
    pub statuses: Vec<UnitStatus>,
}

/// Units of an org subtree, newest first.
pub fn list(
    conn: &mut DbConnection,
    f: &ListFilter,
    after: Option<&(NaiveDateTime, String)>,
    limit: i64,
) -> Result<Vec<UnitRow>, DomainError> {
    let mut q = units::table
        .inner_join(orgs::table)
        .filter(orgs::path.like(format!("{}%", f.org_path)))
        .filter(units::status.eq_any(f.statuses.clone()))
        .select(UnitRow::as_select())
        .into_boxed();
    if let Some(kind) = &f.kind {
        q = q.filter(units::kind.eq(kind.clone()));
    }
    if let Some(text) = &f.q {
        q = q.filter(units::name.like(escape_like(text)).escape('\\'));
    }
    if let Some((at, id)) = after {
        q = q.filter(
            units::created_at
                .lt(*at)
                .or(units::created_at.eq(*at).and(units::id.lt(id.clone()))),
        );
    }
    Ok(q.order((units::created_at.desc(), units::id.desc()))
        .limit(limit + 1)
        .load(conn)?)
}
