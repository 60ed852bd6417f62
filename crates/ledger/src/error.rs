use serde_json::json;
use timebank_kernel::{Code, DomainError};

use crate::{Amount, Asset};

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("a transaction needs at least two postings")]
    TooFewPostings,
    #[error("postings of asset {0} do not sum to zero")]
    Unbalanced(Asset),
    #[error("a posting amount must not be zero")]
    ZeroPosting,
    #[error("reversals are made with reverse(), not posted directly")]
    ReversalNotPostable,
    #[error("account {0} does not exist")]
    UnknownAccount(String),
    #[error("transaction {0} does not exist")]
    TransactionNotFound(String),
    #[error("transaction {original} was already reversed by {reversal}")]
    AlreadyReversed { original: String, reversal: String },
    #[error("a reversal cannot itself be reversed")]
    CannotReverseReversal,
    #[error("account {account_id} has {available} {asset}, {required} needed")]
    InsufficientBalance {
        account_id: String,
        owner_id: String,
        account_kind: crate::AccountKind,
        asset: Asset,
        available: Amount,
        required: Amount,
    },
    #[error("amount overflow")]
    Overflow,
    #[error("stored ledger data is unreadable: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Store(#[from] timebank_store::StoreError),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

impl From<crate::kinds::UnknownKind> for LedgerError {
    fn from(e: crate::kinds::UnknownKind) -> Self {
        LedgerError::Corrupt(e.to_string())
    }
}

/// What a ledger refusal means to a caller: each has its stable code here,
/// once, whichever command ran into it.
impl From<LedgerError> for DomainError {
    fn from(err: LedgerError) -> Self {
        match err {
            LedgerError::TooFewPostings
            | LedgerError::Unbalanced(_)
            | LedgerError::ZeroPosting
            | LedgerError::ReversalNotPostable => {
                DomainError::refused(Code::InvalidTransaction, err.to_string())
            }
            LedgerError::UnknownAccount(_) => DomainError::NotFound("account"),
            LedgerError::TransactionNotFound(_) => DomainError::NotFound("transaction"),
            LedgerError::AlreadyReversed { original, reversal } => DomainError::refused(
                Code::AlreadyReversed,
                "this transaction was already reversed",
            )
            .with_details(json!({ "transaction_id": original, "reversal_id": reversal })),
            LedgerError::CannotReverseReversal => DomainError::refused(
                Code::CannotReverseReversal,
                "a reversal cannot itself be reversed",
            ),
            LedgerError::InsufficientBalance {
                owner_id,
                account_kind,
                asset,
                available,
                required,
                ..
            } => {
                let code = if crate::is_wallet_points(account_kind, asset) {
                    Code::InsufficientPoints
                } else if account_kind == crate::AccountKind::DistrictPool {
                    Code::InsufficientPool
                } else {
                    Code::InsufficientBalance
                };
                DomainError::refused(
                    code,
                    format!("not enough {asset}: {available} available, {required} needed"),
                )
                .with_details(json!({
                    "owner_id": owner_id,
                    "account_kind": account_kind,
                    "asset": asset,
                    "available": available,
                    "required": required,
                }))
            }
            LedgerError::Overflow => DomainError::refused(Code::AmountTooLarge, "amount too large"),
            LedgerError::Store(e) => e.into(),
            LedgerError::Db(e) => DomainError::Db(e),
            LedgerError::Corrupt(message) => {
                DomainError::Internal(format!("ledger data unreadable: {message}"))
            }
        }
    }
}
