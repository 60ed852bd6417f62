//! Settling an activity: each attendance becomes at most one `earn_hours`
//! transaction (`external_id = attendance:<id>`), computed by the hourly
//! rule of the earning policy in force for the organising org.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use timebank_directory::{Org, Standing, Volunteer, get_org, get_volunteer};
use timebank_kernel::{Check, Code, DomainError};
use timebank_ledger::{AccountKind, Amount, Asset, Transfer, TxKind, open_account, post_many_in};
use timebank_rules::states::ActivityStatus;
use timebank_rules::{HourlyInput, Interval, settle_hours};
use timebank_store::schema::attendances;
use timebank_store::{DbConnection, Lockable, lock_row};

use crate::activities::{self, AttendanceRow};
use crate::{amount, credit_points_under, policy, stars};

/// An attendance that earns, waiting for the activity's batch to post.
struct Earned {
    attendance: AttendanceRow,
    volunteer: Volunteer,
    wallet_id: String,
    credit: Credit,
    to_pool: Amount,
}

/// What an attendance is marked with when it is settled.
struct Credit {
    day: String,
    hull: Option<(NaiveDateTime, NaiveDateTime)>,
    hours: Amount,
    points: Amount,
}

impl Credit {
    fn nothing(day: &str) -> Self {
        Credit {
            day: day.to_owned(),
            hull: None,
            hours: Amount::ZERO,
            points: Amount::ZERO,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Settled {
    pub attendance_id: String,
    pub volunteer_id: String,
    pub transaction_id: String,
    pub hours: Amount,
    pub points: Amount,
    /// Of `points`, what went to the public pool because of the balance cap.
    pub to_pool: Amount,
}

#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    pub attendance_id: String,
    pub volunteer_id: String,
    /// below_coverage, already_credited, day_cap_reached, below_increment,
    /// already_settled, no_check_out, volunteer_suspended, volunteer_not_active
    pub reason: &'static str,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct SettleReport {
    pub settled: Vec<Settled>,
    pub skipped: Vec<Skipped>,
}

/// What every attendance of one activity is settled under.
struct Batch<'a> {
    activity: activities::ActivityRow,
    earning: policy::Effective<timebank_rules::EarningPolicy>,
    issuer_id: String,
    window: Interval,
    points_per_hour: rust_decimal::Decimal,
    actor: &'a str,
    request_id: Option<&'a str>,
    now: NaiveDateTime,
    spending_by_path: HashMap<String, timebank_rules::SpendingPolicy>,
}

/// One attendance's fate: it earns (a transfer to post) or is skipped.
enum Assessed {
    Earns(Box<Earned>, timebank_ledger::NewTransaction),
    Skipped(&'static str),
}

/// Settles every attendance of a finished, published activity. Run inside
/// the caller's write transaction; safe to run again (it posts nothing new).
pub fn settle_activity(
    conn: &mut DbConnection,
    activity_id: &str,
    actor: &str,
    request_id: Option<&str>,
    now: NaiveDateTime,
    allowed: Check<'_, Org>,
) -> Result<SettleReport, DomainError> {
    let mut batch = open_batch(conn, activity_id, actor, request_id, now, allowed)?;
    let mut report = SettleReport::default();
    let mut transactions = Vec::new();
    let mut earned = Vec::new();
    for attendance in activities::list_attendance(conn, activity_id)? {
        let (attendance_id, volunteer_id) =
            (attendance.id.clone(), attendance.volunteer_id.clone());
        match assess(conn, &mut batch, attendance)? {
            Assessed::Earns(e, tx) => {
                earned.push(*e);
                transactions.push(tx);
            }
            Assessed::Skipped(reason) => report.skipped.push(Skipped {
                attendance_id,
                volunteer_id,
                reason,
            }),
        }
    }
    report.settled = post_earned(conn, &batch, earned, &transactions)?;
    Ok(report)
}

/// Locks the activity, lets `allowed` decide on its organiser, and checks
/// it may be settled now.
fn open_batch<'a>(
    conn: &mut DbConnection,
    activity_id: &str,
    actor: &'a str,
    request_id: Option<&'a str>,
    now: NaiveDateTime,
    allowed: Check<'_, Org>,
) -> Result<Batch<'a>, DomainError> {
    lock_row(conn, Lockable::Activity, activity_id)?;
    let activity = activities::get(conn, activity_id)?;
    let org = get_org(conn, &activity.org_id)?;
    if !allowed(&org) {
        return Err(DomainError::forbidden());
    }
    if activity.status != ActivityStatus::Published {
        return Err(activities::not_published(&activity));
    }
    if now < activity.ends_at {
        return Err(DomainError::refused(
            Code::ActivityNotFinished,
            "an activity is settled after it ends",
        ));
    }
    let earning = policy::earning(conn, &org.path)?;
    let issuer = open_account(conn, AccountKind::OrgIssuance, &org.id, &org.path)?;
    let window = Interval::new(activity.starts_at, activity.ends_at)
        .ok_or_else(|| DomainError::refused(Code::InvalidWindow, "the activity has no duration"))?;
    let points_per_hour = activities::points_per_hour(&activity, earning.policy.points_per_hour);
    Ok(Batch {
        activity,
        earning,
        issuer_id: issuer.id,
        window,
        points_per_hour,
        actor,
        request_id,
        now,
        spending_by_path: HashMap::new(),
    })
}

/// Runs the hourly rule for one attendance; a skip that is final (the rule
/// said no) is marked at once, one that may pass (a suspension) is not.
fn assess(
    conn: &mut DbConnection,
    batch: &mut Batch<'_>,
    attendance: AttendanceRow,
) -> Result<Assessed, DomainError> {
    if attendance.settled_at.is_some() {
        return Ok(Assessed::Skipped("already_settled"));
    }
    let Some(check_out) = attendance.check_out_at else {
        return Ok(Assessed::Skipped("no_check_out"));
    };
    lock_row(conn, Lockable::Volunteer, &attendance.volunteer_id)?;
    let volunteer = get_volunteer(conn, &attendance.volunteer_id)?;
    match volunteer.row.standing(batch.now) {
        Standing::Active => {}
        // Left unsettled: it can be settled once the suspension ends.
        Standing::Suspended { .. } => return Ok(Assessed::Skipped("volunteer_suspended")),
        Standing::Pending => return Ok(Assessed::Skipped("volunteer_not_active")),
    }
    let Some(attended) = Interval::new(attendance.check_in_at, check_out) else {
        return Ok(Assessed::Skipped("below_coverage"));
    };
    let policy = &batch.earning.policy;
    let day = policy
        .local_day(attended.start.max(batch.window.start))
        .to_string();
    let (credited, today) = earlier_credits(conn, &attendance, &day, &batch.window)?;
    let result = settle_hours(
        policy,
        &HourlyInput {
            window: batch.window,
            attended,
            already_credited: &credited,
            hours_already_today: today,
            points_per_hour: batch.points_per_hour,
        },
    );
    if let Some(reason) = result.outcome.skip_reason() {
        let nothing = Credit::nothing(&day);
        mark(conn, &attendance.id, batch, reason, None, &nothing)?;
        return Ok(Assessed::Skipped(reason));
    }
    let hours = amount(result.hours)?;
    let points = amount(result.points)?;
    let (tx, wallet_id, to_pool) =
        transfer_for(conn, batch, &attendance, &volunteer, hours, points)?;
    let credit = Credit {
        day,
        hull: result.credited_hull(),
        hours,
        points,
    };
    let earned = Earned {
        attendance,
        volunteer,
        wallet_id,
        credit,
        to_pool,
    };
    Ok(Assessed::Earns(Box::new(earned), tx))
}

/// Hours from the organiser to the wallet, and points split between the
/// wallet and the district pool by the volunteer's spending policy.
fn transfer_for(
    conn: &mut DbConnection,
    batch: &mut Batch<'_>,
    attendance: &AttendanceRow,
    volunteer: &Volunteer,
    hours: Amount,
    points: Amount,
) -> Result<(timebank_ledger::NewTransaction, String, Amount), DomainError> {
    let wallet = timebank_directory::wallet_of(conn, volunteer)?;
    let mut transfer = Transfer::new(TxKind::EarnHours, format!("活动：{}", batch.activity.title))
        .by(batch.actor)
        .once(format!("attendance:{}", attendance.id))
        .under(batch.earning.version.clone())
        .in_request(batch.request_id)
        .moving(Asset::Hour, hours, &batch.issuer_id, &wallet.id);
    let mut to_pool = Amount::ZERO;
    if points.is_positive() {
        let path = &volunteer.community_path;
        let spending = match batch.spending_by_path.get(path) {
            Some(p) => p.clone(),
            None => {
                let p = policy::spending(conn, path)?.policy;
                batch.spending_by_path.insert(path.clone(), p.clone());
                p
            }
        };
        let issuer = batch.issuer_id.clone();
        let (credited, pooled) = credit_points_under(
            conn, transfer, volunteer, &issuer, &wallet.id, points, &spending,
        )?;
        transfer = credited;
        to_pool = pooled;
    }
    Ok((transfer.into_new(), wallet.id, to_pool))
}

/// One batch for the whole activity: the issuer's balance and chain head
/// are written once, not once per volunteer. Then each attendance is marked
/// and its volunteer's stars refreshed.
fn post_earned(
    conn: &mut DbConnection,
    batch: &Batch<'_>,
    earned: Vec<Earned>,
    transactions: &[timebank_ledger::NewTransaction],
) -> Result<Vec<Settled>, DomainError> {
    let posted = post_many_in(conn, transactions)?;
    let mut stars_by_path = HashMap::new();
    let mut settled = Vec::new();
    for (e, posted) in earned.into_iter().zip(posted) {
        let tx = posted.transaction;
        mark(
            conn,
            &e.attendance.id,
            batch,
            "earned",
            Some(&tx.id),
            &e.credit,
        )?;
        let hours = tx
            .postings
            .iter()
            .find(|p| p.account_id == e.wallet_id && p.asset == Asset::Hour)
            .map(|p| p.balance_after);
        let path = &e.volunteer.community_path;
        let policy = match stars_by_path.get(path) {
            Some(p) => p,
            None => {
                let p = policy::stars(conn, path)?;
                stars_by_path.entry(path.clone()).or_insert(p)
            }
        };
        match hours {
            Some(hours) if posted.created => {
                stars::refresh_with(conn, &e.volunteer, hours, policy, Some(&tx.id), batch.now)?;
            }
            _ => {
                stars::refresh(conn, &e.volunteer, Some(&tx.id), batch.now)?;
            }
        }
        settled.push(Settled {
            attendance_id: e.attendance.id.clone(),
            volunteer_id: e.volunteer.row.user_id.clone(),
            transaction_id: tx.id,
            hours: e.credit.hours,
            points: e.credit.points,
            to_pool: e.to_pool,
        });
    }
    Ok(settled)
}

/// What the volunteer was already credited: time overlapping this activity
/// (which counts once) and hours on the same local day (for the daily cap).
fn earlier_credits(
    conn: &mut DbConnection,
    attendance: &AttendanceRow,
    day: &str,
    window: &Interval,
) -> Result<(Vec<Interval>, rust_decimal::Decimal), DomainError> {
    let overlapping: Vec<(Option<NaiveDateTime>, Option<NaiveDateTime>)> = attendances::table
        .filter(attendances::volunteer_id.eq(&attendance.volunteer_id))
        .filter(attendances::id.ne(&attendance.id))
        .filter(attendances::outcome.eq("earned"))
        .filter(attendances::credited_from.lt(window.end))
        .filter(attendances::credited_to.gt(window.start))
        .select((attendances::credited_from, attendances::credited_to))
        .load(conn)?;
    let intervals = overlapping
        .into_iter()
        .filter_map(|(a, b)| Interval::new(a?, b?))
        .collect();
    let today: Vec<Option<i64>> = attendances::table
        .filter(attendances::volunteer_id.eq(&attendance.volunteer_id))
        .filter(attendances::id.ne(&attendance.id))
        .filter(attendances::credited_day.eq(day))
        .select(attendances::hours)
        .load(conn)?;
    let units: i64 = today.into_iter().flatten().sum();
    Ok((intervals, Amount::from_units(units).to_decimal()))
}

fn mark(
    conn: &mut DbConnection,
    attendance_id: &str,
    batch: &Batch<'_>,
    outcome: &str,
    transaction_id: Option<&str>,
    credit: &Credit,
) -> Result<(), DomainError> {
    let changed = diesel::update(
        attendances::table
            .find(attendance_id)
            .filter(attendances::settled_at.is_null()),
    )
    .set((
        attendances::settled_at.eq(batch.now),
        attendances::outcome.eq(outcome),
        attendances::transaction_id.eq(transaction_id),
        attendances::credited_from.eq(credit.hull.map(|c| c.0)),
        attendances::credited_to.eq(credit.hull.map(|c| c.1)),
        attendances::credited_day.eq(&credit.day),
        attendances::hours.eq(credit.hours.units()),
        attendances::points.eq(credit.points.units()),
        attendances::rule_version.eq(&batch.earning.version),
    ))
    .execute(conn)?;
    if changed == 1 {
        Ok(())
    } else {
        Err(DomainError::refused(
            Code::AlreadySettled,
            "the attendance was settled concurrently",
        ))
    }
}
