//! Process-wide ledger counters, read by the API's `/metrics`.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::Posted;

static TRANSACTIONS: AtomicU64 = AtomicU64::new(0);
static POSTINGS: AtomicU64 = AtomicU64::new(0);

/// Counts a committed post; a replayed one (`created == false`) adds nothing.
pub fn note_committed(posted: &Posted) {
    if posted.created {
        note_written(posted.transaction.postings.len());
    }
}

/// Counts one committed transaction with this many postings.
pub fn note_written(postings: usize) {
    note_written_many(1, postings);
}

/// Counts committed transactions and their postings.
pub fn note_written_many(transactions: usize, postings: usize) {
    TRANSACTIONS.fetch_add(transactions as u64, Ordering::Relaxed);
    POSTINGS.fetch_add(postings as u64, Ordering::Relaxed);
}

pub fn transactions_written() -> u64 {
    TRANSACTIONS.load(Ordering::Relaxed)
}

pub fn postings_written() -> u64 {
    POSTINGS.load(Ordering::Relaxed)
}
