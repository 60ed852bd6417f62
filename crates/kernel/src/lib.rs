//! What every crate of timebank shares and nothing of its own depends on:
//! the domain's clock and the calendar of local days.

pub mod calendar;
pub mod clock;
pub mod wire;

pub use calendar::LocalCalendar;
