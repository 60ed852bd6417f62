use chrono::NaiveDateTime;
use diesel::prelude::*;
use timebank_directory::DomainError;
use timebank_earning::{services, settle::settle_activity};
use timebank_store::schema::{activities, attendances, orgs};
use timebank_store::{DbConnection, write_tx};

use crate::{Progress, Summary, failpoint};

/// Settles every published activity that ended by `until` and still has
/// unsettled attendance (optionally in one org subtree), one activity per
/// transaction, then every completed service request past its rating window.
pub fn settle(
    conn: &mut DbConnection,
    until: NaiveDateTime,
    org_path: Option<&str>,
    actor: &str,
    progress: &dyn Progress,
) -> Result<Summary, DomainError> {
    let mut query = activities::table
        .inner_join(orgs::table)
        .filter(activities::status.eq("published"))
        .filter(activities::ends_at.le(until))
        .filter(
            activities::id.eq_any(
                attendances::table
                    .filter(attendances::settled_at.is_null())
                    .filter(attendances::check_out_at.is_not_null())
                    .select(attendances::activity_id),
            ),
        )
        .select(activities::id)
        .order(activities::id.asc())
        .into_boxed();
    if let Some(path) = org_path {
        query = query.filter(orgs::path.like(format!("{path}%")));
    }
    let due: Vec<String> = query.load(conn)?;
    let mut summary = Summary::default();
    let (mut settled, mut skipped) = (0u64, 0u64);
    progress.start("settle", due.len() as u64);
    for id in &due {
        let report = write_tx(conn, |c| settle_activity(c, id, actor, None, until))?;
        settled += report.settled.len() as u64;
        skipped += report.skipped.len() as u64;
        summary.units += 1;
        progress.advance(summary.units);
        failpoint("settle", summary.units);
    }
    let requests = services::settle_unrated(conn, until, i64::MAX)?;
    progress.finish();
    summary.changed = settled + requests.len() as u64;
    summary.skipped = skipped;
    summary
        .details
        .insert("activities".into(), due.len().into());
    summary
        .details
        .insert("attendances_settled".into(), settled.into());
    summary
        .details
        .insert("service_requests_settled".into(), requests.len().into());
    Ok(summary)
}
