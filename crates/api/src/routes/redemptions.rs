use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use timebank_directory as directory;
use timebank_ledger::Amount;
use timebank_redemption::orders::{self, OrderRow};
use timebank_redemption::sites;
use timebank_store::write_tx;
use validator::Validate;

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
    body: web::Json<PlaceOrder>,
) -> Result<HttpResponse, ApiError> {
    let body = valid(body)?;
    let volunteer_id = principal.volunteer_id()?;
    let keyed = idempotency::Keyed::from_request(&req, &json!(body))?;
    let outcome = keyed
        .run(&state, volunteer_id.clone(), move |c| {
            let order = orders::place(
                c,
                &volunteer_id,
                &body.item_id,
                &body.site_id,
                body.quantity,
                timebank_store::now(),
            )?;
            Ok(idempotency::Effect::new(
                StatusCode::CREATED,
                order_json(&order, true),
            ))
        })
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
            let order = orders::get(conn, &id)?;
            let own = principal.is_user(&order.volunteer_id);
            if !own {
                let (site, org) = sites::get_with_org(conn, &order.site_id)?;
                let volunteer = directory::get_volunteer(conn, &order.volunteer_id)?;
                Principal::require(
                    principal.operates(&site.id, &org.path)
                        || principal.reads(&volunteer.community_path),
                )?;
            }
            Ok(order_json(&order, own))
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
    body: web::Json<Fulfil>,
) -> Result<HttpResponse, ApiError> {
    let body = valid(body)?;
    let order = state
        .db(move |conn| {
            let order = orders::get(conn, &id)?;
            let (site, org) = sites::get_with_org(conn, &order.site_id)?;
            Principal::require(principal.operates(&site.id, &org.path))?;
            let actor = principal.actor_id();
            // A wrong code is counted (and may lock the order) even though
            // the call is refused, so that bookkeeping commits first.
            let outcome = write_tx(conn, |c| {
                orders::fulfil(
                    c,
                    &id,
                    body.pickup_code.trim(),
                    &actor,
                    timebank_store::now(),
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
            let order = orders::get(c, &id)?;
            let own = principal.is_user(&order.volunteer_id);
            if !own {
                let (_, org) = sites::get_with_org(c, &order.site_id)?;
                let volunteer = directory::get_volunteer(c, &order.volunteer_id)?;
                Principal::require(
                    principal.admin_over(&volunteer.community_path)
                        || principal.admin_over(&org.path),
                )?;
            }
            let order = orders::cancel(c, &id, &actor, false, timebank_store::now())?;
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
