use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};
use timebank_directory::Org;
use timebank_ledger::Amount;
use timebank_services::wishes::{self, Claimant, Claimer, WishRow};
use validator::Validate;

use crate::access;
use crate::error::ApiError;
use crate::idempotency::{self, Effect};
use crate::principal::Principal;
use crate::routes::{opt_utc, optional_body, utc_string, valid};
use crate::state::AppState;

pub(crate) fn wish_json(w: &WishRow) -> Value {
    json!({
        "id": w.id,
        "requester_id": w.requester_id,
        "community_id": w.community_id,
        "category": w.category,
        "description": w.description,
        "budget": w.budget.map(Amount::from_units),
        "status": w.status,
        "claimed_by_volunteer": w.claimed_by_volunteer,
        "claimed_by_org": w.claimed_by_org,
        "fulfil_note": w.fulfil_note,
        "fulfilled_at": opt_utc(w.fulfilled_at),
        "confirmed_at": opt_utc(w.confirmed_at),
        "award_id": w.award_id,
        "created_at": utc_string(&w.created_at),
    })
}

#[derive(Debug, Deserialize, Validate)]
pub struct CreateWish {
    #[validate(length(min = 1, max = 30))]
    category: Option<String>,
    #[validate(length(min = 1, max = 500))]
    description: String,
    budget: Option<Amount>,
}

pub async fn create(
    state: web::Data<AppState>,
    principal: Principal,
    body: crate::input::Json<CreateWish>,
) -> Result<HttpResponse, ApiError> {
    let body = valid(body)?;
    let me = principal.user_id()?;
    let wish = state
        .db(move |conn| {
            let category = body.category.unwrap_or_else(|| "微心愿".to_owned());
            Ok(wishes::create(
                conn,
                &me,
                category.trim(),
                body.description.trim(),
                body.budget,
            )?)
        })
        .await?;
    Ok(HttpResponse::Created().json(wish_json(&wish)))
}

pub async fn get(
    state: web::Data<AppState>,
    _principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let wish = state.db(move |conn| Ok(wishes::get(conn, &id)?)).await?;
    Ok(HttpResponse::Ok().json(wish_json(&wish)))
}

#[derive(Debug, Deserialize, Validate)]
pub struct Claim {
    /// Claim for a partner organisation (by an admin over it) instead of oneself.
    #[validate(length(min = 1, max = 64))]
    org_id: Option<String>,
}

pub async fn claim(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let org_id = optional_body::<Claim>(&body)?.and_then(|c| c.org_id);
    let wish = state
        .db(move |conn| {
            let allowed = |org: &Org| access::may_claim_for(&principal, org);
            let claimer = match org_id {
                Some(org) => Claimer::Org(org, &allowed),
                None => Claimer::Volunteer(principal.volunteer_id()?),
            };
            Ok(wishes::claim(conn, &id, claimer)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(wish_json(&wish)))
}

#[derive(Debug, Deserialize, Validate)]
pub struct Fulfil {
    #[validate(length(min = 1, max = 500))]
    note: String,
}

pub async fn fulfil(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: crate::input::Json<Fulfil>,
) -> Result<HttpResponse, ApiError> {
    let body = valid(body)?;
    let wish = state
        .db(move |conn| {
            let is_claimer = |c: &Claimant| access::may_fulfil_wish(&principal, c);
            Ok(wishes::fulfil(conn, &id, body.note.trim(), &is_claimer)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(wish_json(&wish)))
}

pub async fn confirm(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let me = principal.user_id()?;
    let keyed = idempotency::Keyed::from_request(&req, &Value::Null)?;
    let outcome = keyed
        .run(&state, me.clone(), move |c| {
            let (wish, skipped) = wishes::confirm(c, &id, &me)?;
            let mut body = wish_json(&wish);
            body["award_skipped"] = json!(skipped);
            Ok(Effect::new(StatusCode::OK, body))
        })
        .await?;
    Ok(outcome.into_response())
}
