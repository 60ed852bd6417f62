//! Changes made by other processes reach what this one keeps in memory.
//! Triggers move a counter in `memo_generations` with every change to the
//! rows memos are made of, whoever makes it; this thread reads the counters
//! a few times a second and moves the matching [`Generation`] when one of
//! them moved, so an entry loaded before that change is no longer believed.
//! Which account id an owner has never changes once the account exists, so
//! that memo needs no counter.

use std::collections::HashMap;
use std::time::Duration;

use diesel::prelude::*;
use diesel::r2d2::ManageConnection;
use diesel::sql_types::{BigInt, Text};

use crate::generation::{Generation, IDENTITIES, REFERENCE};
use crate::{DatabaseUrl, DbConnection, DbManager, StoreError};

/// How often the counters are read: the longest a change made elsewhere
/// takes to be seen here.
pub const EVERY: Duration = Duration::from_millis(250);

#[derive(QueryableByName)]
struct Counter {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = BigInt)]
    value: i64,
}

/// Each counter and the generation it moves.
const WATCHED: [(&str, &Generation); 2] = [("identities", &IDENTITIES), ("reference", &REFERENCE)];

fn read(conn: &mut DbConnection) -> QueryResult<HashMap<String, i64>> {
    Ok(
        diesel::sql_query("SELECT name, value FROM memo_generations")
            .load::<Counter>(conn)?
            .into_iter()
            .map(|c| (c.name, c.value))
            .collect(),
    )
}

/// What one read of the counters means for this process's memos.
#[derive(Default)]
pub struct Watcher {
    seen: Option<HashMap<String, i64>>,
}

impl Watcher {
    /// Reads the counters once and moves each generation whose counter moved
    /// since the last read. The first read after none, or after a failed
    /// one, moves them all: what changed before it cannot be known.
    pub fn poll(&mut self, conn: Option<&mut DbConnection>) -> bool {
        let now = match conn.map(read) {
            Some(Ok(now)) => now,
            failed => {
                if let Some(Err(e)) = failed {
                    tracing::warn!(error = %e, "reading memo generations");
                }
                self.seen = None;
                move_all();
                return false;
            }
        };
        match &self.seen {
            None => move_all(),
            Some(seen) => {
                for (name, g) in WATCHED {
                    if seen.get(name) != now.get(name) {
                        g.moved_elsewhere();
                    }
                }
            }
        }
        self.seen = Some(now);
        crate::memo::watched();
        true
    }
}

fn move_all() {
    for (_, g) in WATCHED {
        g.moved_elsewhere();
    }
}

/// Starts the thread that watches the database at `url` for as long as the
/// process runs (a server's).
pub fn start(url: &DatabaseUrl) -> Result<(), StoreError> {
    let manager = DbManager::new(url.clone());
    std::thread::Builder::new()
        .name("memo-watcher".into())
        .spawn(move || run(&manager))
        .map(|_| ())
        .map_err(|e| StoreError::Config(format!("cannot start the memo watcher: {e}")))
}

fn run(manager: &DbManager) {
    let mut conn: Option<DbConnection> = None;
    let mut watcher = Watcher::default();
    loop {
        if conn.is_none() {
            conn = manager
                .connect()
                .map_err(|e| tracing::warn!(error = %e, "memo watcher cannot connect"))
                .ok();
        }
        if !watcher.poll(conn.as_mut()) {
            conn = None;
        }
        std::thread::sleep(EVERY);
    }
}
