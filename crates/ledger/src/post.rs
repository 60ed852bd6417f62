//! The one place that writes ledger rows.

use std::collections::{BTreeSet, HashMap};

use diesel::prelude::*;
use timebank_store::fixed::{Fixed, Param};
use timebank_store::schema::{accounts, balances, postings, transactions};
use timebank_store::{DbConnection, is_unique_violation, lock_rows_for_update, write_tx};

use crate::hash::{PostingFields, posting_hash, transaction_digest};
use crate::read::reversal_of;
use crate::rows::{AccountRow, BalanceRow, PostingRow, TransactionRow};
use crate::{
    AccountKind, Amount, Asset, LedgerError, NewPosting, NewTransaction, Posted, Transaction,
    TxKind, kinds::earned_delta, read,
};

/// Checks the shape of a transaction before any database work.
pub fn validate(new: &NewTransaction) -> Result<(), LedgerError> {
    if new.kind == TxKind::Reversal {
        return Err(LedgerError::ReversalNotPostable);
    }
    check_postings(&new.postings)
}

fn check_postings(list: &[NewPosting]) -> Result<(), LedgerError> {
    if list.len() < 2 {
        return Err(LedgerError::TooFewPostings);
    }
    for asset in Asset::ALL {
        let mut sum = Amount::ZERO;
        for p in list.iter().filter(|p| p.asset == *asset) {
            if p.amount == Amount::ZERO {
                return Err(LedgerError::ZeroPosting);
            }
            sum = sum.checked_add(p.amount).ok_or(LedgerError::Overflow)?;
        }
        if sum != Amount::ZERO {
            return Err(LedgerError::Unbalanced(*asset));
        }
    }
    Ok(())
}

/// Posts `new` in its own write transaction.
pub fn post(conn: &mut DbConnection, new: &NewTransaction) -> Result<Posted, LedgerError> {
    validate(new)?;
    match write_tx(conn, |c| post_in(c, new)) {
        Ok(posted) => Ok(posted),
        // A concurrent writer committed the same external_id between our
        // check and our insert: answer with theirs, never a duplicate.
        Err(LedgerError::Db(e)) if is_unique_violation(&e) && new.external_id.is_some() => {
            let ext = new.external_id.as_deref().unwrap_or_default();
            let id = find_by_external_id(conn, ext)?.ok_or(LedgerError::Db(e))?;
            Ok(Posted {
                transaction: read::transaction(conn, &id)?,
                created: false,
            })
        }
        Err(e) => Err(e),
    }
}

/// Posts `new` inside a write transaction the caller already holds (see
/// [`timebank_store::write_tx`]), so it can commit together with other rows.
pub fn post_in(conn: &mut DbConnection, new: &NewTransaction) -> Result<Posted, LedgerError> {
    validate(new)?;
    if let Some(ext) = new.external_id.as_deref()
        && let Some(id) = find_by_external_id(conn, ext)?
    {
        return Ok(Posted {
            transaction: read::transaction(conn, &id)?,
            created: false,
        });
    }
    let transaction = apply(conn, Header::of(new), &new.postings)?;
    Ok(Posted {
        transaction,
        created: true,
    })
}

/// [`post_in`] for a transaction whose external id is new by construction
/// (it names a row this same write transaction creates): no earlier one is
/// looked for, and the unique index still refuses a duplicate.
pub fn post_fresh_in(conn: &mut DbConnection, new: &NewTransaction) -> Result<Posted, LedgerError> {
    validate(new)?;
    Ok(Posted {
        transaction: apply(conn, Header::of(new), &new.postings)?,
        created: true,
    })
}

/// [`post_fresh_in`] for several transactions, posted in order as one
/// batch (see [`post_many_in`]): every account locked, read and written
/// once. Any refusal refuses them all.
pub fn post_many_fresh_in(
    conn: &mut DbConnection,
    batch: &[NewTransaction],
) -> Result<Vec<Transaction>, LedgerError> {
    for new in batch {
        validate(new)?;
    }
    let headers = batch
        .iter()
        .map(|new| (Header::of(new), new.postings.as_slice()))
        .collect();
    apply_many(conn, headers)
}

/// Reverses `original_id` with a new transaction that negates every posting.
pub fn reverse(
    conn: &mut DbConnection,
    original_id: &str,
    actor_id: Option<&str>,
    reason: &str,
    request_id: Option<&str>,
) -> Result<Transaction, LedgerError> {
    let result = write_tx(conn, |c| {
        reverse_in(c, original_id, actor_id, reason, request_id)
    });
    match result {
        Ok(tx) => Ok(tx),
        Err(LedgerError::Db(e)) if is_unique_violation(&e) => {
            match reversal_of(conn, original_id)? {
                Some(reversal) => Err(LedgerError::AlreadyReversed {
                    original: original_id.to_owned(),
                    reversal,
                }),
                None => Err(LedgerError::Db(e)),
            }
        }
        Err(e) => Err(e),
    }
}

/// [`reverse`] inside a write transaction the caller holds.
pub fn reverse_in(
    conn: &mut DbConnection,
    original_id: &str,
    actor_id: Option<&str>,
    reason: &str,
    request_id: Option<&str>,
) -> Result<Transaction, LedgerError> {
    let original: TransactionRow = transactions::table
        .find(original_id)
        .select(TransactionRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| LedgerError::TransactionNotFound(original_id.to_owned()))?;
    let original_kind: TxKind = original.kind.parse()?;
    if original_kind == TxKind::Reversal {
        return Err(LedgerError::CannotReverseReversal);
    }
    let rows: Vec<PostingRow> = postings::table
        .filter(postings::transaction_id.eq(original_id))
        .order(postings::id.asc())
        .select(PostingRow::as_select())
        .load(conn)?;
    let account_ids: Vec<String> = rows.iter().map(|p| p.account_id.clone()).collect();
    // Lock first, then look for an earlier reversal: a concurrent reversal of
    // the same original has committed (and is visible) once we hold the lock.
    lock_rows_for_update(conn, &account_ids)?;
    if let Some(reversal) = reversal_of(conn, original_id)? {
        return Err(LedgerError::AlreadyReversed {
            original: original_id.to_owned(),
            reversal,
        });
    }
    let negated = rows
        .iter()
        .map(|p| {
            Ok(NewPosting {
                account_id: p.account_id.clone(),
                asset: p.asset.parse()?,
                amount: Amount::from_units(p.amount)
                    .checked_neg()
                    .ok_or(LedgerError::Overflow)?,
            })
        })
        .collect::<Result<Vec<_>, LedgerError>>()?;
    check_postings(&negated)?;
    let header = Header {
        kind: TxKind::Reversal,
        actor_id: actor_id.map(str::to_owned),
        reason: reason.to_owned(),
        external_id: None,
        rule_version: original.rule_version.clone(),
        reverses: Some((original.id.clone(), original_kind)),
        request_id: request_id.map(str::to_owned),
    };
    apply(conn, header, &negated)
}

pub fn find_by_external_id(
    conn: &mut DbConnection,
    external_id: &str,
) -> Result<Option<String>, LedgerError> {
    Ok(transactions::table
        .filter(transactions::external_id.eq(external_id))
        .select(transactions::id)
        .first(conn)
        .optional()?)
}

struct Header {
    kind: TxKind,
    actor_id: Option<String>,
    reason: String,
    external_id: Option<String>,
    rule_version: Option<String>,
    reverses: Option<(String, TxKind)>,
    request_id: Option<String>,
}

impl Header {
    /// The header of a new transaction that reverses nothing.
    fn of(new: &NewTransaction) -> Self {
        Self {
            kind: new.kind,
            actor_id: new.actor_id.clone(),
            reason: new.reason.clone(),
            external_id: new.external_id.clone(),
            rule_version: new.rule_version.clone(),
            reverses: None,
            request_id: new.request_id.clone(),
        }
    }
}

/// Locks the accounts, checks balances, chains hashes and writes the
/// transaction, its postings and the new balances.
fn apply(
    conn: &mut DbConnection,
    header: Header,
    list: &[NewPosting],
) -> Result<Transaction, LedgerError> {
    let mut posted = apply_many(conn, vec![(header, list)])?;
    posted.pop().ok_or(LedgerError::TooFewPostings)
}

/// [`apply`] for several transactions in order: the accounts are locked and
/// read once, each transaction chains onto the one before it in memory, and
/// every touched balance and chain head is written once at the end. Any
/// refusal refuses the whole batch.
fn apply_many(
    conn: &mut DbConnection,
    items: Vec<(Header, &[NewPosting])>,
) -> Result<Vec<Transaction>, LedgerError> {
    let ids: Vec<String> = items
        .iter()
        .flat_map(|(_, list)| list.iter().map(|p| p.account_id.clone()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let (mut heads, mut sums) = lock_and_read(conn, &ids)?;
    if let Some(missing) = ids.iter().find(|id| !heads.contains_key(*id)) {
        return Err(LedgerError::UnknownAccount(missing.clone()));
    }
    let mut touched: BTreeSet<(String, String)> = BTreeSet::new();

    let created_at = timebank_store::now();
    let mut out = Vec::with_capacity(items.len());
    let mut tx_rows = Vec::with_capacity(items.len());
    let mut posting_rows = Vec::new();
    for (header, list) in items {
        let (reverses_id, original_kind) = match header.reverses {
            Some((id, kind)) => (Some(id), Some(kind)),
            None => (None, None),
        };
        let tx_row = TransactionRow {
            id: timebank_store::new_id(),
            kind: header.kind.as_str().to_owned(),
            actor_id: header.actor_id,
            reason: header.reason,
            external_id: header.external_id,
            rule_version: header.rule_version,
            reverses_id,
            request_id: header.request_id,
            created_at,
        };
        let digest = transaction_digest(&tx_row.fields());

        let mut views = Vec::with_capacity(list.len());
        for p in list {
            let key = (p.account_id.clone(), p.asset.as_str().to_owned());
            let head = heads
                .get_mut(&p.account_id)
                .ok_or_else(|| LedgerError::UnknownAccount(p.account_id.clone()))?;
            let sum = sums
                .get_mut(&key)
                .ok_or_else(|| LedgerError::Corrupt(format!("no balance row for {key:?}")))?;
            let after = sum
                .amount
                .checked_add(p.amount.units())
                .ok_or(LedgerError::Overflow)?;
            if after < 0 && !head.may_go_negative {
                return Err(LedgerError::InsufficientBalance {
                    account_id: head.id.clone(),
                    owner_id: head.owner_id.clone(),
                    account_kind: head.kind.parse()?,
                    asset: p.asset,
                    available: Amount::from_units(sum.amount),
                    required: Amount::from_units(-p.amount.units()),
                });
            }
            sum.amount = after;
            sum.earned += earned_delta(header.kind, original_kind, p.amount.units());
            touched.insert(key);
            let seq = head.last_seq + 1;
            let id = timebank_store::new_id();
            let hash = posting_hash(&PostingFields {
                id: &id,
                transaction_digest: &digest,
                account_id: &head.id,
                seq,
                asset: p.asset.as_str(),
                amount: p.amount.units(),
                balance_after: after,
                prev_hash: &head.head_hash,
                created_at,
            });
            let prev_hash = std::mem::replace(&mut head.head_hash, hash.clone());
            views.push(crate::Posting {
                id: id.clone(),
                account_id: head.id.clone(),
                account_kind: head.kind.parse()?,
                owner_id: head.owner_id.clone(),
                seq,
                asset: p.asset,
                amount: p.amount,
                balance_after: Amount::from_units(after),
                prev_hash: prev_hash.clone(),
                hash: hash.clone(),
            });
            posting_rows.push(PostingRow {
                id,
                transaction_id: tx_row.id.clone(),
                account_id: head.id.clone(),
                seq,
                asset: p.asset.as_str().to_owned(),
                amount: p.amount.units(),
                balance_after: after,
                prev_hash,
                hash,
                created_at,
            });
            head.last_seq = seq;
        }

        out.push(Transaction {
            kind: header.kind,
            id: tx_row.id.clone(),
            actor_id: tx_row.actor_id.clone(),
            reason: tx_row.reason.clone(),
            external_id: tx_row.external_id.clone(),
            rule_version: tx_row.rule_version.clone(),
            reverses_id: tx_row.reverses_id.clone(),
            reversed_by: None,
            request_id: tx_row.request_id.clone(),
            created_at: created_at.and_utc(),
            postings: views,
        });
        tx_rows.push(tx_row);
    }

    let balance_rows: Vec<BalanceRow> = touched.iter().filter_map(|key| sums.remove(key)).collect();
    let mut head_rows: Vec<AccountRow> = heads.into_values().collect();
    head_rows.sort_by(|a, b| a.id.cmp(&b.id));
    write_rows(conn, &tx_rows, &posting_rows, &balance_rows, &head_rows)?;
    Ok(out)
}

/// Accounts by id, and their balances by (account, asset).
type Heads = (
    HashMap<String, AccountRow>,
    HashMap<(String, String), BalanceRow>,
);

/// An account with one of its balances, as SQLite's lock-free read returns it.
#[derive(QueryableByName)]
struct AccountBalance {
    #[diesel(embed)]
    account: AccountRow,
    #[diesel(sql_type = diesel::sql_types::Text)]
    asset: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    amount: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    earned: i64,
}

const SQLITE_READ_HEADS: &str = "SELECT a.id, a.kind, a.owner_id, a.org_path, a.may_go_negative, \
     a.last_seq, a.head_hash, a.created_at, b.asset, b.amount, b.earned \
     FROM accounts AS a JOIN balances AS b ON b.account_id = a.id \
     WHERE a.id IN (SELECT value FROM json_each(?))";

/// Locks the accounts (Postgres: in id order, so that two writers never
/// wait on each other in a cycle; SQLite's `BEGIN IMMEDIATE` already made
/// this the only writer) and reads their chain heads and balances, in one
/// statement.
fn lock_and_read(conn: &mut DbConnection, ids: &[String]) -> Result<Heads, LedgerError> {
    let rows: Vec<(AccountRow, BalanceRow)> = match conn {
        DbConnection::Pg(pg) => accounts::table
            .inner_join(balances::table)
            .filter(accounts::id.eq_any(ids))
            .order((accounts::id.asc(), balances::asset.asc()))
            .select((AccountRow::as_select(), BalanceRow::as_select()))
            .for_update()
            .load(pg)?,
        DbConnection::Sqlite(_) => {
            Fixed::rows(SQLITE_READ_HEADS, serde_json::json!(ids).to_string())
                .load::<AccountBalance>(conn)?
                .into_iter()
                .map(|r| {
                    let balance = BalanceRow {
                        account_id: r.account.id.clone(),
                        asset: r.asset,
                        amount: r.amount,
                        earned: r.earned,
                        may_go_negative: r.account.may_go_negative,
                    };
                    (r.account, balance)
                })
                .collect()
        }
    };
    let mut heads = HashMap::with_capacity(ids.len());
    let mut sums = HashMap::with_capacity(rows.len());
    for (account, balance) in rows {
        sums.insert((balance.account_id.clone(), balance.asset.clone()), balance);
        heads.entry(account.id.clone()).or_insert(account);
    }
    Ok((heads, sums))
}

// SQLite: one statement per table, each taking its rows as one JSON array
// of arrays (timestamps in the text form diesel writes), so that the text
// never varies and stays prepared. Postgres reads the same JSON rows.
const SQLITE_INSERT_TRANSACTIONS: &str = "INSERT INTO transactions (id, kind, actor_id, reason, \
     external_id, rule_version, reverses_id, request_id, created_at) \
     SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, \
     value ->> 6, value ->> 7, value ->> 8 FROM json_each(?)";

const SQLITE_INSERT_POSTINGS: &str = "INSERT INTO postings (id, transaction_id, account_id, seq, \
     asset, amount, balance_after, prev_hash, hash, created_at) \
     SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, \
     value ->> 6, value ->> 7, value ->> 8, value ->> 9 FROM json_each(?)";

const SQLITE_UPDATE_BALANCES: &str = "UPDATE balances SET amount = j.amount, earned = j.earned \
     FROM (SELECT value ->> 0 AS account_id, value ->> 1 AS asset, value ->> 2 AS amount, \
     value ->> 3 AS earned FROM json_each(?)) AS j \
     WHERE balances.account_id = j.account_id AND balances.asset = j.asset";

const SQLITE_UPDATE_HEADS: &str = "UPDATE accounts SET last_seq = j.last_seq, head_hash = j.head_hash \
     FROM (SELECT value ->> 0 AS id, value ->> 1 AS last_seq, value ->> 2 AS head_hash \
     FROM json_each(?)) AS j WHERE accounts.id = j.id";

// Postgres: the whole batch in one statement, one round trip. Rows to
// insert come as JSON; rows to update, joined by key, as arrays, which the
// planner takes for the few rows they are (a JSON array it plans as 100
// rows, and joins them by scanning the whole table).
const PG_WRITE: &str = "WITH t AS (INSERT INTO transactions (id, kind, actor_id, reason, \
     external_id, rule_version, reverses_id, request_id, created_at) \
     SELECT j ->> 0, j ->> 1, j ->> 2, j ->> 3, j ->> 4, j ->> 5, j ->> 6, j ->> 7, \
     (j ->> 8)::timestamp FROM json_array_elements(?::json) AS j), \
     p AS (INSERT INTO postings (id, transaction_id, account_id, seq, asset, amount, \
     balance_after, prev_hash, hash, created_at) \
     SELECT j ->> 0, j ->> 1, j ->> 2, (j ->> 3)::bigint, j ->> 4, (j ->> 5)::bigint, \
     (j ->> 6)::bigint, j ->> 7, j ->> 8, (j ->> 9)::timestamp \
     FROM json_array_elements(?::json) AS j), \
     b AS (UPDATE balances SET amount = j.amount, earned = j.earned \
     FROM unnest(?::text[], ?::text[], ?::bigint[], ?::bigint[]) AS j(account_id, asset, amount, earned) \
     WHERE balances.account_id = j.account_id AND balances.asset = j.asset RETURNING 1), \
     h AS (UPDATE accounts SET last_seq = j.last_seq, head_hash = j.head_hash \
     FROM unnest(?::text[], ?::bigint[], ?::text[]) AS j(id, last_seq, head_hash) \
     WHERE accounts.id = j.id RETURNING 1) \
     SELECT (SELECT count(*) FROM b) AS balances, (SELECT count(*) FROM h) AS heads";

#[derive(QueryableByName)]
struct Updated {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    balances: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    heads: i64,
}

/// Writes a batch's transactions and postings, and each touched balance
/// and chain head once: on SQLite one statement per table, on Postgres one
/// in all. Rows travel in one parameter per column or table, so a batch of
/// any size fits in a statement.
fn write_rows(
    conn: &mut DbConnection,
    tx_rows: &[TransactionRow],
    posting_rows: &[PostingRow],
    balance_rows: &[BalanceRow],
    head_rows: &[AccountRow],
) -> QueryResult<()> {
    use serde_json::json;
    use timebank_store::fixed::sqlite_timestamp as stamp;
    let transaction = |t: &TransactionRow| {
        json!([
            t.id,
            t.kind,
            t.actor_id,
            t.reason,
            t.external_id,
            t.rule_version,
            t.reverses_id,
            t.request_id,
            stamp(t.created_at)
        ])
    };
    let posting = |p: &PostingRow| {
        json!([
            p.id,
            p.transaction_id,
            p.account_id,
            p.seq,
            p.asset,
            p.amount,
            p.balance_after,
            p.prev_hash,
            p.hash,
            stamp(p.created_at)
        ])
    };
    // Every row was read under this transaction's lock, so each must change.
    if let DbConnection::Pg(_) = conn {
        let written = Fixed::new(
            PG_WRITE,
            vec![
                Param::Text(json_rows(tx_rows, transaction)),
                Param::Text(json_rows(posting_rows, posting)),
                Param::Texts(balance_rows.iter().map(|b| b.account_id.clone()).collect()),
                Param::Texts(balance_rows.iter().map(|b| b.asset.clone()).collect()),
                Param::BigInts(balance_rows.iter().map(|b| b.amount).collect()),
                Param::BigInts(balance_rows.iter().map(|b| b.earned).collect()),
                Param::Texts(head_rows.iter().map(|h| h.id.clone()).collect()),
                Param::BigInts(head_rows.iter().map(|h| h.last_seq).collect()),
                Param::Texts(head_rows.iter().map(|h| h.head_hash.clone()).collect()),
            ],
        )
        .load::<Updated>(conn)?;
        let (balances, heads) = written.first().map_or((0, 0), |u| (u.balances, u.heads));
        check_updated(usize::try_from(balances).unwrap_or(0), balance_rows.len())?;
        return check_updated(usize::try_from(heads).unwrap_or(0), head_rows.len());
    }
    Fixed::rows(SQLITE_INSERT_TRANSACTIONS, json_rows(tx_rows, transaction)).execute(conn)?;
    Fixed::rows(SQLITE_INSERT_POSTINGS, json_rows(posting_rows, posting)).execute(conn)?;
    let balances = json_rows(balance_rows, |b| {
        json!([b.account_id, b.asset, b.amount, b.earned])
    });
    let updated = Fixed::rows(SQLITE_UPDATE_BALANCES, balances).execute(conn)?;
    check_updated(updated, balance_rows.len())?;
    let heads = json_rows(head_rows, |h| json!([h.id, h.last_seq, h.head_hash]));
    let updated = Fixed::rows(SQLITE_UPDATE_HEADS, heads).execute(conn)?;
    check_updated(updated, head_rows.len())
}

fn json_rows<T>(rows: &[T], row: impl Fn(&T) -> serde_json::Value) -> String {
    serde_json::Value::Array(rows.iter().map(row).collect()).to_string()
}

fn check_updated(updated: usize, expected: usize) -> QueryResult<()> {
    if updated == expected {
        Ok(())
    } else {
        Err(diesel::result::Error::QueryBuilderError(
            format!("{updated} of {expected} ledger rows updated").into(),
        ))
    }
}

/// Posts several transactions inside the caller's write transaction, in
/// order, as [`post_in`] would one by one but touching each account's
/// balance and chain head once: the batch path for settlement. One that
/// was posted before (same `external_id`, also within the batch) is
/// returned with `created: false`. Any refusal refuses them all.
pub fn post_many_in(
    conn: &mut DbConnection,
    batch: &[NewTransaction],
) -> Result<Vec<Posted>, LedgerError> {
    for new in batch {
        validate(new)?;
    }
    let external: Vec<&str> = batch
        .iter()
        .filter_map(|n| n.external_id.as_deref())
        .collect();
    let mut earlier: HashMap<String, String> = if external.is_empty() {
        HashMap::new()
    } else {
        transactions::table
            .filter(transactions::external_id.eq_any(&external))
            .select((
                transactions::external_id.assume_not_null(),
                transactions::id,
            ))
            .load::<(String, String)>(conn)?
            .into_iter()
            .collect()
    };
    // Which of the batch are new: the first of each external id not posted before.
    let mut fresh = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, new) in batch.iter().enumerate() {
        let duplicate = new
            .external_id
            .as_deref()
            .is_some_and(|ext| earlier.contains_key(ext) || !seen.insert(ext));
        if !duplicate {
            fresh.push(i);
        }
    }
    let headers = fresh
        .iter()
        .map(|&i| {
            let new = &batch[i];
            (Header::of(new), new.postings.as_slice())
        })
        .collect();
    let mut created: HashMap<usize, Transaction> = fresh
        .iter()
        .copied()
        .zip(apply_many(conn, headers)?)
        .collect();
    for (i, tx) in &created {
        if let Some(ext) = batch[*i].external_id.as_ref() {
            earlier.entry(ext.clone()).or_insert_with(|| tx.id.clone());
        }
    }
    let mut out = Vec::with_capacity(batch.len());
    for (i, new) in batch.iter().enumerate() {
        match created.remove(&i) {
            Some(transaction) => out.push(Posted {
                transaction,
                created: true,
            }),
            None => {
                let ext = new.external_id.as_deref().unwrap_or_default();
                let id = earlier
                    .get(ext)
                    .ok_or_else(|| LedgerError::Corrupt(format!("no transaction for {ext}")))?;
                out.push(Posted {
                    transaction: read::transaction(conn, id)?,
                    created: false,
                });
            }
        }
    }
    Ok(out)
}

/// Whether a refusal concerns a volunteer's points (the common case a client
/// shows as "not enough points").
pub fn is_wallet_points(kind: AccountKind, asset: Asset) -> bool {
    kind == AccountKind::VolunteerWallet && asset == Asset::Point
}
