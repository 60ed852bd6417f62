//! Star levels held by volunteers, recomputed whenever their service hours
//! change, with every change recorded as an event.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use timebank_directory::{Volunteer, get_volunteer, utc_string};
use timebank_kernel::{Check, DomainError};
use timebank_ledger::{AccountKind, Amount, Asset, Transaction, find_account, read};
use timebank_store::DbConnection;
use timebank_store::schema::{star_events, volunteers};

use crate::policy;

#[derive(Debug, Clone, Serialize)]
pub struct StarEvent {
    pub from_level: i32,
    pub to_level: i32,
    pub hours: Amount,
    pub transaction_id: Option<String>,
    pub rule_version: String,
    pub reached_at: String,
}

/// Lifetime service hours of a volunteer (their wallet's HOUR balance).
pub fn hours_of(conn: &mut DbConnection, volunteer_id: &str) -> Result<Amount, DomainError> {
    Ok(
        match find_account(conn, AccountKind::VolunteerWallet, volunteer_id)? {
            Some(wallet) => read::balances_of(conn, &wallet.id)?.hours,
            None => Amount::ZERO,
        },
    )
}

/// Recomputes a volunteer's level and records a change. Call inside the
/// write transaction that changed their hours.
pub fn refresh(
    conn: &mut DbConnection,
    volunteer: &Volunteer,
    transaction_id: Option<&str>,
    now: NaiveDateTime,
) -> Result<Option<StarEvent>, DomainError> {
    let hours = hours_of(conn, &volunteer.row.user_id)?;
    let policy = policy::stars(conn, &volunteer.community_path)?;
    refresh_with(conn, volunteer, hours, &policy, transaction_id, now)
}

/// [`refresh`] with the volunteer's hours and star policy already known
/// (settlement knows both from what it just posted).
pub fn refresh_with(
    conn: &mut DbConnection,
    volunteer: &Volunteer,
    hours: Amount,
    policy: &policy::Effective<timebank_rules::StarPolicy>,
    transaction_id: Option<&str>,
    now: NaiveDateTime,
) -> Result<Option<StarEvent>, DomainError> {
    let tenure_days = volunteer
        .row
        .approved_at
        .map(|at| (now - at).num_days())
        .unwrap_or(0);
    let barred = volunteer
        .row
        .star_barred_until
        .is_some_and(|until| until > now);
    let current = u8::try_from(volunteer.row.star_level).unwrap_or(0);
    let level = policy
        .policy
        .level(hours.to_decimal(), tenure_days, barred, current);
    if level == current {
        return Ok(None);
    }
    diesel::update(volunteers::table.find(&volunteer.row.user_id))
        .set(volunteers::star_level.eq(i32::from(level)))
        .execute(conn)?;
    diesel::insert_into(star_events::table)
        .values((
            star_events::id.eq(timebank_store::new_id()),
            star_events::volunteer_id.eq(&volunteer.row.user_id),
            star_events::from_level.eq(i32::from(current)),
            star_events::to_level.eq(i32::from(level)),
            star_events::hours.eq(hours.units()),
            star_events::transaction_id.eq(transaction_id),
            star_events::rule_version.eq(&policy.version),
            star_events::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(Some(StarEvent {
        from_level: i32::from(current),
        to_level: i32::from(level),
        hours,
        transaction_id: transaction_id.map(str::to_owned),
        rule_version: policy.version.clone(),
        reached_at: utc_string(&now),
    }))
}

/// Locks the volunteer rows behind the wallets `tx` touches, in sorted
/// order. Call before reversing `tx`: rows are always locked before ledger
/// accounts, so a reversal and a redemption never wait on each other.
pub fn lock_owners(conn: &mut DbConnection, tx: &Transaction) -> Result<(), DomainError> {
    let mut owners: Vec<&str> = tx
        .postings
        .iter()
        .filter(|p| p.account_kind == AccountKind::VolunteerWallet)
        .map(|p| p.owner_id.as_str())
        .collect();
    owners.sort_unstable();
    owners.dedup();
    for owner in owners {
        timebank_store::lock_row(conn, timebank_store::Lockable::Volunteer, owner)?;
    }
    Ok(())
}

/// Refreshes every volunteer whose hours `tx` moved (e.g. after a reversal).
pub fn refresh_for_transaction(
    conn: &mut DbConnection,
    tx: &Transaction,
    now: NaiveDateTime,
) -> Result<(), DomainError> {
    let mut owners: Vec<&str> = tx
        .postings
        .iter()
        .filter(|p| p.account_kind == AccountKind::VolunteerWallet && p.asset == Asset::Hour)
        .map(|p| p.owner_id.as_str())
        .collect();
    owners.sort_unstable();
    owners.dedup();
    for owner in owners {
        let volunteer = get_volunteer(conn, owner)?;
        refresh(conn, &volunteer, Some(&tx.id), now)?;
    }
    Ok(())
}

pub fn history(conn: &mut DbConnection, volunteer_id: &str) -> Result<Vec<StarEvent>, DomainError> {
    let rows: Vec<(i32, i32, i64, Option<String>, String, NaiveDateTime)> = star_events::table
        .filter(star_events::volunteer_id.eq(volunteer_id))
        .order((star_events::created_at.asc(), star_events::id.asc()))
        .select((
            star_events::from_level,
            star_events::to_level,
            star_events::hours,
            star_events::transaction_id,
            star_events::rule_version,
            star_events::created_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(from_level, to_level, hours, transaction_id, rule_version, at)| StarEvent {
                from_level,
                to_level,
                hours: Amount::from_units(hours),
                transaction_id,
                rule_version,
                reached_at: utc_string(&at),
            },
        )
        .collect())
}

/// Where a transaction's accounts are: (kind, org path) per account.
pub type TransactionScope = Vec<(AccountKind, String)>;

/// A staff reversal of one transaction, if `allowed` over where its
/// accounts are; the owners' rows are locked before the accounts. Run inside
/// the caller's write transaction.
pub fn reverse_transaction(
    conn: &mut DbConnection,
    id: &str,
    actor: &str,
    reason: &str,
    request_id: Option<&str>,
    allowed: Check<'_, TransactionScope>,
) -> Result<Transaction, DomainError> {
    let scope = read::transaction_scope(conn, id)?;
    if scope.is_empty() {
        return Err(DomainError::NotFound("transaction"));
    }
    if !allowed(&scope) {
        return Err(DomainError::forbidden());
    }
    let original = read::transaction(conn, id)?;
    lock_owners(conn, &original)?;
    Ok(timebank_ledger::reverse_in(
        conn,
        id,
        Some(actor),
        reason,
        request_id,
    )?)
}
