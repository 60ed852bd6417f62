//! Generations of the data a server keeps in memory (who a user is, the
//! reference data orders read). A write that changes such data calls
//! [`Generation::touch`] after its statement; the generation moves then and
//! once more when the transaction ends. A cache entry is good while its
//! generation is current, so a reader that loaded the old rows between the
//! statement and the commit is not believed after the commit.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

pub struct Generation(AtomicU64);

/// Users, their grants and their volunteer and resident records.
pub static IDENTITIES: Generation = Generation::new();
/// Orgs, sites, catalog items and policies.
pub static REFERENCE: Generation = Generation::new();
/// Ledger accounts (which id an owner's account of a kind has).
pub static ACCOUNTS: Generation = Generation::new();

thread_local! {
    /// Generations touched by the transaction open on this thread.
    static PENDING: RefCell<Vec<&'static Generation>> = const { RefCell::new(Vec::new()) };
}

impl Generation {
    pub(crate) const fn new() -> Self {
        Self(AtomicU64::new(0))
    }

    pub fn current(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }

    /// Another process changed the data (seen by [`crate::watch`]): entries
    /// loaded before now are stale.
    pub fn moved_elsewhere(&self) {
        self.0.fetch_add(1, Ordering::AcqRel);
    }

    /// This write changed the data: entries loaded before now are stale,
    /// and so are those loaded before the transaction ends.
    pub fn touch(&'static self) {
        self.0.fetch_add(1, Ordering::AcqRel);
        PENDING.with(|p| {
            let mut p = p.borrow_mut();
            if !p.iter().any(|g| std::ptr::eq(*g, self)) {
                p.push(self);
            }
        });
    }
}

/// Whether this thread's open transaction has touched `generation`: what it
/// reads now is not committed yet, so it is not kept.
pub fn touched_here(generation: &'static Generation) -> bool {
    PENDING.with(|p| p.borrow().iter().any(|g| std::ptr::eq(*g, generation)))
}

/// Called when the outermost transaction on this thread committed or
/// rolled back, and when work on a connection outside any transaction is
/// done (its statements committed one by one).
pub fn transaction_ended() {
    PENDING.with(|p| {
        for g in p.borrow_mut().drain(..) {
            g.0.fetch_add(1, Ordering::AcqRel);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_touch_moves_the_generation_now_and_again_when_the_transaction_ends() {
        let before = IDENTITIES.current();
        IDENTITIES.touch();
        IDENTITIES.touch();
        let during = IDENTITIES.current();
        assert!(during > before);
        transaction_ended();
        assert!(IDENTITIES.current() > during);
        let after = IDENTITIES.current();
        transaction_ended();
        assert_eq!(
            IDENTITIES.current(),
            after,
            "nothing pending, nothing moves"
        );
    }
}
