//! SQLite WAL checkpoints on a thread of their own. By default the
//! connection whose commit grows the WAL past 1,000 pages copies those pages
//! back into the database file and syncs it before its commit returns: with
//! commit grouping that is the one writer, and every job waiting on it.
//! Here a separate connection checkpoints every few milliseconds (passive:
//! it never blocks a writer or a reader), and the writer keeps SQLite's own
//! checkpoint only as a backstop should this thread fall behind.

use std::sync::Weak;
use std::time::Duration;

use diesel::prelude::*;
use diesel::r2d2::ManageConnection;
use diesel::sql_types::Integer;

use crate::{DatabaseUrl, DbConnection, DbManager, StoreError};

/// How often the WAL is checkpointed.
const EVERY: Duration = Duration::from_millis(20);
/// The writer's own checkpoint threshold (pages) while this thread runs:
/// far above what one interval adds, so it only fires if this thread stalls.
pub(crate) const WRITER_BACKSTOP_PAGES: u32 = 20_000;

/// The result row of `PRAGMA wal_checkpoint`.
#[derive(Debug, QueryableByName)]
pub struct Checkpoint {
    /// 1 if the checkpoint could not run to the end (a reader or writer was
    /// busy); it is simply tried again next time.
    #[diesel(sql_type = Integer)]
    pub busy: i32,
    /// Frames in the WAL.
    #[diesel(sql_type = Integer)]
    pub log: i32,
    /// Frames of the WAL already copied into the database file.
    #[diesel(sql_type = Integer)]
    pub checkpointed: i32,
}

/// One passive checkpoint on `conn` (SQLite).
pub fn passive(conn: &mut DbConnection) -> QueryResult<Checkpoint> {
    diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)").get_result(conn)
}

/// Starts the checkpointing thread for the SQLite database at `url`; it
/// stops once `alive` can no longer be upgraded (its writer stopped).
pub(crate) fn start<T: Send + Sync + 'static>(
    url: &DatabaseUrl,
    alive: Weak<T>,
) -> Result<(), StoreError> {
    let manager = DbManager::new(url.clone());
    std::thread::Builder::new()
        .name("wal-checkpointer".into())
        .spawn(move || run(&manager, &alive))
        .map(|_| ())
        .map_err(|e| StoreError::Config(format!("cannot start the checkpointer: {e}")))
}

fn run<T>(manager: &DbManager, alive: &Weak<T>) {
    let mut conn: Option<DbConnection> = None;
    while alive.strong_count() > 0 {
        std::thread::sleep(EVERY);
        if conn.is_none() {
            conn = manager
                .connect()
                .map_err(|e| tracing::warn!(error = %e, "checkpointer cannot connect"))
                .ok();
        }
        let Some(c) = conn.as_mut() else { continue };
        if let Err(e) = passive(c) {
            tracing::warn!(error = %e, "WAL checkpoint");
            conn = None;
        }
    }
}
