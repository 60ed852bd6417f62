use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use timebank_directory::{self as directory, Volunteer};
use timebank_earning::cases::{self, CaseAwardRow, CaseRuleRow, NewCaseRule};
use timebank_ledger::Amount;
use tracing_actix_web::RequestId;
use validator::{Validate, ValidationError};

use crate::access;
use crate::error::ApiError;
use crate::idempotency;
use crate::principal::Principal;
use crate::routes::{administered_org, naive, opt_utc, utc_string, valid};
use crate::state::AppState;

fn rule_json(r: &CaseRuleRow) -> Value {
    json!({
        "id": r.id,
        "org_id": r.org_id,
        "code": r.code,
        "version": r.version,
        "rule_version": r.version_label(),
        "name": r.name,
        "points": Amount::from_units(r.points),
        "hours": Amount::from_units(r.hours),
        "max_per_person_per_year": r.max_per_person_per_year,
        "evidence_required": r.evidence_required,
        "for_teams": r.for_teams,
        "effective_from": utc_string(&r.effective_from),
        "created_at": utc_string(&r.created_at),
    })
}

pub(crate) fn award_json(a: &CaseAwardRow) -> Value {
    json!({
        "id": a.id,
        "volunteer_id": a.volunteer_id,
        "rule_code": a.rule_code,
        "rule_id": a.rule_id,
        "occurred_at": utc_string(&a.occurred_at),
        "evidence": a.evidence,
        "status": a.status,
        "filed_by": a.filed_by,
        "decided_by": a.decided_by,
        "decided_at": opt_utc(a.decided_at),
        "decision_reason": a.decision_reason,
        "transaction_id": a.transaction_id,
        "created_at": utc_string(&a.created_at),
    })
}

/// Rule codes are stable identifiers: lower-case letters, digits, underscores.
fn rule_code(code: &str) -> Result<(), ValidationError> {
    let ok = !code.is_empty()
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(ValidationError::new("code"))
    }
}

#[derive(Debug, Deserialize, Validate)]
pub struct PublishRule {
    /// Defaults to the org the caller administers (the root for a system token).
    #[validate(length(min = 1, max = 64))]
    org_id: Option<String>,
    #[validate(length(min = 1, max = 50), custom(function = "rule_code"))]
    code: String,
    #[validate(length(min = 1, max = 100))]
    name: String,
    points: Amount,
    hours: Option<Amount>,
    #[validate(range(min = 1, max = 366))]
    max_per_person_per_year: Option<i32>,
    evidence_required: Option<bool>,
    effective_from: Option<DateTime<Utc>>,
    /// Awarded to teams as a group (to the team's account), not to people.
    for_teams: Option<bool>,
}

pub async fn publish_rule(
    state: web::Data<AppState>,
    principal: Principal,
    body: crate::input::Json<PublishRule>,
) -> Result<HttpResponse, ApiError> {
    let body = valid(body)?;
    let rule = state
        .db(move |conn| {
            let org_id = match &body.org_id {
                Some(id) => id.clone(),
                None => principal.home_org(conn)?.ok_or_else(ApiError::forbidden)?,
            };
            let org = administered_org(conn, &principal, &org_id)?;
            let new = NewCaseRule {
                org_id: org.id,
                code: body.code,
                name: body.name.trim().to_owned(),
                points: body.points,
                hours: body.hours.unwrap_or(Amount::ZERO),
                max_per_person_per_year: body.max_per_person_per_year,
                evidence_required: body.evidence_required.unwrap_or(false),
                effective_from: body.effective_from.map(naive),
                for_teams: body.for_teams.unwrap_or(false),
            };
            Ok(cases::publish_rule(conn, new, &principal.actor_id())?)
        })
        .await?;
    Ok(HttpResponse::Created().json(rule_json(&rule)))
}

#[derive(Debug, Deserialize)]
pub struct RulesQuery {
    org_id: Option<String>,
    all_versions: Option<bool>,
}

pub async fn list_rules(
    state: web::Data<AppState>,
    _principal: Principal,
    query: crate::input::Query<RulesQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let items = state
        .db(move |conn| {
            let path = match &q.org_id {
                Some(id) => Some(directory::get_org(conn, id)?.path),
                None => None,
            };
            Ok(cases::list_rules(
                conn,
                path.as_deref(),
                q.all_versions.unwrap_or(false),
            )?)
        })
        .await?;
    let items: Vec<Value> = items.iter().map(rule_json).collect();
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

#[derive(Debug, Deserialize, Validate)]
pub struct FileAward {
    #[validate(length(min = 1, max = 64))]
    volunteer_id: String,
    #[validate(length(min = 1, max = 50))]
    rule_code: String,
    occurred_at: DateTime<Utc>,
    #[validate(length(min = 1, max = 2000))]
    evidence: Option<String>,
}

pub async fn file_award(
    state: web::Data<AppState>,
    principal: Principal,
    body: crate::input::Json<FileAward>,
) -> Result<HttpResponse, ApiError> {
    let body = valid(body)?;
    let award = state
        .db(move |conn| {
            let allowed = |v: &Volunteer| access::may_file_award(&principal, v);
            Ok(cases::file_allowed(
                conn,
                &body.volunteer_id,
                &body.rule_code,
                naive(body.occurred_at),
                body.evidence,
                &principal.actor_id(),
                &allowed,
            )?)
        })
        .await?;
    Ok(HttpResponse::Created().json(award_json(&award)))
}

fn award_scope(
    conn: &mut timebank_store::DbConnection,
    id: &str,
) -> Result<(CaseAwardRow, String), ApiError> {
    let award = cases::get_award(conn, id)?;
    let volunteer = directory::get_volunteer(conn, &award.volunteer_id)?;
    Ok((award, volunteer.community_path))
}

pub async fn get_award(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let award = state
        .db(move |conn| {
            let (award, path) = award_scope(conn, &id)?;
            Principal::require(principal.is_user(&award.volunteer_id) || principal.reads(&path))?;
            Ok(award)
        })
        .await?;
    Ok(HttpResponse::Ok().json(award_json(&award)))
}

pub async fn approve(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    request_id: RequestId,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let keyed = idempotency::Keyed::from_request(&req, &Value::Null)?;
    let request_id = request_id.to_string();
    let actor = principal.actor_id();
    let outcome = keyed
        .run(&state, actor.clone(), move |c| {
            let allowed = |v: &Volunteer| access::may_decide_award(&principal, v);
            let (award, tx) = cases::approve(c, &id, &actor, Some(&request_id), &allowed)?;
            let mut body = award_json(&award);
            body["transaction"] = json!(tx);
            Ok(idempotency::Effect::new(StatusCode::OK, body))
        })
        .await?;
    Ok(outcome.into_response())
}

#[derive(Debug, Deserialize, Validate)]
pub struct RejectAward {
    #[validate(length(min = 1, max = 500))]
    reason: String,
}

pub async fn reject(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: crate::input::Json<RejectAward>,
) -> Result<HttpResponse, ApiError> {
    let body = valid(body)?;
    let award = state
        .db(move |conn| {
            let allowed = |v: &Volunteer| access::may_decide_award(&principal, v);
            let actor = principal.actor_id();
            Ok(cases::reject(
                conn,
                &id,
                &actor,
                body.reason.trim(),
                &allowed,
            )?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(award_json(&award)))
}
