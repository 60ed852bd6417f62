//! Projects (项目制) made of confirmed matches: planned, run by their lead
//! (a unit, an org or a team) with activities, submitted for assessment,
//! and closed (验收) by an admin over the org whose list the item was on
//! with a result and a rating — or cancelled before that.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use timebank_directory::get_org;
use timebank_kernel::{Check, DomainError};
use timebank_rules::states::{ProjectStatus, ProjectStep};
use timebank_store::schema::{orgs, projects};
use timebank_store::{DbConnection, Lockable, lock_row, write_tx};

use crate::lists::{Party, PartyScope, party_scope};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = projects)]
pub struct ProjectRow {
    pub id: String,
    pub title: String,
    pub category: String,
    pub org_id: String,
    pub item_id: String,
    pub need_id: Option<String>,
    pub resource_id: Option<String>,
    pub owner_unit_id: Option<String>,
    pub lead_unit_id: Option<String>,
    pub lead_org_id: Option<String>,
    pub lead_team_id: Option<String>,
    #[diesel(deserialize_as = String)]
    pub status: ProjectStatus,
    pub started_at: Option<NaiveDateTime>,
    pub assessing_at: Option<NaiveDateTime>,
    pub closed_at: Option<NaiveDateTime>,
    pub closed_by: Option<String>,
    pub result: Option<String>,
    pub rating: Option<i32>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl ProjectRow {
    pub fn lead(&self) -> Option<Party> {
        match (&self.lead_unit_id, &self.lead_org_id, &self.lead_team_id) {
            (Some(u), _, _) => Some(Party::Unit(u.clone())),
            (_, Some(o), _) => Some(Party::Org(o.clone())),
            (_, _, Some(t)) => Some(Party::Team(t.clone())),
            _ => None,
        }
    }
}

/// What an access check sees of a project: the org that assesses it and
/// its lead.
#[derive(Debug, Clone)]
pub struct ProjectScope {
    pub org_path: String,
    pub lead: PartyScope,
    pub status: ProjectStatus,
}

pub fn get(conn: &mut DbConnection, id: &str) -> Result<ProjectRow, DomainError> {
    projects::table
        .find(id)
        .select(ProjectRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(DomainError::NotFound("project"))
}

pub fn scope(conn: &mut DbConnection, p: &ProjectRow) -> Result<ProjectScope, DomainError> {
    let org = get_org(conn, &p.org_id)?;
    let lead = p
        .lead()
        .ok_or_else(|| DomainError::Internal(format!("project {} has no lead", p.id)))?;
    Ok(ProjectScope {
        org_path: org.path,
        lead: party_scope(conn, &lead)?,
        status: p.status,
    })
}

/// Moves a project one step, after the check on its scope. Closing keeps
/// the assessment's result and rating; cancelling keeps its reason as the
/// result.
pub fn step(
    conn: &mut DbConnection,
    id: &str,
    step: ProjectStep,
    result: Option<&str>,
    rating: Option<i32>,
    actor: &str,
    allowed: Check<'_, ProjectScope>,
) -> Result<ProjectRow, DomainError> {
    write_tx(conn, |c| {
        lock_row(c, Lockable::Project, id)?;
        let p = get(c, id)?;
        let scope = scope(c, &p)?;
        if !allowed(&scope) {
            return Err(DomainError::forbidden());
        }
        if p.status.after(step).is_none() {
            return Err(DomainError::invalid_state(
                "project",
                p.status.as_str(),
                &step.wanted(),
            ));
        }
        let now = timebank_store::now();
        let target = projects::table.find(id);
        diesel::update(target)
            .set((projects::status.eq(step.to()), projects::updated_at.eq(now)))
            .execute(c)?;
        match step {
            ProjectStep::Start => {
                diesel::update(target)
                    .set(projects::started_at.eq(now))
                    .execute(c)?;
            }
            ProjectStep::Assess => {
                diesel::update(target)
                    .set(projects::assessing_at.eq(now))
                    .execute(c)?;
            }
            ProjectStep::Close | ProjectStep::Cancel => {
                diesel::update(target)
                    .set((
                        projects::closed_at.eq(now),
                        projects::closed_by.eq(actor),
                        projects::result.eq(result),
                        projects::rating.eq(rating),
                    ))
                    .execute(c)?;
            }
        }
        get(c, id)
    })
}

/// Whether activities may still be added: planned or running.
pub fn takes_activities(p: &ProjectRow) -> Result<(), DomainError> {
    match p.status {
        ProjectStatus::Planned | ProjectStatus::Running => Ok(()),
        other => Err(DomainError::invalid_state(
            "project",
            other.as_str(),
            "planned or running",
        )),
    }
}

pub struct ListFilter {
    pub org_path: String,
    /// A unit leading it or owning its item.
    pub unit_id: Option<String>,
    pub team_id: Option<String>,
    pub status: Option<ProjectStatus>,
}

/// Projects of an org subtree, newest first.
pub fn list(
    conn: &mut DbConnection,
    f: &ListFilter,
    after: Option<&(NaiveDateTime, String)>,
    limit: i64,
) -> Result<Vec<ProjectRow>, DomainError> {
    let mut q = projects::table
        .inner_join(orgs::table)
        .filter(orgs::path.like(format!("{}%", f.org_path)))
        .select(ProjectRow::as_select())
        .into_boxed();
    if let Some(unit) = &f.unit_id {
        q = q.filter(
            projects::lead_unit_id
                .eq(unit.clone())
                .or(projects::owner_unit_id.eq(unit.clone())),
        );
    }
    if let Some(team) = &f.team_id {
        q = q.filter(projects::lead_team_id.eq(team.clone()));
    }
    if let Some(status) = f.status {
        q = q.filter(projects::status.eq(status));
    }
    if let Some((at, id)) = after {
        q = q.filter(
            projects::created_at.lt(*at).or(projects::created_at
                .eq(*at)
                .and(projects::id.lt(id.clone()))),
        );
    }
    Ok(q.order((projects::created_at.desc(), projects::id.desc()))
        .limit(limit + 1)
        .load(conn)?)
}
