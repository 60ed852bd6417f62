//! Who holds which staff grant, and revoking one. Grants are read on every
//! request, so a revoked grant is refused on the holder's next call.
//! Revoking is idempotent: a user with nothing left to revoke gets an empty
//! `revoked` list.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use timebank_directory::{self as directory, Org};
use timebank_kernel::Code;
use timebank_redemption::sites::{self, SiteScope};

use crate::access;
use crate::error::ApiError;
use crate::principal::Principal;
use crate::routes::queues::readable_scope;
use crate::routes::{PageQuery, encode_cursor, invalid_cursor};
use crate::state::AppState;

pub async fn list(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    page: crate::input::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = page.limit()?;
    let after = page
        .cursor()?
        .map(|c| timebank_views::After::parse("grants", &c).ok_or_else(invalid_cursor))
        .transpose()?;
    state
        .db(move |conn| {
            let (org, scope) = readable_scope(conn, &principal, Some(&id))?;
            let page = timebank_views::grants::in_scope(conn, &scope, after.as_ref(), limit)?;
            let items = phones_as_seen(page.items, principal.admin_over(&org.path));
            let next_cursor = page.next.map(|a| encode_cursor(&a.render("grants")));
            Ok(json!({ "items": items, "next_cursor": next_cursor }))
        })
        .await
        .map(|body| HttpResponse::Ok().json(body))
}

/// Admins over the org see their colleagues' numbers; auditors masked.
fn phones_as_seen(
    mut grants: Vec<timebank_views::grants::GrantItem>,
    full_phone: bool,
) -> Vec<timebank_views::grants::GrantItem> {
    if !full_phone {
        for g in &mut grants {
            g.phone = directory::mask_phone(&g.phone);
        }
    }
    grants
}

#[derive(Debug, Deserialize)]
pub struct RevokeQuery {
    role: Option<String>,
}

/// The roles a revocation takes away: both unless one is named.
fn revoked_roles(text: Option<&str>) -> Result<&'static [&'static str], ApiError> {
    match text {
        None => Ok(&["org_admin", "auditor"]),
        Some("org_admin") => Ok(&["org_admin"]),
        Some("auditor") => Ok(&["auditor"]),
        Some(_) => Err(
            ApiError::new(Code::InvalidQuery, "role must be org_admin or auditor")
                .with_details(json!({ "fields": { "role": ["enum"] } })),
        ),
    }
}

pub async fn revoke_admin(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
    query: crate::input::Query<RevokeQuery>,
) -> Result<HttpResponse, ApiError> {
    let (org_id, user_id) = path.into_inner();
    let roles = revoked_roles(query.role.as_deref())?;
    state
        .db(move |conn| {
            let allowed = |org: &Org| access::may_grant_over(&principal, org);
            let actor = principal.actor_id();
            let (org, revoked) =
                directory::revoke_over(conn, &org_id, &user_id, roles, &actor, &allowed)?;
            Ok(json!({ "org_id": org.id, "user_id": user_id, "revoked": revoked }))
        })
        .await
        .map(|body| HttpResponse::Ok().json(body))
}

pub async fn revoke_operator(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (site_id, user_id) = path.into_inner();
    state
        .db(move |conn| {
            let allowed = |s: &SiteScope| access::may_manage_site(&principal, s);
            let actor = principal.actor_id();
            let (site, revoked) =
                sites::revoke_operator(conn, &site_id, &user_id, &actor, &allowed)?;
            Ok(json!({ "site_id": site.id, "user_id": user_id, "revoked": revoked }))
        })
        .await
        .map(|body| HttpResponse::Ok().json(body))
}
