//! Times on the wire: RFC 3339 UTC with microseconds, the precision both
//! backends store, so a time read back is the time that was written.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};

/// A stored time as the wire shows it: `2026-12-01T09:35:41.123456Z`.
pub fn utc_string(value: &NaiveDateTime) -> String {
    value.and_utc().to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub fn opt_utc(value: Option<NaiveDateTime>) -> Option<String> {
    value.as_ref().map(utc_string)
}

/// A wire time as stored: UTC, truncated to microseconds.
pub fn naive(at: DateTime<Utc>) -> NaiveDateTime {
    DateTime::from_timestamp_micros(at.timestamp_micros())
        .unwrap_or(at)
        .naive_utc()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_at_microseconds() {
        let at = DateTime::parse_from_rfc3339("2026-12-01T09:35:41.123456789+08:00")
            .unwrap()
            .with_timezone(&Utc);
        let stored = naive(at);
        assert_eq!(utc_string(&stored), "2026-12-01T01:35:41.123456Z");
        assert_eq!(opt_utc(None), None);
    }
}
