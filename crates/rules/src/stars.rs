//! Star levels (星级志愿者) from lifetime service hours, with an optional
//! minimum tenure per level and a bar after a confirmed falsification.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StarPolicy {
    /// Lifetime service hours needed for 1★, 2★, … (strictly increasing).
    #[serde(with = "decimal_strings")]
    pub thresholds_hours: Vec<Decimal>,
    /// Days since approval needed for each level; empty means none.
    #[serde(default)]
    pub min_tenure_days: Vec<u32>,
    /// How long a confirmed falsification bars a volunteer from a new level.
    pub falsification_bar_days: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StarPolicyError {
    Empty,
    TooMany,
    NotIncreasing,
    NotPositive,
    TooPrecise,
    TenureLength,
    BarTooLong,
}

impl Default for StarPolicy {
    /// The national default: 1★ 100 h, 2★ 300 h, 3★ 600 h, 4★ 1000 h,
    /// 5★ 1500 h; no tenure; a one-year bar.
    fn default() -> Self {
        Self {
            thresholds_hours: [100, 300, 600, 1000, 1500].map(Decimal::from).to_vec(),
            min_tenure_days: Vec::new(),
            falsification_bar_days: 365,
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
    pub fn new(thresholds_hours: Vec<Decimal>) -> Result<Self, StarPolicyError> {
        let policy = Self {
            thresholds_hours,
            ..Self::default()
        };
        policy.validate()?;
        Ok(policy)
    }

    pub fn validate(&self) -> Result<(), StarPolicyError> {
        let t = &self.thresholds_hours;
        if t.is_empty() {
            return Err(StarPolicyError::Empty);
        }
        if t.len() > 10 {
            return Err(StarPolicyError::TooMany);
        }
        if t.iter().any(|v| *v <= Decimal::ZERO) {
            return Err(StarPolicyError::NotPositive);
        }
        if t.iter().any(|v| v.normalize().scale() > 2) {
            return Err(StarPolicyError::TooPrecise);
        }
        if t.windows(2).any(|w| w[0] >= w[1]) {
            return Err(StarPolicyError::NotIncreasing);
        }
        if !self.min_tenure_days.is_empty() && self.min_tenure_days.len() != t.len() {
            return Err(StarPolicyError::TenureLength);
        }
        if self.falsification_bar_days > 3650 {
            return Err(StarPolicyError::BarTooLong);
        }
        Ok(())
    }

    pub fn top_level(&self) -> u8 {
        u8::try_from(self.thresholds_hours.len()).unwrap_or(u8::MAX)
    }

    /// The level by hours alone, and the hours to the next threshold.
    pub fn status(&self, lifetime_hours: Decimal) -> StarStatus {
        let reached = self
            .thresholds_hours
            .iter()
            .take_while(|t| lifetime_hours >= **t)
            .count();
        StarStatus {
            level: u8::try_from(reached).unwrap_or(u8::MAX),
            hours_to_next: self
                .thresholds_hours
                .get(reached)
                .map(|next| *next - lifetime_hours),
        }
    }

    /// The level a volunteer holds: reached by hours and by tenure; while
    /// barred, never higher than `current` (a bar keeps the level it found,
    /// though a reversal of hours may still lower it).
    pub fn level(
        &self,
        lifetime_hours: Decimal,
        tenure_days: i64,
        barred: bool,
        current: u8,
    ) -> u8 {
        let by_hours = self.status(lifetime_hours).level;
        let by_tenure = if self.min_tenure_days.is_empty() {
            by_hours
        } else {
            let met = self
                .min_tenure_days
                .iter()
                .take_while(|d| tenure_days >= i64::from(**d))
                .count();
            u8::try_from(met).unwrap_or(u8::MAX).min(by_hours)
        };
        if barred && by_tenure > current {
            current
        } else {
            by_tenure
        }
    }

    /// Hours from `lifetime_hours` to the threshold above `level`, never
    /// negative (a level held back by tenure or a bar needs no more hours).
    pub fn hours_to_next(&self, level: u8, lifetime_hours: Decimal) -> Option<Decimal> {
        self.thresholds_hours
            .get(usize::from(level))
            .map(|next| (*next - lifetime_hours).max(Decimal::ZERO))
    }
}

mod decimal_strings {
    use std::str::FromStr;

    use rust_decimal::Decimal;
    use serde::{Deserialize, Deserializer, Serializer, ser::SerializeSeq};

    pub fn serialize<S: Serializer>(values: &[Decimal], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(values.len()))?;
        for v in values {
            seq.serialize_element(&v.to_string())?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Decimal>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|s| Decimal::from_str(s).map_err(serde::de::Error::custom))
            .collect()
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
            ("300.01", 2),
            ("599.99", 2),
            ("600", 3),
            ("600.01", 3),
            ("999.99", 3),
            ("1000", 4),
            ("1000.01", 4),
            ("1499.99", 4),
            ("1500", 5),
            ("1500.01", 5),
            ("99999", 5),
        ] {
            assert_eq!(p.status(h(hours)).level, level, "{hours}");
            assert_eq!(p.level(h(hours), 0, false, 0), level, "{hours}");
        }
        assert_eq!(p.status(h("99.5")).hours_to_next, Some(h("0.5")));
        assert_eq!(p.status(h("1500")).hours_to_next, None);
    }

    #[test]
    fn tenure_and_bar_hold_the_level_back() {
        let p = StarPolicy {
            min_tenure_days: vec![180, 180, 365, 365, 730],
            ..StarPolicy::default()
        };
        assert_eq!(p.level(h("700"), 179, false, 0), 0);
        assert_eq!(p.level(h("700"), 200, false, 0), 2);
        assert_eq!(p.level(h("700"), 400, false, 0), 3);
        assert_eq!(p.hours_to_next(2, h("700")), Some(h("0")));
        let p = StarPolicy::default();
        assert_eq!(p.level(h("700"), 0, true, 2), 2, "barred: no new level");
        assert_eq!(
            p.level(h("150"), 0, true, 2),
            1,
            "barred: a reversal still lowers it"
        );
    }

    #[test]
    fn rejects_bad_policies() {
        assert_eq!(StarPolicy::new(vec![]), Err(StarPolicyError::Empty));
        assert_eq!(
            StarPolicy::new(vec![h("10"), h("10")]),
            Err(StarPolicyError::NotIncreasing)
        );
        assert_eq!(
            StarPolicy::new(vec![h("-1")]),
            Err(StarPolicyError::NotPositive)
        );
        assert_eq!(
            StarPolicy::new(vec![h("1.001")]),
            Err(StarPolicyError::TooPrecise)
        );
        let p = StarPolicy {
            min_tenure_days: vec![1],
            ..StarPolicy::default()
        };
        assert_eq!(p.validate(), Err(StarPolicyError::TenureLength));
        let json = serde_json::to_string(&StarPolicy::default()).unwrap();
        assert_eq!(
            serde_json::from_str::<StarPolicy>(&json).unwrap(),
            StarPolicy::default()
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
