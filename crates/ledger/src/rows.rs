//! Diesel rows of the ledger tables; never handed to the API layer.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use timebank_store::schema::{accounts, balances, postings, transactions};

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = accounts)]
pub struct AccountRow {
    pub id: String,
    pub kind: String,
    pub owner_id: String,
    pub org_path: String,
    pub may_go_negative: bool,
    pub last_seq: i64,
    pub head_hash: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = balances)]
pub struct BalanceRow {
    pub account_id: String,
    pub asset: String,
    pub amount: i64,
    pub earned: i64,
    pub may_go_negative: bool,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = transactions)]
pub struct TransactionRow {
    pub id: String,
    pub kind: String,
    pub actor_id: Option<String>,
    pub reason: String,
    pub external_id: Option<String>,
    pub rule_version: Option<String>,
    pub reverses_id: Option<String>,
    pub request_id: Option<String>,
    pub created_at: NaiveDateTime,
}

impl TransactionRow {
    pub fn fields(&self) -> crate::hash::TxFields<'_> {
        crate::hash::TxFields {
            id: &self.id,
            kind: &self.kind,
            actor_id: self.actor_id.as_deref(),
            reason: &self.reason,
            external_id: self.external_id.as_deref(),
            rule_version: self.rule_version.as_deref(),
            reverses_id: self.reverses_id.as_deref(),
            request_id: self.request_id.as_deref(),
            created_at: self.created_at,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = postings)]
pub struct PostingRow {
    pub id: String,
    pub transaction_id: String,
    pub account_id: String,
    pub seq: i64,
    pub asset: String,
    pub amount: i64,
    pub balance_after: i64,
    pub prev_hash: String,
    pub hash: String,
    pub created_at: NaiveDateTime,
}
