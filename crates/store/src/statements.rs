//! Every SQL statement this process sends, counted by the database driver
//! as it sends it (diesel's instrumentation: queries, `BEGIN`, `COMMIT`,
//! savepoints): what `/metrics` reports as `timebank_sql_statements_total`
//! and the benchmark divides by the requests of a load. With
//! `RUST_LOG=sql=trace` each is logged as it is sent.

use std::sync::atomic::{AtomicU64, Ordering};

use diesel::connection::{Instrumentation, InstrumentationEvent};

static SENT: AtomicU64 = AtomicU64::new(0);

pub fn sent() -> u64 {
    SENT.load(Ordering::Relaxed)
}

pub(crate) struct Counter;

impl Instrumentation for Counter {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if let InstrumentationEvent::StartQuery { query, .. } = event {
            SENT.fetch_add(1, Ordering::Relaxed);
            // `RUST_LOG=sql=trace` lists them: how a request's are profiled.
            tracing::trace!(target: "sql", "{query}");
        }
    }
}
