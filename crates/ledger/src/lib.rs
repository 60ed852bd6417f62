//! The timebank ledger: double-entry transactions in two assets (POINT and
//! HOUR), per-account SHA-256 hash chains, and the only code that writes
//! ledger rows. Every write locks its accounts in sorted order, checks that
//! no account that must stay non-negative goes below zero, and updates the
//! cached balances in the same database transaction as the postings.

mod accounts;
mod amount;
mod error;
pub mod hash;
mod kinds;
mod model;
mod post;
pub mod read;
mod rows;
mod transfer;
mod verify;

pub use accounts::{find_account, get_account, open_account};
pub use amount::{Amount, AmountError};
pub use error::LedgerError;
pub use kinds::{AccountKind, Asset, TxKind, UnknownKind, earned_delta};
pub use model::{
    Account, AccountBalances, Entry, NewPosting, NewTransaction, Posted, Posting, Transaction,
};
pub use post::{
    find_by_external_id, is_wallet_points, post, post_fresh_in, post_in, post_many_fresh_in,
    post_many_in, reverse, reverse_in, validate,
};
pub use read::reversal_of;
pub use transfer::Transfer;
pub use verify::{Problem, VerifyReport, verify, verify_subtree};
