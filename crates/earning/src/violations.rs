//! Violations (积分记录违规): reverse the affected earnings (each once),
//! optionally deduct a penalty (never below zero), suspend for a period and,
//! for a confirmed falsification, bar new star levels. Kept on the record.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use timebank_directory::{get_org, get_volunteer, org_account, utc_string};
use timebank_kernel::{Check, Code, DomainError};
use timebank_ledger::{
    AccountKind, Amount, Asset, Transfer, TxKind, find_account, read, reversal_of, reverse_in,
};
use timebank_store::schema::{violations, volunteers};
use timebank_store::{DbConnection, Lockable, lock_row};

use crate::{policy, stars};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ViolationKind {
    Falsification,
    Misconduct,
    Other,
}

impl ViolationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Falsification => "falsification",
            Self::Misconduct => "misconduct",
            Self::Other => "other",
        }
    }
}

pub struct NewViolation {
    pub volunteer_id: String,
    pub kind: ViolationKind,
    pub transaction_ids: Vec<String>,
    pub penalty_points: Option<Amount>,
    pub suspend_days: Option<u32>,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReversalOutcome {
    pub transaction_id: String,
    pub reversal_id: String,
    /// It had been reversed before; nothing new was posted for it.
    pub already_reversed: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Violation {
    pub id: String,
    pub volunteer_id: String,
    pub kind: String,
    pub reason: String,
    pub reversals: Vec<ReversalOutcome>,
    pub penalty_requested: Amount,
    pub penalty_applied: Amount,
    /// The penalty was cut to the balance so that it never goes below zero.
    pub penalty_capped: bool,
    pub penalty_transaction_id: Option<String>,
    pub suspended_until: Option<String>,
    pub barred_until: Option<String>,
    pub created_by: String,
    pub created_at: String,
    /// The page position.
    #[serde(skip)]
    pub created: NaiveDateTime,
}

/// Records a violation. Run inside the caller's write transaction.
pub fn record(
    conn: &mut DbConnection,
    new: &NewViolation,
    actor: &str,
    request_id: Option<&str>,
    allowed: Check<'_, timebank_directory::Volunteer>,
) -> Result<Violation, DomainError> {
    let now = timebank_store::now();
    lock_row(conn, Lockable::Volunteer, &new.volunteer_id)?;
    let volunteer = get_volunteer(conn, &new.volunteer_id)?;
    if !allowed(&volunteer) {
        return Err(DomainError::forbidden());
    }
    let wallet = find_account(conn, AccountKind::VolunteerWallet, &new.volunteer_id)?
        .ok_or(DomainError::NotFound("wallet"))?;

    let reversals = reverse_all(conn, new, &wallet.id, actor, request_id)?;
    let requested = new.penalty_points.unwrap_or(Amount::ZERO);
    let balance = read::balances_of(conn, &wallet.id)?.points;
    // Never more than the wallet holds: a penalty does not make debt.
    let applied = requested.min(balance).max(Amount::ZERO);
    let penalty_tx = if applied.is_positive() {
        Some(penalise(
            conn, new, &volunteer, &wallet.id, applied, actor, request_id,
        )?)
    } else {
        None
    };
    let (suspended_until, barred_until) = restrict(conn, new, &volunteer, now)?;
    if reversals.iter().any(|r| !r.already_reversed) {
        let fresh = get_volunteer(conn, &new.volunteer_id)?;
        stars::refresh(
            conn,
            &fresh,
            reversals.last().map(|r| r.reversal_id.as_str()),
            now,
        )?;
    }

    let id = timebank_store::new_id();
    let reversals_json = serde_json::to_string(&reversals).unwrap_or_else(|_| "[]".to_owned());
    diesel::insert_into(violations::table)
        .values((
            violations::id.eq(&id),
            violations::volunteer_id.eq(&new.volunteer_id),
            violations::kind.eq(new.kind.as_str()),
            violations::reason.eq(&new.reason),
            violations::reversals.eq(reversals_json),
            violations::penalty_requested.eq(requested.units()),
            violations::penalty_applied.eq(applied.units()),
            violations::penalty_transaction_id.eq(&penalty_tx),
            violations::suspended_until.eq(suspended_until),
            violations::barred_until.eq(barred_until),
            violations::created_by.eq(actor),
            violations::request_id.eq(request_id),
            violations::created_at.eq(now),
        ))
        .execute(conn)?;
    let violation = list(conn, &new.volunteer_id)?
        .into_iter()
        .find(|v| v.id == id)
        .ok_or(DomainError::NotFound("violation"))?;
    Ok(violation)
}

/// Reverses each named transaction of the volunteer's wallet once; one
/// reversed before is reported, not reversed again.
fn reverse_all(
    conn: &mut DbConnection,
    new: &NewViolation,
    wallet_id: &str,
    actor: &str,
    request_id: Option<&str>,
) -> Result<Vec<ReversalOutcome>, DomainError> {
    let mut ids = new.transaction_ids.clone();
    ids.sort();
    ids.dedup();
    let mut reversals = Vec::new();
    for id in &ids {
        let tx = read::find_transaction(conn, id)?.ok_or_else(|| {
            DomainError::refused(
                Code::UnknownTransaction,
                format!("transaction {id} does not exist"),
            )
            .with_details(serde_json::json!({ "transaction_id": id }))
        })?;
        if !tx.postings.iter().any(|p| p.account_id == wallet_id) {
            return Err(DomainError::refused(
                Code::TransactionNotOfVolunteer,
                format!("transaction {id} does not touch this volunteer's wallet"),
            )
            .with_details(serde_json::json!({ "transaction_id": id })));
        }
        if let Some(existing) = reversal_of(conn, id)? {
            reversals.push(ReversalOutcome {
                transaction_id: id.clone(),
                reversal_id: existing,
                already_reversed: true,
            });
            continue;
        }
        let reversal = reverse_in(
            conn,
            id,
            Some(actor),
            &format!("违规：{}", new.reason),
            request_id,
        )?;
        reversals.push(ReversalOutcome {
            transaction_id: id.clone(),
            reversal_id: reversal.id,
            already_reversed: false,
        });
    }

    Ok(reversals)
}

/// Points from the wallet back to the community's issuer.
fn penalise(
    conn: &mut DbConnection,
    new: &NewViolation,
    volunteer: &timebank_directory::Volunteer,
    wallet_id: &str,
    applied: Amount,
    actor: &str,
    request_id: Option<&str>,
) -> Result<String, DomainError> {
    let community = get_org(conn, &volunteer.row.community_id)?;
    let issuer = org_account(conn, AccountKind::OrgIssuance, &community)?;
    let posted = Transfer::new(TxKind::Penalty, format!("违规扣分：{}", new.reason))
        .by(actor)
        .in_request(request_id)
        .moving(Asset::Point, applied, wallet_id, issuer.id)
        .post_in(conn)?;
    Ok(posted.transaction.id)
}

/// Suspends and, for falsification, bars from stars; a longer restriction
/// already in force is kept. Returns what this violation asked for.
fn restrict(
    conn: &mut DbConnection,
    new: &NewViolation,
    volunteer: &timebank_directory::Volunteer,
    now: NaiveDateTime,
) -> Result<(Option<NaiveDateTime>, Option<NaiveDateTime>), DomainError> {
    let suspended_until = new
        .suspend_days
        .filter(|d| *d > 0)
        .map(|d| now + Duration::days(i64::from(d)));
    let barred_until = if new.kind == ViolationKind::Falsification {
        let stars_policy = policy::stars(conn, &volunteer.community_path)?;
        Some(now + Duration::days(i64::from(stars_policy.policy.falsification_bar_days)))
    } else {
        None
    };
    let longer = |current: Option<NaiveDateTime>, until: NaiveDateTime| {
        current.is_none_or(|current| current <= until)
    };
    if let Some(until) = suspended_until
        && longer(volunteer.row.suspended_until, until)
    {
        diesel::update(volunteers::table.find(&new.volunteer_id))
            .set(volunteers::suspended_until.eq(until))
            .execute(conn)?;
    }
    if let Some(until) = barred_until
        && longer(volunteer.row.star_barred_until, until)
    {
        diesel::update(volunteers::table.find(&new.volunteer_id))
            .set(volunteers::star_barred_until.eq(until))
            .execute(conn)?;
    }
    Ok((suspended_until, barred_until))
}

type ViolationRow = (
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    Option<String>,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    String,
    NaiveDateTime,
);

/// Whose violations to list.
pub enum Of<'a> {
    Volunteer(&'a str),
    /// Volunteers of these communities, a page before a (time, id) position.
    Communities {
        ids: &'a [String],
        before: Option<(NaiveDateTime, String)>,
        limit: i64,
    },
}

/// A volunteer's violations, newest first.
pub fn list(conn: &mut DbConnection, volunteer_id: &str) -> Result<Vec<Violation>, DomainError> {
    list_of(conn, Of::Volunteer(volunteer_id))
}

/// Violations newest first, with the volunteer's community scope applied
/// in the query.
pub fn list_of(conn: &mut DbConnection, of: Of<'_>) -> Result<Vec<Violation>, DomainError> {
    use timebank_store::schema::volunteers;
    let mut q = violations::table
        .inner_join(volunteers::table.on(volunteers::user_id.eq(violations::volunteer_id)))
        .order((violations::created_at.desc(), violations::id.desc()))
        .select((
            violations::id,
            violations::volunteer_id,
            violations::kind,
            violations::reason,
            violations::reversals,
            violations::penalty_requested,
            violations::penalty_applied,
            violations::penalty_transaction_id,
            violations::suspended_until,
            violations::barred_until,
            violations::created_by,
            violations::created_at,
        ))
        .into_boxed();
    q = match of {
        Of::Volunteer(id) => q.filter(violations::volunteer_id.eq(id.to_owned())),
        Of::Communities { ids, before, limit } => {
            let q = q
                .filter(volunteers::community_id.eq_any(ids.to_vec()))
                .limit(limit);
            match before {
                None => q,
                Some((at, id)) => q.filter(
                    violations::created_at
                        .lt(at)
                        .or(violations::created_at.eq(at).and(violations::id.lt(id))),
                ),
            }
        }
    };
    let rows: Vec<ViolationRow> = q.load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(
                id,
                volunteer_id,
                kind,
                reason,
                reversals,
                requested,
                applied,
                penalty_tx,
                suspended,
                barred,
                by,
                at,
            )| Violation {
                id,
                volunteer_id,
                kind,
                reason,
                reversals: serde_json::from_str(&reversals).unwrap_or_default(),
                penalty_requested: Amount::from_units(requested),
                penalty_applied: Amount::from_units(applied),
                penalty_capped: applied < requested,
                penalty_transaction_id: penalty_tx,
                suspended_until: suspended.map(|t| utc_string(&t)),
                barred_until: barred.map(|t| utc_string(&t)),
                created_by: by,
                created_at: utc_string(&at),
                created: at,
            },
        )
        .collect())
}
