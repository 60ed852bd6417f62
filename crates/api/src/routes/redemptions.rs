use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use timebank_ledger::Amount;
use timebank_redemption::orders::{self, OrderRow, OrderScope};
use timebank_store::write_tx;
use validator::Validate;

use crate::access;
use crate::error::ApiError;
use crate::idempotency;
use crate::principal::Principal;
use crate::routes::volunteers::load_readable;
use crate::routes::{opt_utc, utc_string, valid};
use crate::state::AppState;

/// The pickup code is shown only to the volunteer who ordered.
pub fn order_json(o: &OrderRow, with_code: bool) -> Value {
    json!({
        "id": o.id,
        "volunteer_id": o.volunteer_id,
        "site_id": o.site_id,
        "item_id": o.item_id,
        "quantity": o.quantity,
        "points": Amount::from_units(o.points),
        "status": o.status,
        "pickup_code": with_code.then_some(&o.pickup_code),
        "expires_at": utc_string(&o.expires_at),
        "locked_until": opt_utc(o.locked_until),
        "transaction_id": o.transaction_id,
        "refund_transaction_id": o.refund_transaction_id,
        "created_at": utc_string(&o.created_at),
        "closed_at": opt_utc(o.closed_at),
    })
}

#[derive(Debug, Deserialize, Serialize, Validate)]
pub struct PlaceOrder {
    #[validate(length(min = 1, max = 64))]
    item_id: String,
    #[validate(length(min = 1, max = 64))]
    site_id: String,
    #[validate(range(min = 1, max = 100))]
    quantity: i32,
}

pub async fn place(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    body: crate::input::Json<PlaceOrder>,
) -> Result<HttpResponse, ApiError> {
    let body = valid(body)?;
    let volunteer_id = principal.volunteer_id()?;
    let keyed = idempotency::Keyed::from_request(&req, &json!(body))?;
    let order = orders::OrderRequest {
        volunteer_id,
        item_id: body.item_id,
        site_id: body.site_id,
        quantity: body.quantity,
    };
    let outcome = state
        .placing
        .place(&state, crate::placing::Placement { order, keyed })
        .await?;
    Ok(outcome.into_response())
}

pub async fn get(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let body = state
        .db(move |conn| {
            let (order, scope) = orders::get_scoped(conn, &id)?;
            Principal::require(access::may_read_order(&principal, &scope))?;
            Ok(order_json(&order, principal.is_user(&order.volunteer_id)))
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

#[derive(Debug, Deserialize, Validate)]
pub struct Fulfil {
    #[validate(length(min = 1, max = 12))]
    pickup_code: String,
}

pub async fn fulfil(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: crate::input::Json<Fulfil>,
) -> Result<HttpResponse, ApiError> {
    let body = valid(body)?;
    let order = state
        .db(move |conn| {
            let actor = principal.actor_id();
            let allowed = |s: &OrderScope| access::may_hand_out(&principal, s);
            // A wrong code is counted (and may lock the order) even though
            // the call is refused, so that bookkeeping commits first.
            let outcome = write_tx(conn, |c| {
                orders::fulfil(
                    c,
                    &id,
                    body.pickup_code.trim(),
                    &actor,
                    timebank_store::now(),
                    &allowed,
                )
            })?;
            Ok(outcome?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(order_json(&order, false)))
}

pub async fn cancel(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let keyed = idempotency::Keyed::from_request(&req, &Value::Null)?;
    let actor = principal.actor_id();
    let outcome = keyed
        .run(&state, actor.clone(), move |c| {
            let allowed = |s: &OrderScope| access::may_cancel_order(&principal, s);
            let order = orders::cancel(c, &id, &actor, false, timebank_store::now(), &allowed)?;
            let own = principal.is_user(&order.volunteer_id);
            Ok(idempotency::Effect::new(
                StatusCode::OK,
                order_json(&order, own),
            ))
        })
        .await?;
    Ok(outcome.into_response())
}

pub async fn for_volunteer(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let own = principal.is_user(&id);
    let items = state
        .db(move |conn| {
            load_readable(conn, &principal, &id)?;
            Ok(orders::for_volunteer(conn, &id, 200)?)
        })
        .await?;
    let items: Vec<Value> = items.iter().map(|o| order_json(o, own)).collect();
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}
