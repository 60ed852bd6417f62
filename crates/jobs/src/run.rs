use diesel::prelude::*;
use serde::Serialize;
use timebank_kernel::DomainError;
use timebank_store::DbConnection;
use timebank_store::schema::job_runs;

use crate::Summary;

#[derive(Debug, Clone, Serialize)]
pub struct JobRun {
    pub run_id: String,
    pub job: String,
    pub summary: Summary,
}

/// Records that a job started; a run with no `finished_at` was cut short.
pub fn start_run(conn: &mut DbConnection, job: &str, actor: &str) -> Result<String, DomainError> {
    let id = timebank_store::new_id();
    diesel::insert_into(job_runs::table)
        .values((
            job_runs::id.eq(&id),
            job_runs::job.eq(job),
            job_runs::actor_id.eq(actor),
            job_runs::started_at.eq(timebank_store::now()),
        ))
        .execute(conn)?;
    Ok(id)
}

pub fn finish_run(
    conn: &mut DbConnection,
    run_id: &str,
    job: &str,
    summary: Summary,
) -> Result<JobRun, DomainError> {
    let text = serde_json::to_string(&summary).unwrap_or_default();
    diesel::update(job_runs::table.find(run_id))
        .set((
            job_runs::finished_at.eq(timebank_store::now()),
            job_runs::summary.eq(text),
        ))
        .execute(conn)?;
    Ok(JobRun {
        run_id: run_id.to_owned(),
        job: job.to_owned(),
        summary,
    })
}
