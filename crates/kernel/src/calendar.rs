//! Local days. A district's policy names its offset from UTC; a "day" in
//! a report, an export period or `settle --until` is that district's day,
//! stored and compared as UTC instants.

use chrono::{Duration, NaiveDate, NaiveDateTime};

/// The days of one offset from UTC (China: +480 minutes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalCalendar {
    offset: Duration,
}

impl LocalCalendar {
    pub fn from_offset_minutes(minutes: i32) -> Self {
        LocalCalendar {
            offset: Duration::minutes(i64::from(minutes)),
        }
    }

    /// The offset from UTC, for placing instants in local months.
    pub fn offset(&self) -> Duration {
        self.offset
    }

    /// Local midnight at the start of `day`, as UTC.
    pub fn day_start(&self, day: NaiveDate) -> NaiveDateTime {
        day.and_hms_opt(0, 0, 0).unwrap_or_default() - self.offset
    }

    /// Local midnight after `day`, as UTC: the exclusive end of the day.
    pub fn day_end(&self, day: NaiveDate) -> NaiveDateTime {
        self.day_start(day) + Duration::days(1)
    }

    /// `from` to `to`, whole local days both, as UTC `[start, end)`.
    pub fn period(&self, from: NaiveDate, to: NaiveDate) -> (NaiveDateTime, NaiveDateTime) {
        (self.day_start(from), self.day_end(to))
    }

    /// The local date of a UTC instant.
    pub fn date_of(&self, at: NaiveDateTime) -> NaiveDate {
        (at + self.offset).date()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn utc(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn days_of_several_offsets() {
        let china = LocalCalendar::from_offset_minutes(480);
        assert_eq!(china.day_start(day(2026, 12, 1)), utc("2026-11-30 16:00"));
        assert_eq!(china.day_end(day(2026, 12, 1)), utc("2026-12-01 16:00"));
        let new_york = LocalCalendar::from_offset_minutes(-300);
        assert_eq!(
            new_york.day_start(day(2026, 12, 1)),
            utc("2026-12-01 05:00")
        );
        assert_eq!(
            new_york.period(day(2026, 12, 1), day(2026, 12, 2)),
            (utc("2026-12-01 05:00"), utc("2026-12-03 05:00"))
        );
        let kathmandu = LocalCalendar::from_offset_minutes(345);
        assert_eq!(
            kathmandu.day_start(day(2026, 12, 1)),
            utc("2026-11-30 18:15")
        );
        // 03:00 UTC is still the evening before in New York, already the
        // next morning in China.
        assert_eq!(new_york.date_of(utc("2026-12-01 03:00")), day(2026, 11, 30));
        assert_eq!(china.date_of(utc("2026-12-01 03:00")), day(2026, 12, 1));
        assert_eq!(
            LocalCalendar::from_offset_minutes(0).date_of(utc("2026-12-01 23:59")),
            day(2026, 12, 1)
        );
    }

    #[test]
    fn a_day_contains_exactly_its_instants() {
        for minutes in [-720, -300, 0, 345, 480, 840] {
            let cal = LocalCalendar::from_offset_minutes(minutes);
            let d = day(2026, 3, 15);
            let (start, end) = cal.period(d, d);
            assert_eq!(end - start, Duration::days(1));
            assert_eq!(cal.date_of(start), d);
            assert_eq!(cal.date_of(end - Duration::microseconds(1)), d);
            assert_eq!(cal.date_of(end), d.succ_opt().unwrap());
        }
    }
}
