use std::collections::HashMap;
use timebank_rules::states::ActivityStatus;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use timebank_earning::settle::settle_activity;
use timebank_kernel::LocalCalendar;
use timebank_kernel::{DomainError, anyone};
use timebank_policy as policy;
use timebank_services::requests as services;
use timebank_store::schema::{activities, attendances, orgs};
use timebank_store::{DbConnection, write_tx};

use crate::{Progress, Summary, failpoint};

/// Up to when activities are settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// Those that ended by this instant.
    At(NaiveDateTime),
    /// Those that ended by the end of this day, each in its own district's
    /// days (the earning policy's offset).
    EndOfLocalDay(NaiveDate),
}

/// The latest an offset's day can end: UTC−12:00.
const LATEST_OFFSET_MINUTES: i32 = -720;

/// Settles every published activity that ended by `until` and still has
/// unsettled attendance (optionally in one org subtree), one activity per
/// transaction, then every completed service request past its rating window.
pub fn settle(
    conn: &mut DbConnection,
    until: Until,
    org_path: Option<&str>,
    actor: &str,
    progress: &dyn Progress,
) -> Result<Summary, DomainError> {
    let due = due_activities(conn, until, org_path)?;
    let requests_until = requests_until(conn, until, org_path)?;
    let mut summary = Summary::default();
    let (mut settled, mut skipped) = (0u64, 0u64);
    progress.start("settle", due.len() as u64);
    for (id, cutoff) in &due {
        let report = write_tx(conn, |c| {
            settle_activity(c, id, actor, None, *cutoff, &anyone)
        })?;
        settled += report.settled.len() as u64;
        skipped += report.skipped.len() as u64;
        summary.units += 1;
        progress.advance(summary.units);
        failpoint("settle", summary.units);
    }
    let requests = services::settle_unrated(conn, requests_until, i64::MAX)?;
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

/// Finished, published activities with unsettled attendance, each with the
/// moment it is settled at: `--until` itself, or the end of that day in
/// the activity's own district.
fn due_activities(
    conn: &mut DbConnection,
    until: Until,
    org_path: Option<&str>,
) -> Result<Vec<(String, NaiveDateTime)>, DomainError> {
    let bound = match until {
        Until::At(at) => at,
        Until::EndOfLocalDay(day) => {
            LocalCalendar::from_offset_minutes(LATEST_OFFSET_MINUTES).day_end(day)
        }
    };
    let mut query = activities::table
        .inner_join(orgs::table)
        .filter(activities::status.eq(ActivityStatus::Published))
        .filter(activities::ends_at.le(bound))
        .filter(
            activities::id.eq_any(
                attendances::table
                    .filter(attendances::settled_at.is_null())
                    .filter(attendances::check_out_at.is_not_null())
                    .select(attendances::activity_id),
            ),
        )
        .select((activities::id, activities::ends_at, orgs::path))
        .order(activities::id.asc())
        .into_boxed();
    if let Some(path) = org_path {
        query = query.filter(orgs::path.like(format!("{path}%")));
    }
    let candidates: Vec<(String, NaiveDateTime, String)> = query.load(conn)?;
    let mut calendars: HashMap<String, LocalCalendar> = HashMap::new();
    let mut due: Vec<(String, NaiveDateTime)> = Vec::with_capacity(candidates.len());
    for (id, ends_at, path) in candidates {
        let cutoff = match until {
            Until::At(at) => at,
            Until::EndOfLocalDay(day) => {
                if !calendars.contains_key(&path) {
                    calendars.insert(path.clone(), policy::calendar(conn, &path)?);
                }
                calendars[&path].day_end(day) - chrono::Duration::microseconds(1)
            }
        };
        if ends_at <= cutoff {
            due.push((id, cutoff));
        }
    }
    Ok(due)
}

/// Requests' rating windows close by the subtree's (or the root's) day.
fn requests_until(
    conn: &mut DbConnection,
    until: Until,
    org_path: Option<&str>,
) -> Result<NaiveDateTime, DomainError> {
    Ok(match until {
        Until::At(at) => at,
        Until::EndOfLocalDay(day) => {
            let path = match org_path {
                Some(p) => p.to_owned(),
                None => timebank_directory::root_org(conn)?
                    .map(|o| o.path)
                    .unwrap_or_default(),
            };
            policy::calendar(conn, &path)?.day_end(day) - chrono::Duration::microseconds(1)
        }
    })
}
