use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Lifetime service hours needed for 1★ to 5★.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StarPolicy {
    thresholds: Vec<Decimal>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StarPolicyError {
    Empty,
    NotIncreasing,
    Negative,
}

impl Default for StarPolicy {
    /// The national default: 1★ 100 h, 2★ 300 h, 3★ 600 h, 4★ 1000 h, 5★ 1500 h.
    fn default() -> Self {
        Self {
            thresholds: [100, 300, 600, 1000, 1500].map(Decimal::from).to_vec(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StarStatus {
    pub level: u8,
    /// Hours still needed for the next level; `None` at the top level.
    pub hours_to_next: Option<Decimal>,
}

impl StarPolicy {
    pub fn new(thresholds: Vec<Decimal>) -> Result<Self, StarPolicyError> {
        if thresholds.is_empty() {
            return Err(StarPolicyError::Empty);
        }
        if thresholds.iter().any(|t| t.is_sign_negative()) {
            return Err(StarPolicyError::Negative);
        }
        if thresholds.windows(2).any(|w| w[0] >= w[1]) {
            return Err(StarPolicyError::NotIncreasing);
        }
        Ok(Self { thresholds })
    }

    pub fn status(&self, lifetime_hours: Decimal) -> StarStatus {
        let reached = self
            .thresholds
            .iter()
            .take_while(|t| lifetime_hours >= **t)
            .count();
        StarStatus {
            level: u8::try_from(reached).unwrap_or(u8::MAX),
            hours_to_next: self
                .thresholds
                .get(reached)
                .map(|next| *next - lifetime_hours),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn h(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    #[test]
    fn boundaries_give_the_right_level() {
        let p = StarPolicy::default();
        for (hours, level) in [
            ("0", 0),
            ("99.99", 0),
            ("100", 1),
            ("100.01", 1),
            ("299.99", 1),
            ("300", 2),
            ("600", 3),
            ("999.99", 3),
            ("1000", 4),
            ("1500", 5),
            ("99999", 5),
        ] {
            assert_eq!(p.status(h(hours)).level, level, "{hours}");
        }
        assert_eq!(p.status(h("99.5")).hours_to_next, Some(h("0.5")));
        assert_eq!(p.status(h("1500")).hours_to_next, None);
    }

    #[test]
    fn rejects_bad_thresholds() {
        assert_eq!(StarPolicy::new(vec![]), Err(StarPolicyError::Empty));
        assert_eq!(
            StarPolicy::new(vec![h("10"), h("10")]),
            Err(StarPolicyError::NotIncreasing)
        );
        assert_eq!(
            StarPolicy::new(vec![h("-1")]),
            Err(StarPolicyError::Negative)
        );
    }

    proptest! {
        #[test]
        fn level_is_monotone_in_hours(a in 0i64..300_000, b in 0i64..300_000) {
            let p = StarPolicy::default();
            let (lo, hi) = (a.min(b), a.max(b));
            prop_assert!(p.status(Decimal::new(lo, 2)).level <= p.status(Decimal::new(hi, 2)).level);
            if let Some(next) = p.status(Decimal::new(lo, 2)).hours_to_next {
                prop_assert!(next > Decimal::ZERO);
            }
        }
    }
}
