//! What a process keeps in memory instead of reading on every use: who a
//! signed-in user is, orgs, sites, catalog items, policies and account ids.
//! An entry is believed while its data's [`Generation`] has not moved since
//! it was loaded: every write this process makes to the data moves it, and
//! so does [`crate::watch`] when another process (the CLI, another server on
//! the same database) changed it, and only while the watcher has read the
//! counters within [`WATCH_LAPSE`]: should it stall, nothing is believed
//! rather than believed for ever. Only a server
//! keeps entries ([`enable`]): it serves one database, so entries are keyed
//! by id alone.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, RwLock};
use std::time::{Duration, Instant};

use crate::generation::{Generation, touched_here};

/// Off unless the process serves one database (`timebank serve`): batch
/// jobs and tests may open several databases in one process, whose ids
/// need not differ.
static ENABLED: AtomicBool = AtomicBool::new(false);

/// Keeps entries from now on; called by a server, which serves one database.
pub fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
}

/// How long after the watcher's last read of the counters entries are still
/// believed: the longest a change made elsewhere can go unseen.
pub const WATCH_LAPSE: Duration = Duration::from_secs(2);

static STARTED: LazyLock<Instant> = LazyLock::new(Instant::now);
/// When the watcher last read the counters, in ms since [`STARTED`] (0: never).
static WATCHED_AT_MS: AtomicU64 = AtomicU64::new(0);

fn ms_since_start() -> u64 {
    u64::try_from(STARTED.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Called by the watcher after each read of the counters that succeeded.
pub fn watched() {
    WATCHED_AT_MS.store(ms_since_start().max(1), Ordering::Release);
}

fn watch_is_recent() -> bool {
    recent(WATCHED_AT_MS.load(Ordering::Acquire), ms_since_start())
}

/// Whether a read of the counters at `at` (0: none yet) still holds at `now`.
fn recent(at: u64, now: u64) -> bool {
    at != 0 && now.saturating_sub(at) < WATCH_LAPSE.as_millis() as u64
}

/// Beyond this many keys a map starts again empty (one reload each).
const MOST: usize = 100_000;

struct Entry<V> {
    generation: u64,
    value: Arc<V>,
}

pub struct Memo<V> {
    generation: &'static Generation,
    entries: RwLock<HashMap<String, Entry<V>>>,
}

/// Taken before a load: the generation the loaded rows are at least as new as.
#[derive(Clone, Copy)]
pub struct Ticket(u64);

impl<V> Memo<V> {
    pub fn new(generation: &'static Generation) -> Self {
        Self {
            generation,
            entries: RwLock::new(HashMap::new()),
        }
    }

    pub fn get(&self, key: &str) -> Option<Arc<V>> {
        if !ENABLED.load(Ordering::Relaxed) || !watch_is_recent() {
            return None;
        }
        let entries = self.entries.read().ok()?;
        let e = entries.get(key)?;
        (e.generation == self.generation.current()).then(|| e.value.clone())
    }

    pub fn ticket(&self) -> Ticket {
        Ticket(self.generation.current())
    }

    pub fn put(&self, ticket: Ticket, key: String, value: Arc<V>) {
        // Rows read by a transaction that changed them are not committed.
        if !ENABLED.load(Ordering::Relaxed) || touched_here(self.generation) {
            return;
        }
        let Ok(mut entries) = self.entries.write() else {
            return;
        };
        if entries.len() >= MOST {
            entries.clear();
        }
        entries.insert(
            key,
            Entry {
                generation: ticket.0,
                value,
            },
        );
    }

    /// The value for `key`, loaded by `load` when there is none believable.
    pub fn get_or_load<E>(
        &self,
        key: &str,
        load: impl FnOnce() -> Result<V, E>,
    ) -> Result<Arc<V>, E> {
        if let Some(v) = self.get(key) {
            return Ok(v);
        }
        let ticket = self.ticket();
        let value = Arc::new(load()?);
        self.put(ticket, key.to_owned(), value.clone());
        Ok(value)
    }

    /// Like [`Memo::get_or_load`] for a lookup that may find nothing;
    /// nothing found is not kept.
    pub fn find_or_load<E>(
        &self,
        key: &str,
        load: impl FnOnce() -> Result<Option<V>, E>,
    ) -> Result<Option<Arc<V>>, E> {
        if let Some(v) = self.get(key) {
            return Ok(Some(v));
        }
        let ticket = self.ticket();
        let Some(value) = load()? else {
            return Ok(None);
        };
        let value = Arc::new(value);
        self.put(ticket, key.to_owned(), value.clone());
        Ok(Some(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static DATA: Generation = Generation::new();

    #[test]
    fn entries_are_believed_only_while_the_watcher_reads_the_counters() {
        enable();
        let memo: Memo<u32> = Memo::new(&DATA);
        memo.put(memo.ticket(), "k".into(), Arc::new(7));
        WATCHED_AT_MS.store(0, Ordering::Release);
        assert!(memo.get("k").is_none(), "never watched");
        watched();
        assert_eq!(memo.get("k").as_deref(), Some(&7));
        DATA.moved_elsewhere();
        assert!(memo.get("k").is_none(), "its data changed");
        memo.put(memo.ticket(), "k".into(), Arc::new(8));
        assert_eq!(memo.get("k").as_deref(), Some(&8));
    }

    #[test]
    fn a_read_of_the_counters_holds_for_the_lapse_only() {
        let lapse = WATCH_LAPSE.as_millis() as u64;
        assert!(!recent(0, 10), "no read yet");
        assert!(recent(5, 5));
        assert!(recent(5, 5 + lapse - 1));
        assert!(!recent(5, 5 + lapse), "the watcher stalled");
    }
}
