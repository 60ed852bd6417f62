use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use timebank_kernel::Code;
use validator::Validate;

use crate::access;
use crate::error::ApiError;
use crate::principal::Principal;
use crate::routes::{PageQuery, encode_cursor, valid};
use crate::state::AppState;
use timebank_directory::{self as directory, OrgKind};

#[derive(Debug, Deserialize, Validate)]
pub struct CreateOrg {
    #[validate(length(min = 1, max = 100))]
    name: String,
    kind: String,
    #[validate(length(min = 1, max = 64))]
    parent_id: String,
}

#[derive(Debug, Deserialize, Validate)]
pub struct AddAdmin {
    #[validate(length(min = 1, max = 64))]
    user_id: String,
    /// `org_admin` (default) or `auditor` (read-only over the subtree).
    role: Option<String>,
}

pub async fn create(
    state: web::Data<AppState>,
    principal: Principal,
    body: crate::input::Json<CreateOrg>,
) -> Result<HttpResponse, ApiError> {
    let body = valid(body)?;
    let kind = OrgKind::parse(&body.kind).ok_or_else(|| {
        ApiError::new(
            Code::ValidationFailed,
            "kind must be city, district, street or community",
        )
        .with_details(json!({ "fields": { "kind": ["enum"] } }))
    })?;
    let org = state
        .db(move |conn| {
            let parent = directory::find_org(conn, &body.parent_id)?.ok_or_else(|| {
                ApiError::new(Code::InvalidParent, "parent_id is not an organisation")
            })?;
            Principal::require(access::may_administer(&principal, &parent))?;
            Ok(directory::create_org(
                conn,
                body.name.trim(),
                kind,
                Some(&parent),
            )?)
        })
        .await?;
    Ok(HttpResponse::Created().json(org))
}

pub async fn get(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let org = state
        .db(move |conn| Ok(directory::get_org(conn, &id)?))
        .await?;
    Ok(HttpResponse::Ok().json(org))
}

pub async fn children(
    state: web::Data<AppState>,
    id: web::Path<String>,
    page: crate::input::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = page.limit()?;
    let after = page.id_cursor()?;
    let items = state
        .db(move |conn| {
            directory::get_org(conn, &id)?;
            Ok(directory::children(conn, &id, after.as_deref(), limit)?)
        })
        .await?;
    let next_cursor = (items.len() as i64 == limit)
        .then(|| items.last().map(|o| encode_cursor(&o.id)))
        .flatten();
    Ok(HttpResponse::Ok().json(json!({ "items": items, "next_cursor": next_cursor })))
}

fn admin_role(text: Option<&str>) -> Result<&'static str, ApiError> {
    match text {
        None | Some("org_admin") => Ok("org_admin"),
        Some("auditor") => Ok("auditor"),
        Some(_) => Err(
            ApiError::new(Code::ValidationFailed, "role must be org_admin or auditor")
                .with_details(json!({ "fields": { "role": ["enum"] } })),
        ),
    }
}

pub async fn add_admin(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: crate::input::Json<AddAdmin>,
) -> Result<HttpResponse, ApiError> {
    let body = valid(body)?;
    let role = admin_role(body.role.as_deref())?;
    let (org_id, user_id) = (id.clone(), body.user_id.clone());
    let created = state
        .db(move |conn| {
            let allowed = |org: &directory::Org| access::may_grant_over(&principal, org);
            let actor = principal.actor_id();
            Ok(directory::grant_over(
                conn,
                &id,
                &body.user_id,
                role,
                &actor,
                &allowed,
            )?)
        })
        .await?;
    let body = json!({ "org_id": org_id, "user_id": user_id, "role": role, "granted": created });
    Ok(created_or_ok(created).json(body))
}

/// 201 for a grant made now, 200 for one already held.
fn created_or_ok(created: bool) -> actix_web::HttpResponseBuilder {
    if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    }
}
