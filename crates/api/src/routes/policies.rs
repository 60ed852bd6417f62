use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};
use timebank_directory::{self as directory, Org};
use timebank_policy::{self as policy, PolicyKind};

use crate::access;
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
    query: crate::input::Query<OrgQuery>,
) -> Result<HttpResponse, ApiError> {
    let kind = kind_of(&kind)?;
    let body = state
        .db(move |conn| effective_view(conn, kind, &query.org_id))
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

pub async fn put(
    state: web::Data<AppState>,
    principal: Principal,
    kind: web::Path<String>,
    query: crate::input::Query<OrgQuery>,
    body: crate::input::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let kind = kind_of(&kind)?;
    let body = body.into_inner();
    let out = state
        .db(move |conn| {
            let allowed = |org: &Org| access::may_publish_policy(&principal, org);
            let org = policy::publish_over(
                conn,
                kind,
                &query.org_id,
                body,
                &principal.actor_id(),
                &allowed,
            )?;
            effective_view(conn, kind, &org.id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}
