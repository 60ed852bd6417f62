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
