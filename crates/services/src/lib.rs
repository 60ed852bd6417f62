//! What residents ask of volunteers: service requests — dispatched,
//! accepted, completed, rated or disputed, settled by the hourly rule, with
//! the requester's points held in escrow when they pay — and micro-wishes
//! (微心愿) claimed by a volunteer or an organisation and confirmed by the
//! resident, which earns the volunteer the `micro_wish` case award.
//!
//! Every function that moves points runs inside the caller's write
//! transaction and posts through `timebank_ledger`.

pub mod honours;
pub mod lists;
mod organising;
pub mod projects;
pub mod requests;
pub mod teams;
pub mod units;
pub mod wishes;

pub use organising::{By, Tally, tally};
