//! Spending limits: how long a reserved order waits for pickup, how much may
//! be given as gifts, and the optional balance cap whose excess goes to the
//! district's public pool (公益池).

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::PolicyError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpendingPolicy {
    /// Days a reserved order waits for pickup before it expires and refunds.
    pub order_pickup_days: u32,
    #[serde(with = "rust_decimal::serde::str")]
    pub max_points_per_gift: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub max_gift_points_per_year: Decimal,
    /// A wallet's most points; earnings beyond it go to the pool. None: no cap.
    #[serde(with = "rust_decimal::serde::str_option", default)]
    pub balance_cap: Option<Decimal>,
}

impl Default for SpendingPolicy {
    fn default() -> Self {
        Self {
            order_pickup_days: 7,
            max_points_per_gift: Decimal::from(100),
            max_gift_points_per_year: Decimal::from(1000),
            balance_cap: None,
        }
    }
}

fn err(field: &'static str, message: &'static str) -> Result<(), PolicyError> {
    Err(PolicyError { field, message })
}

fn positive_cents(v: Decimal) -> bool {
    v > Decimal::ZERO && v.normalize().scale() <= 2 && v <= Decimal::from(10_000_000)
}

impl SpendingPolicy {
    pub fn validate(&self) -> Result<(), PolicyError> {
        if !(1..=365).contains(&self.order_pickup_days) {
            return err("order_pickup_days", "must be 1 to 365");
        }
        if !positive_cents(self.max_points_per_gift) {
            return err("max_points_per_gift", "must be above 0, in hundredths");
        }
        if !positive_cents(self.max_gift_points_per_year) {
            return err("max_gift_points_per_year", "must be above 0, in hundredths");
        }
        if let Some(cap) = self.balance_cap
            && !positive_cents(cap)
        {
            return err("balance_cap", "must be above 0, in hundredths");
        }
        Ok(())
    }

    /// Splits an earning between the wallet and the pool so the wallet never
    /// passes the cap: (to wallet, to pool).
    pub fn split_earning(&self, balance: Decimal, earned: Decimal) -> (Decimal, Decimal) {
        match self.balance_cap {
            None => (earned, Decimal::ZERO),
            Some(cap) => {
                let room = (cap - balance).max(Decimal::ZERO);
                let to_wallet = earned.min(room);
                (to_wallet, earned - to_wallet)
            }
        }
    }
}

/// The calendar quarter of a local date, e.g. "2026Q4".
pub fn quarter_of(date: NaiveDate) -> String {
    format!("{}Q{}", date.year(), date.month0() / 3 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn caps_and_quarters() {
        let open = SpendingPolicy::default();
        assert_eq!(open.split_earning(d("999"), d("5")), (d("5"), d("0")));
        let capped = SpendingPolicy {
            balance_cap: Some(d("100")),
            ..SpendingPolicy::default()
        };
        assert_eq!(capped.split_earning(d("98"), d("5")), (d("2"), d("3")));
        assert_eq!(capped.split_earning(d("120"), d("5")), (d("0"), d("5")));
        assert_eq!(
            quarter_of(NaiveDate::from_ymd_opt(2026, 3, 31).unwrap()),
            "2026Q1"
        );
        assert_eq!(
            quarter_of(NaiveDate::from_ymd_opt(2026, 10, 1).unwrap()),
            "2026Q4"
        );
        assert!(SpendingPolicy::default().validate().is_ok());
        assert!(
            SpendingPolicy {
                order_pickup_days: 0,
                ..SpendingPolicy::default()
            }
            .validate()
            .is_err()
        );
        assert!(
            SpendingPolicy {
                balance_cap: Some(d("0")),
                ..SpendingPolicy::default()
            }
            .validate()
            .is_err()
        );
        assert!(
            SpendingPolicy {
                max_points_per_gift: d("1.001"),
                ..SpendingPolicy::default()
            }
            .validate()
            .is_err()
        );
    }

    proptest! {
        /// The split never creates or loses points and never passes the cap.
        #[test]
        fn split_conserves_points(balance in 0i64..100_000, earned in 0i64..100_000, cap in 1i64..100_000) {
            let p = SpendingPolicy { balance_cap: Some(Decimal::new(cap, 2)), ..SpendingPolicy::default() };
            let (w, pool) = p.split_earning(Decimal::new(balance, 2), Decimal::new(earned, 2));
            prop_assert_eq!(w + pool, Decimal::new(earned, 2));
            prop_assert!(w >= Decimal::ZERO && pool >= Decimal::ZERO);
            prop_assert!(Decimal::new(balance, 2) + w <= Decimal::new(cap, 2).max(Decimal::new(balance, 2)));
        }
    }
}
