//! The three lists (需求清单 · 资源清单 · 项目清单) and two-way claiming
//! (双向认领): communities publish needs, units and orgs publish resources,
//! either publishes project items; a unit, org or team claims an item, the
//! item's owner confirms (the match becomes a project) or declines (the
//! item is open again).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use timebank_directory::{Org, get_org};
use timebank_kernel::{Check, Code, DomainError};
use timebank_rules::states::{ListItemStatus, ListItemStep, ProjectStatus};
use timebank_store::schema::{list_claims, list_items, orgs, projects};
use timebank_store::{DbConnection, Lockable, lock_row, write_tx};

use crate::organising::escape_like;
use crate::projects::ProjectRow;
use crate::teams::{self, TeamScope};
use crate::units::{self, UnitScope};

pub const LISTS: &[&str] = &["need", "resource", "project"];

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = list_items)]
pub struct ItemRow {
    pub id: String,
    pub list: String,
    pub org_id: String,
    pub unit_id: Option<String>,
    pub category: String,
    pub title: String,
    pub description: String,
    pub quantity: Option<i32>,
    pub until: Option<NaiveDateTime>,
    #[diesel(deserialize_as = String)]
    pub status: ListItemStatus,
    pub source: Option<String>,
    pub claim_id: Option<String>,
    pub project_id: Option<String>,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = list_claims)]
pub struct ClaimRow {
    pub id: String,
    pub item_id: String,
    pub by_unit_id: Option<String>,
    pub by_org_id: Option<String>,
    pub by_team_id: Option<String>,
    pub note: Option<String>,
    pub claimed_by: String,
    pub claimed_at: NaiveDateTime,
    pub outcome: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<NaiveDateTime>,
    pub reason: Option<String>,
}

impl ClaimRow {
    /// Who made the claim (the table holds exactly one of the three).
    pub fn claimant(&self) -> Result<Party, DomainError> {
        match (&self.by_unit_id, &self.by_org_id, &self.by_team_id) {
            (Some(u), _, _) => Ok(Party::Unit(u.clone())),
            (_, Some(o), _) => Ok(Party::Org(o.clone())),
            (_, _, Some(t)) => Ok(Party::Team(t.clone())),
            _ => Err(DomainError::Internal(format!(
                "claim {} has no claimant",
                self.id
            ))),
        }
    }
}

/// Who publishes or claims: an org, a partner unit or a team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Party {
    Org(String),
    Unit(String),
    Team(String),
}

/// What an access check sees of a party, read in the transaction.
#[derive(Debug, Clone)]
pub enum PartyScope {
    Org(Org),
    Unit(UnitScope),
    Team(TeamScope),
}

/// A resident's request or wish a need is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Request(String),
    Wish(String),
}

pub struct NewItem {
    pub list: String,
    pub owner: Party,
    pub category: String,
    pub title: String,
    pub description: String,
    pub quantity: Option<i32>,
    pub until: Option<NaiveDateTime>,
}

/// What a need made of a resident's request or wish says by default: its
/// community (the owner), category and description.
pub struct FromSource {
    pub community_id: String,
    pub category: String,
    pub description: String,
    pub key: String,
}

/// Reads the request or wish a need is made of: 422 when there is none or
/// it is no longer waiting for someone.
pub fn source_of(conn: &mut DbConnection, source: &Source) -> Result<FromSource, DomainError> {
    use timebank_rules::states::{RequestStatus, WishStatus};
    let missing = |what: &str| {
        DomainError::refused(Code::ValidationFailed, format!("no such {what}")).with_details(
            serde_json::json!({ "fields": { format!("from_{what}_id"): ["unknown"] } }),
        )
    };
    match source {
        Source::Request(id) => {
            let r = crate::requests::get(conn, id).map_err(|_| missing("request"))?;
            if r.status != RequestStatus::Open {
                return Err(DomainError::invalid_state(
                    "request",
                    r.status.as_str(),
                    "open",
                ));
            }
            Ok(FromSource {
                community_id: r.community_id,
                category: r.category,
                description: r.description,
                key: format!("request:{id}"),
            })
        }
        Source::Wish(id) => {
            let w = crate::wishes::get(conn, id).map_err(|_| missing("wish"))?;
            if w.status != WishStatus::Open {
                return Err(DomainError::invalid_state(
                    "wish",
                    w.status.as_str(),
                    "open",
                ));
            }
            Ok(FromSource {
                community_id: w.community_id,
                category: w.category,
                description: w.description,
                key: format!("wish:{id}"),
            })
        }
    }
}

pub fn get(conn: &mut DbConnection, id: &str) -> Result<ItemRow, DomainError> {
    list_items::table
        .find(id)
        .select(ItemRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(DomainError::NotFound("list item"))
}

pub fn claim_of(conn: &mut DbConnection, item: &ItemRow) -> Result<Option<ClaimRow>, DomainError> {
    let Some(id) = &item.claim_id else {
        return Ok(None);
    };
    Ok(list_claims::table
        .find(id)
        .select(ClaimRow::as_select())
        .first(conn)
        .optional()?)
}

/// The current claims of a page of items, in one statement.
pub fn claims_of(conn: &mut DbConnection, items: &[ItemRow]) -> Result<Vec<ClaimRow>, DomainError> {
    let ids: Vec<&str> = items.iter().filter_map(|i| i.claim_id.as_deref()).collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(list_claims::table
        .filter(list_claims::id.eq_any(ids))
        .select(ClaimRow::as_select())
        .load(conn)?)
}

/// Every claim ever made on the item, oldest first.
pub fn claims(conn: &mut DbConnection, item_id: &str) -> Result<Vec<ClaimRow>, DomainError> {
    Ok(list_claims::table
        .filter(list_claims::item_id.eq(item_id))
        .order((list_claims::claimed_at.asc(), list_claims::id.asc()))
        .select(ClaimRow::as_select())
        .load(conn)?)
}

/// The party a body names, as a check sees it: 422 when there is none.
pub fn party_scope(conn: &mut DbConnection, party: &Party) -> Result<PartyScope, DomainError> {
    Ok(match party {
        Party::Org(id) => PartyScope::Org(
            get_org(conn, id)
                .map_err(|_| DomainError::refused(Code::InvalidOrg, "no such organisation"))?,
        ),
        Party::Unit(id) => {
            let unit = units::named(conn, id)?;
            PartyScope::Unit(units::scope(conn, &unit)?)
        }
        Party::Team(id) => {
            let team = teams::get(conn, id).map_err(|e| match e {
                DomainError::NotFound(_) => DomainError::refused(Code::InvalidTeam, "no such team"),
                other => other,
            })?;
            PartyScope::Team(teams::scope(conn, &team)?)
        }
    })
}

/// The owner of an item, as a check sees it.
pub fn owner_scope(conn: &mut DbConnection, item: &ItemRow) -> Result<PartyScope, DomainError> {
    match &item.unit_id {
        Some(unit) => party_scope(conn, &Party::Unit(unit.clone())),
        None => party_scope(conn, &Party::Org(item.org_id.clone())),
    }
}

/// A claimant or publisher must be active (orgs always are).
fn require_active(conn: &mut DbConnection, party: &PartyScope) -> Result<(), DomainError> {
    match party {
        PartyScope::Org(_) => Ok(()),
        PartyScope::Unit(s) => units::require_active(&units::get(conn, &s.unit_id)?),
        PartyScope::Team(s) if s.status == timebank_rules::states::TeamStatus::Active => Ok(()),
        PartyScope::Team(s) => Err(DomainError::refused(
            Code::TeamNotActive,
            format!("the team is {}, not active", s.status),
        )
        .with_details(serde_json::json!({ "status": s.status }))),
    }
}

/// Publishes an item; `source` names the resident's request or wish a
/// need is made of (once per source).
pub fn create(
    conn: &mut DbConnection,
    new: NewItem,
    source: Option<String>,
    actor: &str,
    allowed: Check<'_, PartyScope>,
) -> Result<ItemRow, DomainError> {
    write_tx(conn, |c| {
        let owner = party_scope(c, &new.owner)?;
        if !allowed(&owner) {
            return Err(DomainError::forbidden());
        }
        require_active(c, &owner)?;
        let (org_id, unit_id) = match &owner {
            PartyScope::Org(org) => (org.id.clone(), None),
            PartyScope::Unit(s) => (units::get(c, &s.unit_id)?.org_id, Some(s.unit_id.clone())),
            PartyScope::Team(_) => {
                return Err(DomainError::refused(
                    Code::ValidationFailed,
                    "list items are published by an organisation or a unit",
                ));
            }
        };
        if new.list == "need" && unit_id.is_some() {
            return Err(DomainError::refused(
                Code::ValidationFailed,
                "needs are published by a community or another organisation; a unit publishes resources",
            )
            .with_details(serde_json::json!({ "fields": { "unit_id": ["need_by_unit"] } })));
        }
        let now = timebank_store::now();
        if new.until.is_some_and(|until| until <= now) {
            return Err(DomainError::refused(
                Code::ValidationFailed,
                "until must be in the future",
            )
            .with_details(serde_json::json!({ "fields": { "until": ["past"] } })));
        }
        let id = timebank_store::new_id();
        diesel::insert_into(list_items::table)
            .values((
                list_items::id.eq(&id),
                list_items::list.eq(&new.list),
                list_items::org_id.eq(&org_id),
                list_items::unit_id.eq(&unit_id),
                list_items::category.eq(&new.category),
                list_items::title.eq(&new.title),
                list_items::description.eq(&new.description),
                list_items::quantity.eq(new.quantity),
                list_items::until.eq(new.until),
                list_items::status.eq(ListItemStatus::Open),
                list_items::source.eq(&source),
                list_items::created_by.eq(actor),
                list_items::created_at.eq(now),
                list_items::updated_at.eq(now),
            ))
            .execute(c)?;
        get(c, &id)
    })
}

/// The item, locked, after its owner's check.
fn locked_as_owner(
    conn: &mut DbConnection,
    id: &str,
    allowed: Check<'_, PartyScope>,
) -> Result<ItemRow, DomainError> {
    lock_row(conn, Lockable::ListItem, id)?;
    let item = get(conn, id)?;
    let owner = owner_scope(conn, &item)?;
    if !allowed(&owner) {
        return Err(DomainError::forbidden());
    }
    Ok(item)
}

fn may_take(item: &ItemRow, step: ListItemStep) -> Result<(), DomainError> {
    match item.status.after(step) {
        Some(_) => Ok(()),
        None => Err(DomainError::invalid_state(
            "list item",
            item.status.as_str(),
            &step.wanted(),
        )),
    }
}

/// Whether the claimant is the item's own owner (or, for a team, a team
/// of the owning org claiming its own org's item is fine: it is another
/// party).
fn is_owner(item: &ItemRow, by: &Party) -> bool {
    match (by, &item.unit_id) {
        (Party::Unit(u), Some(owner)) => u == owner,
        (Party::Org(o), None) => *o == item.org_id,
        _ => false,
    }
}

/// A unit, org or team claims an open item. The claimant's check comes
/// first, so who may not claim for it learns nothing of the item.
pub fn claim(
    conn: &mut DbConnection,
    id: &str,
    by: Party,
    note: Option<&str>,
    actor: &str,
    allowed: Check<'_, PartyScope>,
) -> Result<(ItemRow, ClaimRow), DomainError> {
    write_tx(conn, |c| {
        let claimant = party_scope(c, &by)?;
        if !allowed(&claimant) {
            return Err(DomainError::forbidden());
        }
        lock_row(c, Lockable::ListItem, id)?;
        let item = get(c, id)?;
        may_take(&item, ListItemStep::Claim)?;
        let now = timebank_store::now();
        if let Some(until) = item.until.filter(|until| *until <= now) {
            return Err(DomainError::refused(
                Code::ItemExpired,
                format!(
                    "the item closed at {}",
                    timebank_kernel::wire::utc_string(&until)
                ),
            ));
        }
        require_active(c, &claimant)?;
        if is_owner(&item, &by) {
            return Err(DomainError::refused(
                Code::OwnItem,
                "an item cannot be claimed by who published it",
            ));
        }
        let claim_id = timebank_store::new_id();
        let (unit, org, team) = match &by {
            Party::Unit(u) => (Some(u.clone()), None, None),
            Party::Org(o) => (None, Some(o.clone()), None),
            Party::Team(t) => (None, None, Some(t.clone())),
        };
        diesel::insert_into(list_claims::table)
            .values((
                list_claims::id.eq(&claim_id),
                list_claims::item_id.eq(id),
                list_claims::by_unit_id.eq(unit),
                list_claims::by_org_id.eq(org),
                list_claims::by_team_id.eq(team),
                list_claims::note.eq(note),
                list_claims::claimed_by.eq(actor),
                list_claims::claimed_at.eq(now),
                list_claims::outcome.eq("pending"),
            ))
            .execute(c)?;
        diesel::update(list_items::table.find(id))
            .set((
                list_items::status.eq(ListItemStep::Claim.to()),
                list_items::claim_id.eq(&claim_id),
                list_items::updated_at.eq(now),
            ))
            .execute(c)?;
        let item = get(c, id)?;
        let claim = claim_of(c, &item)?.ok_or(DomainError::NotFound("claim"))?;
        Ok((item, claim))
    })
}

fn close_claim(
    conn: &mut DbConnection,
    item: &ItemRow,
    outcome: &str,
    reason: Option<&str>,
    actor: &str,
    now: NaiveDateTime,
) -> Result<(), DomainError> {
    if let Some(claim) = &item.claim_id {
        diesel::update(list_claims::table.find(claim))
            .set((
                list_claims::outcome.eq(outcome),
                list_claims::decided_by.eq(actor),
                list_claims::decided_at.eq(now),
                list_claims::reason.eq(reason),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The owner confirms the claim: the item is matched and a planned
/// project, led by the claimant, is made of it.
pub fn confirm(
    conn: &mut DbConnection,
    id: &str,
    actor: &str,
    allowed: Check<'_, PartyScope>,
) -> Result<(ItemRow, ProjectRow), DomainError> {
    write_tx(conn, |c| {
        let item = locked_as_owner(c, id, allowed)?;
        may_take(&item, ListItemStep::Confirm)?;
        let claim = claim_of(c, &item)?.ok_or(DomainError::NotFound("claim"))?;
        let claimant = claim.claimant()?;
        let claimant = party_scope(c, &claimant)?;
        require_active(c, &claimant)?;
        let now = timebank_store::now();
        close_claim(c, &item, "confirmed", None, actor, now)?;
        let project_id = timebank_store::new_id();
        diesel::insert_into(projects::table)
            .values((
                projects::id.eq(&project_id),
                projects::title.eq(&item.title),
                projects::category.eq(&item.category),
                projects::org_id.eq(&item.org_id),
                projects::item_id.eq(&item.id),
                projects::need_id.eq((item.list == "need").then_some(&item.id)),
                projects::resource_id.eq((item.list == "resource").then_some(&item.id)),
                projects::owner_unit_id.eq(&item.unit_id),
                projects::lead_unit_id.eq(&claim.by_unit_id),
                projects::lead_org_id.eq(&claim.by_org_id),
                projects::lead_team_id.eq(&claim.by_team_id),
                projects::status.eq(ProjectStatus::Planned),
                projects::created_at.eq(now),
                projects::updated_at.eq(now),
            ))
            .execute(c)?;
        diesel::update(list_items::table.find(id))
            .set((
                list_items::status.eq(ListItemStep::Confirm.to()),
                list_items::project_id.eq(&project_id),
                list_items::updated_at.eq(now),
            ))
            .execute(c)?;
        Ok((get(c, id)?, crate::projects::get(c, &project_id)?))
    })
}

/// The owner declines the claim: the item is open again.
pub fn decline(
    conn: &mut DbConnection,
    id: &str,
    reason: Option<&str>,
    actor: &str,
    allowed: Check<'_, PartyScope>,
) -> Result<ItemRow, DomainError> {
    write_tx(conn, |c| {
        let item = locked_as_owner(c, id, allowed)?;
        may_take(&item, ListItemStep::Decline)?;
        reopen(c, &item, ListItemStep::Decline, "declined", reason, actor)
    })
}

/// The claimant takes its pending claim back: the item is open again. The
/// check is on the claimant, read under the item's lock.
pub fn unclaim(
    conn: &mut DbConnection,
    id: &str,
    reason: Option<&str>,
    actor: &str,
    allowed: Check<'_, PartyScope>,
) -> Result<ItemRow, DomainError> {
    write_tx(conn, |c| {
        lock_row(c, Lockable::ListItem, id)?;
        let item = get(c, id)?;
        may_take(&item, ListItemStep::Unclaim)?;
        let claim = claim_of(c, &item)?.ok_or(DomainError::NotFound("claim"))?;
        let claimant = claim.claimant()?;
        if !allowed(&party_scope(c, &claimant)?) {
            return Err(DomainError::forbidden());
        }
        reopen(c, &item, ListItemStep::Unclaim, "withdrawn", reason, actor)
    })
}

/// Closes the item's pending claim with `outcome` and opens it again.
fn reopen(
    conn: &mut DbConnection,
    item: &ItemRow,
    step: ListItemStep,
    outcome: &str,
    reason: Option<&str>,
    actor: &str,
) -> Result<ItemRow, DomainError> {
    let now = timebank_store::now();
    close_claim(conn, item, outcome, reason, actor, now)?;
    diesel::update(list_items::table.find(&item.id))
        .set((
            list_items::status.eq(step.to()),
            list_items::claim_id.eq(None::<String>),
            list_items::updated_at.eq(now),
        ))
        .execute(conn)?;
    get(conn, &item.id)
}

/// The owner takes the item off its list before it is matched.
pub fn withdraw(
    conn: &mut DbConnection,
    id: &str,
    reason: Option<&str>,
    actor: &str,
    allowed: Check<'_, PartyScope>,
) -> Result<ItemRow, DomainError> {
    write_tx(conn, |c| {
        let item = locked_as_owner(c, id, allowed)?;
        may_take(&item, ListItemStep::Withdraw)?;
        let now = timebank_store::now();
        close_claim(c, &item, "withdrawn", reason, actor, now)?;
        diesel::update(list_items::table.find(id))
            .set((
                list_items::status.eq(ListItemStep::Withdraw.to()),
                list_items::updated_at.eq(now),
            ))
            .execute(c)?;
        get(c, id)
    })
}

pub struct ListFilter {
    pub org_path: String,
    pub list: Option<String>,
    pub unit_id: Option<String>,
    pub category: Option<String>,
    pub q: Option<String>,
    pub status: Option<ListItemStatus>,
}

/// Items of an org subtree, newest first.
pub fn list(
    conn: &mut DbConnection,
    f: &ListFilter,
    after: Option<&(NaiveDateTime, String)>,
    limit: i64,
) -> Result<Vec<ItemRow>, DomainError> {
    let mut q = list_items::table
        .inner_join(orgs::table)
        .filter(orgs::path.like(format!("{}%", f.org_path)))
        .select(ItemRow::as_select())
        .into_boxed();
    if let Some(list) = &f.list {
        q = q.filter(list_items::list.eq(list.clone()));
    }
    if let Some(unit) = &f.unit_id {
        q = q.filter(list_items::unit_id.eq(unit.clone()));
    }
    if let Some(category) = &f.category {
        q = q.filter(list_items::category.eq(category.clone()));
    }
    if let Some(status) = f.status {
        q = q.filter(list_items::status.eq(status));
    }
    if let Some(text) = &f.q {
        q = q.filter(list_items::title.like(escape_like(text)).escape('\\'));
    }
    if let Some((at, id)) = after {
        q = q.filter(
            list_items::created_at.lt(*at).or(list_items::created_at
                .eq(*at)
                .and(list_items::id.lt(id.clone()))),
        );
    }
    Ok(
        q.order((list_items::created_at.desc(), list_items::id.desc()))
            .limit(limit + 1)
            .load(conn)?,
    )
}
