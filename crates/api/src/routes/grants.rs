//! Who holds which staff grant, and revoking one. Grants are read on every
//! request, so a revoked grant is refused on the holder's next call.
//! Revoking is idempotent: a user with nothing left to revoke gets an empty
//! `revoked` list.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use timebank_directory::{self as directory, GrantPlace};
use timebank_kernel::Code;

use crate::error::ApiError;
use crate::principal::Principal;
use crate::routes::queues::readable_scope;
use crate::routes::{PageQuery, encode_cursor, invalid_cursor};
use crate::state::AppState;

pub async fn list(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    page: web::Query<PageQuery>,
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
            let full_phone = principal.admin_over(&org.path);
            let items: Vec<_> = page
                .items
                .into_iter()
                .map(|mut g| {
                    if !full_phone {
                        g.phone = directory::mask_phone(&g.phone);
                    }
                    g
                })
                .collect();
            let next_cursor = page.next.map(|a| encode_cursor(&a.render("grants")));
            Ok(json!({ "items": items, "next_cursor": next_cursor }))
        })
        .await
        .map(|body| HttpResponse::Ok().json(body))
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
    query: web::Query<RevokeQuery>,
) -> Result<HttpResponse, ApiError> {
    let (org_id, user_id) = path.into_inner();
    let roles = revoked_roles(query.role.as_deref())?;
    state
        .db(move |conn| {
            let org = directory::get_org(conn, &org_id)?;
            Principal::require(principal.admin_over(&org.path))?;
            refuse_own(&principal, &user_id)?;
            if !directory::user_exists(conn, &user_id)? {
                return Err(ApiError::not_found("user"));
            }
            let revoked = directory::revoke_grants(
                conn,
                &user_id,
                GrantPlace::Org(&org.id),
                roles,
                &principal.actor_id(),
            )?;
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
            let (site, org) = timebank_redemption::sites::get_with_org(conn, &site_id)?;
            Principal::require(principal.admin_over(&org.path))?;
            refuse_own(&principal, &user_id)?;
            if !directory::user_exists(conn, &user_id)? {
                return Err(ApiError::not_found("user"));
            }
            let revoked = directory::revoke_grants(
                conn,
                &user_id,
                GrantPlace::Site(&site.id),
                &["site_operator"],
                &principal.actor_id(),
            )?;
            Ok(json!({ "site_id": site.id, "user_id": user_id, "revoked": revoked }))
        })
        .await
        .map(|body| HttpResponse::Ok().json(body))
}

/// Another admin revokes a grant: nobody locks themselves out by mistake.
fn refuse_own(principal: &Principal, user_id: &str) -> Result<(), ApiError> {
    if principal.is_user(user_id) {
        return Err(ApiError::new(
            Code::OwnGrant,
            "you cannot revoke your own grant; ask another admin over this organisation",
        ));
    }
    Ok(())
}
