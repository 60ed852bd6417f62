//! Activities (活动): published by an org, reviewed by an admin, joined by
//! volunteers with a capacity, attended by check-in codes or as recorded by
//! the organiser.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use hmac::{Hmac, Mac};
use rust_decimal::Decimal;
use sha2::Sha256;
use timebank_directory::{Org, get_org, get_volunteer, path_ids};
use timebank_kernel::{Check, Code, DomainError};
use timebank_ledger::Amount;
use timebank_rules::states::{ActivityStatus, ActivityStep, SignupStatus, SignupStep};
use timebank_store::schema::{activities, activity_signups, attendances, orgs};
use timebank_store::{DbConnection, Lockable, lock_row, write_tx};

use crate::policy;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = activities)]
pub struct ActivityRow {
    pub id: String,
    pub org_id: String,
    pub title: String,
    pub category: String,
    pub description: String,
    pub location: Option<String>,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub capacity: i32,
    pub points_per_hour: Option<i64>,
    #[diesel(deserialize_as = String)]
    pub status: ActivityStatus,
    pub review_reason: Option<String>,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<NaiveDateTime>,
    pub signed_up: i32,
    pub code_secret: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub team_id: Option<String>,
    pub project_id: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = attendances)]
pub struct AttendanceRow {
    pub id: String,
    pub activity_id: String,
    pub volunteer_id: String,
    pub check_in_at: NaiveDateTime,
    pub check_out_at: Option<NaiveDateTime>,
    pub source: String,
    pub recorded_by: String,
    pub created_at: NaiveDateTime,
    pub settled_at: Option<NaiveDateTime>,
    pub outcome: Option<String>,
    pub transaction_id: Option<String>,
    pub credited_from: Option<NaiveDateTime>,
    pub credited_to: Option<NaiveDateTime>,
    pub credited_day: Option<String>,
    pub hours: Option<i64>,
    pub points: Option<i64>,
    pub rule_version: Option<String>,
}

pub struct NewActivity {
    pub org_id: String,
    pub title: String,
    pub category: String,
    pub description: String,
    pub location: Option<String>,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub capacity: i32,
    pub points_per_hour: Option<Amount>,
    /// The team that runs it, or the project it serves: checked by the caller.
    pub team_id: Option<String>,
    pub project_id: Option<String>,
}

/// Longest activity accepted: a week.
const MAX_DURATION_HOURS: i64 = 24 * 7;
/// Volunteers may check in this long before the start.
const EARLY_CHECK_IN_MINUTES: i64 = 30;
/// Check-out is accepted until this long after the end.
const LATE_CHECK_OUT_HOURS: i64 = 6;
/// A check-in code changes every five minutes; the previous one still works.
const CODE_STEP_SECONDS: i64 = 300;

pub fn create(
    conn: &mut DbConnection,
    new: NewActivity,
    actor: &str,
) -> Result<ActivityRow, DomainError> {
    let org = get_org(conn, &new.org_id)?;
    if new.ends_at <= new.starts_at {
        return Err(DomainError::refused(
            Code::InvalidWindow,
            "ends_at must be after starts_at",
        ));
    }
    if new.ends_at - new.starts_at > Duration::hours(MAX_DURATION_HOURS) {
        return Err(DomainError::refused(
            Code::InvalidWindow,
            "an activity lasts at most 7 days",
        ));
    }
    if let Some(pph) = new.points_per_hour {
        let earning = policy::earning(conn, &org.path)?;
        if !earning.policy.allows_points_per_hour(pph.to_decimal()) {
            return Err(DomainError::refused(
                Code::PointsPerHourOutOfRange,
                format!(
                    "points_per_hour must be between {} and {}",
                    earning.policy.min_points_per_hour, earning.policy.max_points_per_hour
                ),
            ));
        }
    }
    let now = timebank_store::now();
    let id = timebank_store::new_id();
    diesel::insert_into(activities::table)
        .values((
            activities::id.eq(&id),
            activities::org_id.eq(&org.id),
            activities::title.eq(&new.title),
            activities::category.eq(&new.category),
            activities::description.eq(&new.description),
            activities::location.eq(&new.location),
            activities::starts_at.eq(new.starts_at),
            activities::ends_at.eq(new.ends_at),
            activities::capacity.eq(new.capacity),
            activities::points_per_hour.eq(new.points_per_hour.map(Amount::units)),
            activities::status.eq(ActivityStatus::PendingReview),
            activities::signed_up.eq(0),
            activities::code_secret.eq(new_secret()?),
            activities::created_by.eq(actor),
            activities::created_at.eq(now),
            activities::team_id.eq(&new.team_id),
            activities::project_id.eq(&new.project_id),
        ))
        .execute(conn)?;
    get(conn, &id)
}

fn new_secret() -> Result<String, DomainError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|_| DomainError::Internal("no randomness available".into()))?;
    Ok(timebank_ledger::hash::hex(&bytes))
}

pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<ActivityRow>, DomainError> {
    Ok(activities::table
        .find(id)
        .select(ActivityRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn get(conn: &mut DbConnection, id: &str) -> Result<ActivityRow, DomainError> {
    find(conn, id)?.ok_or(DomainError::NotFound("activity"))
}

/// The activity with its organising org (for scope checks).
pub fn get_with_org(conn: &mut DbConnection, id: &str) -> Result<(ActivityRow, Org), DomainError> {
    let activity = get(conn, id)?;
    let org = get_org(conn, &activity.org_id)?;
    Ok((activity, org))
}

pub fn not_published(activity: &ActivityRow) -> DomainError {
    DomainError::invalid_state(
        "activity",
        activity.status.as_str(),
        ActivityStatus::Published.as_str(),
    )
}

/// pending_review → published or rejected, if `allowed` over the organiser.
pub fn review(
    conn: &mut DbConnection,
    id: &str,
    approve: bool,
    reason: Option<&str>,
    actor: &str,
    allowed: Check<'_, Org>,
) -> Result<ActivityRow, DomainError> {
    let (_, org) = get_with_org(conn, id)?;
    if !allowed(&org) {
        return Err(DomainError::forbidden());
    }
    let step = if approve {
        ActivityStep::Approve
    } else {
        ActivityStep::Reject
    };
    let changed = diesel::update(
        activities::table
            .find(id)
            .filter(activities::status.eq_any(step.from_states())),
    )
    .set((
        activities::status.eq(step.to()),
        activities::review_reason.eq(reason),
        activities::reviewed_by.eq(actor),
        activities::reviewed_at.eq(timebank_store::now()),
    ))
    .execute(conn)?;
    let activity = get(conn, id)?;
    if changed == 0 {
        return Err(DomainError::invalid_state(
            "activity",
            activity.status.as_str(),
            &step.wanted(),
        ));
    }
    Ok(activity)
}

pub struct ListFilter {
    pub status: ActivityStatus,
    /// Activities visible to this community: organised by it or an ancestor.
    pub community_path: Option<String>,
    /// Activities organised anywhere in this subtree.
    pub org_path: Option<String>,
    pub category: Option<String>,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
    /// Only activities that ended before this.
    pub ended_before: Option<NaiveDateTime>,
    /// Latest start first (the past); else soonest first.
    pub latest_first: bool,
    /// Keyset position: (starts_at, id) of the last item of the previous page.
    pub after: Option<(NaiveDateTime, String)>,
    pub limit: i64,
}

pub fn list(conn: &mut DbConnection, f: &ListFilter) -> Result<Vec<ActivityRow>, DomainError> {
    let mut query = activities::table
        .inner_join(orgs::table)
        .filter(activities::status.eq(f.status))
        .select(ActivityRow::as_select())
        .into_boxed();
    if let Some(path) = &f.community_path {
        let ids: Vec<String> = path_ids(path).into_iter().map(str::to_owned).collect();
        query = query.filter(activities::org_id.eq_any(ids));
    }
    if let Some(path) = &f.org_path {
        query = query.filter(orgs::path.like(format!("{path}%")));
    }
    if let Some(category) = &f.category {
        query = query.filter(activities::category.eq(category.clone()));
    }
    if let Some(from) = f.from {
        query = query.filter(activities::ends_at.ge(from));
    }
    if let Some(to) = f.to {
        query = query.filter(activities::starts_at.le(to));
    }
    if let Some(before) = f.ended_before {
        query = query.filter(activities::ends_at.lt(before));
    }
    query = match (&f.after, f.latest_first) {
        (None, _) => query,
        (Some((at, id)), false) => query.filter(
            activities::starts_at.gt(*at).or(activities::starts_at
                .eq(*at)
                .and(activities::id.gt(id.clone()))),
        ),
        (Some((at, id)), true) => query.filter(
            activities::starts_at.lt(*at).or(activities::starts_at
                .eq(*at)
                .and(activities::id.lt(id.clone()))),
        ),
    };
    query = if f.latest_first {
        query.order((activities::starts_at.desc(), activities::id.desc()))
    } else {
        query.order((activities::starts_at.asc(), activities::id.asc()))
    };
    Ok(query.limit(f.limit).load(conn)?)
}

/// Signs a volunteer up, within capacity. The activity row is locked so
/// two last seats are never both taken.
pub fn sign_up(
    conn: &mut DbConnection,
    activity_id: &str,
    volunteer_id: &str,
) -> Result<ActivityRow, DomainError> {
    write_tx(conn, |c| {
        lock_row(c, Lockable::Activity, activity_id)?;
        let activity = get(c, activity_id)?;
        let now = timebank_store::now();
        if activity.status != ActivityStatus::Published {
            return Err(not_published(&activity));
        }
        if now >= activity.starts_at {
            return Err(DomainError::refused(
                Code::ActivityStarted,
                "the activity has already started",
            ));
        }
        get_volunteer(c, volunteer_id)?.row.require_active(now)?;
        let existing: Option<(String, String)> = activity_signups::table
            .filter(activity_signups::activity_id.eq(activity_id))
            .filter(activity_signups::volunteer_id.eq(volunteer_id))
            .select((activity_signups::id, activity_signups::status))
            .first(c)
            .optional()?;
        if matches!(&existing, Some((_, status)) if status == SignupStatus::SignedUp.as_str()) {
            return Err(DomainError::refused(
                Code::AlreadySignedUp,
                "already signed up for this activity",
            ));
        }
        if activity.signed_up >= activity.capacity {
            return Err(
                DomainError::refused(Code::ActivityFull, "the activity is full")
                    .with_details(serde_json::json!({ "capacity": activity.capacity })),
            );
        }
        match existing {
            Some((id, _)) => {
                diesel::update(activity_signups::table.find(id))
                    .set((
                        activity_signups::status.eq(SignupStep::SignUpAgain.to()),
                        activity_signups::cancelled_at.eq(None::<NaiveDateTime>),
                    ))
                    .execute(c)?;
            }
            None => {
                diesel::insert_into(activity_signups::table)
                    .values((
                        activity_signups::id.eq(timebank_store::new_id()),
                        activity_signups::activity_id.eq(activity_id),
                        activity_signups::volunteer_id.eq(volunteer_id),
                        activity_signups::status.eq(SignupStatus::SignedUp),
                        activity_signups::created_at.eq(now),
                    ))
                    .execute(c)?;
            }
        }
        diesel::update(activities::table.find(activity_id))
            .set(activities::signed_up.eq(activities::signed_up + 1))
            .execute(c)?;
        get(c, activity_id)
    })
}

/// Cancels the volunteer's own sign-up before the start.
pub fn cancel_sign_up(
    conn: &mut DbConnection,
    activity_id: &str,
    volunteer_id: &str,
) -> Result<ActivityRow, DomainError> {
    write_tx(conn, |c| {
        lock_row(c, Lockable::Activity, activity_id)?;
        let activity = get(c, activity_id)?;
        if timebank_store::now() >= activity.starts_at {
            return Err(DomainError::refused(
                Code::ActivityStarted,
                "the activity has already started",
            ));
        }
        let changed = diesel::update(
            activity_signups::table
                .filter(activity_signups::activity_id.eq(activity_id))
                .filter(activity_signups::volunteer_id.eq(volunteer_id))
                .filter(activity_signups::status.eq_any(SignupStep::Cancel.from_states())),
        )
        .set((
            activity_signups::status.eq(SignupStep::Cancel.to()),
            activity_signups::cancelled_at.eq(timebank_store::now()),
        ))
        .execute(c)?;
        if changed == 0 {
            return Err(DomainError::refused(
                Code::NotSignedUp,
                "not signed up for this activity",
            ));
        }
        diesel::update(activities::table.find(activity_id))
            .set(activities::signed_up.eq(activities::signed_up - 1))
            .execute(c)?;
        get(c, activity_id)
    })
}

fn is_signed_up(
    conn: &mut DbConnection,
    activity_id: &str,
    volunteer_id: &str,
) -> Result<bool, DomainError> {
    Ok(activity_signups::table
        .filter(activity_signups::activity_id.eq(activity_id))
        .filter(activity_signups::volunteer_id.eq(volunteer_id))
        .filter(activity_signups::status.eq(SignupStatus::SignedUp))
        .select(activity_signups::id)
        .first::<String>(conn)
        .optional()?
        .is_some())
}

fn code_at(secret: &str, step: i64) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(&step.to_be_bytes());
    let bytes = mac.finalize().into_bytes();
    let number = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) % 1_000_000;
    format!("{number:06}")
}

/// The code to show volunteers now, and until when it is the current one.
pub fn current_code(activity: &ActivityRow, now: NaiveDateTime) -> (String, NaiveDateTime) {
    let step = now.and_utc().timestamp().div_euclid(CODE_STEP_SECONDS);
    let next = chrono::DateTime::from_timestamp((step + 1) * CODE_STEP_SECONDS, 0)
        .map(|d| d.naive_utc())
        .unwrap_or(now);
    (code_at(&activity.code_secret, step), next)
}

/// Compares in constant time, so timing does not reveal digits.
fn same(a: &str, b: &str) -> bool {
    subtle::ConstantTimeEq::ct_eq(a.as_bytes(), b.as_bytes()).into()
}

fn check_code(activity: &ActivityRow, code: &str, now: NaiveDateTime) -> Result<(), DomainError> {
    let step = now.and_utc().timestamp().div_euclid(CODE_STEP_SECONDS);
    let valid = [step, step - 1].iter().fold(false, |ok, s| {
        ok | same(&code_at(&activity.code_secret, *s), code)
    });
    if valid {
        Ok(())
    } else {
        Err(DomainError::refused(
            Code::WrongCode,
            "the check-in code is wrong or has expired",
        ))
    }
}

fn find_attendance(
    conn: &mut DbConnection,
    activity_id: &str,
    volunteer_id: &str,
) -> Result<Option<AttendanceRow>, DomainError> {
    Ok(attendances::table
        .filter(attendances::activity_id.eq(activity_id))
        .filter(attendances::volunteer_id.eq(volunteer_id))
        .select(AttendanceRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn get_attendance(conn: &mut DbConnection, id: &str) -> Result<AttendanceRow, DomainError> {
    attendances::table
        .find(id)
        .select(AttendanceRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(DomainError::NotFound("attendance"))
}

pub fn list_attendance(
    conn: &mut DbConnection,
    activity_id: &str,
) -> Result<Vec<AttendanceRow>, DomainError> {
    Ok(attendances::table
        .filter(attendances::activity_id.eq(activity_id))
        .order((attendances::check_in_at.asc(), attendances::id.asc()))
        .select(AttendanceRow::as_select())
        .load(conn)?)
}

/// A signed-up, active volunteer checks in with the current code.
pub fn check_in(
    conn: &mut DbConnection,
    activity_id: &str,
    volunteer_id: &str,
    code: &str,
) -> Result<AttendanceRow, DomainError> {
    write_tx(conn, |c| {
        lock_row(c, Lockable::Activity, activity_id)?;
        let activity = get(c, activity_id)?;
        let now = timebank_store::now();
        if activity.status != ActivityStatus::Published {
            return Err(not_published(&activity));
        }
        get_volunteer(c, volunteer_id)?.row.require_active(now)?;
        if !is_signed_up(c, activity_id, volunteer_id)? {
            return Err(DomainError::refused(
                Code::NotSignedUp,
                "sign up for the activity first",
            ));
        }
        if now < activity.starts_at - Duration::minutes(EARLY_CHECK_IN_MINUTES)
            || now > activity.ends_at
        {
            return Err(DomainError::refused(
                Code::OutsideCheckInWindow,
                "check-in opens 30 minutes before the start and closes at the end",
            ));
        }
        check_code(&activity, code, now)?;
        if find_attendance(c, activity_id, volunteer_id)?.is_some() {
            return Err(DomainError::refused(
                Code::AlreadyCheckedIn,
                "already checked in",
            ));
        }
        let id = insert_attendance(
            c,
            activity_id,
            volunteer_id,
            now,
            None,
            "code",
            volunteer_id,
        )?;
        get_attendance(c, &id)
    })
}

pub fn check_out(
    conn: &mut DbConnection,
    activity_id: &str,
    volunteer_id: &str,
    code: &str,
) -> Result<AttendanceRow, DomainError> {
    write_tx(conn, |c| {
        lock_row(c, Lockable::Activity, activity_id)?;
        let activity = get(c, activity_id)?;
        let now = timebank_store::now();
        get_volunteer(c, volunteer_id)?.row.require_active(now)?;
        let attendance = find_attendance(c, activity_id, volunteer_id)?
            .ok_or_else(|| DomainError::refused(Code::NotCheckedIn, "check in first"))?;
        if attendance.check_out_at.is_some() || attendance.settled_at.is_some() {
            return Err(DomainError::refused(
                Code::AlreadyCheckedOut,
                "already checked out",
            ));
        }
        if now > activity.ends_at + Duration::hours(LATE_CHECK_OUT_HOURS) {
            return Err(DomainError::refused(
                Code::OutsideCheckInWindow,
                "check-out closed; ask the organiser to record the attendance",
            ));
        }
        check_code(&activity, code, now)?;
        diesel::update(attendances::table.find(&attendance.id))
            .set(attendances::check_out_at.eq(now))
            .execute(c)?;
        get_attendance(c, &attendance.id)
    })
}

/// The organiser records (or corrects, until settled) a volunteer's times.
/// Returns the attendance and whether it was created.
pub fn record(
    conn: &mut DbConnection,
    activity_id: &str,
    volunteer_id: &str,
    check_in_at: NaiveDateTime,
    check_out_at: NaiveDateTime,
    actor: &str,
    allowed: Check<'_, Org>,
) -> Result<(AttendanceRow, bool), DomainError> {
    write_tx(conn, |c| {
        lock_row(c, Lockable::Activity, activity_id)?;
        let (activity, org) = get_with_org(c, activity_id)?;
        if !allowed(&org) {
            return Err(DomainError::forbidden());
        }
        if check_out_at <= check_in_at {
            return Err(DomainError::refused(
                Code::InvalidWindow,
                "check_out_at must be after check_in_at",
            ));
        }
        if activity.status != ActivityStatus::Published {
            return Err(not_published(&activity));
        }
        let now = timebank_store::now();
        get_volunteer(c, volunteer_id)?.row.require_active(now)?;
        match find_attendance(c, activity_id, volunteer_id)? {
            Some(existing) if existing.settled_at.is_some() => Err(DomainError::refused(
                Code::AttendanceSettled,
                "this attendance is already settled; reverse its transaction to correct it",
            )),
            Some(existing) => {
                diesel::update(attendances::table.find(&existing.id))
                    .set((
                        attendances::check_in_at.eq(check_in_at),
                        attendances::check_out_at.eq(check_out_at),
                        attendances::source.eq("organiser"),
                        attendances::recorded_by.eq(actor),
                    ))
                    .execute(c)?;
                Ok((get_attendance(c, &existing.id)?, false))
            }
            None => {
                let id = insert_attendance(
                    c,
                    activity_id,
                    volunteer_id,
                    check_in_at,
                    Some(check_out_at),
                    "organiser",
                    actor,
                )?;
                Ok((get_attendance(c, &id)?, true))
            }
        }
    })
}

fn insert_attendance(
    conn: &mut DbConnection,
    activity_id: &str,
    volunteer_id: &str,
    check_in_at: NaiveDateTime,
    check_out_at: Option<NaiveDateTime>,
    source: &str,
    recorded_by: &str,
) -> Result<String, DomainError> {
    let id = timebank_store::new_id();
    diesel::insert_into(attendances::table)
        .values((
            attendances::id.eq(&id),
            attendances::activity_id.eq(activity_id),
            attendances::volunteer_id.eq(volunteer_id),
            attendances::check_in_at.eq(check_in_at),
            attendances::check_out_at.eq(check_out_at),
            attendances::source.eq(source),
            attendances::recorded_by.eq(recorded_by),
            attendances::created_at.eq(timebank_store::now()),
        ))
        .execute(conn)?;
    Ok(id)
}

/// Points per hour for an activity: its own, else the policy's.
pub fn points_per_hour(activity: &ActivityRow, policy_default: Decimal) -> Decimal {
    activity
        .points_per_hour
        .map(|u| Amount::from_units(u).to_decimal())
        .unwrap_or(policy_default)
}

/// A team's latest activities (by start), for its page; the published
/// ones only for who does not run it.
pub fn latest_of_team(
    conn: &mut DbConnection,
    team_id: &str,
    published_only: bool,
    limit: i64,
) -> Result<Vec<ActivityRow>, DomainError> {
    let mut q = activities::table
        .filter(activities::team_id.eq(team_id))
        .select(ActivityRow::as_select())
        .into_boxed();
    if published_only {
        q = q.filter(activities::status.eq(ActivityStatus::Published));
    }
    Ok(
        q.order((activities::starts_at.desc(), activities::id.desc()))
            .limit(limit)
            .load(conn)?,
    )
}

/// A project's activities (by start), for its page.
pub fn latest_of_project(
    conn: &mut DbConnection,
    project_id: &str,
    published_only: bool,
    limit: i64,
) -> Result<Vec<ActivityRow>, DomainError> {
    let mut q = activities::table
        .filter(activities::project_id.eq(project_id))
        .select(ActivityRow::as_select())
        .into_boxed();
    if published_only {
        q = q.filter(activities::status.eq(ActivityStatus::Published));
    }
    Ok(
        q.order((activities::starts_at.desc(), activities::id.desc()))
            .limit(limit)
            .load(conn)?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_rotate_and_compare_in_constant_shape() {
        let secret = "a".repeat(64);
        let (a, b) = (code_at(&secret, 1), code_at(&secret, 2));
        assert_eq!(a.len(), 6);
        assert!(a.bytes().all(|c| c.is_ascii_digit()));
        assert_ne!(a, b);
        assert_eq!(a, code_at(&secret, 1));
        assert_ne!(code_at(&"b".repeat(64), 1), a);
        assert!(same("123456", "123456") && !same("123456", "123457") && !same("1", "12"));
    }
}
