//! The time every domain function reads. Production reads the real
//! clock; the demo loads a year of history, and tests replay dates,
//! by running the real code paths at the times they name.

use std::cell::Cell;

use chrono::NaiveDateTime;

thread_local! {
    static SET: Cell<Option<NaiveDateTime>> = const { Cell::new(None) };
}

/// The domain's clock, truncated to microseconds (both backends store that
/// precision, so a value read back equals the value hashed when written):
/// the real time unless this thread runs inside [`at`].
pub fn now() -> NaiveDateTime {
    SET.with(Cell::get).unwrap_or_else(real)
}

fn real() -> NaiveDateTime {
    let now = chrono::Utc::now().naive_utc();
    let micros = now.and_utc().timestamp_micros();
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|d| d.naive_utc())
        .unwrap_or(now)
}

/// Restores the clock this thread had when dropped, even on a panic.
struct Restore(Option<NaiveDateTime>);

impl Drop for Restore {
    fn drop(&mut self) {
        SET.with(|c| c.set(self.0));
    }
}

/// Runs `work` with the clock of this thread reading `time`.
pub fn at<T>(time: NaiveDateTime, work: impl FnOnce() -> T) -> T {
    let micros = time.and_utc().timestamp_micros();
    let time = chrono::DateTime::from_timestamp_micros(micros)
        .map(|d| d.naive_utc())
        .unwrap_or(time);
    let _restore = Restore(SET.with(|c| c.replace(Some(time))));
    work()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_time_is_read_until_the_work_returns() {
        let then = chrono::DateTime::from_timestamp(1_700_000_000, 123_456_789)
            .unwrap()
            .naive_utc();
        let seen = at(then, || {
            let inner = at(then + chrono::Duration::days(1), now);
            (now(), inner)
        });
        assert_eq!(seen.0.and_utc().timestamp_micros(), 1_700_000_000_123_456);
        assert_eq!(seen.1 - seen.0, chrono::Duration::days(1));
        assert!(now() > then + chrono::Duration::days(365));
        let caught = std::panic::catch_unwind(|| at(then, || panic!("inside")));
        assert!(caught.is_err());
        assert!(
            now() > then + chrono::Duration::days(365),
            "restored after a panic"
        );
    }
}
