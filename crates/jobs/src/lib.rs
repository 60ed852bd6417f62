//! Batch jobs run from cron, the CLI or `POST /api/v1/jobs/{name}`.
//!
//! Each job works in small units (an activity, a wallet, a batch of
//! volunteers or orders), each committed in its own transaction and made
//! idempotent by a deterministic `external_id` or a state check, so the job
//! can be killed at any moment and run again: the end state is that of one
//! clean run. `TIMEBANK_FAILPOINT=<job>:<n>` aborts the process after `n`
//! committed units, which the tests use to prove it.

pub mod checkpoint;
mod expire;
mod run;
mod settle;
mod stars;
pub mod transfer;

use serde::Serialize;
use timebank_kernel::DomainError;

pub use checkpoint::{Checkpoint, last_checkpoint, verify_checkpoints, write_checkpoint};
pub use expire::expire_points;
pub use run::{JobRun, finish_run, start_run};
pub use settle::{Until, settle};
pub use stars::recompute_stars;

/// Reports progress: a terminal bar in the CLI, nothing over HTTP.
pub trait Progress {
    fn start(&self, job: &str, total: u64);
    fn advance(&self, done: u64);
    fn finish(&self);
}

pub struct Silent;

impl Progress for Silent {
    fn start(&self, _: &str, _: u64) {}
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}

/// What a job did, for the CLI's summary and the API's answer.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Summary {
    pub units: u64,
    pub changed: u64,
    pub skipped: u64,
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    pub details: serde_json::Map<String, serde_json::Value>,
}

/// Called after each committed unit: aborts the process when the hidden
/// failpoint says so, to simulate `kill -9` mid-run.
pub(crate) fn failpoint(job: &str, committed: u64) {
    timebank_store::failpoint::hit(job, committed);
}

/// Orders past their pickup window are cancelled with a refund and their
/// stock released, 100 at a time.
pub fn expire_orders(
    conn: &mut timebank_store::DbConnection,
    now: chrono::NaiveDateTime,
    progress: &dyn Progress,
) -> Result<Summary, DomainError> {
    let mut summary = Summary::default();
    progress.start("orders expire", 0);
    loop {
        let done = timebank_redemption::orders::expire_due(conn, now, 100)?;
        if done.is_empty() {
            break;
        }
        summary.units += done.len() as u64;
        summary.changed += done.len() as u64;
        progress.advance(summary.units);
        failpoint("orders-expire", summary.units);
    }
    progress.finish();
    Ok(summary)
}

/// The whole audit: ledger, stock, and every earlier checkpoint.
pub fn verify(
    conn: &mut timebank_store::DbConnection,
) -> Result<timebank_ledger::VerifyReport, DomainError> {
    let mut report = timebank_redemption::verify(conn)?;
    let problems = verify_checkpoints(conn)?;
    report.ok &= problems.is_empty();
    report.problems.extend(problems);
    Ok(report)
}

/// A job and its arguments.
pub enum Job {
    Settle {
        until: Until,
        org_id: Option<String>,
    },
    Expire {
        as_of: chrono::NaiveDate,
    },
    Stars,
    OrdersExpire,
}

impl Job {
    pub fn name(&self) -> &'static str {
        match self {
            Job::Settle { .. } => "settle",
            Job::Expire { .. } => "expire",
            Job::Stars => "stars",
            Job::OrdersExpire => "orders-expire",
        }
    }
}

/// Runs a job as `actor`, recording the run.
pub fn run(
    conn: &mut timebank_store::DbConnection,
    job: &Job,
    actor: &str,
    progress: &dyn Progress,
) -> Result<JobRun, DomainError> {
    let run_id = start_run(conn, job.name(), actor)?;
    let now = timebank_store::now();
    let summary: Summary = match job {
        Job::Settle { until, org_id } => {
            let path = match org_id {
                Some(org) => Some(transfer::find_org(conn, org)?.path),
                None => None,
            };
            settle(conn, *until, path.as_deref(), actor, progress)?
        }
        Job::Expire { as_of } => expire_points(conn, *as_of, actor, progress)?,
        Job::Stars => recompute_stars(conn, now, progress)?,
        Job::OrdersExpire => expire_orders(conn, now, progress)?,
    };
    finish_run(conn, &run_id, job.name(), summary)
}
