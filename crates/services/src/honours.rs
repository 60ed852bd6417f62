//! A team's own ledger account (集体荣誉): case rules marked for teams are
//! awarded to it as a group; what it holds is never spent by the team —
//! an admin over its org gives it to the district pool or grants it to its
//! members (time earned together is donated, not spent). Every movement is
//! a ledger transfer, run inside the caller's write transaction.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use timebank_directory::{district_of, get_org, get_volunteer, org_account, wallet_of};
use timebank_earning::cases;
use timebank_kernel::{Check, Code, DomainError};
use timebank_ledger::{
    Account, AccountBalances, AccountKind, Amount, Asset, Transaction, Transfer, TxKind,
    find_account, open_account, read,
};
use timebank_rules::claim_year;
use timebank_rules::states::TeamStatus;
use timebank_store::schema::{team_honours, transactions};
use timebank_store::{DbConnection, Lockable, lock_row};

use crate::teams::{self, TeamRow, TeamScope};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = team_honours)]
pub struct HonourRow {
    pub id: String,
    pub team_id: String,
    pub rule_id: String,
    pub rule_code: String,
    pub occurred_at: NaiveDateTime,
    pub claim_year: i32,
    pub evidence: Option<String>,
    pub awarded_by: String,
    pub created_at: NaiveDateTime,
    pub transaction_id: String,
}

/// Who acts and under which request, for the ledger's record.
pub struct Actor<'a> {
    pub id: &'a str,
    pub request_id: Option<&'a str>,
}

fn account(conn: &mut DbConnection, team: &TeamRow) -> Result<Account, DomainError> {
    let org = get_org(conn, &team.org_id)?;
    Ok(open_account(
        conn,
        AccountKind::TeamAccount,
        &team.id,
        &org.path,
    )?)
}

/// What the team's account holds (nothing before its first honour).
pub fn balances(conn: &mut DbConnection, team_id: &str) -> Result<AccountBalances, DomainError> {
    Ok(
        match find_account(conn, AccountKind::TeamAccount, team_id)? {
            Some(a) => read::balances_of(conn, &a.id)?,
            None => AccountBalances {
                points: Amount::ZERO,
                lifetime_points: Amount::ZERO,
                hours: Amount::ZERO,
            },
        },
    )
}

/// The team, locked, after the check; it must be active, or (`dissolved`
/// too) dissolved: what a dissolved team holds can still be given on.
fn locked(
    conn: &mut DbConnection,
    team_id: &str,
    dissolved: bool,
    allowed: Check<'_, TeamScope>,
) -> Result<(TeamRow, TeamScope), DomainError> {
    lock_row(conn, Lockable::Team, team_id)?;
    let team = teams::get(conn, team_id)?;
    let scope = teams::scope(conn, &team)?;
    if !allowed(&scope) {
        return Err(DomainError::forbidden());
    }
    let open =
        team.status == TeamStatus::Active || (dissolved && team.status == TeamStatus::Dissolved);
    if !open {
        return Err(DomainError::refused(
            Code::TeamNotActive,
            format!("the team is {}, not active", team.status),
        )
        .with_details(serde_json::json!({ "status": team.status })));
    }
    Ok((team, scope))
}

/// Awards a team rule to the team: its points and hours go from the rule's
/// org to the team's account, once per honour.
pub fn award(
    conn: &mut DbConnection,
    team_id: &str,
    code: &str,
    occurred_at: NaiveDateTime,
    evidence: Option<String>,
    by: Actor<'_>,
    allowed: Check<'_, TeamScope>,
) -> Result<(HonourRow, Transaction), DomainError> {
    let (team, scope) = locked(conn, team_id, false, allowed)?;
    let now = timebank_store::now();
    if occurred_at > now {
        return Err(DomainError::refused(
            Code::OccurredInFuture,
            "occurred_at is in the future",
        ));
    }
    let rule = cases::team_rule(conn, &scope.org_path, code, occurred_at)?;
    let year = claim_year(occurred_at);
    let earlier: Vec<String> = team_honours::table
        .filter(team_honours::team_id.eq(team_id))
        .filter(team_honours::rule_code.eq(code))
        .filter(team_honours::claim_year.eq(year))
        .select(team_honours::transaction_id)
        .load(conn)?;
    // A reversed honour no longer counts against the yearly limit.
    let standing = earlier.len() - reversed_among(conn, &earlier)?.len();
    cases::check_another(
        &rule,
        u32::try_from(standing).unwrap_or(u32::MAX),
        evidence.as_deref(),
    )
    .map_err(per_team)?;
    let issuer_org = get_org(conn, &rule.org_id)?;
    let issuer = org_account(conn, AccountKind::OrgIssuance, &issuer_org)?;
    let held = account(conn, &team)?;
    let id = timebank_store::new_id();
    let mut transfer = Transfer::new(
        TxKind::CaseAward,
        format!("集体荣誉：{}（{}）", rule.name, team.name),
    )
    .by(by.id)
    .once(format!("team_honour:{id}"))
    .under(rule.version_label())
    .in_request(by.request_id);
    if rule.points > 0 {
        transfer = transfer.moving(
            Asset::Point,
            Amount::from_units(rule.points),
            &issuer.id,
            &held.id,
        );
    }
    if rule.hours > 0 {
        transfer = transfer.moving(
            Asset::Hour,
            Amount::from_units(rule.hours),
            &issuer.id,
            &held.id,
        );
    }
    let posted = transfer.post_in(conn)?;
    diesel::insert_into(team_honours::table)
        .values((
            team_honours::id.eq(&id),
            team_honours::team_id.eq(team_id),
            team_honours::rule_id.eq(&rule.id),
            team_honours::rule_code.eq(code),
            team_honours::occurred_at.eq(occurred_at),
            team_honours::claim_year.eq(year),
            team_honours::evidence.eq(&evidence),
            team_honours::awarded_by.eq(by.id),
            team_honours::created_at.eq(now),
            team_honours::transaction_id.eq(&posted.transaction.id),
        ))
        .execute(conn)?;
    let row = team_honours::table
        .find(&id)
        .select(HonourRow::as_select())
        .first(conn)?;
    Ok((row, posted.transaction))
}

fn positive(points: Amount) -> Result<(), DomainError> {
    if points.is_positive() {
        Ok(())
    } else {
        Err(
            DomainError::refused(Code::ValidationFailed, "points must be above zero")
                .with_details(serde_json::json!({ "fields": { "points": ["range"] } })),
        )
    }
}

/// Gives points of the team's account to its district's public pool.
pub fn donate(
    conn: &mut DbConnection,
    team_id: &str,
    points: Amount,
    reason: Option<&str>,
    by: Actor<'_>,
    allowed: Check<'_, TeamScope>,
) -> Result<Transaction, DomainError> {
    positive(points)?;
    let (team, _) = locked(conn, team_id, true, allowed)?;
    let org = get_org(conn, &team.org_id)?;
    let district = district_of(conn, &org)?;
    let pool = org_account(conn, AccountKind::DistrictPool, &district)?;
    let held = account(conn, &team)?;
    let reason = reason.map_or_else(|| format!("{}捐赠至公益池", team.name), str::to_owned);
    Ok(Transfer::new(TxKind::Gift, reason)
        .by(by.id)
        .in_request(by.request_id)
        .moving(Asset::Point, points, &held.id, &pool.id)
        .post_in(conn)?
        .transaction)
}

/// Grants points of the team's account to one of its current members.
pub fn grant(
    conn: &mut DbConnection,
    team_id: &str,
    volunteer_id: &str,
    points: Amount,
    reason: &str,
    by: Actor<'_>,
    allowed: Check<'_, TeamScope>,
) -> Result<Transaction, DomainError> {
    positive(points)?;
    let (team, _) = locked(conn, team_id, true, allowed)?;
    if !teams::is_member(conn, team_id, volunteer_id)? {
        return Err(DomainError::refused(
            Code::NotATeamMember,
            "points of a team go to its own members only",
        ));
    }
    let volunteer = get_volunteer(conn, volunteer_id)?;
    let wallet = wallet_of(conn, &volunteer)?;
    let held = account(conn, &team)?;
    Ok(Transfer::new(TxKind::TeamGrant, reason)
        .by(by.id)
        .in_request(by.request_id)
        .moving(Asset::Point, points, &held.id, &wallet.id)
        .post_in(conn)?
        .transaction)
}

/// A team's latest honours, each with whether it was reversed.
pub fn of_team(
    conn: &mut DbConnection,
    team_id: &str,
    limit: i64,
) -> Result<Vec<(HonourRow, bool)>, DomainError> {
    let rows: Vec<HonourRow> = team_honours::table
        .filter(team_honours::team_id.eq(team_id))
        .order((team_honours::created_at.desc(), team_honours::id.desc()))
        .limit(limit)
        .select(HonourRow::as_select())
        .load(conn)?;
    let ids: Vec<String> = rows.iter().map(|h| h.transaction_id.clone()).collect();
    let reversed = reversed_among(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|h| {
            let gone = reversed.contains(&h.transaction_id);
            (h, gone)
        })
        .collect())
}

/// Which of these transactions a reversal undid.
fn reversed_among(
    conn: &mut DbConnection,
    ids: &[String],
) -> Result<std::collections::HashSet<String>, DomainError> {
    Ok(transactions::table
        .filter(transactions::reverses_id.eq_any(ids))
        .select(transactions::reverses_id)
        .load::<Option<String>>(conn)?
        .into_iter()
        .flatten()
        .collect())
}

/// A rule's yearly limit counts per team here, not per person.
fn per_team(e: DomainError) -> DomainError {
    match e {
        DomainError::Refused {
            code: Code::CaseLimitReached,
            details,
            ..
        } => {
            let limit = details
                .as_ref()
                .and_then(|d| d.get("limit"))
                .cloned()
                .unwrap_or_default();
            DomainError::Refused {
                code: Code::CaseLimitReached,
                message: format!("this rule may be awarded to a team {limit} times a year"),
                details,
            }
        }
        other => other,
    }
}
