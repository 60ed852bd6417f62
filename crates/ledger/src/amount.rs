use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An amount of points or hours in hundredths (1.00 = 100). Stored as i64,
/// shown as a decimal string with two places, never a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Amount(i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("amount {0:?} is not a decimal number")]
    NotANumber(String),
    #[error("amount {0} has more than two decimal places")]
    TooPrecise(Decimal),
    #[error("amount {0} is too large")]
    TooLarge(Decimal),
}

/// Keeps every amount, and every sum of a few million of them, inside i64.
const MAX_ABS_UNITS: i64 = 1_000_000_000_000_000; // 10^13 points

impl Amount {
    pub const ZERO: Amount = Amount(0);

    pub const fn from_units(units: i64) -> Self {
        Amount(units)
    }

    pub const fn units(self) -> i64 {
        self.0
    }

    pub fn from_decimal(value: Decimal) -> Result<Self, AmountError> {
        let normalized = value.normalize();
        if normalized.scale() > 2 {
            return Err(AmountError::TooPrecise(value));
        }
        let units = normalized
            .checked_mul(Decimal::ONE_HUNDRED)
            .and_then(|scaled| scaled.to_i64())
            .ok_or(AmountError::TooLarge(value))?;
        if units.abs() > MAX_ABS_UNITS {
            return Err(AmountError::TooLarge(value));
        }
        Ok(Amount(units))
    }

    pub fn to_decimal(self) -> Decimal {
        Decimal::new(self.0, 2)
    }

    pub fn parse(text: &str) -> Result<Self, AmountError> {
        text.parse()
    }

    pub fn checked_add(self, other: Amount) -> Option<Amount> {
        self.0.checked_add(other.0).map(Amount)
    }

    pub fn checked_neg(self) -> Option<Amount> {
        self.0.checked_neg().map(Amount)
    }

    pub fn is_positive(self) -> bool {
        self.0 > 0
    }

    pub fn is_negative(self) -> bool {
        self.0 < 0
    }
}

impl FromStr for Amount {
    type Err = AmountError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        // Decimal accepts forms a client should not send ("1e3", "_1").
        let plain = !trimmed.is_empty()
            && trimmed
                .strip_prefix('-')
                .unwrap_or(trimmed)
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.')
            && trimmed.matches('.').count() <= 1
            && !trimmed.ends_with('.')
            && !trimmed.starts_with('.');
        if !plain || trimmed.len() > 32 {
            return Err(AmountError::NotANumber(text.to_owned()));
        }
        let value =
            Decimal::from_str(trimmed).map_err(|_| AmountError::NotANumber(text.to_owned()))?;
        Amount::from_decimal(value)
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Amount {
    /// A decimal string ("12.50"), or a JSON integer (12); never a float,
    /// whose value is not exact.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Amount;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a decimal string such as \"12.50\", or a whole number")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Amount, E> {
                v.parse().map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Amount, E> {
                Amount::from_decimal(Decimal::from(v)).map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Amount, E> {
                Amount::from_decimal(Decimal::from(v)).map_err(E::custom)
            }
            fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Amount, E> {
                Err(E::custom(
                    "amounts are decimal strings such as \"12.50\", not floating-point numbers",
                ))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_and_prints_two_places() {
        assert_eq!(Amount::parse("12.5").unwrap().units(), 1250);
        assert_eq!(Amount::parse("12.50").unwrap().to_string(), "12.50");
        assert_eq!(Amount::parse("-0.05").unwrap().to_string(), "-0.05");
        assert_eq!(Amount::parse("3").unwrap().to_string(), "3.00");
        assert_eq!(Amount::parse("1.230").unwrap().units(), 123);
    }

    #[test]
    fn rejects_bad_text() {
        for bad in [
            "1.234",
            "abc",
            "",
            "1e3",
            ".5",
            "5.",
            "1.2.3",
            "NaN",
            "+1",
            "99999999999999999999",
        ] {
            assert!(Amount::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn json_takes_strings_and_whole_numbers_not_floats() {
        let parse = |j: &str| serde_json::from_str::<Amount>(j);
        assert_eq!(parse("\"2.50\"").unwrap().units(), 250);
        assert_eq!(parse("2").unwrap().units(), 200);
        assert!(parse("2.5").is_err());
        assert!(parse("true").is_err());
    }

    proptest! {
        #[test]
        fn text_round_trips(units in -MAX_ABS_UNITS..=MAX_ABS_UNITS) {
            let amount = Amount::from_units(units);
            prop_assert_eq!(Amount::parse(&amount.to_string()).unwrap(), amount);
            prop_assert_eq!(Amount::from_decimal(amount.to_decimal()).unwrap(), amount);
        }
    }
}
