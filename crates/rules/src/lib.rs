//! Pure time-bank rules, with no I/O: how hours and points are earned
//! (hourly rounding, coverage and caps; case rule tables), star levels from
//! lifetime service hours, and the limits around them. Every rule takes its
//! policy as data, so a published, versioned policy — never a constant in
//! code — decides the numbers; the `Default`s are the national defaults.
//!
//! The domain's state machines live here too (`states`): which step may
//! move which state, as a table.
//!
//! Decimal hours and points go in and out; the ledger stores them as
//! hundredths. Rounding here only ever rounds down, so a rule never creates
//! a point that was not earned.

mod case;
mod earning;
mod expiry;
mod interval;
mod spending;
mod stars;
pub mod states;

pub use case::{CaseRefusal, CaseRuleVersion, check_claim, check_limit, claim_year, in_force};
pub use earning::{
    EarningPolicy, HourlyInput, HourlyOutcome, HourlyResult, PolicyError, settle_hours,
};
pub use expiry::{ExpiryPolicy, expirable};
pub use interval::Interval;
pub use spending::{SpendingPolicy, quarter_of};
pub use stars::{StarPolicy, StarPolicyError, StarStatus};

use rust_decimal::Decimal;

/// Rounds down to hundredths (the ledger's unit).
pub fn floor_cents(value: Decimal) -> Decimal {
    (value * Decimal::ONE_HUNDRED).floor() / Decimal::ONE_HUNDRED
}
