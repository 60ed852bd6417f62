use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};
use timebank_directory as directory;
use timebank_ledger::Amount;
use timebank_redemption::{catalog, sites};
use timebank_views::lists;

use crate::error::ApiError;
use crate::principal::Principal;
use crate::state::AppState;

/// 需求清单: open requests and wishes in the subtree, by category.
pub async fn needs(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (org_id, needs) = state
        .db(move |conn| {
            let org = directory::get_org(conn, &id)?;
            Principal::require(principal.reads(&org.path))?;
            Ok((org.id.clone(), lists::needs(conn, &org.path)?))
        })
        .await?;
    let categories: Vec<Value> = needs
        .iter()
        .map(|(category, n)| json!({ "category": category, "open_requests": n.requests, "open_wishes": n.wishes }))
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "org_id": org_id, "categories": categories })))
}

/// 资源清单: active volunteers by skill, sites, and the catalog offered.
pub async fn resources(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let body = state
        .db(move |conn| {
            let org = directory::get_org(conn, &id)?;
            Principal::require(principal.reads(&org.path))?;
            let skills = lists::volunteers_by_skill(conn, &org.path)?;
            let site_rows = sites::list(conn, &org.path)?;
            let mut items: Vec<Value> = Vec::new();
            let mut seen = std::collections::BTreeSet::new();
            for site in &site_rows {
                let (_, site_org) = sites::get_with_org(conn, &site.id)?;
                for (item, available, _) in catalog::at_site(conn, &site.id, &site_org)? {
                    if seen.insert(item.id.clone()) {
                        items.push(json!({ "id": item.id, "name": item.name, "points_price": Amount::from_units(item.points_price), "stock_at_first_site": available }));
                    }
                }
            }
            let skills: Vec<Value> = skills.iter().map(|(skill, n)| json!({ "skill": skill, "active_volunteers": n })).collect();
            let sites: Vec<Value> = site_rows.iter().map(|s| json!({ "id": s.id, "name": s.name, "address": s.address })).collect();
            Ok(json!({ "org_id": org.id, "volunteers_by_skill": skills, "sites": sites, "catalog": items }))
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

#[derive(Debug, Deserialize)]
pub struct OrgQuery {
    org_id: String,
}

/// Per category: requests, completion rate and average rating.
pub async fn services_report(
    state: web::Data<AppState>,
    principal: Principal,
    query: crate::input::Query<OrgQuery>,
) -> Result<HttpResponse, ApiError> {
    let (org_id, report) = state
        .db(move |conn| {
            let org = directory::get_org(conn, &query.org_id)?;
            Principal::require(principal.reads(&org.path))?;
            Ok((org.id.clone(), lists::services_report(conn, &org.path)?))
        })
        .await?;
    let categories: Vec<Value> = report
        .iter()
        .map(|(category, s)| {
            let mut v = json!(s);
            v["category"] = json!(category);
            v
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "org_id": org_id, "categories": categories })))
}
