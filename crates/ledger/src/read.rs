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
    balances_from(rows)
}

/// org path, then asset, amount and earned of one balance (if any).
type WalletRow = (String, Option<String>, Option<i64>, Option<i64>);

/// A person's wallet: the org path it is kept under (their community's)
/// and its balances, in one statement.
pub fn wallet_of_owner(
    conn: &mut DbConnection,
    owner_id: &str,
) -> Result<Option<(String, AccountBalances)>, LedgerError> {
    let query = accounts::table
        .left_join(balances::table.on(balances::account_id.eq(accounts::id)))
        .filter(accounts::kind.eq(crate::AccountKind::VolunteerWallet.as_str()))
        .filter(accounts::owner_id.eq(owner_id))
        .select((
            accounts::org_path,
            balances::asset.nullable(),
            balances::amount.nullable(),
            balances::earned.nullable(),
        ));
    // The backend's own statement cache: see `directory::volunteer_balances`.
    let rows: Vec<WalletRow> = timebank_store::on_backend!(conn, c => query.load(c))?;
    let Some(path) = rows.first().map(|r| r.0.clone()) else {
        return Ok(None);
    };
    let held = rows
        .into_iter()
        .filter_map(|(_, asset, amount, earned)| Some((asset?, amount?, earned?)))
        .collect();
    Ok(Some((path, balances_from(held)?)))
}

/// The wallets of several owners with their balances, in one statement,
/// by owner id (owners without a wallet are absent).
pub fn wallets_of_owners(
    conn: &mut DbConnection,
    owner_ids: &[&str],
) -> Result<HashMap<String, (String, AccountBalances)>, LedgerError> {
    let rows: Vec<(String, String, String, i64, i64)> = accounts::table
        .inner_join(balances::table.on(balances::account_id.eq(accounts::id)))
        .filter(accounts::kind.eq(crate::AccountKind::VolunteerWallet.as_str()))
        .filter(accounts::owner_id.eq_any(owner_ids))
        .select((
            accounts::owner_id,
            accounts::id,
            balances::asset,
            balances::amount,
            balances::earned,
        ))
        .load(conn)?;
    // owner → (wallet, its (asset, amount, earned) rows)
    type Held = HashMap<String, (String, Vec<(String, i64, i64)>)>;
    let mut held: Held = HashMap::new();
    for (owner, account, asset, amount, earned) in rows {
        held.entry(owner)
            .or_insert_with(|| (account, Vec::new()))
            .1
            .push((asset, amount, earned));
    }
    held.into_iter()
        .map(|(owner, (account, rows))| Ok((owner, (account, balances_from(rows)?))))
        .collect()
}

/// An account's balances from its (asset, amount, earned) rows.
pub fn balances_from(rows: Vec<(String, i64, i64)>) -> Result<AccountBalances, LedgerError> {
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
    let rows: Vec<TransactionRow> = transactions::table
        .find(id)
        .select(TransactionRow::as_select())
        .load(conn)?;
    Ok(assemble(conn, rows)?.pop())
}

/// Which transactions to list: those touching an account of the org
/// subtree at `path`, newest first, a page before a (time, id) position.
pub struct TransactionFilter {
    pub path: String,
    pub kind: Option<crate::TxKind>,
    pub from: Option<chrono::NaiveDateTime>,
    pub to: Option<chrono::NaiveDateTime>,
    pub before: Option<(chrono::NaiveDateTime, String)>,
    pub limit: i64,
}

/// The audit trail of a subtree: walks transactions by time (an index)
/// and keeps those with a posting on an account in the subtree.
pub fn list_transactions(
    conn: &mut DbConnection,
    f: &TransactionFilter,
) -> Result<Vec<Transaction>, LedgerError> {
    let in_scope = postings::table
        .inner_join(accounts::table)
        .filter(postings::transaction_id.eq(transactions::id))
        .filter(accounts::org_path.like(format!("{}%", f.path)));
    let mut q = transactions::table
        .filter(diesel::dsl::exists(in_scope))
        .select(TransactionRow::as_select())
        .into_boxed();
    if let Some(kind) = f.kind {
        q = q.filter(transactions::kind.eq(kind.as_str()));
    }
    if let Some(from) = f.from {
        q = q.filter(transactions::created_at.ge(from));
    }
    if let Some(to) = f.to {
        q = q.filter(transactions::created_at.lt(to));
    }
    if let Some((at, id)) = &f.before {
        q = q.filter(
            transactions::created_at.lt(*at).or(transactions::created_at
                .eq(*at)
                .and(transactions::id.lt(id.clone()))),
        );
    }
    let rows = q
        .order((transactions::created_at.desc(), transactions::id.desc()))
        .limit(f.limit)
        .load(conn)?;
    assemble(conn, rows)
}

/// Transactions with their postings and reversals, in the rows' order:
/// one query for all postings, one for all reversals.
fn assemble(
    conn: &mut DbConnection,
    rows: Vec<TransactionRow>,
) -> Result<Vec<Transaction>, LedgerError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let loaded: Vec<(PostingRow, (String, String))> = postings::table
        .inner_join(accounts::table)
        .filter(postings::transaction_id.eq_any(&ids))
        .order(postings::id.asc())
        .select((
            PostingRow::as_select(),
            (accounts::kind, accounts::owner_id),
        ))
        .load(conn)?;
    let reversals: HashMap<String, String> = transactions::table
        .filter(transactions::reverses_id.eq_any(&ids))
        .select((transactions::reverses_id, transactions::id))
        .load::<(Option<String>, String)>(conn)?
        .into_iter()
        .filter_map(|(original, id)| Some((original?, id)))
        .collect();
    let mut by_tx: HashMap<String, Vec<Posting>> = HashMap::new();
    for (p, (account_kind, owner_id)) in loaded {
        by_tx
            .entry(p.transaction_id.clone())
            .or_default()
            .push(Posting {
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
            });
    }
    rows.into_iter()
        .map(|row| {
            Ok(Transaction {
                kind: row.kind.parse()?,
                postings: by_tx.remove(&row.id).unwrap_or_default(),
                reversed_by: reversals.get(&row.id).cloned(),
                id: row.id,
                actor_id: row.actor_id,
                reason: row.reason,
                external_id: row.external_id,
                rule_version: row.rule_version,
                reverses_id: row.reverses_id,
                request_id: row.request_id,
                created_at: row.created_at.and_utc(),
            })
        })
        .collect()
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

pub fn reversal_of(
    conn: &mut DbConnection,
    original_id: &str,
) -> Result<Option<String>, LedgerError> {
    Ok(transactions::table
        .filter(transactions::reverses_id.eq(original_id))
        .select(transactions::id)
        .first(conn)
        .optional()?)
}

/// Postings in the ledger: the sum of every account's chain sequence number,
/// exact across processes and read from one row per account.
pub fn posting_count(conn: &mut DbConnection) -> Result<i64, LedgerError> {
    let seqs: Vec<i64> = accounts::table.select(accounts::last_seq).load(conn)?;
    Ok(seqs.iter().sum())
}

/// A posting on an account of an org subtree, with its transaction's kind
/// and reason: what reports and exports read of the ledger. Fields in the
/// order [`subtree_postings`] selects them.
#[derive(Debug, Clone, Queryable)]
pub struct SubtreePosting {
    pub transaction_id: String,
    pub tx_kind: String,
    pub reason: String,
    pub created_at: chrono::NaiveDateTime,
    pub account_kind: String,
    pub owner_id: String,
    pub org_path: String,
    pub asset: String,
    pub amount: i64,
}

/// The postings of the subtree at `path` created in `[from, to)`, oldest
/// first.
pub fn subtree_postings(
    conn: &mut DbConnection,
    path: &str,
    from: chrono::NaiveDateTime,
    to: chrono::NaiveDateTime,
) -> Result<Vec<SubtreePosting>, LedgerError> {
    Ok(postings::table
        .inner_join(accounts::table)
        .inner_join(transactions::table)
        .filter(accounts::org_path.like(format!("{path}%")))
        .filter(postings::created_at.ge(from))
        .filter(postings::created_at.lt(to))
        .order((postings::created_at.asc(), postings::id.asc()))
        .select((
            transactions::id,
            transactions::kind,
            transactions::reason,
            postings::created_at,
            accounts::kind,
            accounts::owner_id,
            accounts::org_path,
            postings::asset,
            postings::amount,
        ))
        .load(conn)?)
}

/// Every account of a kind, with its org path, in id order.
pub fn accounts_of_kind(
    conn: &mut DbConnection,
    kind: crate::AccountKind,
) -> Result<Vec<(String, String)>, LedgerError> {
    Ok(accounts::table
        .filter(accounts::kind.eq(kind.as_str()))
        .order(accounts::id.asc())
        .select((accounts::id, accounts::org_path))
        .load(conn)?)
}

/// An account's movements of one asset: (amount, when, transaction kind).
pub fn movements(
    conn: &mut DbConnection,
    account_id: &str,
    asset: crate::Asset,
) -> Result<Vec<(i64, chrono::NaiveDateTime, String)>, LedgerError> {
    Ok(postings::table
        .inner_join(transactions::table)
        .filter(postings::account_id.eq(account_id))
        .filter(postings::asset.eq(asset.as_str()))
        .select((postings::amount, postings::created_at, transactions::kind))
        .load(conn)?)
}

/// Every account's chain head: (account, last sequence number, head hash),
/// in account order.
pub fn chain_heads(conn: &mut DbConnection) -> Result<Vec<(String, i64, String)>, LedgerError> {
    Ok(accounts::table
        .order(accounts::id.asc())
        .select((accounts::id, accounts::last_seq, accounts::head_hash))
        .load(conn)?)
}

/// The hash of an account's posting at `seq`, if there is one.
pub fn posting_hash_at(
    conn: &mut DbConnection,
    account_id: &str,
    seq: i64,
) -> Result<Option<String>, LedgerError> {
    Ok(postings::table
        .filter(postings::account_id.eq(account_id))
        .filter(postings::seq.eq(seq))
        .select(postings::hash)
        .first(conn)
        .optional()?)
}
