//! Storage for timebank: the diesel schema, one connection type over
//! PostgreSQL and SQLite picked at run time from `DATABASE_URL`, the pool,
//! embedded migrations, and the few places where the two backends' SQL
//! differs (write transactions and row locks).

mod connection;
mod error;
pub mod failpoint;
mod group;
mod migrate;
pub mod schema;
pub mod testing;
mod url;

pub use connection::{
    DbConnection, DbManager, Lockable, Pool, PooledConn, SQLITE_SETUP, lock_row,
    lock_rows_for_update, write_tx,
};
pub use error::{StoreError, is_unique_violation};
pub use group::{GroupConfig, GroupError, GroupWriter, MAX_GROUP};
pub use migrate::run_migrations;
pub use url::{Backend, DEFAULT_DATABASE_URL, DatabaseUrl};

/// Builds a pool for `url` (creating the SQLite file's directory) and runs
/// pending migrations once on one of its connections.
pub fn connect_and_migrate(url: &DatabaseUrl, max_size: u32) -> Result<Pool, StoreError> {
    let pool = connection::build_pool(url, max_size)?;
    let mut conn = pool.get()?;
    run_migrations(&mut conn)?;
    Ok(pool)
}

/// The domain's clock, truncated to microseconds (both backends store that
/// precision, so a value read back equals the value hashed when written).
/// It reads the real time unless this thread runs inside [`clock::at`].
pub fn now() -> chrono::NaiveDateTime {
    clock::now()
}

pub mod clock {
    //! The time every domain function reads. Production reads the real
    //! clock; the demo loads a year of history, and tests replay dates,
    //! by running the real code paths at the times they name.

    use std::cell::Cell;

    use chrono::NaiveDateTime;

    thread_local! {
        static SET: Cell<Option<NaiveDateTime>> = const { Cell::new(None) };
    }

    pub(crate) fn now() -> NaiveDateTime {
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
}

/// A new time-ordered id (UUID v7) in its TEXT form.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
