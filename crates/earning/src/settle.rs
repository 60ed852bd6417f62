//! Settling an activity: each attendance becomes at most one `earn_hours`
//! transaction (`external_id = attendance:<id>`), computed by the hourly
//! rule of the earning policy in force for the organising org. What the
//! rule needs of the volunteers (their rows, wallets and earlier credits)
//! is read for the whole activity at once, the transactions are posted as
//! one batch and the attendances marked with one statement.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use timebank_directory::{Org, Standing, Volunteer, get_org, volunteers_by_id};
use timebank_kernel::{Check, Code, DomainError};
use timebank_ledger::{AccountKind, Amount, Asset, Transfer, TxKind, open_account, post_many_in};
use timebank_rules::states::ActivityStatus;
use timebank_rules::{HourlyInput, Interval, settle_hours};
use timebank_store::schema::attendances;
use timebank_store::{DbConnection, Lockable, lock_row, lock_volunteers};

use crate::activities::{self, AttendanceRow};
use crate::{Wallet, amount, credit_points_under, policy, stars};

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

/// One attendance's fate: it earns (a transfer to post), the rule refuses
/// it for good (it is marked so), or it stays as it is for now.
enum Assessed {
    Earns(Box<Earned>, timebank_ledger::NewTransaction),
    Refused(Box<AttendanceRow>, &'static str),
    Unmarked(&'static str),
}

/// What was known of the activity's volunteers before any was settled.
struct Known {
    volunteers: HashMap<String, Volunteer>,
    /// By volunteer: their wallet and the points it held.
    wallets: HashMap<String, (String, Amount)>,
    credits: Vec<EarlierCredit>,
}

/// An attendance of one of the volunteers, elsewhere, that was credited
/// time overlapping this activity or hours on one of its days.
struct EarlierCredit {
    volunteer_id: String,
    attendance_id: String,
    earned: bool,
    span: Option<Interval>,
    day: Option<String>,
    hours: i64,
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
    let attendance = activities::list_attendance(conn, activity_id)?;
    let known = Known::load(conn, &batch, &attendance)?;
    let mut report = SettleReport::default();
    let mut transactions = Vec::new();
    let mut earned = Vec::new();
    let mut marks = Vec::new();
    for attendance in attendance {
        let (attendance_id, volunteer_id) =
            (attendance.id.clone(), attendance.volunteer_id.clone());
        let reason = match assess(conn, &mut batch, &known, attendance)? {
            Assessed::Earns(e, tx) => {
                earned.push(*e);
                transactions.push(tx);
                continue;
            }
            Assessed::Refused(mark, reason) => {
                marks.push(*mark);
                reason
            }
            Assessed::Unmarked(reason) => reason,
        };
        report.skipped.push(Skipped {
            attendance_id,
            volunteer_id,
            reason,
        });
    }
    report.settled = post_earned(conn, &batch, earned, &transactions, marks)?;
    Ok(report)
}

impl Known {
    /// Locks the volunteers whose attendance may earn (in id order) and
    /// reads them, their wallets and their earlier credits: three reads for
    /// the whole activity.
    fn load(
        conn: &mut DbConnection,
        batch: &Batch<'_>,
        attendance: &[AttendanceRow],
    ) -> Result<Self, DomainError> {
        let due: Vec<&AttendanceRow> = attendance
            .iter()
            .filter(|a| a.settled_at.is_none() && a.check_out_at.is_some())
            .collect();
        let mut ids: Vec<&str> = due.iter().map(|a| a.volunteer_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return Ok(Known {
                volunteers: HashMap::new(),
                wallets: HashMap::new(),
                credits: Vec::new(),
            });
        }
        lock_volunteers(conn, &ids)?;
        let volunteers = volunteers_by_id(conn, &ids)?
            .into_iter()
            .map(|v| (v.row.user_id.clone(), v))
            .collect();
        let wallets = timebank_ledger::read::wallets_of_owners(conn, &ids)?
            .into_iter()
            .map(|(owner, (wallet, balances))| (owner, (wallet, balances.points)))
            .collect();
        let mut days: Vec<String> = due.iter().map(|a| day_of(batch, a)).collect();
        days.sort_unstable();
        days.dedup();
        let credits = earlier_credits(conn, &ids, &days, &batch.window)?;
        Ok(Known {
            volunteers,
            wallets,
            credits,
        })
    }

    /// What the volunteer was already credited elsewhere: time overlapping
    /// this activity (which counts once) and hours on the same local day
    /// (for the daily cap).
    fn credited_before(
        &self,
        attendance: &AttendanceRow,
        day: &str,
    ) -> (Vec<Interval>, rust_decimal::Decimal) {
        let theirs = self.credits.iter().filter(|c| {
            c.volunteer_id == attendance.volunteer_id && c.attendance_id != attendance.id
        });
        let mut overlapping = Vec::new();
        let mut today = 0i64;
        for credit in theirs {
            if credit.earned
                && let Some(span) = credit.span
            {
                overlapping.push(span);
            }
            if credit.day.as_deref() == Some(day) {
                today += credit.hours;
            }
        }
        (overlapping, Amount::from_units(today).to_decimal())
    }
}

/// The local day an attendance is credited on: that of its start within
/// the activity.
fn day_of(batch: &Batch<'_>, attendance: &AttendanceRow) -> String {
    batch
        .earning
        .policy
        .local_day(attendance.check_in_at.max(batch.window.start))
        .to_string()
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
/// said no) is marked, one that may pass (a suspension) is not.
fn assess(
    conn: &mut DbConnection,
    batch: &mut Batch<'_>,
    known: &Known,
    attendance: AttendanceRow,
) -> Result<Assessed, DomainError> {
    if attendance.settled_at.is_some() {
        return Ok(Assessed::Unmarked("already_settled"));
    }
    let Some(check_out) = attendance.check_out_at else {
        return Ok(Assessed::Unmarked("no_check_out"));
    };
    let volunteer = known
        .volunteers
        .get(&attendance.volunteer_id)
        .ok_or(DomainError::NotFound("volunteer"))?;
    match volunteer.row.standing(batch.now) {
        Standing::Active => {}
        // Left unsettled: it can be settled once the suspension ends.
        Standing::Suspended { .. } => return Ok(Assessed::Unmarked("volunteer_suspended")),
        Standing::Pending => return Ok(Assessed::Unmarked("volunteer_not_active")),
    }
    let day = day_of(batch, &attendance);
    let Some(attended) = Interval::new(attendance.check_in_at, check_out) else {
        return Ok(Assessed::Unmarked("below_coverage"));
    };
    let (credited, today) = known.credited_before(&attendance, &day);
    let result = settle_hours(
        &batch.earning.policy,
        &HourlyInput {
            window: batch.window,
            attended,
            already_credited: &credited,
            hours_already_today: today,
            points_per_hour: batch.points_per_hour,
        },
    );
    if let Some(reason) = result.outcome.skip_reason() {
        let mark = marked(batch, attendance, reason, None, &Credit::nothing(&day));
        return Ok(Assessed::Refused(Box::new(mark), reason));
    }
    let hours = amount(result.hours)?;
    let points = amount(result.points)?;
    let volunteer = volunteer.clone();
    let (tx, wallet_id, to_pool) =
        transfer_for(conn, batch, known, &attendance, &volunteer, hours, points)?;
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
    known: &Known,
    attendance: &AttendanceRow,
    volunteer: &Volunteer,
    hours: Amount,
    points: Amount,
) -> Result<(timebank_ledger::NewTransaction, String, Amount), DomainError> {
    let (wallet_id, held) = match known.wallets.get(&volunteer.row.user_id) {
        Some((id, held)) => (id.clone(), *held),
        // No wallet yet: it is opened on the first credit.
        None => (
            timebank_directory::wallet_of(conn, volunteer)?.id,
            Amount::ZERO,
        ),
    };
    let mut transfer = Transfer::new(TxKind::EarnHours, format!("活动：{}", batch.activity.title))
        .by(batch.actor)
        .once(format!("attendance:{}", attendance.id))
        .under(batch.earning.version.clone())
        .in_request(batch.request_id)
        .moving(Asset::Hour, hours, &batch.issuer_id, &wallet_id);
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
        let wallet = Wallet {
            id: &wallet_id,
            points: held,
        };
        let (credited, pooled) = credit_points_under(
            conn, transfer, volunteer, &issuer, wallet, points, &spending,
        )?;
        transfer = credited;
        to_pool = pooled;
    }
    Ok((transfer.into_new(), wallet_id, to_pool))
}

/// One batch for the whole activity: the issuer's balance and chain head
/// are written once, not once per volunteer. Then every attendance settled
/// (earned or refused) is marked, and each earner's stars refreshed.
fn post_earned(
    conn: &mut DbConnection,
    batch: &Batch<'_>,
    earned: Vec<Earned>,
    transactions: &[timebank_ledger::NewTransaction],
    mut marks: Vec<AttendanceRow>,
) -> Result<Vec<Settled>, DomainError> {
    let posted = post_many_in(conn, transactions)?;
    let earned: Vec<(Earned, timebank_ledger::Transaction, bool)> = earned
        .into_iter()
        .zip(posted)
        .map(|(e, p)| (e, p.transaction, p.created))
        .collect();
    for (e, tx, _) in &earned {
        let attendance = e.attendance.clone();
        marks.push(marked(batch, attendance, "earned", Some(&tx.id), &e.credit));
    }
    mark_all(conn, &marks)?;
    let mut stars_by_path = HashMap::new();
    let mut settled = Vec::new();
    for (e, tx, created) in earned {
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
            Some(hours) if created => {
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

/// The credits of these volunteers that overlap `window` or fall on one
/// of `days`, in one statement.
fn earlier_credits(
    conn: &mut DbConnection,
    volunteer_ids: &[&str],
    days: &[String],
    window: &Interval,
) -> Result<Vec<EarlierCredit>, DomainError> {
    type Row = (
        String,
        String,
        Option<String>,
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
        Option<String>,
        Option<i64>,
    );
    let rows: Vec<Row> = attendances::table
        .filter(attendances::volunteer_id.eq_any(volunteer_ids))
        .filter(
            attendances::credited_day
                .eq_any(days)
                .or(attendances::outcome
                    .eq("earned")
                    .and(attendances::credited_from.lt(window.end))
                    .and(attendances::credited_to.gt(window.start))),
        )
        .select((
            attendances::volunteer_id,
            attendances::id,
            attendances::outcome,
            attendances::credited_from,
            attendances::credited_to,
            attendances::credited_day,
            attendances::hours,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(volunteer_id, attendance_id, outcome, from, to, day, hours)| {
                let span = from
                    .zip(to)
                    .and_then(|(from, to)| Interval::new(from, to))
                    .filter(|s| s.start < window.end && s.end > window.start);
                EarlierCredit {
                    volunteer_id,
                    attendance_id,
                    earned: outcome.as_deref() == Some("earned"),
                    span,
                    day,
                    hours: hours.unwrap_or(0),
                }
            },
        )
        .collect())
}

/// The attendance as it is marked settled: with its outcome, its credit
/// and the rule version.
fn marked(
    batch: &Batch<'_>,
    mut row: AttendanceRow,
    outcome: &str,
    transaction_id: Option<&str>,
    credit: &Credit,
) -> AttendanceRow {
    row.settled_at = Some(batch.now);
    row.outcome = Some(outcome.to_owned());
    row.transaction_id = transaction_id.map(str::to_owned);
    row.credited_from = credit.hull.map(|c| c.0);
    row.credited_to = credit.hull.map(|c| c.1);
    row.credited_day = Some(credit.day.clone());
    row.hours = Some(credit.hours.units());
    row.points = Some(credit.points.units());
    row.rule_version = Some(batch.earning.version.clone());
    row
}

/// Writes the settlement columns of every marked attendance, in one
/// statement (the rows passed as one JSON array): only those still
/// unsettled change, and one settled meanwhile refuses the whole activity.
fn mark_all(conn: &mut DbConnection, marks: &[AttendanceRow]) -> Result<(), DomainError> {
    use timebank_store::fixed::{Fixed, Param, sqlite_timestamp};
    let stamp = |t: Option<NaiveDateTime>| t.map(sqlite_timestamp);
    let pg = matches!(conn, DbConnection::Pg(_));
    let mut changed = 0;
    for chunk in marks.chunks(timebank_store::ROWS_PER_STATEMENT) {
        let rows: Vec<serde_json::Value> = chunk
            .iter()
            .map(|m| {
                serde_json::json!([
                    m.id,
                    stamp(m.settled_at),
                    m.outcome,
                    m.transaction_id,
                    stamp(m.credited_from),
                    stamp(m.credited_to),
                    m.credited_day,
                    m.hours,
                    m.points,
                    m.rule_version,
                ])
            })
            .collect();
        let statement = if pg {
            // One array per column, each as text (see `PG_MARK`).
            let text = |v: &serde_json::Value| match v {
                serde_json::Value::Null => None,
                serde_json::Value::String(s) => Some(s.clone()),
                other => Some(other.to_string()),
            };
            let column =
                |i: usize| Param::NullableTexts(rows.iter().map(|r| text(&r[i])).collect());
            Fixed::new(PG_MARK, (0..10).map(column).collect())
        } else {
            Fixed::rows(SQLITE_MARK, serde_json::Value::Array(rows).to_string())
        };
        changed += statement.execute(conn)?;
    }
    if changed == marks.len() {
        Ok(())
    } else {
        Err(DomainError::refused(
            Code::AlreadySettled,
            "the attendance was settled concurrently",
        ))
    }
}

const SQLITE_MARK: &str = "UPDATE attendances SET settled_at = j.settled_at, outcome = j.outcome, \
     transaction_id = j.transaction_id, credited_from = j.credited_from, \
     credited_to = j.credited_to, credited_day = j.credited_day, hours = j.hours, \
     points = j.points, rule_version = j.rule_version \
     FROM (SELECT value ->> 0 AS id, value ->> 1 AS settled_at, value ->> 2 AS outcome, \
     value ->> 3 AS transaction_id, value ->> 4 AS credited_from, value ->> 5 AS credited_to, \
     value ->> 6 AS credited_day, value ->> 7 AS hours, value ->> 8 AS points, \
     value ->> 9 AS rule_version FROM json_each(?)) AS j \
     WHERE attendances.id = j.id AND attendances.settled_at IS NULL";

// Arrays rather than JSON on Postgres: a JSON array is planned as 100 rows,
// joined by scanning the whole table.
const PG_MARK: &str = "UPDATE attendances SET settled_at = j.settled_at::timestamp, \
     outcome = j.outcome, transaction_id = j.transaction_id, \
     credited_from = j.credited_from::timestamp, credited_to = j.credited_to::timestamp, \
     credited_day = j.credited_day, hours = j.hours::bigint, points = j.points::bigint, \
     rule_version = j.rule_version \
     FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], \
     ?::text[], ?::text[], ?::text[]) AS j(id, settled_at, outcome, transaction_id, \
     credited_from, credited_to, credited_day, hours, points, rule_version) \
     WHERE attendances.id = j.id AND attendances.settled_at IS NULL";
