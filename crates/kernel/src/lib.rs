//! What every crate of timebank shares and nothing of its own depends on:
//! the error codes and the domain's error, the domain's clock, the calendar
//! of local days and the wire format of times.

pub mod calendar;
pub mod clock;
pub mod code;
pub mod error;
pub mod wire;

pub use calendar::LocalCalendar;
pub use code::{Class, Code};
pub use error::DomainError;

/// An access decision a caller hands a command, taken on what the command
/// read under its row lock: one read, decided once.
pub type Check<'a, S> = &'a dyn Fn(&S) -> bool;

/// The check of the system's own steps (batch jobs, imports, the demo).
pub fn anyone<S>(_: &S) -> bool {
    true
}
