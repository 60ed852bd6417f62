//! Case-based awards (案例制积分): a versioned rule table per org (the
//! nearest ancestor's rule with a code applies), awards filed as pending and
//! posted as `case_award` only when an admin approves.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use timebank_directory::{Volunteer, get_org, get_volunteer, path_ids};
use timebank_kernel::{Check, Code, DomainError};
use timebank_ledger::{AccountKind, Amount, Asset, Transaction, Transfer, TxKind, open_account};
use timebank_rules::states::{AwardStatus, AwardStep};
use timebank_rules::{
    CaseRefusal, CaseRuleVersion, check_claim, check_limit, claim_year, in_force,
};
use timebank_store::schema::{case_awards, case_rules};
use timebank_store::{DbConnection, Lockable, lock_row, write_tx};

use crate::{credit_points, stars};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = case_rules)]
pub struct CaseRuleRow {
    pub id: String,
    pub org_id: String,
    pub code: String,
    pub version: i32,
    pub name: String,
    pub points: i64,
    pub hours: i64,
    pub max_per_person_per_year: Option<i32>,
    pub evidence_required: bool,
    pub effective_from: NaiveDateTime,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    /// Awarded to teams as a group, never to one volunteer.
    pub for_teams: bool,
}

impl CaseRuleRow {
    pub fn version_label(&self) -> String {
        format!("case:{}:{}:v{}", self.org_id, self.code, self.version)
    }

    fn as_rule(&self) -> CaseRuleVersion {
        CaseRuleVersion {
            code: self.code.clone(),
            version: u32::try_from(self.version).unwrap_or(0),
            points: Amount::from_units(self.points).to_decimal(),
            hours: Amount::from_units(self.hours).to_decimal(),
            max_per_person_per_year: self
                .max_per_person_per_year
                .and_then(|m| u32::try_from(m).ok()),
            evidence_required: self.evidence_required,
            effective_from: self.effective_from,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = case_awards)]
pub struct CaseAwardRow {
    pub id: String,
    pub volunteer_id: String,
    pub rule_id: String,
    pub rule_code: String,
    pub occurred_at: NaiveDateTime,
    pub claim_year: i32,
    pub evidence: Option<String>,
    #[diesel(deserialize_as = String)]
    pub status: AwardStatus,
    pub filed_by: String,
    pub created_at: NaiveDateTime,
    pub decided_by: Option<String>,
    pub decided_at: Option<NaiveDateTime>,
    pub decision_reason: Option<String>,
    pub transaction_id: Option<String>,
}

pub struct NewCaseRule {
    pub org_id: String,
    pub code: String,
    pub name: String,
    pub points: Amount,
    pub hours: Amount,
    pub max_per_person_per_year: Option<i32>,
    pub evidence_required: bool,
    pub effective_from: Option<NaiveDateTime>,
    pub for_teams: bool,
}

/// Publishes a new version of `code` for the org.
pub fn publish_rule(
    conn: &mut DbConnection,
    new: NewCaseRule,
    actor: &str,
) -> Result<CaseRuleRow, DomainError> {
    if new.points.is_negative() || new.hours.is_negative() {
        return Err(DomainError::refused(
            Code::ValidationFailed,
            "points and hours must not be negative",
        ));
    }
    if !new.points.is_positive() && !new.hours.is_positive() {
        return Err(DomainError::refused(
            Code::ValidationFailed,
            "a rule must award points or hours",
        ));
    }
    get_org(conn, &new.org_id)?;
    let now = timebank_store::now();
    write_tx(conn, |c| {
        let latest: Option<i32> = case_rules::table
            .filter(case_rules::org_id.eq(&new.org_id))
            .filter(case_rules::code.eq(&new.code))
            .select(diesel::dsl::max(case_rules::version))
            .first(c)?;
        let id = timebank_store::new_id();
        diesel::insert_into(case_rules::table)
            .values((
                case_rules::id.eq(&id),
                case_rules::org_id.eq(&new.org_id),
                case_rules::code.eq(&new.code),
                case_rules::version.eq(latest.unwrap_or(0) + 1),
                case_rules::name.eq(&new.name),
                case_rules::points.eq(new.points.units()),
                case_rules::hours.eq(new.hours.units()),
                case_rules::max_per_person_per_year.eq(new.max_per_person_per_year),
                case_rules::evidence_required.eq(new.evidence_required),
                case_rules::effective_from.eq(new.effective_from.unwrap_or(now)),
                case_rules::created_by.eq(actor),
                case_rules::created_at.eq(now),
                case_rules::for_teams.eq(new.for_teams),
            ))
            .execute(c)?;
        Ok(case_rules::table
            .find(&id)
            .select(CaseRuleRow::as_select())
            .first(c)?)
    })
}

/// Rules visible at an org (its own and its ancestors'), or every rule. With
/// `all_versions` false, only the version in force now of each (org, code).
pub fn list_rules(
    conn: &mut DbConnection,
    org_path: Option<&str>,
    all_versions: bool,
) -> Result<Vec<CaseRuleRow>, DomainError> {
    let mut query = case_rules::table
        .select(CaseRuleRow::as_select())
        .into_boxed();
    if let Some(path) = org_path {
        let ids: Vec<String> = path_ids(path).into_iter().map(str::to_owned).collect();
        query = query.filter(case_rules::org_id.eq_any(ids));
    }
    let rows: Vec<CaseRuleRow> = query
        .order((
            case_rules::code.asc(),
            case_rules::org_id.asc(),
            case_rules::version.asc(),
        ))
        .load(conn)?;
    if all_versions {
        return Ok(rows);
    }
    let now = timebank_store::now();
    let mut current: Vec<CaseRuleRow> = Vec::new();
    for row in rows.iter() {
        let same: Vec<&CaseRuleRow> = rows
            .iter()
            .filter(|r| r.org_id == row.org_id && r.code == row.code)
            .collect();
        let versions: Vec<CaseRuleVersion> = same.iter().map(|r| r.as_rule()).collect();
        if let Some(chosen) = in_force(&versions, now)
            && u32::try_from(row.version).ok() == Some(chosen.version)
        {
            current.push(row.clone());
        }
    }
    Ok(current)
}

/// The rule version for `code` in force at `at` for a volunteer's community
/// (or, `for_teams`, a team's org): the nearest org that has the code
/// decides.
fn rule_for(
    conn: &mut DbConnection,
    community_path: &str,
    code: &str,
    at: NaiveDateTime,
    for_teams: bool,
) -> Result<CaseRuleRow, DomainError> {
    let ids = path_ids(community_path);
    let rows: Vec<CaseRuleRow> = case_rules::table
        .filter(case_rules::code.eq(code))
        .filter(case_rules::for_teams.eq(for_teams))
        .filter(case_rules::org_id.eq_any(&ids))
        .select(CaseRuleRow::as_select())
        .load(conn)?;
    for org in ids.iter().rev() {
        let own: Vec<&CaseRuleRow> = rows.iter().filter(|r| r.org_id == *org).collect();
        if own.is_empty() {
            continue;
        }
        let versions: Vec<CaseRuleVersion> = own.iter().map(|r| r.as_rule()).collect();
        if let Some(chosen) = in_force(&versions, at) {
            let chosen_version = chosen.version;
            if let Some(row) = own
                .into_iter()
                .find(|r| u32::try_from(r.version).ok() == Some(chosen_version))
            {
                return Ok(row.clone());
            }
        }
        break;
    }
    let whom = if for_teams { "team" } else { "volunteer" };
    Err(DomainError::refused(
        Code::UnknownCaseRule,
        format!("no case rule {code:?} for a {whom} was in force then here"),
    ))
}

/// The team rule for `code` in force at `at` for a team of the org at
/// `org_path`.
pub fn team_rule(
    conn: &mut DbConnection,
    org_path: &str,
    code: &str,
    at: NaiveDateTime,
) -> Result<CaseRuleRow, DomainError> {
    rule_for(conn, org_path, code, at, true)
}

/// Whether one more claim of `rule` may be made by whoever already has
/// `approved` of it this year, with this evidence.
pub fn check_another(
    rule: &CaseRuleRow,
    approved: u32,
    evidence: Option<&str>,
) -> Result<(), DomainError> {
    check_claim(&rule.as_rule(), approved, evidence).map_err(refusal)
}

fn approved_in_year(
    conn: &mut DbConnection,
    volunteer_id: &str,
    code: &str,
    year: i32,
) -> Result<u32, DomainError> {
    let count: i64 = case_awards::table
        .filter(case_awards::volunteer_id.eq(volunteer_id))
        .filter(case_awards::rule_code.eq(code))
        .filter(case_awards::claim_year.eq(year))
        .filter(case_awards::status.eq(AwardStatus::Approved))
        .count()
        .get_result(conn)?;
    Ok(u32::try_from(count).unwrap_or(u32::MAX))
}

fn refusal(r: CaseRefusal) -> DomainError {
    match r {
        CaseRefusal::LimitReached { limit } => DomainError::refused(
            Code::CaseLimitReached,
            format!("this rule allows {limit} claims per person per year"),
        )
        .with_details(serde_json::json!({ "limit": limit })),
        CaseRefusal::EvidenceRequired => {
            DomainError::refused(Code::EvidenceRequired, "this rule requires evidence")
        }
    }
}

/// Files an award for a volunteer, if `allowed` on them (the volunteer
/// themselves, or an admin on their behalf).
pub fn file_allowed(
    conn: &mut DbConnection,
    volunteer_id: &str,
    code: &str,
    occurred_at: NaiveDateTime,
    evidence: Option<String>,
    filed_by: &str,
    allowed: Check<'_, Volunteer>,
) -> Result<CaseAwardRow, DomainError> {
    let volunteer = get_volunteer(conn, volunteer_id)?;
    if !allowed(&volunteer) {
        return Err(DomainError::forbidden());
    }
    file(conn, &volunteer, code, occurred_at, evidence, filed_by)
}

/// Files an award as pending. Refuses early what approval would refuse.
pub fn file(
    conn: &mut DbConnection,
    volunteer: &Volunteer,
    code: &str,
    occurred_at: NaiveDateTime,
    evidence: Option<String>,
    filed_by: &str,
) -> Result<CaseAwardRow, DomainError> {
    let now = timebank_store::now();
    volunteer.row.require_active(now)?;
    if occurred_at > now {
        return Err(DomainError::refused(
            Code::OccurredInFuture,
            "occurred_at is in the future",
        ));
    }
    let rule = rule_for(conn, &volunteer.community_path, code, occurred_at, false)?;
    let year = claim_year(occurred_at);
    let approved = approved_in_year(conn, &volunteer.row.user_id, code, year)?;
    check_claim(&rule.as_rule(), approved, evidence.as_deref()).map_err(refusal)?;
    let id = timebank_store::new_id();
    diesel::insert_into(case_awards::table)
        .values((
            case_awards::id.eq(&id),
            case_awards::volunteer_id.eq(&volunteer.row.user_id),
            case_awards::rule_id.eq(&rule.id),
            case_awards::rule_code.eq(code),
            case_awards::occurred_at.eq(occurred_at),
            case_awards::claim_year.eq(year),
            case_awards::evidence.eq(evidence),
            case_awards::status.eq(AwardStatus::Pending),
            case_awards::filed_by.eq(filed_by),
            case_awards::created_at.eq(now),
        ))
        .execute(conn)?;
    get_award(conn, &id)
}

pub fn get_award(conn: &mut DbConnection, id: &str) -> Result<CaseAwardRow, DomainError> {
    case_awards::table
        .find(id)
        .select(CaseAwardRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(DomainError::NotFound("case award"))
}

/// Locks the award, lets `allowed` decide on its volunteer, and checks that
/// `step` may be taken from its state.
fn locked_for(
    conn: &mut DbConnection,
    id: &str,
    step: AwardStep,
    allowed: Check<'_, Volunteer>,
) -> Result<CaseAwardRow, DomainError> {
    lock_row(conn, Lockable::CaseAward, id)?;
    let award = get_award(conn, id)?;
    if !allowed(&get_volunteer(conn, &award.volunteer_id)?) {
        return Err(DomainError::forbidden());
    }
    if award.status.after(step).is_none() {
        return Err(DomainError::invalid_state(
            "award",
            award.status.as_str(),
            &step.wanted(),
        ));
    }
    Ok(award)
}

/// Approves a pending award and posts it. Run inside the caller's write
/// transaction.
pub fn approve(
    conn: &mut DbConnection,
    id: &str,
    actor: &str,
    request_id: Option<&str>,
    allowed: Check<'_, Volunteer>,
) -> Result<(CaseAwardRow, Transaction), DomainError> {
    let award = locked_for(conn, id, AwardStep::Approve, allowed)?;
    lock_row(conn, Lockable::Volunteer, &award.volunteer_id)?;
    let volunteer = get_volunteer(conn, &award.volunteer_id)?;
    let now = timebank_store::now();
    volunteer.row.require_active(now)?;
    let rule: CaseRuleRow = case_rules::table
        .find(&award.rule_id)
        .select(CaseRuleRow::as_select())
        .first(conn)?;
    let approved = approved_in_year(
        conn,
        &award.volunteer_id,
        &award.rule_code,
        award.claim_year,
    )?;
    // Evidence was checked at filing; the yearly limit is final only now.
    check_limit(&rule.as_rule(), approved).map_err(refusal)?;
    let org = get_org(conn, &rule.org_id)?;
    let issuer = open_account(conn, AccountKind::OrgIssuance, &org.id, &org.path)?;
    let wallet = timebank_directory::wallet_of(conn, &volunteer)?;
    let mut transfer = Transfer::new(TxKind::CaseAward, format!("案例：{}", rule.name))
        .by(actor)
        .once(format!("case_award:{id}"))
        .under(rule.version_label())
        .in_request(request_id);
    if rule.points > 0 {
        let points = Amount::from_units(rule.points);
        transfer = credit_points(conn, transfer, &volunteer, &issuer.id, &wallet.id, points)?.0;
    }
    if rule.hours > 0 {
        let hours = Amount::from_units(rule.hours);
        transfer = transfer.moving(Asset::Hour, hours, &issuer.id, &wallet.id);
    }
    let posted = transfer.post_in(conn)?;
    diesel::update(case_awards::table.find(id))
        .set((
            case_awards::status.eq(AwardStep::Approve.to()),
            case_awards::decided_by.eq(actor),
            case_awards::decided_at.eq(now),
            case_awards::transaction_id.eq(&posted.transaction.id),
        ))
        .execute(conn)?;
    if rule.hours > 0 {
        stars::refresh(conn, &volunteer, Some(&posted.transaction.id), now)?;
    }
    Ok((get_award(conn, id)?, posted.transaction))
}

pub fn reject(
    conn: &mut DbConnection,
    id: &str,
    actor: &str,
    reason: &str,
    allowed: Check<'_, Volunteer>,
) -> Result<CaseAwardRow, DomainError> {
    write_tx(conn, |c| {
        locked_for(c, id, AwardStep::Reject, allowed)?;
        diesel::update(case_awards::table.find(id))
            .set((
                case_awards::status.eq(AwardStep::Reject.to()),
                case_awards::decided_by.eq(actor),
                case_awards::decided_at.eq(timebank_store::now()),
                case_awards::decision_reason.eq(reason),
            ))
            .execute(c)?;
        get_award(c, id)
    })
}
