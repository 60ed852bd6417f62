//! What a publishable policy is: each kind parsed in its own strict shape
//! and validated by its rules, before anyone stores it.

use serde_json::{Value, json};
use timebank_directory::{Org, get_org};
use timebank_kernel::{Check, Code, DomainError};
use timebank_rules::{EarningPolicy, SpendingPolicy, StarPolicy};
use timebank_store::DbConnection;

use crate::PolicyKind;

/// Publishes a new version over an org, if `allowed` over it. Who may
/// publish comes before what is published: a caller without the right
/// learns nothing about the policy's shape.
pub fn publish_over(
    conn: &mut DbConnection,
    kind: PolicyKind,
    org_id: &str,
    body: Value,
    actor: &str,
    allowed: Check<'_, Org>,
) -> Result<Org, DomainError> {
    let org = get_org(conn, org_id)?;
    if !allowed(&org) {
        return Err(DomainError::forbidden());
    }
    let stored = parse(kind, body)?;
    crate::publish(conn, kind, &org.id, &stored, actor)?;
    Ok(org)
}

fn invalid(field: &str, message: &str) -> DomainError {
    DomainError::refused(Code::InvalidPolicy, format!("{field}: {message}"))
        .with_details(json!({ "fields": { field: [message] } }))
}

fn star_error(e: timebank_rules::StarPolicyError) -> DomainError {
    use timebank_rules::StarPolicyError as E;
    match e {
        E::Empty => invalid("thresholds_hours", "must name at least one level"),
        E::TooMany => invalid("thresholds_hours", "at most 10 levels"),
        E::NotIncreasing => invalid("thresholds_hours", "must be strictly increasing"),
        E::NotPositive => invalid("thresholds_hours", "must be above zero"),
        E::TooPrecise => invalid("thresholds_hours", "at most two decimal places"),
        E::TenureLength => invalid(
            "min_tenure_days",
            "must be empty or have one entry per level",
        ),
        E::BarTooLong => invalid("falsification_bar_days", "at most 3650"),
    }
}

/// Parsed per kind so each keeps its own strict shape (unknown fields and
/// numbers-for-amounts are refused).
pub fn parse(kind: PolicyKind, body: Value) -> Result<Value, DomainError> {
    Ok(match kind {
        PolicyKind::Earning => {
            let p: EarningPolicy = serde_json::from_value(body)
                .map_err(|e| DomainError::refused(Code::InvalidPolicy, e.to_string()))?;
            p.validate().map_err(|e| invalid(e.field, e.message))?;
            json!(p)
        }
        PolicyKind::Stars => {
            let p: StarPolicy = serde_json::from_value(body)
                .map_err(|e| DomainError::refused(Code::InvalidPolicy, e.to_string()))?;
            p.validate().map_err(star_error)?;
            json!(p)
        }
        PolicyKind::Spending => {
            let p: SpendingPolicy = serde_json::from_value(body)
                .map_err(|e| DomainError::refused(Code::InvalidPolicy, e.to_string()))?;
            p.validate().map_err(|e| invalid(e.field, e.message))?;
            json!(p)
        }
    })
}
