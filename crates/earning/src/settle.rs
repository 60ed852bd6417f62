//! Settling an activity: each attendance becomes at most one `earn_hours`
//! transaction (`external_id = attendance:<id>`), computed by the hourly
//! rule of the earning policy in force for the organising org.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use timebank_directory::{Standing, Volunteer, get_org, get_volunteer};
use timebank_kernel::{Code, DomainError};
use timebank_ledger::{AccountKind, Amount, Asset, Transfer, TxKind, open_account, post_many_in};
use timebank_rules::states::ActivityStatus;
use timebank_rules::{HourlyInput, HourlyOutcome, Interval, settle_hours};
use timebank_store::schema::attendances;
use timebank_store::{DbConnection, Lockable, lock_row};

use crate::activities::{self, AttendanceRow};
use crate::{amount, credit_points_under, policy, stars};

/// An attendance that earns, waiting for the activity's batch to post.
struct Earned {
    attendance: AttendanceRow,
    volunteer: Volunteer,
    wallet_id: String,
    day: String,
    hull: Option<(NaiveDateTime, NaiveDateTime)>,
    hours: Amount,
    points: Amount,
    to_pool: Amount,
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

/// Settles every attendance of a finished, published activity. Run inside
/// the caller's write transaction; safe to run again (it posts nothing new).
pub fn settle_activity(
    conn: &mut DbConnection,
    activity_id: &str,
    actor: &str,
    request_id: Option<&str>,
    now: NaiveDateTime,
) -> Result<SettleReport, DomainError> {
    lock_row(conn, Lockable::Activity, activity_id)?;
    let activity = activities::get(conn, activity_id)?;
    if activity.status != ActivityStatus::Published {
        return Err(activities::not_published(&activity));
    }
    if now < activity.ends_at {
        return Err(DomainError::refused(
            Code::ActivityNotFinished,
            "an activity is settled after it ends",
        ));
    }
    let org = get_org(conn, &activity.org_id)?;
    let earning = policy::earning(conn, &org.path)?;
    let issuer = open_account(conn, AccountKind::OrgIssuance, &org.id, &org.path)?;
    let window = Interval::new(activity.starts_at, activity.ends_at)
        .ok_or_else(|| DomainError::refused(Code::InvalidWindow, "the activity has no duration"))?;
    let pph = activities::points_per_hour(&activity, earning.policy.points_per_hour);

    let mut report = SettleReport::default();
    let mut transactions = Vec::new();
    let mut earned = Vec::new();
    let mut spending_by_path: HashMap<String, timebank_rules::SpendingPolicy> = HashMap::new();
    for attendance in activities::list_attendance(conn, activity_id)? {
        let skip = |reason| Skipped {
            attendance_id: attendance.id.clone(),
            volunteer_id: attendance.volunteer_id.clone(),
            reason,
        };
        if attendance.settled_at.is_some() {
            report.skipped.push(skip("already_settled"));
            continue;
        }
        let Some(check_out) = attendance.check_out_at else {
            report.skipped.push(skip("no_check_out"));
            continue;
        };
        lock_row(conn, Lockable::Volunteer, &attendance.volunteer_id)?;
        let volunteer = get_volunteer(conn, &attendance.volunteer_id)?;
        match volunteer.row.standing(now) {
            Standing::Active => {}
            // Left unsettled: it can be settled once the suspension ends.
            Standing::Suspended { .. } => {
                report.skipped.push(skip("volunteer_suspended"));
                continue;
            }
            Standing::Pending => {
                report.skipped.push(skip("volunteer_not_active"));
                continue;
            }
        }
        let Some(attended) = Interval::new(attendance.check_in_at, check_out) else {
            report.skipped.push(skip("below_coverage"));
            continue;
        };
        let day = earning
            .policy
            .local_day(attended.start.max(window.start))
            .to_string();
        let (credited, today) = earlier_credits(conn, &attendance, &day, &window)?;
        let result = settle_hours(
            &earning.policy,
            &HourlyInput {
                window,
                attended,
                already_credited: &credited,
                hours_already_today: today,
                points_per_hour: pph,
            },
        );
        let reason = match result.outcome {
            HourlyOutcome::Earned => None,
            HourlyOutcome::BelowCoverage => Some("below_coverage"),
            HourlyOutcome::AlreadyCredited => Some("already_credited"),
            HourlyOutcome::DayCapReached => Some("day_cap_reached"),
            HourlyOutcome::BelowIncrement => Some("below_increment"),
        };
        if let Some(reason) = reason {
            mark(
                conn,
                &attendance.id,
                now,
                reason,
                None,
                None,
                &day,
                Amount::ZERO,
                Amount::ZERO,
                &earning.version,
            )?;
            report.skipped.push(skip(reason));
            continue;
        }
        let hours = amount(result.hours)?;
        let points = amount(result.points)?;
        let wallet = open_account(
            conn,
            AccountKind::VolunteerWallet,
            &volunteer.row.user_id,
            &volunteer.community_path,
        )?;
        let mut transfer = Transfer::new(TxKind::EarnHours, format!("活动：{}", activity.title))
            .by(actor)
            .once(format!("attendance:{}", attendance.id))
            .under(earning.version.clone())
            .in_request(request_id)
            .moving(Asset::Hour, hours, &issuer.id, &wallet.id);
        let mut to_pool = Amount::ZERO;
        if points.is_positive() {
            let spending = match spending_by_path.get(&volunteer.community_path) {
                Some(p) => p.clone(),
                None => {
                    let p = policy::spending(conn, &volunteer.community_path)?.policy;
                    spending_by_path.insert(volunteer.community_path.clone(), p.clone());
                    p
                }
            };
            let (credited, pooled) = credit_points_under(
                conn, transfer, &volunteer, &issuer.id, &wallet.id, points, &spending,
            )?;
            transfer = credited;
            to_pool = pooled;
        }
        let hull = result
            .credited
            .first()
            .map(|f| f.start)
            .zip(result.credited.last().map(|l| l.end));
        transactions.push(transfer.into_new());
        earned.push(Earned {
            attendance,
            volunteer,
            wallet_id: wallet.id,
            day,
            hull,
            hours,
            points,
            to_pool,
        });
    }

    // One batch for the whole activity: the issuer's balance and chain head
    // are written once, not once per volunteer.
    let posted = post_many_in(conn, &transactions)?;
    let mut stars_by_path = HashMap::new();
    for (e, posted) in earned.into_iter().zip(posted) {
        let tx = posted.transaction;
        mark(
            conn,
            &e.attendance.id,
            now,
            "earned",
            Some(&tx.id),
            e.hull,
            &e.day,
            e.hours,
            e.points,
            &earning.version,
        )?;
        let hours = tx
            .postings
            .iter()
            .find(|p| p.account_id == e.wallet_id && p.asset == Asset::Hour)
            .map(|p| p.balance_after);
        let policy = match stars_by_path.get(&e.volunteer.community_path) {
            Some(p) => p,
            None => {
                let p = policy::stars(conn, &e.volunteer.community_path)?;
                stars_by_path
                    .entry(e.volunteer.community_path.clone())
                    .or_insert(p)
            }
        };
        match hours {
            Some(hours) if posted.created => {
                stars::refresh_with(conn, &e.volunteer, hours, policy, Some(&tx.id), now)?;
            }
            _ => {
                stars::refresh(conn, &e.volunteer, Some(&tx.id), now)?;
            }
        }
        report.settled.push(Settled {
            attendance_id: e.attendance.id.clone(),
            volunteer_id: e.volunteer.row.user_id.clone(),
            transaction_id: tx.id,
            hours: e.hours,
            points: e.points,
            to_pool: e.to_pool,
        });
    }
    Ok(report)
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

#[allow(clippy::too_many_arguments)]
fn mark(
    conn: &mut DbConnection,
    attendance_id: &str,
    now: NaiveDateTime,
    outcome: &str,
    transaction_id: Option<&str>,
    credited: Option<(NaiveDateTime, NaiveDateTime)>,
    day: &str,
    hours: Amount,
    points: Amount,
    rule_version: &str,
) -> Result<(), DomainError> {
    let changed = diesel::update(
        attendances::table
            .find(attendance_id)
            .filter(attendances::settled_at.is_null()),
    )
    .set((
        attendances::settled_at.eq(now),
        attendances::outcome.eq(outcome),
        attendances::transaction_id.eq(transaction_id),
        attendances::credited_from.eq(credited.map(|c| c.0)),
        attendances::credited_to.eq(credited.map(|c| c.1)),
        attendances::credited_day.eq(day),
        attendances::hours.eq(hours.units()),
        attendances::points.eq(points.units()),
        attendances::rule_version.eq(rule_version),
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
