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
