//! Earning (项目制积分 and 案例制积分): versioned earning and star policies
//! per organisation subtree, activities with review, sign-up, check-in
//! codes and attendance, settlement through the hourly rule, case-based
//! awards from a versioned rule table, star levels with their history, and
//! violations that reverse, penalise, suspend and bar.
//!
//! Every function that moves points runs inside the caller's write
//! transaction (see `timebank_store::write_tx`) and posts through
//! `timebank_ledger`, so the caller can commit it together with an
//! idempotency record.

pub mod activities;
pub mod cases;
pub mod policy;
pub mod settle;
pub mod stars;
pub mod violations;

use rust_decimal::Decimal;
use timebank_directory::DomainError;
use timebank_ledger::Amount;

/// Decimal hours or points from the rules → ledger hundredths, rounding down.
pub(crate) fn amount(value: Decimal) -> Result<Amount, DomainError> {
    Amount::from_decimal(timebank_rules::floor_cents(value))
        .map_err(|_| DomainError::refused("amount_too_large", "amount too large"))
}
