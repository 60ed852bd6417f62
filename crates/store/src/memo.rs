//! What a process keeps in memory instead of reading on every use: who a
//! signed-in user is, orgs, sites, catalog items, policies and account ids.
//! An entry is believed while its data's [`Generation`] has not moved since
//! it was loaded: every write this process makes to the data moves it, and
//! so does [`crate::watch`] when another process (the CLI, another server on
//! the same database) changed it. Only a server
//! keeps entries ([`enable`]): it serves one database, so entries are keyed
//! by id alone.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use std::sync::atomic::{AtomicBool, Ordering};

use crate::generation::{Generation, touched_here};

/// Off unless the process serves one database (`timebank serve`): batch
/// jobs and tests may open several databases in one process, whose ids
/// need not differ.
static ENABLED: AtomicBool = AtomicBool::new(false);

/// Keeps entries from now on; called by a server, which serves one database.
pub fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
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
        if !ENABLED.load(Ordering::Relaxed) {
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
