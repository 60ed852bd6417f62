//! Case-based points (案例制积分): deeds hours can't measure, from a
//! published, versioned rule table.

use chrono::{Datelike, NaiveDateTime};
use rust_decimal::Decimal;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRuleVersion {
    pub code: String,
    pub version: u32,
    pub points: Decimal,
    pub hours: Decimal,
    pub max_per_person_per_year: Option<u32>,
    pub evidence_required: bool,
    pub effective_from: NaiveDateTime,
}

/// The version in force at `at`: the latest `effective_from` not after it
/// (the higher version when two start together).
pub fn in_force(versions: &[CaseRuleVersion], at: NaiveDateTime) -> Option<&CaseRuleVersion> {
    versions
        .iter()
        .filter(|v| v.effective_from <= at)
        .max_by_key(|v| (v.effective_from, v.version))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseRefusal {
    LimitReached { limit: u32 },
    EvidenceRequired,
}

/// Checks one more claim of `rule` by a person who already has
/// `approved_in_year` approved claims in the calendar year of the deed.
pub fn check_claim(
    rule: &CaseRuleVersion,
    approved_in_year: u32,
    evidence: Option<&str>,
) -> Result<(), CaseRefusal> {
    if rule.evidence_required && evidence.is_none_or(|e| e.trim().is_empty()) {
        return Err(CaseRefusal::EvidenceRequired);
    }
    check_limit(rule, approved_in_year)
}

/// The yearly limit alone: final when an award is approved.
pub fn check_limit(rule: &CaseRuleVersion, approved_in_year: u32) -> Result<(), CaseRefusal> {
    match rule.max_per_person_per_year {
        Some(limit) if approved_in_year >= limit => Err(CaseRefusal::LimitReached { limit }),
        _ => Ok(()),
    }
}

/// The calendar year a deed counts towards.
pub fn claim_year(occurred_at: NaiveDateTime) -> i32 {
    occurred_at.year()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(m: u32, d: u32) -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, m, d)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
    }

    fn rule(version: u32, from: NaiveDateTime, points: i64) -> CaseRuleVersion {
        CaseRuleVersion {
            code: "blood_donation".into(),
            version,
            points: Decimal::from(points),
            hours: Decimal::ZERO,
            max_per_person_per_year: Some(2),
            evidence_required: true,
            effective_from: from,
        }
    }

    #[test]
    fn the_version_in_force_at_the_deed_applies() {
        let versions = [rule(1, day(1, 1), 10), rule(2, day(6, 1), 20)];
        assert_eq!(
            in_force(&versions, day(3, 1)).unwrap().points,
            Decimal::from(10)
        );
        assert_eq!(
            in_force(&versions, day(6, 1)).unwrap().points,
            Decimal::from(20)
        );
        assert!(
            in_force(
                &versions,
                chrono::NaiveDate::from_ymd_opt(2025, 1, 1)
                    .unwrap()
                    .and_hms_opt(0, 0, 0)
                    .unwrap()
            )
            .is_none()
        );
        let same_day = [rule(1, day(1, 1), 10), rule(2, day(1, 1), 30)];
        assert_eq!(in_force(&same_day, day(2, 1)).unwrap().version, 2);
    }

    #[test]
    fn limits_and_evidence() {
        let r = rule(1, day(1, 1), 10);
        assert_eq!(check_claim(&r, 0, None), Err(CaseRefusal::EvidenceRequired));
        assert_eq!(
            check_claim(&r, 0, Some("  ")),
            Err(CaseRefusal::EvidenceRequired)
        );
        assert_eq!(check_claim(&r, 1, Some("献血证 2026-001")), Ok(()));
        assert_eq!(
            check_claim(&r, 2, Some("献血证")),
            Err(CaseRefusal::LimitReached { limit: 2 })
        );
        let open = CaseRuleVersion {
            max_per_person_per_year: None,
            evidence_required: false,
            ..r
        };
        assert_eq!(check_claim(&open, 99, None), Ok(()));
        assert_eq!(claim_year(day(12, 31)), 2026);
    }
}
