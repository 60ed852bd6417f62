//! Pure time-bank rules, with no I/O: how hours and points are earned
//! (hourly rounding and caps, case rule tables), star levels from lifetime
//! service hours, expiry cut-offs and limits. Every rule takes its policy as
//! data so that a published, versioned policy — never a constant in code —
//! decides the numbers; the defaults here are the national defaults.
//!
//! This crate holds star levels today; the earning, expiry and limit rules
//! join it with the features that use them.

mod stars;

pub use stars::{StarPolicy, StarPolicyError, StarStatus};
