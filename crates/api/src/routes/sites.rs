use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};
use timebank_directory as directory;
use timebank_kernel::Code;
use timebank_ledger::Amount;
use timebank_redemption::catalog::{self, ItemRow, NewItem};
use timebank_redemption::sites::{self, SiteRow, SiteScope};
use timebank_redemption::stock::{self};
use validator::Validate;

use crate::access;
use crate::error::ApiError;
use crate::principal::Principal;
use crate::routes::{administered_org, utc_string, valid};
use crate::state::AppState;

fn site_json(s: &SiteRow) -> Value {
    json!({ "id": s.id, "org_id": s.org_id, "name": s.name, "address": s.address, "created_at": utc_string(&s.created_at) })
}

pub fn item_json(i: &ItemRow) -> Value {
    json!({
        "id": i.id,
        "org_id": i.org_id,
        "name": i.name,
        "description": i.description,
        "points_price": Amount::from_units(i.points_price),
        "min_star_level": i.min_star_level,
        "limit_per_person_per_quarter": i.limit_per_person_per_quarter,
        "status": i.status,
        "created_at": utc_string(&i.created_at),
    })
}

#[derive(Debug, Deserialize, Validate)]
pub struct CreateSite {
    #[validate(length(min = 1, max = 64))]
    org_id: String,
    #[validate(length(min = 1, max = 100))]
    name: String,
    #[validate(length(min = 1, max = 200))]
    address: String,
}

pub async fn create(
    state: web::Data<AppState>,
    principal: Principal,
    body: crate::input::Json<CreateSite>,
) -> Result<HttpResponse, ApiError> {
    let body = valid(body)?;
    let site = state
        .db(move |conn| {
            let org = administered_org(conn, &principal, &body.org_id)?;
            Ok(sites::create(
                conn,
                &org,
                body.name.trim(),
                body.address.trim(),
                &principal.actor_id(),
            )?)
        })
        .await?;
    Ok(HttpResponse::Created().json(site_json(&site)))
}

pub async fn get(
    state: web::Data<AppState>,
    _principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let site = state.db(move |conn| Ok(sites::get(conn, &id)?)).await?;
    Ok(HttpResponse::Ok().json(site_json(&site)))
}

#[derive(Debug, Deserialize)]
pub struct OrgQuery {
    org_id: String,
}

pub async fn list(
    state: web::Data<AppState>,
    _principal: Principal,
    query: crate::input::Query<OrgQuery>,
) -> Result<HttpResponse, ApiError> {
    let items = state
        .db(move |conn| {
            let org = directory::get_org(conn, &query.org_id)?;
            Ok(sites::list(conn, &org.path)?)
        })
        .await?;
    let items: Vec<Value> = items.iter().map(site_json).collect();
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

#[derive(Debug, Deserialize, Validate)]
pub struct AddOperator {
    #[validate(length(min = 1, max = 64))]
    user_id: String,
}

pub async fn add_operator(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: crate::input::Json<AddOperator>,
) -> Result<HttpResponse, ApiError> {
    let body = valid(body)?;
    let (site_id, user_id, created) = state
        .db(move |conn| {
            let allowed = |s: &SiteScope| access::may_manage_site(&principal, s);
            let (site, _) = sites::get_allowed(conn, &id, &allowed)?;
            if !directory::user_exists(conn, &body.user_id)? {
                return Err(ApiError::new(Code::UnknownUser, "user_id is not a user"));
            }
            let created = sites::add_operator(conn, &site, &body.user_id, &principal.actor_id())?;
            Ok((site.id, body.user_id, created))
        })
        .await?;
    let mut response = if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(response.json(json!({ "site_id": site_id, "user_id": user_id, "role": "site_operator", "granted": created })))
}

#[derive(Debug, Deserialize, Validate)]
pub struct StockChange {
    #[validate(length(min = 1, max = 64))]
    item_id: String,
    #[validate(range(min = -100000, max = 100000))]
    delta: i32,
    #[validate(length(min = 1, max = 200))]
    reason: String,
}

pub async fn change_stock(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: crate::input::Json<StockChange>,
) -> Result<HttpResponse, ApiError> {
    let body = valid(body)?;
    nonzero_delta(body.delta)?;
    let (site_id, item_id) = (id.clone(), body.item_id.clone());
    let level = state
        .db(move |conn| {
            let allowed = |s: &SiteScope| access::may_operate(&principal, s);
            let (item, delta, reason) = (&body.item_id, body.delta, body.reason.trim());
            let actor = principal.actor_id();
            Ok(stock::change(
                conn, &id, item, delta, reason, &actor, &allowed,
            )?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({
        "site_id": site_id,
        "item_id": item_id,
        "quantity": level.available,
        "available": level.available,
        "reserved": level.reserved,
    })))
}

fn nonzero_delta(delta: i32) -> Result<(), ApiError> {
    if delta == 0 {
        return Err(
            ApiError::new(Code::ValidationFailed, "delta must not be zero")
                .with_details(json!({ "fields": { "delta": ["range"] } })),
        );
    }
    Ok(())
}

#[derive(Debug, Deserialize, Validate)]
pub struct CreateItem {
    #[validate(length(min = 1, max = 64))]
    org_id: String,
    #[validate(length(min = 1, max = 100))]
    name: String,
    #[validate(length(max = 1000))]
    description: Option<String>,
    points_price: Amount,
    #[validate(range(min = 1, max = 10))]
    min_star_level: Option<i32>,
    #[validate(range(min = 1, max = 1000))]
    limit_per_person_per_quarter: Option<i32>,
}

pub async fn create_item(
    state: web::Data<AppState>,
    principal: Principal,
    body: crate::input::Json<CreateItem>,
) -> Result<HttpResponse, ApiError> {
    let body = valid(body)?;
    let item = state
        .db(move |conn| {
            let org = administered_org(conn, &principal, &body.org_id)?;
            let new = NewItem {
                name: body.name.trim().to_owned(),
                description: body.description.unwrap_or_default(),
                points_price: body.points_price,
                min_star_level: body.min_star_level,
                limit_per_person_per_quarter: body.limit_per_person_per_quarter,
            };
            Ok(catalog::create(conn, &org, new, &principal.actor_id())?)
        })
        .await?;
    Ok(HttpResponse::Created().json(item_json(&item)))
}

pub async fn retire_item(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let item = state
        .db(move |conn| {
            let allowed = |org: &directory::Org| access::may_manage_catalog(&principal, org);
            Ok(catalog::retire(conn, &id, &allowed)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(item_json(&item)))
}

#[derive(Debug, Deserialize)]
pub struct CatalogQuery {
    site_id: String,
}

pub async fn catalog_at_site(
    state: web::Data<AppState>,
    _principal: Principal,
    query: crate::input::Query<CatalogQuery>,
) -> Result<HttpResponse, ApiError> {
    let (site_id, rows) = state
        .db(move |conn| {
            let (site, org) = sites::get_with_org(conn, &query.site_id)?;
            let rows = catalog::at_site(conn, &site.id, &org)?;
            Ok((site.id, rows))
        })
        .await?;
    let items: Vec<Value> = rows
        .iter()
        .map(|(item, available, reserved)| {
            let mut v = item_json(item);
            v["stock"] = json!(available);
            v["reserved"] = json!(reserved);
            v
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "site_id": site_id, "items": items })))
}
