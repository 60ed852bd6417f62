//! Recomputes the ledger from its postings and reports every difference:
//! balances, lifetime totals, per-account sequences and hash chains, and
//! per-transaction sums and hashes.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use serde::Serialize;
use timebank_store::DbConnection;
use timebank_store::schema::{accounts, balances, postings, transactions};

use crate::hash::{GENESIS_HASH, PostingFields, posting_hash, transaction_digest};
use crate::rows::{AccountRow, BalanceRow, PostingRow, TransactionRow};
use crate::{Asset, LedgerError, TxKind, kinds::earned_delta};

const CHUNK: i64 = 500;
const MAX_PROBLEMS: usize = 1000;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Problem {
    pub code: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub posting_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct VerifyReport {
    pub ok: bool,
    pub accounts_checked: u64,
    pub postings_checked: u64,
    pub transactions_checked: u64,
    /// At most the first 1000 problems found.
    pub problems: Vec<Problem>,
}

#[derive(Default)]
struct Findings(Vec<Problem>);

impl Findings {
    fn add(
        &mut self,
        code: &'static str,
        message: String,
        account: Option<&str>,
        tx: Option<&str>,
        posting: Option<&str>,
    ) {
        if self.0.len() < MAX_PROBLEMS {
            self.0.push(Problem {
                code,
                message,
                account_id: account.map(str::to_owned),
                transaction_id: tx.map(str::to_owned),
                posting_id: posting.map(str::to_owned),
            });
        }
    }
}

pub fn verify(conn: &mut DbConnection) -> Result<VerifyReport, LedgerError> {
    verify_in(conn, None)
}

/// The same checks for the accounts of one org subtree (`path`) and the
/// transactions that touch them: the work grows with the subtree, not with
/// the whole ledger.
pub fn verify_subtree(conn: &mut DbConnection, path: &str) -> Result<VerifyReport, LedgerError> {
    verify_in(conn, Some(path))
}

fn verify_in(conn: &mut DbConnection, path: Option<&str>) -> Result<VerifyReport, LedgerError> {
    let mut findings = Findings::default();
    let original_kinds = reversal_original_kinds(conn)?;
    let mut touched = path.map(|_| HashSet::new());
    let (accounts_checked, postings_checked) =
        verify_accounts(conn, path, &original_kinds, &mut findings, touched.as_mut())?;
    let transactions_checked = match touched {
        None => verify_transactions(conn, &mut findings)?,
        Some(ids) => verify_transaction_ids(conn, ids.into_iter().collect(), &mut findings)?,
    };
    Ok(VerifyReport {
        ok: findings.0.is_empty(),
        accounts_checked,
        postings_checked,
        transactions_checked,
        problems: findings.0,
    })
}

/// Reversal id → kind of the transaction it reverses (reversals are few).
fn reversal_original_kinds(
    conn: &mut DbConnection,
) -> Result<HashMap<String, TxKind>, LedgerError> {
    let pairs: Vec<(String, Option<String>)> = transactions::table
        .filter(transactions::reverses_id.is_not_null())
        .select((transactions::id, transactions::reverses_id))
        .load(conn)?;
    let mut out = HashMap::with_capacity(pairs.len());
    for chunk in pairs.chunks(CHUNK as usize) {
        let originals: Vec<&str> = chunk.iter().filter_map(|(_, o)| o.as_deref()).collect();
        let kinds: HashMap<String, String> = transactions::table
            .filter(transactions::id.eq_any(&originals))
            .select((transactions::id, transactions::kind))
            .load::<(String, String)>(conn)?
            .into_iter()
            .collect();
        for (reversal, original) in chunk {
            if let Some(kind) = original.as_ref().and_then(|o| kinds.get(o))
                && let Ok(kind) = kind.parse()
            {
                out.insert(reversal.clone(), kind);
            }
        }
    }
    Ok(out)
}

/// Walks the accounts in (org path, id) order, the whole ledger or the
/// range of one subtree's paths; with `touched`, collects the transactions
/// of the postings it read.
fn verify_accounts(
    conn: &mut DbConnection,
    path: Option<&str>,
    original_kinds: &HashMap<String, TxKind>,
    findings: &mut Findings,
    mut touched: Option<&mut HashSet<String>>,
) -> Result<(u64, u64), LedgerError> {
    let (mut accounts_checked, mut postings_checked) = (0u64, 0u64);
    let (low, high) = match path {
        // Paths end with '/', and '0' is the byte after it.
        Some(p) => (p.to_owned(), format!("{}0", p.trim_end_matches('/'))),
        None => (String::new(), "\u{10FFFF}".to_owned()),
    };
    let mut after = (low.clone(), String::new());
    loop {
        let chunk: Vec<AccountRow> = accounts::table
            .filter(accounts::org_path.ge(&low))
            .filter(accounts::org_path.lt(&high))
            .filter(
                accounts::org_path.gt(&after.0).or(accounts::org_path
                    .eq(&after.0)
                    .and(accounts::id.gt(&after.1))),
            )
            .order((accounts::org_path.asc(), accounts::id.asc()))
            .limit(CHUNK)
            .select(AccountRow::as_select())
            .load(conn)?;
        let Some(last) = chunk.last() else { break };
        after = (last.org_path.clone(), last.id.clone());
        let ids: Vec<&str> = chunk.iter().map(|a| a.id.as_str()).collect();
        let stored: HashMap<(String, String), BalanceRow> = balances::table
            .filter(balances::account_id.eq_any(&ids))
            .select(BalanceRow::as_select())
            .load::<BalanceRow>(conn)?
            .into_iter()
            .map(|b| ((b.account_id.clone(), b.asset.clone()), b))
            .collect();
        let rows: Vec<(PostingRow, String)> = postings::table
            .inner_join(transactions::table)
            .filter(postings::account_id.eq_any(&ids))
            .order((postings::account_id.asc(), postings::seq.asc()))
            .select((PostingRow::as_select(), transactions::kind))
            .load(conn)?;
        if let Some(touched) = touched.as_deref_mut() {
            touched.extend(rows.iter().map(|(p, _)| p.transaction_id.clone()));
        }
        let mut by_account: HashMap<&str, Vec<&(PostingRow, String)>> = HashMap::new();
        for row in &rows {
            by_account
                .entry(row.0.account_id.as_str())
                .or_default()
                .push(row);
        }
        for account in &chunk {
            accounts_checked += 1;
            let list = by_account.remove(account.id.as_str()).unwrap_or_default();
            postings_checked += list.len() as u64;
            check_account(account, &list, &stored, original_kinds, findings);
        }
    }
    Ok((accounts_checked, postings_checked))
}

fn check_account(
    account: &AccountRow,
    list: &[&(PostingRow, String)],
    stored: &HashMap<(String, String), BalanceRow>,
    original_kinds: &HashMap<String, TxKind>,
    findings: &mut Findings,
) {
    let id = Some(account.id.as_str());
    let mut head = GENESIS_HASH.to_owned();
    let mut seq = 0i64;
    let mut sums: HashMap<&str, (i64, i64)> = HashMap::new();
    for (posting, kind) in list.iter().map(|r| (&r.0, &r.1)) {
        let pid = Some(posting.id.as_str());
        let tid = Some(posting.transaction_id.as_str());
        seq += 1;
        if posting.seq != seq {
            findings.add(
                "sequence_gap",
                format!("expected seq {seq}, found {}", posting.seq),
                id,
                tid,
                pid,
            );
            seq = posting.seq;
        }
        if posting.prev_hash != head {
            findings.add(
                "chain_broken",
                format!("posting {} does not follow the previous hash", posting.seq),
                id,
                tid,
                pid,
            );
        }
        head = posting.hash.clone();
        let entry = sums.entry(posting.asset.as_str()).or_default();
        entry.0 = entry.0.saturating_add(posting.amount);
        if posting.balance_after != entry.0 {
            findings.add(
                "balance_after_mismatch",
                format!(
                    "balance_after {} but postings sum to {}",
                    posting.balance_after, entry.0
                ),
                id,
                tid,
                pid,
            );
        }
        if entry.0 < 0 && !account.may_go_negative {
            findings.add(
                "negative_balance",
                format!("{} balance {} below zero", posting.asset, entry.0),
                id,
                tid,
                pid,
            );
        }
        match kind.parse::<TxKind>() {
            Ok(kind) => {
                let original = original_kinds.get(&posting.transaction_id).copied();
                entry.1 += earned_delta(kind, original, posting.amount);
            }
            Err(_) => findings.add(
                "unknown_kind",
                format!("transaction kind {kind:?}"),
                id,
                tid,
                pid,
            ),
        }
    }
    if account.last_seq != seq {
        findings.add(
            "head_mismatch",
            format!(
                "account says last seq {}, postings end at {seq}",
                account.last_seq
            ),
            id,
            None,
            None,
        );
    }
    if account.head_hash != head {
        findings.add(
            "head_mismatch",
            "account head hash differs from its last posting".to_owned(),
            id,
            None,
            None,
        );
    }
    for asset in Asset::ALL {
        let (sum, earned) = sums.get(asset.as_str()).copied().unwrap_or_default();
        match stored.get(&(account.id.clone(), asset.as_str().to_owned())) {
            None => findings.add(
                "balance_missing",
                format!("no {asset} balance row"),
                id,
                None,
                None,
            ),
            Some(b) => {
                if b.amount != sum {
                    findings.add(
                        "balance_mismatch",
                        format!("{asset} balance {} but postings sum to {sum}", b.amount),
                        id,
                        None,
                        None,
                    );
                }
                if b.earned != earned {
                    findings.add(
                        "earned_mismatch",
                        format!("{asset} lifetime {} but postings give {earned}", b.earned),
                        id,
                        None,
                        None,
                    );
                }
            }
        }
    }
}

fn verify_transactions(
    conn: &mut DbConnection,
    findings: &mut Findings,
) -> Result<u64, LedgerError> {
    let mut checked = 0u64;
    let mut after = String::new();
    loop {
        let chunk: Vec<TransactionRow> = transactions::table
            .filter(transactions::id.gt(&after))
            .order(transactions::id.asc())
            .limit(CHUNK)
            .select(TransactionRow::as_select())
            .load(conn)?;
        let Some(last) = chunk.last() else { break };
        after = last.id.clone();
        checked += check_chunk(conn, &chunk, findings)?;
    }
    Ok(checked)
}

fn verify_transaction_ids(
    conn: &mut DbConnection,
    mut ids: Vec<String>,
    findings: &mut Findings,
) -> Result<u64, LedgerError> {
    ids.sort();
    let mut checked = 0u64;
    for chunk_ids in ids.chunks(CHUNK as usize) {
        let chunk: Vec<TransactionRow> = transactions::table
            .filter(transactions::id.eq_any(chunk_ids))
            .order(transactions::id.asc())
            .select(TransactionRow::as_select())
            .load(conn)?;
        checked += check_chunk(conn, &chunk, findings)?;
    }
    Ok(checked)
}

fn check_chunk(
    conn: &mut DbConnection,
    chunk: &[TransactionRow],
    findings: &mut Findings,
) -> Result<u64, LedgerError> {
    let ids: Vec<&str> = chunk.iter().map(|t| t.id.as_str()).collect();
    let mut by_tx: HashMap<String, Vec<PostingRow>> = HashMap::new();
    for p in postings::table
        .filter(postings::transaction_id.eq_any(&ids))
        .select(PostingRow::as_select())
        .load::<PostingRow>(conn)?
    {
        by_tx.entry(p.transaction_id.clone()).or_default().push(p);
    }
    for tx in chunk {
        let list = by_tx.remove(&tx.id).unwrap_or_default();
        check_transaction(tx, &list, findings);
    }
    Ok(chunk.len() as u64)
}

fn check_transaction(tx: &TransactionRow, list: &[PostingRow], findings: &mut Findings) {
    let tid = Some(tx.id.as_str());
    if list.len() < 2 {
        findings.add(
            "too_few_postings",
            format!("{} postings", list.len()),
            None,
            tid,
            None,
        );
    }
    let mut sums: HashMap<&str, i64> = HashMap::new();
    let digest = transaction_digest(&tx.fields());
    for p in list {
        *sums.entry(p.asset.as_str()).or_default() += p.amount;
        let expected = posting_hash(&PostingFields {
            id: &p.id,
            transaction_digest: &digest,
            account_id: &p.account_id,
            seq: p.seq,
            asset: &p.asset,
            amount: p.amount,
            balance_after: p.balance_after,
            prev_hash: &p.prev_hash,
            created_at: p.created_at,
        });
        if expected != p.hash {
            findings.add(
                "hash_mismatch",
                "posting or transaction content differs from its hash".to_owned(),
                Some(&p.account_id),
                tid,
                Some(&p.id),
            );
        }
    }
    for (asset, sum) in sums {
        if sum != 0 {
            findings.add(
                "unbalanced_transaction",
                format!("{asset} postings sum to {sum}"),
                None,
                tid,
                None,
            );
        }
    }
}
