//! Reads: balances, statements and transactions. Each is an indexed lookup;
//! none scans an account's history.

use std::collections::HashMap;

use diesel::prelude::*;
use timebank_store::DbConnection;
use timebank_store::schema::{accounts, balances, postings, transactions};

use crate::rows::{PostingRow, TransactionRow};
use crate::{AccountBalances, Amount, Entry, LedgerError, Posting, Transaction};

pub fn balances_of(
    conn: &mut DbConnection,
    account_id: &str,
) -> Result<AccountBalances, LedgerError> {
    let rows: Vec<(String, i64, i64)> = balances::table
        .filter(balances::account_id.eq(account_id))
        .select((balances::asset, balances::amount, balances::earned))
        .load(conn)?;
    let mut out = AccountBalances {
        points: Amount::ZERO,
        lifetime_points: Amount::ZERO,
        hours: Amount::ZERO,
    };
    for (asset, amount, earned) in rows {
        match asset.as_str() {
            "POINT" => {
                out.points = Amount::from_units(amount);
                out.lifetime_points = Amount::from_units(earned);
            }
            "HOUR" => out.hours = Amount::from_units(amount),
            other => return Err(LedgerError::Corrupt(format!("unknown asset {other}"))),
        }
    }
    Ok(out)
}

/// seq, transaction, asset, amount, balance_after, created_at, kind, reason
type EntryRow = (
    i64,
    String,
    String,
    i64,
    i64,
    chrono::NaiveDateTime,
    String,
    String,
);

/// An account's postings, newest first, starting below `before_seq`.
pub fn entries(
    conn: &mut DbConnection,
    account_id: &str,
    before_seq: Option<i64>,
    limit: i64,
) -> Result<Vec<Entry>, LedgerError> {
    let mut query = postings::table
        .inner_join(transactions::table)
        .filter(postings::account_id.eq(account_id))
        .into_boxed();
    if let Some(before) = before_seq {
        query = query.filter(postings::seq.lt(before));
    }
    let rows: Vec<EntryRow> = query
        .order(postings::seq.desc())
        .limit(limit)
        .select((
            postings::seq,
            postings::transaction_id,
            postings::asset,
            postings::amount,
            postings::balance_after,
            postings::created_at,
            transactions::kind,
            transactions::reason,
        ))
        .load(conn)?;
    rows.into_iter()
        .map(|(seq, tx, asset, amount, after, at, kind, reason)| {
            Ok(Entry {
                transaction_id: tx,
                kind: kind.parse()?,
                asset: asset.parse()?,
                amount: Amount::from_units(amount),
                balance_after: Amount::from_units(after),
                created_at: at.and_utc(),
                reason,
                seq,
            })
        })
        .collect()
}

pub fn transaction(conn: &mut DbConnection, id: &str) -> Result<Transaction, LedgerError> {
    find_transaction(conn, id)?.ok_or_else(|| LedgerError::TransactionNotFound(id.to_owned()))
}

pub fn find_transaction(
    conn: &mut DbConnection,
    id: &str,
) -> Result<Option<Transaction>, LedgerError> {
    let Some(row) = transactions::table
        .find(id)
        .select(TransactionRow::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let rows: Vec<(PostingRow, (String, String))> = postings::table
        .inner_join(accounts::table)
        .filter(postings::transaction_id.eq(id))
        .order(postings::id.asc())
        .select((
            PostingRow::as_select(),
            (accounts::kind, accounts::owner_id),
        ))
        .load(conn)?;
    let reversed_by = crate::post::reversal_of(conn, id)?;
    let postings = rows
        .into_iter()
        .map(|(p, (account_kind, owner_id))| {
            Ok(Posting {
                id: p.id,
                account_id: p.account_id,
                account_kind: account_kind.parse()?,
                owner_id,
                seq: p.seq,
                asset: p.asset.parse()?,
                amount: Amount::from_units(p.amount),
                balance_after: Amount::from_units(p.balance_after),
                prev_hash: p.prev_hash,
                hash: p.hash,
            })
        })
        .collect::<Result<Vec<_>, LedgerError>>()?;
    Ok(Some(Transaction {
        kind: row.kind.parse()?,
        id: row.id,
        actor_id: row.actor_id,
        reason: row.reason,
        external_id: row.external_id,
        rule_version: row.rule_version,
        reverses_id: row.reverses_id,
        reversed_by,
        request_id: row.request_id,
        created_at: row.created_at.and_utc(),
        postings,
    }))
}

/// The org paths of every account a transaction touches, keyed by account
/// kind, so callers can decide who may see or reverse it.
pub fn transaction_scope(
    conn: &mut DbConnection,
    id: &str,
) -> Result<Vec<(crate::AccountKind, String)>, LedgerError> {
    let rows: Vec<(String, String)> = postings::table
        .inner_join(accounts::table)
        .filter(postings::transaction_id.eq(id))
        .select((accounts::kind, accounts::org_path))
        .load(conn)?;
    let mut seen = HashMap::new();
    for (kind, path) in rows {
        seen.insert(path, kind);
    }
    seen.into_iter()
        .map(|(path, kind)| Ok((kind.parse()?, path)))
        .collect()
}
