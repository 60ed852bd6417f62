//! Volunteer teams (志愿服务队伍): created by an admin over an org, or
//! applied for by a volunteer who will lead it and approved by such an
//! admin. A team's leader manages its members and runs its activities; the
//! hours still go to each member's own wallet.

use chrono::{Datelike, NaiveDateTime};
use diesel::prelude::*;
use timebank_directory::{Org, get_org};
use timebank_kernel::{Check, Code, DomainError};
use timebank_rules::states::{TeamStatus, TeamStep};
use timebank_store::schema::{orgs, team_members, teams, users};
use timebank_store::{DbConnection, Lockable, lock_row, write_tx};

use crate::organising::{By, Tally, escape_like, named_active, tally};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = teams)]
pub struct TeamRow {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub category: String,
    pub description: String,
    pub leader_id: String,
    #[diesel(deserialize_as = String)]
    pub status: TeamStatus,
    pub applied_by: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<NaiveDateTime>,
    pub reason: Option<String>,
    pub created_at: NaiveDateTime,
}

/// What an access check sees of a team, read under its lock.
#[derive(Debug, Clone)]
pub struct TeamScope {
    pub team_id: String,
    pub org_path: String,
    pub leader_id: String,
    pub applied_by: String,
    pub status: TeamStatus,
}

pub struct NewTeam {
    pub org_id: String,
    pub name: String,
    pub category: String,
    pub description: String,
    pub leader_id: String,
}

/// A member as the team's page shows them.
#[derive(Debug, Clone)]
pub struct Member {
    pub volunteer_id: String,
    pub name: String,
    pub joined_at: NaiveDateTime,
}

pub fn get(conn: &mut DbConnection, id: &str) -> Result<TeamRow, DomainError> {
    teams::table
        .find(id)
        .select(TeamRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(DomainError::NotFound("team"))
}

pub fn scope(conn: &mut DbConnection, team: &TeamRow) -> Result<TeamScope, DomainError> {
    let org = get_org(conn, &team.org_id)?;
    Ok(TeamScope {
        team_id: team.id.clone(),
        org_path: org.path,
        leader_id: team.leader_id.clone(),
        applied_by: team.applied_by.clone(),
        status: team.status,
    })
}

/// The team and its scope, locked for the rest of the transaction; the
/// check runs before anything about the team's state is said.
fn locked(
    conn: &mut DbConnection,
    id: &str,
    allowed: Check<'_, TeamScope>,
) -> Result<(TeamRow, TeamScope), DomainError> {
    lock_row(conn, Lockable::Team, id)?;
    let team = get(conn, id)?;
    let scope = scope(conn, &team)?;
    if !allowed(&scope) {
        return Err(DomainError::forbidden());
    }
    Ok((team, scope))
}

fn may_take(team: &TeamRow, step: TeamStep) -> Result<(), DomainError> {
    match team.status.after(step) {
        Some(_) => Ok(()),
        None => Err(DomainError::invalid_state(
            "team",
            team.status.as_str(),
            &step.wanted(),
        )),
    }
}

fn require_active(team: &TeamRow) -> Result<(), DomainError> {
    if team.status == TeamStatus::Active {
        Ok(())
    } else {
        Err(DomainError::invalid_state(
            "team",
            team.status.as_str(),
            "active",
        ))
    }
}

/// The volunteer must be active and live within the org's subtree.
fn volunteer_within(
    conn: &mut DbConnection,
    volunteer_id: &str,
    org: &Org,
) -> Result<(), DomainError> {
    let v = named_active(conn, volunteer_id)?;
    if !v.community_path.starts_with(&org.path) {
        return Err(DomainError::refused(
            Code::VolunteerOutsideOrg,
            format!("the volunteer's community is not within {}", org.name),
        ));
    }
    Ok(())
}

/// Creates a team: active at once when `admin` (the caller administers
/// the org), else pending until an admin approves it.
pub fn create(
    conn: &mut DbConnection,
    new: NewTeam,
    actor: &str,
    admin: bool,
) -> Result<TeamRow, DomainError> {
    write_tx(conn, |c| {
        let org = get_org(c, &new.org_id)?;
        volunteer_within(c, &new.leader_id, &org)?;
        let taken = teams::table
            .filter(teams::org_id.eq(&org.id))
            .filter(teams::name.eq(&new.name))
            .filter(teams::status.eq_any([TeamStatus::Pending, TeamStatus::Active]))
            .count()
            .get_result::<i64>(c)?;
        if taken > 0 {
            return Err(DomainError::refused(
                Code::Conflict,
                format!("{} already has a team named {}", org.name, new.name),
            ));
        }
        let now = timebank_store::now();
        let id = timebank_store::new_id();
        let (status, decided_by, decided_at) = if admin {
            (TeamStatus::Active, Some(actor), Some(now))
        } else {
            (TeamStatus::Pending, None, None)
        };
        diesel::insert_into(teams::table)
            .values((
                teams::id.eq(&id),
                teams::org_id.eq(&org.id),
                teams::name.eq(&new.name),
                teams::category.eq(&new.category),
                teams::description.eq(&new.description),
                teams::leader_id.eq(&new.leader_id),
                teams::status.eq(status),
                teams::applied_by.eq(actor),
                teams::decided_by.eq(decided_by),
                teams::decided_at.eq(decided_at),
                teams::created_at.eq(now),
            ))
            .execute(c)?;
        join(c, &id, &new.leader_id, actor)?;
        get(c, &id)
    })
}

/// Approves or rejects a pending team.
pub fn decide(
    conn: &mut DbConnection,
    id: &str,
    step: TeamStep,
    reason: Option<&str>,
    actor: &str,
    allowed: Check<'_, TeamScope>,
) -> Result<TeamRow, DomainError> {
    write_tx(conn, |c| {
        let (team, _) = locked(c, id, allowed)?;
        may_take(&team, step)?;
        diesel::update(teams::table.find(id))
            .set((
                teams::status.eq(step.to()),
                teams::decided_by.eq(actor),
                teams::decided_at.eq(timebank_store::now()),
                teams::reason.eq(reason),
            ))
            .execute(c)?;
        get(c, id)
    })
}

/// Adds (or re-adds) a member: true when they were not one.
fn join(
    conn: &mut DbConnection,
    team_id: &str,
    volunteer_id: &str,
    actor: &str,
) -> Result<bool, DomainError> {
    let now = timebank_store::now();
    let existing = team_members::table
        .find((team_id, volunteer_id))
        .select(team_members::left_at)
        .first::<Option<NaiveDateTime>>(conn)
        .optional()?;
    match existing {
        Some(None) => Ok(false),
        Some(Some(_)) => {
            diesel::update(team_members::table.find((team_id, volunteer_id)))
                .set((
                    team_members::left_at.eq(None::<NaiveDateTime>),
                    team_members::joined_at.eq(now),
                    team_members::added_by.eq(actor),
                ))
                .execute(conn)?;
            Ok(true)
        }
        None => {
            diesel::insert_into(team_members::table)
                .values((
                    team_members::team_id.eq(team_id),
                    team_members::volunteer_id.eq(volunteer_id),
                    team_members::joined_at.eq(now),
                    team_members::added_by.eq(actor),
                ))
                .execute(conn)?;
            Ok(true)
        }
    }
}

/// Adds a volunteer of the org's subtree to an active team; true when they
/// were not a member yet.
pub fn add_member(
    conn: &mut DbConnection,
    id: &str,
    volunteer_id: &str,
    actor: &str,
    allowed: Check<'_, TeamScope>,
) -> Result<bool, DomainError> {
    write_tx(conn, |c| {
        let (team, _) = locked(c, id, allowed)?;
        require_active(&team)?;
        let org = get_org(c, &team.org_id)?;
        volunteer_within(c, volunteer_id, &org)?;
        join(c, id, volunteer_id, actor)
    })
}

/// A member leaves (or is removed); the leader hands over first.
pub fn remove_member(
    conn: &mut DbConnection,
    id: &str,
    volunteer_id: &str,
    allowed: Check<'_, TeamScope>,
) -> Result<(), DomainError> {
    write_tx(conn, |c| {
        let (team, _) = locked(c, id, allowed)?;
        if team.leader_id == volunteer_id {
            return Err(DomainError::refused(
                Code::LeaderCannotLeave,
                "the leader stays in the team; name another leader first",
            ));
        }
        let removed = diesel::update(
            team_members::table
                .find((id, volunteer_id))
                .filter(team_members::left_at.is_null()),
        )
        .set(team_members::left_at.eq(timebank_store::now()))
        .execute(c)?;
        if removed == 0 {
            return Err(DomainError::NotFound("team member"));
        }
        Ok(())
    })
}

/// Names a new leader, who becomes a member if not one yet.
pub fn set_leader(
    conn: &mut DbConnection,
    id: &str,
    volunteer_id: &str,
    actor: &str,
    allowed: Check<'_, TeamScope>,
) -> Result<TeamRow, DomainError> {
    write_tx(conn, |c| {
        let (team, _) = locked(c, id, allowed)?;
        if matches!(team.status, TeamStatus::Rejected | TeamStatus::Dissolved) {
            return Err(DomainError::invalid_state(
                "team",
                team.status.as_str(),
                "pending or active",
            ));
        }
        let org = get_org(c, &team.org_id)?;
        volunteer_within(c, volunteer_id, &org)?;
        join(c, id, volunteer_id, actor)?;
        diesel::update(teams::table.find(id))
            .set(teams::leader_id.eq(volunteer_id))
            .execute(c)?;
        get(c, id)
    })
}

pub fn dissolve(
    conn: &mut DbConnection,
    id: &str,
    reason: Option<&str>,
    actor: &str,
    allowed: Check<'_, TeamScope>,
) -> Result<TeamRow, DomainError> {
    decide(conn, id, TeamStep::Dissolve, reason, actor, allowed)
}

pub fn members(conn: &mut DbConnection, id: &str) -> Result<Vec<Member>, DomainError> {
    let rows = team_members::table
        .inner_join(users::table.on(users::id.eq(team_members::volunteer_id)))
        .filter(team_members::team_id.eq(id))
        .filter(team_members::left_at.is_null())
        .order((
            team_members::joined_at.asc(),
            team_members::volunteer_id.asc(),
        ))
        .select((
            team_members::volunteer_id,
            users::name,
            team_members::joined_at,
        ))
        .load::<(String, String, NaiveDateTime)>(conn)?;
    Ok(rows
        .into_iter()
        .map(|(volunteer_id, name, joined_at)| Member {
            volunteer_id,
            name,
            joined_at,
        })
        .collect())
}

/// Whether the volunteer is a current member.
pub fn is_member(
    conn: &mut DbConnection,
    id: &str,
    volunteer_id: &str,
) -> Result<bool, DomainError> {
    Ok(team_members::table
        .find((id, volunteer_id))
        .filter(team_members::left_at.is_null())
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

/// The teams a volunteer is in now: (id, name, leads it).
pub fn of_volunteer(
    conn: &mut DbConnection,
    volunteer_id: &str,
) -> Result<Vec<(String, String, bool)>, DomainError> {
    let rows = team_members::table
        .inner_join(teams::table)
        .filter(team_members::volunteer_id.eq(volunteer_id))
        .filter(team_members::left_at.is_null())
        .filter(teams::status.eq_any([TeamStatus::Pending, TeamStatus::Active]))
        .order(teams::name.asc())
        .select((teams::id, teams::name, teams::leader_id))
        .load::<(String, String, String)>(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, name, leader)| (id, name, leader == volunteer_id))
        .collect())
}

/// The pending or active teams a user leads: (id, name, status).
pub fn led_by(
    conn: &mut DbConnection,
    user_id: &str,
) -> Result<Vec<(String, String, String)>, DomainError> {
    Ok(teams::table
        .filter(teams::leader_id.eq(user_id))
        .filter(teams::status.eq_any([TeamStatus::Pending, TeamStatus::Active]))
        .order(teams::name.asc())
        .select((teams::id, teams::name, teams::status))
        .load(conn)?)
}

/// Hours and points its members earned in its activities, in all and in
/// the calendar year of `now`.
pub fn tallies(
    conn: &mut DbConnection,
    id: &str,
    now: NaiveDateTime,
) -> Result<(Tally, Tally), DomainError> {
    let year_start = format!("{:04}-01-01", now.year());
    let all = tally(conn, By::Team(id), None)?;
    let year = tally(conn, By::Team(id), Some(&year_start))?;
    Ok((all, year))
}

pub struct ListFilter {
    pub org_path: String,
    pub category: Option<String>,
    pub q: Option<String>,
    pub statuses: Vec<TeamStatus>,
    /// Only the teams this user leads or applied for.
    pub mine: Option<String>,
}

/// Teams of an org subtree, newest first.
pub fn list(
    conn: &mut DbConnection,
    f: &ListFilter,
    after: Option<&(NaiveDateTime, String)>,
    limit: i64,
) -> Result<Vec<TeamRow>, DomainError> {
    let mut q = teams::table
        .inner_join(orgs::table)
        .filter(orgs::path.like(format!("{}%", f.org_path)))
        .filter(teams::status.eq_any(f.statuses.clone()))
        .select(TeamRow::as_select())
        .into_boxed();
    if let Some(c) = &f.category {
        q = q.filter(teams::category.eq(c.clone()));
    }
    if let Some(me) = &f.mine {
        q = q.filter(
            teams::leader_id
                .eq(me.clone())
                .or(teams::applied_by.eq(me.clone())),
        );
    }
    if let Some(text) = &f.q {
        q = q.filter(teams::name.like(escape_like(text)).escape('\\'));
    }
    if let Some((at, id)) = after {
        q = q.filter(
            teams::created_at
                .lt(*at)
                .or(teams::created_at.eq(*at).and(teams::id.lt(id.clone()))),
        );
    }
    Ok(q.order((teams::created_at.desc(), teams::id.desc()))
        .limit(limit + 1)
        .load(conn)?)
}

/// What one team did in a period: its members now, the activities it held
/// that started in the period, and what their settled attendance earned.
#[derive(Debug, Clone)]
pub struct TeamFigures {
    pub team: TeamRow,
    pub members: i64,
    pub tally: Tally,
}

/// Every active or dissolved team of an org subtree with its figures for
/// `from`..`to` (activities by their start), by name; a few grouped
/// statements, whatever the number of teams.
pub fn figures(
    conn: &mut DbConnection,
    org_path: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<Vec<TeamFigures>, DomainError> {
    use diesel::dsl::count_star;
    use std::collections::HashMap;
    use timebank_rules::states::ActivityStatus;
    use timebank_store::schema::{activities, attendances};

    let rows: Vec<TeamRow> = teams::table
        .inner_join(orgs::table)
        .filter(orgs::path.like(format!("{org_path}%")))
        .filter(teams::status.eq_any([TeamStatus::Active, TeamStatus::Dissolved]))
        .order((teams::name.asc(), teams::id.asc()))
        .select(TeamRow::as_select())
        .load(conn)?;
    let ids: Vec<&str> = rows.iter().map(|t| t.id.as_str()).collect();
    let members: HashMap<String, i64> = team_members::table
        .filter(team_members::team_id.eq_any(&ids))
        .filter(team_members::left_at.is_null())
        .group_by(team_members::team_id)
        .select((team_members::team_id, count_star()))
        .load::<(String, i64)>(conn)?
        .into_iter()
        .collect();
    let held: HashMap<Option<String>, i64> = activities::table
        .filter(activities::team_id.eq_any(&ids))
        .filter(activities::status.eq(ActivityStatus::Published))
        .filter(activities::starts_at.ge(from))
        .filter(activities::starts_at.lt(to))
        .group_by(activities::team_id)
        .select((activities::team_id, count_star()))
        .load::<(Option<String>, i64)>(conn)?
        .into_iter()
        .collect();
    let earned: HashMap<Option<String>, (i64, i64, i64)> = attendances::table
        .inner_join(activities::table)
        .filter(activities::team_id.eq_any(&ids))
        .filter(attendances::settled_at.is_not_null())
        .filter(activities::starts_at.ge(from))
        .filter(activities::starts_at.lt(to))
        .group_by(activities::team_id)
        .select((activities::team_id, crate::organising::earned_columns()))
        .load::<(Option<String>, (i64, i64, i64))>(conn)?
        .into_iter()
        .collect();
    Ok(rows
        .into_iter()
        .map(|team| {
            let key = Some(team.id.clone());
            let (hours, points, volunteers) = earned.get(&key).copied().unwrap_or_default();
            TeamFigures {
                members: members.get(&team.id).copied().unwrap_or(0),
                tally: Tally {
                    activities: held.get(&key).copied().unwrap_or(0),
                    volunteers,
                    hours,
                    points,
                },
                team,
            }
        })
        .collect())
}
