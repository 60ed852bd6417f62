//! Hourly points (项目制积分): hours from attendance clipped to the
//! activity window, rounded down to the policy's increment, with coverage,
//! per-activity and per-day caps; points = hours × points per hour.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{Interval, floor_cents};

/// The earning policy of an organisation subtree. Stored as JSON, versioned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EarningPolicy {
    /// Hours are rounded down to this: 0.25, 0.5 or 1.
    #[serde(with = "rust_decimal::serde::str")]
    pub increment_hours: Decimal,
    /// Attendance covering less than this share of the activity earns nothing.
    pub min_coverage_percent: u32,
    #[serde(with = "rust_decimal::serde::str_option", default)]
    pub max_hours_per_activity: Option<Decimal>,
    #[serde(with = "rust_decimal::serde::str")]
    pub max_hours_per_day: Decimal,
    /// Points per hour for activities that do not set their own.
    #[serde(with = "rust_decimal::serde::str")]
    pub points_per_hour: Decimal,
    /// The range an activity may choose its own points per hour from.
    #[serde(with = "rust_decimal::serde::str")]
    pub min_points_per_hour: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub max_points_per_hour: Decimal,
    /// Offset of local time from UTC, for what a "calendar day" is (China: +480).
    pub utc_offset_minutes: i32,
    /// Whether and when points expire; none by default.
    #[serde(default)]
    pub expiry: crate::ExpiryPolicy,
}

impl Default for EarningPolicy {
    fn default() -> Self {
        Self {
            increment_hours: Decimal::new(5, 1),
            min_coverage_percent: 60,
            max_hours_per_activity: None,
            max_hours_per_day: Decimal::from(12),
            points_per_hour: Decimal::ONE,
            min_points_per_hour: Decimal::new(5, 1),
            max_points_per_hour: Decimal::from(5),
            utc_offset_minutes: 480,
            expiry: crate::ExpiryPolicy::None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    pub field: &'static str,
    pub message: &'static str,
}

fn err(field: &'static str, message: &'static str) -> Result<(), PolicyError> {
    Err(PolicyError { field, message })
}

fn cents(value: Decimal) -> bool {
    value.normalize().scale() <= 2
}

impl EarningPolicy {
    pub fn validate(&self) -> Result<(), PolicyError> {
        if ![Decimal::new(25, 2), Decimal::new(5, 1), Decimal::ONE].contains(&self.increment_hours)
        {
            return err("increment_hours", "must be 0.25, 0.5 or 1");
        }
        if self.min_coverage_percent > 100 {
            return err("min_coverage_percent", "must be 0 to 100");
        }
        if let Some(cap) = self.max_hours_per_activity
            && (cap <= Decimal::ZERO || cap > Decimal::from(24 * 7) || !cents(cap))
        {
            return err(
                "max_hours_per_activity",
                "must be above 0 and at most 168, in hundredths",
            );
        }
        if self.max_hours_per_day <= Decimal::ZERO
            || self.max_hours_per_day > Decimal::from(24)
            || !cents(self.max_hours_per_day)
        {
            return err(
                "max_hours_per_day",
                "must be above 0 and at most 24, in hundredths",
            );
        }
        for (field, v) in [
            ("points_per_hour", self.points_per_hour),
            ("min_points_per_hour", self.min_points_per_hour),
            ("max_points_per_hour", self.max_points_per_hour),
        ] {
            if v <= Decimal::ZERO || v > Decimal::from(1000) || !cents(v) {
                return err(field, "must be above 0 and at most 1000, in hundredths");
            }
        }
        if self.min_points_per_hour > self.max_points_per_hour {
            return err("min_points_per_hour", "must not exceed max_points_per_hour");
        }
        if !self.allows_points_per_hour(self.points_per_hour) {
            return err(
                "points_per_hour",
                "must lie between min_points_per_hour and max_points_per_hour",
            );
        }
        if !(-720..=840).contains(&self.utc_offset_minutes) {
            return err("utc_offset_minutes", "must be -720 to 840");
        }
        if !self.expiry.validate() {
            return err("expiry", "rolling_months needs months from 1 to 120");
        }
        Ok(())
    }

    pub fn allows_points_per_hour(&self, pph: Decimal) -> bool {
        pph >= self.min_points_per_hour && pph <= self.max_points_per_hour && cents(pph)
    }

    /// The local calendar day a moment falls on.
    pub fn local_day(&self, at: chrono::NaiveDateTime) -> NaiveDate {
        (at + Duration::minutes(i64::from(self.utc_offset_minutes))).date()
    }

    /// Hours credited for reported service time (a service request): within
    /// `cap` and the per-activity cap, rounded down to the increment.
    pub fn credit_reported(&self, hours: Decimal, cap: Decimal) -> Decimal {
        let mut h = hours.min(cap);
        if let Some(activity_cap) = self.max_hours_per_activity {
            h = h.min(activity_cap);
        }
        self.round_down(h)
    }

    fn round_down(&self, hours: Decimal) -> Decimal {
        if hours <= Decimal::ZERO {
            return Decimal::ZERO;
        }
        (hours / self.increment_hours).floor() * self.increment_hours
    }
}

/// One volunteer's attendance at one activity, with what they were already
/// credited elsewhere (overlapping time counts once) and today.
#[derive(Debug, Clone)]
pub struct HourlyInput<'a> {
    pub window: Interval,
    pub attended: Interval,
    pub already_credited: &'a [Interval],
    pub hours_already_today: Decimal,
    pub points_per_hour: Decimal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HourlyOutcome {
    Earned,
    /// Attended less than the minimum share of the activity.
    BelowCoverage,
    /// The time was already credited by another activity.
    AlreadyCredited,
    /// The day's cap was already reached.
    DayCapReached,
    /// Attended, but less than one increment.
    BelowIncrement,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HourlyResult {
    pub hours: Decimal,
    pub points: Decimal,
    pub outcome: HourlyOutcome,
    /// The attended time inside the window that this credit covers.
    pub credited: Vec<Interval>,
    /// The share of the activity window attended, in percent (rounded down).
    pub coverage_percent: u32,
}

impl HourlyOutcome {
    /// The stable reason an attendance earned nothing, if it did not.
    pub fn skip_reason(self) -> Option<&'static str> {
        match self {
            HourlyOutcome::Earned => None,
            HourlyOutcome::BelowCoverage => Some("below_coverage"),
            HourlyOutcome::AlreadyCredited => Some("already_credited"),
            HourlyOutcome::DayCapReached => Some("day_cap_reached"),
            HourlyOutcome::BelowIncrement => Some("below_increment"),
        }
    }
}

impl HourlyResult {
    /// From the first credited moment to the last: what a later activity
    /// overlapping it may no longer credit.
    pub fn credited_hull(&self) -> Option<(NaiveDateTime, NaiveDateTime)> {
        self.credited
            .first()
            .map(|f| f.start)
            .zip(self.credited.last().map(|l| l.end))
    }
}

const SECONDS_PER_HOUR: i64 = 3600;

pub fn settle_hours(policy: &EarningPolicy, input: &HourlyInput<'_>) -> HourlyResult {
    let nothing = |outcome, coverage_percent| HourlyResult {
        hours: Decimal::ZERO,
        points: Decimal::ZERO,
        outcome,
        credited: Vec::new(),
        coverage_percent,
    };
    let Some(inside) = input.attended.clip(&input.window) else {
        return nothing(HourlyOutcome::BelowCoverage, 0);
    };
    let coverage =
        u32::try_from(inside.seconds() * 100 / input.window.seconds().max(1)).unwrap_or(0);
    if coverage < policy.min_coverage_percent {
        return nothing(HourlyOutcome::BelowCoverage, coverage);
    }
    let fresh = inside.minus(input.already_credited);
    let fresh_seconds: i64 = fresh.iter().map(Interval::seconds).sum();
    if fresh_seconds == 0 {
        return nothing(HourlyOutcome::AlreadyCredited, coverage);
    }
    let mut hours =
        policy.round_down(Decimal::from(fresh_seconds) / Decimal::from(SECONDS_PER_HOUR));
    if let Some(cap) = policy.max_hours_per_activity {
        hours = hours.min(policy.round_down(cap));
    }
    let room_today = policy.round_down(policy.max_hours_per_day - input.hours_already_today);
    if room_today <= Decimal::ZERO {
        return nothing(HourlyOutcome::DayCapReached, coverage);
    }
    hours = hours.min(room_today);
    if hours <= Decimal::ZERO {
        return nothing(HourlyOutcome::BelowIncrement, coverage);
    }
    HourlyResult {
        hours,
        points: floor_cents(hours * input.points_per_hour),
        outcome: HourlyOutcome::Earned,
        credited: fresh,
        coverage_percent: coverage,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDateTime;
    use proptest::prelude::*;

    fn at(h: u32, m: u32) -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 5, 1)
            .unwrap()
            .and_hms_opt(h, m, 0)
            .unwrap()
    }

    fn iv(a: (u32, u32), b: (u32, u32)) -> Interval {
        Interval::new(at(a.0, a.1), at(b.0, b.1)).unwrap()
    }

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn run(
        policy: &EarningPolicy,
        window: Interval,
        attended: Interval,
        credited: &[Interval],
        today: &str,
        pph: &str,
    ) -> HourlyResult {
        settle_hours(
            policy,
            &HourlyInput {
                window,
                attended,
                already_credited: credited,
                hours_already_today: d(today),
                points_per_hour: d(pph),
            },
        )
    }

    #[test]
    fn clips_to_the_window_and_rounds_down() {
        let p = EarningPolicy::default();
        // Came early, left late: only the 9:00–12:00 window counts.
        let r = run(&p, iv((9, 0), (12, 0)), iv((8, 0), (13, 0)), &[], "0", "1");
        assert_eq!(
            (r.hours, r.points, r.outcome),
            (d("3"), d("3"), HourlyOutcome::Earned)
        );
        // 2 h 59 min rounds down to 2.5 h.
        let r = run(
            &p,
            iv((9, 0), (12, 0)),
            iv((9, 1), (12, 0)),
            &[],
            "0",
            "1.5",
        );
        assert_eq!((r.hours, r.points), (d("2.5"), d("3.75")));
        let quarter = EarningPolicy {
            increment_hours: d("0.25"),
            ..p.clone()
        };
        assert_eq!(
            run(
                &quarter,
                iv((9, 0), (12, 0)),
                iv((9, 1), (12, 0)),
                &[],
                "0",
                "1"
            )
            .hours,
            d("2.75")
        );
        let whole = EarningPolicy {
            increment_hours: d("1"),
            ..p
        };
        assert_eq!(
            run(
                &whole,
                iv((9, 0), (12, 0)),
                iv((9, 1), (12, 0)),
                &[],
                "0",
                "1"
            )
            .hours,
            d("2")
        );
    }

    #[test]
    fn coverage_below_the_minimum_earns_nothing() {
        let p = EarningPolicy::default();
        // 1 h 47 min of 3 h = 59 %.
        let r = run(
            &p,
            iv((9, 0), (12, 0)),
            iv((10, 13), (12, 0)),
            &[],
            "0",
            "1",
        );
        assert_eq!(
            (r.hours, r.outcome, r.coverage_percent),
            (d("0"), HourlyOutcome::BelowCoverage, 59)
        );
        let r = run(
            &p,
            iv((9, 0), (12, 0)),
            iv((10, 12), (12, 0)),
            &[],
            "0",
            "1",
        );
        assert_eq!((r.outcome, r.coverage_percent), (HourlyOutcome::Earned, 60));
        let r = run(&p, iv((9, 0), (12, 0)), iv((13, 0), (14, 0)), &[], "0", "1");
        assert_eq!(r.outcome, HourlyOutcome::BelowCoverage);
    }

    #[test]
    fn caps_per_activity_and_per_day() {
        let p = EarningPolicy {
            max_hours_per_activity: Some(d("4")),
            ..EarningPolicy::default()
        };
        assert_eq!(
            run(&p, iv((8, 0), (18, 0)), iv((8, 0), (18, 0)), &[], "0", "1").hours,
            d("4")
        );
        let p = EarningPolicy::default();
        assert_eq!(
            run(&p, iv((8, 0), (18, 0)), iv((8, 0), (18, 0)), &[], "9", "1").hours,
            d("3")
        );
        let r = run(&p, iv((8, 0), (18, 0)), iv((8, 0), (18, 0)), &[], "12", "1");
        assert_eq!((r.hours, r.outcome), (d("0"), HourlyOutcome::DayCapReached));
    }

    #[test]
    fn reported_hours_are_capped_and_rounded_down() {
        let p = EarningPolicy::default();
        assert_eq!(p.credit_reported(d("2.4"), d("3")), d("2"));
        assert_eq!(p.credit_reported(d("5"), d("3")), d("3"));
        assert_eq!(p.credit_reported(d("0.2"), d("3")), d("0"));
        let capped = EarningPolicy {
            max_hours_per_activity: Some(d("1")),
            ..p
        };
        assert_eq!(capped.credit_reported(d("5"), d("3")), d("1"));
    }

    #[test]
    fn overlapping_attendance_counts_once() {
        let p = EarningPolicy::default();
        let other = [iv((9, 0), (10, 30))];
        let r = run(
            &p,
            iv((9, 0), (12, 0)),
            iv((9, 0), (12, 0)),
            &other,
            "0",
            "1",
        );
        assert_eq!(r.hours, d("1.5"));
        assert_eq!(r.credited, vec![iv((10, 30), (12, 0))]);
        let r = run(
            &p,
            iv((9, 0), (12, 0)),
            iv((9, 0), (12, 0)),
            &[iv((8, 0), (13, 0))],
            "0",
            "1",
        );
        assert_eq!(r.outcome, HourlyOutcome::AlreadyCredited);
    }

    #[test]
    fn validation() {
        assert!(EarningPolicy::default().validate().is_ok());
        let bad = [
            EarningPolicy {
                increment_hours: d("0.3"),
                ..EarningPolicy::default()
            },
            EarningPolicy {
                min_coverage_percent: 101,
                ..EarningPolicy::default()
            },
            EarningPolicy {
                max_hours_per_day: d("25"),
                ..EarningPolicy::default()
            },
            EarningPolicy {
                points_per_hour: d("9"),
                ..EarningPolicy::default()
            },
            EarningPolicy {
                min_points_per_hour: d("6"),
                ..EarningPolicy::default()
            },
            EarningPolicy {
                max_hours_per_activity: Some(d("0")),
                ..EarningPolicy::default()
            },
            EarningPolicy {
                points_per_hour: d("1.001"),
                ..EarningPolicy::default()
            },
        ];
        for policy in bad {
            assert!(policy.validate().is_err(), "{policy:?}");
        }
        let json = serde_json::to_string(&EarningPolicy::default()).unwrap();
        assert!(json.contains("\"increment_hours\":\"0.5\""), "{json}");
        let back: EarningPolicy = serde_json::from_str(&json).unwrap();
        assert_eq!(back, EarningPolicy::default());
        assert!(
            serde_json::from_str::<EarningPolicy>(&json.replace("\"0.5\"", "0.5")).is_err(),
            "numbers are refused: strings only"
        );
    }

    fn minutes() -> impl Strategy<Value = i64> {
        0i64..(24 * 60)
    }

    proptest! {
        /// Rounding never creates time: credited hours never exceed the time
        /// attended inside the window, nor the day's room.
        #[test]
        fn never_credits_more_than_attended(ws in minutes(), wl in 1i64..600, s in minutes(), l in 1i64..900, today in 0i64..1300, inc in 0usize..3) {
            let base = at(0, 0);
            let window = Interval::new(base + Duration::minutes(ws), base + Duration::minutes(ws + wl)).unwrap();
            let attended = Interval::new(base + Duration::minutes(s), base + Duration::minutes(s + l)).unwrap();
            let p = EarningPolicy { increment_hours: [d("0.25"), d("0.5"), d("1")][inc], ..EarningPolicy::default() };
            let today = Decimal::new(today, 2);
            let r = run(&p, window, attended, &[], &today.to_string(), "1");
            let inside = attended.clip(&window).map(|i| i.seconds()).unwrap_or(0);
            prop_assert!(r.hours * Decimal::from(3600) <= Decimal::from(inside));
            prop_assert!(r.hours + today <= p.max_hours_per_day.max(today));
            prop_assert!(r.hours >= Decimal::ZERO);
            prop_assert_eq!((r.hours / p.increment_hours).fract(), Decimal::ZERO);
            prop_assert!(r.points <= r.hours);
        }

        /// Points are monotone in attended time.
        #[test]
        fn points_are_monotone_in_hours(a in 0i64..600, b in 0i64..600, pph in 50i64..500) {
            let window = Interval::new(at(8, 0), at(18, 0)).unwrap();
            let p = EarningPolicy { min_coverage_percent: 0, ..EarningPolicy::default() };
            let pph = Decimal::new(pph, 2);
            let (lo, hi) = (a.min(b), a.max(b));
            let run_for = |mins: i64| {
                Interval::new(at(8, 0), at(8, 0) + Duration::minutes(mins)).map(|att| {
                    settle_hours(&p, &HourlyInput { window, attended: att, already_credited: &[], hours_already_today: Decimal::ZERO, points_per_hour: pph }).points
                }).unwrap_or(Decimal::ZERO)
            };
            prop_assert!(run_for(lo) <= run_for(hi));
        }
    }
}
