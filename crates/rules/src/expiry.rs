//! Point expiry (optional policy). Spending consumes the oldest points
//! first, so what expires at a cut-off is what was credited before it and
//! not yet spent or expired: `max(0, credits before − debits − expiries)`.

use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ExpiryPolicy {
    #[default]
    None,
    /// Points earned in year Y expire when Y + 1 ends.
    EndOfNextYear,
    /// Points expire `months` after they were credited.
    RollingMonths { months: u32 },
}

impl ExpiryPolicy {
    pub fn validate(&self) -> bool {
        match self {
            Self::RollingMonths { months } => (1..=120).contains(months),
            _ => true,
        }
    }

    /// Points credited before the returned date have expired by `as_of`.
    pub fn cutoff(&self, as_of: NaiveDate) -> Option<NaiveDate> {
        match self {
            Self::None => None,
            Self::EndOfNextYear => NaiveDate::from_ymd_opt(as_of.year() - 1, 1, 1),
            Self::RollingMonths { months } => as_of.checked_sub_months(Months::new(*months)),
        }
    }
}

/// Units that expire: credits before the cut-off, less everything spent and
/// everything already expired (all as positive units).
pub fn expirable(credits_before: i64, debits: i64, earlier_expiries: i64) -> i64 {
    (credits_before - debits - earlier_expiries).max(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn cutoffs() {
        assert_eq!(ExpiryPolicy::None.cutoff(day(2027, 1, 1)), None);
        assert_eq!(
            ExpiryPolicy::EndOfNextYear.cutoff(day(2027, 1, 1)),
            Some(day(2026, 1, 1))
        );
        assert_eq!(
            ExpiryPolicy::EndOfNextYear.cutoff(day(2026, 12, 31)),
            Some(day(2025, 1, 1))
        );
        assert_eq!(
            ExpiryPolicy::RollingMonths { months: 12 }.cutoff(day(2027, 3, 31)),
            Some(day(2026, 3, 31))
        );
        assert!(!ExpiryPolicy::RollingMonths { months: 0 }.validate());
        assert_eq!(expirable(1000, 300, 0), 700);
        assert_eq!(expirable(1000, 300, 700), 0);
        assert_eq!(expirable(100, 300, 0), 0);
    }

    proptest! {
        /// Never more than the credits before the cut-off, never negative,
        /// and a second run after the first expiry expires nothing more.
        #[test]
        fn expiry_is_bounded_and_once(credits in 0i64..1_000_000, debits in 0i64..1_000_000) {
            let first = expirable(credits, debits, 0);
            prop_assert!(first >= 0 && first <= credits);
            prop_assert_eq!(expirable(credits, debits, first), 0);
        }
    }
}
