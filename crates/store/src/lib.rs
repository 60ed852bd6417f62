//! Storage for timebank: the diesel schema, one connection type over
//! PostgreSQL and SQLite picked at run time from `DATABASE_URL`, the pool,
//! embedded migrations, and the few places where the two backends' SQL
//! differs (write transactions and row locks).

/// Runs `$body` with `$c` bound to the backend's own connection: for the
/// statements diesel builds per backend only (multi-row `INSERT`).
#[macro_export]
macro_rules! on_backend {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::DbConnection::Pg($c) => $body,
            $crate::DbConnection::Sqlite($c) => $body,
        }
    };
}

/// Rows per multi-row statement: well under both backends' bind limits
/// (SQLite 32,766, Postgres 65,535) at up to thirty columns a row.
pub const ROWS_PER_STATEMENT: usize = 1_000;

pub mod checkpoint;
mod connection;
mod error;
pub mod failpoint;
pub mod fixed;
pub mod generation;
mod group;
pub mod idempotency;
pub mod memo;
mod migrate;
pub mod schema;
pub mod statements;
pub mod testing;
mod url;
pub mod watch;

pub use connection::{
    DbConnection, DbManager, Lockable, Pool, PooledConn, SQLITE_SETUP, checked_out,
    connection_broke, lock_row, lock_rows_for_update, lock_volunteers, write_tx,
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

pub use timebank_kernel::clock;

/// A new time-ordered id (UUID v7) in its TEXT form.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
