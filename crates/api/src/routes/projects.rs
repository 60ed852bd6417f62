use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};
use timebank_rules::states::{ProjectStatus, ProjectStep};
use timebank_services::projects::{self, ProjectRow, ProjectScope};
use timebank_services::{By, tally};
use timebank_views::{After, Page};
use validator::Validate;

use crate::access;
use crate::error::ApiError;
use crate::principal::Principal;
use crate::routes::organising::{listed_org, reason, text};
use crate::routes::teams::tally_json;
use crate::routes::{PageQuery, opt_utc, page_json, utc_string, valid};
use crate::state::AppState;

pub(crate) fn project_json(p: &ProjectRow) -> Value {
    json!({
        "id": p.id,
        "title": p.title,
        "category": p.category,
        "org_id": p.org_id,
        "item_id": p.item_id,
        "need_id": p.need_id,
        "resource_id": p.resource_id,
        "owner_unit_id": p.owner_unit_id,
        "lead": {
            "unit_id": p.lead_unit_id,
            "org_id": p.lead_org_id,
            "team_id": p.lead_team_id,
        },
        "status": p.status,
        "started_at": opt_utc(p.started_at),
        "assessing_at": opt_utc(p.assessing_at),
        "closed_at": opt_utc(p.closed_at),
        "result": p.result,
        "rating": p.rating,
        "created_at": utc_string(&p.created_at),
    })
}

const NAMES: &[(&str, &str)] = &[("org_id", "org_name"), ("owner_unit_id", "owner_unit_name")];

fn named(conn: &mut timebank_store::DbConnection, p: &ProjectRow) -> Result<Value, ApiError> {
    let mut bodies = all_named(conn, std::slice::from_ref(p))?;
    Ok(bodies.pop().unwrap_or_default())
}

/// Projects with the names of their orgs, units and leads, looked up once
/// for all of them.
fn all_named(
    conn: &mut timebank_store::DbConnection,
    projects: &[ProjectRow],
) -> Result<Vec<Value>, ApiError> {
    let mut bodies: Vec<Value> = projects.iter().map(project_json).collect();
    crate::routes::with_names(conn, &mut bodies, NAMES)?;
    let lead = |p: &ProjectRow| {
        p.lead_unit_id
            .clone()
            .or(p.lead_org_id.clone())
            .or(p.lead_team_id.clone())
    };
    let leads: Vec<Option<String>> = projects.iter().map(lead).collect();
    let names = timebank_views::audit::names(conn, leads.iter().flatten().map(String::as_str))?;
    for (body, id) in bodies.iter_mut().zip(&leads) {
        body["lead"]["name"] = json!(id.as_ref().and_then(|id| names.get(id)));
    }
    Ok(bodies)
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    org_id: Option<String>,
    unit_id: Option<String>,
    team_id: Option<String>,
    status: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

/// Projects are public work: anyone signed in reads them.
pub async fn list(
    state: web::Data<AppState>,
    _principal: Principal,
    query: crate::input::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let page = PageQuery {
        cursor: q.cursor.clone(),
        limit: q.limit,
    };
    let (after, limit) = page.keyset("projects")?;
    let status = crate::routes::state_query::<ProjectStatus>(q.status.as_deref())?;
    let body = state
        .db(move |conn| {
            let org = listed_org(conn, q.org_id.as_deref())?;
            let unit_id = q.unit_id.filter(|u| !u.is_empty());
            if let Some(unit) = &unit_id {
                timebank_services::units::get(conn, unit)?;
            }
            let team_id = q.team_id.filter(|t| !t.is_empty());
            if let Some(team) = &team_id {
                timebank_services::teams::get(conn, team)?;
            }
            let filter = projects::ListFilter {
                org_path: org.path,
                unit_id,
                team_id,
                status,
            };
            let rows = projects::list(conn, &filter, after.map(|a| (a.at, a.id)).as_ref(), limit)?;
            let page = Page::from_rows(rows, limit, |p: &ProjectRow| {
                After::new(p.created_at, &p.id)
            });
            let items = all_named(conn, &page.items)?;
            Ok(page_json(items, page.next, "projects"))
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// A project's page: its matched item, its activities and their hours.
pub async fn get(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let body = state
        .db(move |conn| {
            let p = projects::get(conn, &id)?;
            let scope = projects::scope(conn, &p)?;
            // Activities under review are for who runs or reads the project.
            let all =
                principal.reads(&scope.org_path) || access::may_run_project(&principal, &scope);
            let mut body = named(conn, &p)?;
            let item = timebank_services::lists::get(conn, &p.item_id)?;
            body["item"] = json!({
                "id": item.id,
                "list": item.list,
                "title": item.title,
                "description": item.description,
            });
            body["activities"] =
                timebank_earning::activities::latest_of_project(conn, &p.id, !all, 50)?
                    .iter()
                    .map(crate::routes::activities::activity_json)
                    .collect();
            body["totals"] = tally_json(&tally(conn, By::Project(&p.id), None)?);
            Ok(body)
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

async fn step(
    state: web::Data<AppState>,
    principal: Principal,
    id: String,
    step: ProjectStep,
    result: Option<String>,
    rating: Option<i32>,
) -> Result<HttpResponse, ApiError> {
    let body = state
        .db(move |conn| {
            let allowed = |s: &ProjectScope| match step {
                ProjectStep::Start | ProjectStep::Assess => access::may_run_project(&principal, s),
                ProjectStep::Close | ProjectStep::Cancel => {
                    access::may_assess_project(&principal, s)
                }
            };
            let actor = principal.actor_id();
            let p = projects::step(conn, &id, step, result.as_deref(), rating, &actor, &allowed)?;
            named(conn, &p)
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

pub async fn start(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    step(
        state,
        principal,
        id.into_inner(),
        ProjectStep::Start,
        None,
        None,
    )
    .await
}

/// The lead says the work is done: the org assesses it next.
pub async fn assess(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    step(
        state,
        principal,
        id.into_inner(),
        ProjectStep::Assess,
        None,
        None,
    )
    .await
}

#[derive(Debug, Deserialize, Validate)]
pub struct CloseBody {
    #[validate(length(min = 1, max = 2000))]
    result: String,
    #[validate(range(min = 1, max = 5))]
    rating: i32,
}

/// The assessment (验收): a result and a rating of 1 to 5.
pub async fn close(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: crate::input::Json<CloseBody>,
) -> Result<HttpResponse, ApiError> {
    let body = valid(body)?;
    let result = Some(text("result", &body.result)?);
    step(
        state,
        principal,
        id.into_inner(),
        ProjectStep::Close,
        result,
        Some(body.rating),
    )
    .await
}

pub async fn cancel(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let reason = reason(&body)?;
    step(
        state,
        principal,
        id.into_inner(),
        ProjectStep::Cancel,
        reason,
        None,
    )
    .await
}
