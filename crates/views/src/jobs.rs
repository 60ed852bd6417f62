//! Recent batch runs, finished or not (a run killed midway has no end).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use timebank_kernel::DomainError;
use timebank_store::DbConnection;
use timebank_store::schema::job_runs;

use crate::{After, Page, opt_utc, utc};

#[derive(Debug, Clone, Serialize)]
pub struct JobRun {
    pub id: String,
    pub job: String,
    pub actor_id: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    /// `finished`, or `unfinished`: still running, or cut short.
    pub status: &'static str,
    pub summary: Option<serde_json::Value>,
    #[serde(skip)]
    pub started: NaiveDateTime,
}

type Row = (
    String,
    String,
    String,
    NaiveDateTime,
    Option<NaiveDateTime>,
    Option<String>,
);

pub fn recent(
    conn: &mut DbConnection,
    after: Option<&After>,
    limit: i64,
) -> Result<Page<JobRun>, DomainError> {
    let mut q = job_runs::table
        .select((
            job_runs::id,
            job_runs::job,
            job_runs::actor_id,
            job_runs::started_at,
            job_runs::finished_at,
            job_runs::summary,
        ))
        .into_boxed();
    if let Some(a) = after {
        q = q.filter(
            job_runs::started_at.lt(a.at).or(job_runs::started_at
                .eq(a.at)
                .and(job_runs::id.lt(a.id.clone()))),
        );
    }
    let rows: Vec<Row> = q
        .order((job_runs::started_at.desc(), job_runs::id.desc()))
        .limit(limit + 1)
        .load(conn)?;
    let runs = rows
        .into_iter()
        .map(|(id, job, actor_id, started, finished, summary)| JobRun {
            id,
            job,
            actor_id,
            started_at: utc(&started),
            finished_at: opt_utc(finished),
            status: if finished.is_some() {
                "finished"
            } else {
                "unfinished"
            },
            summary: summary.and_then(|s| serde_json::from_str(&s).ok()),
            started,
        })
        .collect();
    Ok(Page::from_rows(runs, limit, |r: &JobRun| {
        After::new(r.started, &r.id)
    }))
}
