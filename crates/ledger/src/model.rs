//! What the ledger takes in and hands out: wire-ready domain types.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{AccountKind, Amount, Asset, TxKind};

#[derive(Debug, Clone)]
pub struct NewPosting {
    pub account_id: String,
    pub asset: Asset,
    pub amount: Amount,
}

/// A transaction to post. `external_id` makes posting idempotent: a second
/// post with the same one returns the first transaction.
#[derive(Debug, Clone)]
pub struct NewTransaction {
    pub kind: TxKind,
    pub actor_id: Option<String>,
    pub reason: String,
    pub external_id: Option<String>,
    pub rule_version: Option<String>,
    pub request_id: Option<String>,
    pub postings: Vec<NewPosting>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Posting {
    pub id: String,
    pub account_id: String,
    pub account_kind: AccountKind,
    pub owner_id: String,
    pub seq: i64,
    pub asset: Asset,
    pub amount: Amount,
    pub balance_after: Amount,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Transaction {
    pub id: String,
    pub kind: TxKind,
    pub actor_id: Option<String>,
    pub reason: String,
    pub external_id: Option<String>,
    pub rule_version: Option<String>,
    pub reverses_id: Option<String>,
    pub reversed_by: Option<String>,
    pub request_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub postings: Vec<Posting>,
}

/// The result of a post: the transaction, and whether this call created it
/// (false when an earlier post with the same `external_id` is returned).
#[derive(Debug, Clone)]
pub struct Posted {
    pub transaction: Transaction,
    pub created: bool,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct AccountBalances {
    pub points: Amount,
    pub lifetime_points: Amount,
    pub hours: Amount,
}

/// One line of an account statement.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Entry {
    pub transaction_id: String,
    pub kind: TxKind,
    pub asset: Asset,
    pub amount: Amount,
    pub balance_after: Amount,
    pub created_at: DateTime<Utc>,
    pub reason: String,
    #[serde(skip)]
    pub seq: i64,
}

#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub kind: AccountKind,
    pub owner_id: String,
    pub org_path: String,
}
