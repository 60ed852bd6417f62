use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};
use timebank_directory as directory;
use timebank_kernel::Code;
use timebank_policy::{self as policy, PolicyKind};
use timebank_rules::{EarningPolicy, SpendingPolicy, StarPolicy};

use crate::error::ApiError;
use crate::principal::Principal;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct OrgQuery {
    org_id: String,
}

fn kind_of(text: &str) -> Result<PolicyKind, ApiError> {
    PolicyKind::parse(text).ok_or_else(|| ApiError::not_found("policy kind"))
}

fn view<T: serde::Serialize>(org_id: &str, kind: PolicyKind, e: &policy::Effective<T>) -> Value {
    json!({
        "org_id": org_id,
        "kind": kind.as_str(),
        "version": e.version,
        "source_org_id": e.source_org_id,
        "policy": e.policy,
    })
}

fn effective_view(
    conn: &mut timebank_store::DbConnection,
    kind: PolicyKind,
    org_id: &str,
) -> Result<Value, ApiError> {
    let org = directory::get_org(conn, org_id)?;
    Ok(match kind {
        PolicyKind::Earning => view(&org.id, kind, &policy::earning(conn, &org.path)?),
        PolicyKind::Stars => view(&org.id, kind, &policy::stars(conn, &org.path)?),
        PolicyKind::Spending => view(&org.id, kind, &policy::spending(conn, &org.path)?),
    })
}

pub async fn get(
    state: web::Data<AppState>,
    _principal: Principal,
    kind: web::Path<String>,
    query: web::Query<OrgQuery>,
) -> Result<HttpResponse, ApiError> {
    let kind = kind_of(&kind)?;
    let body = state
        .db(move |conn| effective_view(conn, kind, &query.org_id))
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

fn invalid(field: &str, message: &str) -> ApiError {
    ApiError::new(Code::InvalidPolicy, format!("{field}: {message}"))
        .with_details(json!({ "fields": { field: [message] } }))
}

fn star_error(e: timebank_rules::StarPolicyError) -> ApiError {
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
fn parse_policy(kind: PolicyKind, body: Value) -> Result<Value, ApiError> {
    Ok(match kind {
        PolicyKind::Earning => {
            let p: EarningPolicy = serde_json::from_value(body)
                .map_err(|e| ApiError::new(Code::InvalidPolicy, e.to_string()))?;
            p.validate().map_err(|e| invalid(e.field, e.message))?;
            json!(p)
        }
        PolicyKind::Stars => {
            let p: StarPolicy = serde_json::from_value(body)
                .map_err(|e| ApiError::new(Code::InvalidPolicy, e.to_string()))?;
            p.validate().map_err(star_error)?;
            json!(p)
        }
        PolicyKind::Spending => {
            let p: SpendingPolicy = serde_json::from_value(body)
                .map_err(|e| ApiError::new(Code::InvalidPolicy, e.to_string()))?;
            p.validate().map_err(|e| invalid(e.field, e.message))?;
            json!(p)
        }
    })
}

pub async fn put(
    state: web::Data<AppState>,
    principal: Principal,
    kind: web::Path<String>,
    query: web::Query<OrgQuery>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let kind = kind_of(&kind)?;
    let body = body.into_inner();
    let out = state
        .db(move |conn| {
            // Who may publish comes before what is published: a caller
            // without the right learns nothing about the policy's shape.
            let org = directory::get_org(conn, &query.org_id)?;
            Principal::require(principal.admin_over(&org.path))?;
            let stored = parse_policy(kind, body)?;
            policy::publish(conn, kind, &org.id, &stored, &principal.actor_id())?;
            effective_view(conn, kind, &org.id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}
