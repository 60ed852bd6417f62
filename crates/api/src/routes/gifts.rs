use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::json;
use timebank_directory::{self as directory, Org};
use timebank_kernel::Code;
use timebank_ledger::Amount;
use timebank_redemption::gifts::{self, Recipient};
use validator::Validate;

use crate::access;
use crate::error::ApiError;
use crate::idempotency;
use crate::principal::Principal;
use crate::routes::valid;
use crate::state::AppState;

#[derive(Debug, Deserialize, Validate)]
pub struct RequestLink {
    #[validate(length(min = 1, max = 64))]
    user_id: String,
    #[validate(length(min = 1, max = 20))]
    relation: String,
}

pub async fn request_link(
    state: web::Data<AppState>,
    principal: Principal,
    body: crate::input::Json<RequestLink>,
) -> Result<HttpResponse, ApiError> {
    let body = valid(body)?;
    let me = principal.user_id()?;
    let link = state
        .db(move |conn| {
            Ok(gifts::request_link(
                conn,
                &me,
                &body.user_id,
                &body.relation,
            )?)
        })
        .await?;
    Ok(HttpResponse::Created().json(link))
}

pub async fn confirm_link(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let me = principal.user_id()?;
    let link = state
        .db(move |conn| Ok(gifts::confirm_link(conn, &id, &me)?))
        .await?;
    Ok(HttpResponse::Ok().json(link))
}

pub async fn list_links(
    state: web::Data<AppState>,
    principal: Principal,
) -> Result<HttpResponse, ApiError> {
    let me = principal.user_id()?;
    let items = state
        .db(move |conn| Ok(gifts::links_of(conn, &me)?))
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

#[derive(Debug, Deserialize, Serialize, Validate)]
pub struct GiveBody {
    #[validate(length(min = 1, max = 64))]
    to_user_id: Option<String>,
    /// "pool" for the district's public pool.
    to: Option<String>,
    points: Amount,
    #[validate(length(max = 200))]
    note: Option<String>,
}

impl GiveBody {
    /// A confirmed family member, or the district's pool: one of the two.
    fn recipient(&self) -> Result<Recipient, ApiError> {
        match (self.to.as_deref(), &self.to_user_id) {
            (Some("pool"), None) => Ok(Recipient::Pool),
            (None, Some(to)) => Ok(Recipient::Person(to.clone())),
            _ => Err(ApiError::new(
                Code::ValidationFailed,
                "give either to_user_id or to: \"pool\"",
            )
            .with_details(json!({ "fields": { "to_user_id": ["required"], "to": ["enum"] } }))),
        }
    }
}

pub async fn give(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    body: crate::input::Json<GiveBody>,
) -> Result<HttpResponse, ApiError> {
    let body = valid(body)?;
    let from = principal.volunteer_id()?;
    let recipient = body.recipient()?;
    let keyed = idempotency::Keyed::from_request(&req, &json!(body))?;
    let outcome = keyed
        .run(&state, from.clone(), move |c| {
            let gift = gifts::give(
                c,
                &from,
                recipient.clone(),
                body.points,
                body.note.clone(),
                timebank_store::now(),
            )?;
            Ok(idempotency::Effect::new(StatusCode::CREATED, json!(gift)))
        })
        .await?;
    Ok(outcome.into_response())
}

#[derive(Debug, Deserialize, Serialize, Validate)]
pub struct GrantBody {
    #[validate(length(min = 1, max = 64))]
    volunteer_or_resident_id: String,
    points: Amount,
    #[validate(length(min = 1, max = 500))]
    reason: String,
}

pub async fn grant(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    body: crate::input::Json<GrantBody>,
) -> Result<HttpResponse, ApiError> {
    let body = valid(body)?;
    let keyed = idempotency::Keyed::from_request(&req, &json!(body))?;
    let actor = principal.actor_id();
    let outcome = keyed
        .run(&state, actor.clone(), move |c| {
            let allowed = |district: &Org| access::may_grant_from_pool(&principal, district);
            let tx = gifts::grant(
                c,
                &body.volunteer_or_resident_id,
                body.points,
                body.reason.trim(),
                &actor,
                timebank_store::now(),
                &allowed,
            )?;
            Ok(idempotency::Effect::new(StatusCode::CREATED, json!(tx)))
        })
        .await?;
    Ok(outcome.into_response())
}

#[derive(Debug, Deserialize)]
pub struct PoolQuery {
    district_id: String,
}

pub async fn pool(
    state: web::Data<AppState>,
    principal: Principal,
    query: crate::input::Query<PoolQuery>,
) -> Result<HttpResponse, ApiError> {
    let (district_id, points) = state
        .db(move |conn| {
            let district = directory::get_org(conn, &query.district_id)?;
            if district.kind != "district" {
                return Err(ApiError::new(
                    Code::InvalidOrg,
                    "district_id is not a district",
                ));
            }
            Principal::require(principal.reads(&district.path))?;
            let points = gifts::pool_balance(conn, &district)?;
            Ok((district.id, points))
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "district_id": district_id, "points": points })))
}
