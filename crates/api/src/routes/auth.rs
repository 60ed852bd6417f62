use actix_web::{HttpResponse, web};
use diesel::prelude::*;
use serde::Deserialize;
use serde_json::json;
use timebank_store::schema::{refresh_tokens as rt, users};
use timebank_store::{DbConnection, write_tx};
use validator::Validate;

use crate::auth::{
    ACCESS_TTL_SECS, REFRESH_TTL_SECS, dummy_hash, new_refresh_token, sha256_hex, verify_password,
};
use crate::error::ApiError;
use crate::limits::Door;
use crate::principal::Principal;
use crate::routes::valid;
use crate::state::AppState;

#[derive(Debug, Deserialize, Validate)]
pub struct LoginBody {
    #[validate(length(min = 1, max = 32))]
    phone: String,
    #[validate(length(min = 1, max = 128))]
    password: String,
}

#[derive(Debug, Deserialize, Validate)]
pub struct RefreshBody {
    #[validate(length(min = 1, max = 256))]
    refresh_token: String,
}

pub async fn login(
    req: actix_web::HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<LoginBody>,
) -> Result<HttpResponse, ApiError> {
    let body = valid(body)?;
    state
        .limits
        .check(Door::Login, req.peer_addr().map(|a| a.ip()), &body.phone)?;
    let st = state.clone();
    let pair = state
        .db(move |conn| {
            let user = users::table
                .filter(users::phone.eq(&body.phone))
                .select((users::id, users::name, users::password_hash))
                .first::<(String, String, String)>(conn)
                .optional()?;
            let hash = user
                .as_ref()
                .map(|u| u.2.as_str())
                .unwrap_or_else(|| dummy_hash());
            let ok = verify_password(&body.password, hash);
            let Some((id, name, _)) = user.filter(|_| ok) else {
                return Err(ApiError::unauthorized(
                    "invalid_credentials",
                    "wrong phone or password",
                ));
            };
            let refresh = store_refresh_token(conn, &id, &timebank_store::new_id())?;
            Ok((id, name, refresh))
        })
        .await?;
    let (id, name, refresh) = pair;
    respond_with_tokens(&st, &id, &name, refresh).await
}

pub async fn refresh(
    state: web::Data<AppState>,
    body: web::Json<RefreshBody>,
) -> Result<HttpResponse, ApiError> {
    let body = valid(body)?;
    let st = state.clone();
    let (id, name, refresh) = state
        .db(move |conn| rotate(conn, &body.refresh_token))
        .await?;
    respond_with_tokens(&st, &id, &name, refresh).await
}

pub(crate) async fn respond_with_tokens(
    state: &web::Data<AppState>,
    user_id: &str,
    name: &str,
    refresh_token: String,
) -> Result<HttpResponse, ApiError> {
    let access = state.keys.issue(user_id, None, ACCESS_TTL_SECS)?;
    let uid = user_id.to_owned();
    let principal = state
        .db(move |conn| crate::principal::load(conn, &uid))
        .await?
        .ok_or_else(|| ApiError::unauthorized("invalid_credentials", "wrong phone or password"))?;
    // Credentials are never kept by a cache on the way.
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(json!({
            "access_token": access,
            "refresh_token": refresh_token,
            "token_type": "Bearer",
            "expires_in": ACCESS_TTL_SECS,
            "user": { "id": user_id, "name": name, "roles": Principal::User(principal).roles() },
        })))
}

pub(crate) fn store_refresh_token(
    conn: &mut DbConnection,
    user_id: &str,
    family_id: &str,
) -> Result<String, ApiError> {
    let (token, hash) = new_refresh_token()?;
    let now = timebank_store::now();
    diesel::insert_into(rt::table)
        .values((
            rt::id.eq(timebank_store::new_id()),
            rt::user_id.eq(user_id),
            rt::family_id.eq(family_id),
            rt::token_hash.eq(hash),
            rt::created_at.eq(now),
            rt::expires_at.eq(now + chrono::Duration::seconds(REFRESH_TTL_SECS)),
        ))
        .execute(conn)?;
    Ok(token)
}

/// Spends a refresh token for a new one of the same family. A token that
/// was already spent is a sign of theft: the whole family is revoked.
fn rotate(conn: &mut DbConnection, presented: &str) -> Result<(String, String, String), ApiError> {
    let invalid = || {
        ApiError::unauthorized(
            "invalid_refresh_token",
            "the refresh token is invalid or expired",
        )
    };
    let hash = sha256_hex(presented.as_bytes());
    let outcome = write_tx(conn, |c| {
        let row = rt::table
            .filter(rt::token_hash.eq(&hash))
            .select((
                rt::id,
                rt::user_id,
                rt::family_id,
                rt::expires_at,
                rt::used_at,
                rt::revoked_at,
            ))
            .first::<(
                String,
                String,
                String,
                chrono::NaiveDateTime,
                Option<chrono::NaiveDateTime>,
                Option<chrono::NaiveDateTime>,
            )>(c)
            .optional()?;
        let Some((id, user_id, family, expires_at, used_at, revoked_at)) = row else {
            return Ok(Err(invalid()));
        };
        let now = timebank_store::now();
        // Revoked and never used: signed out, or a password was set.
        if used_at.is_none() && revoked_at.is_some() {
            return Ok(Err(ApiError::unauthorized(
                "invalid_refresh_token",
                "the session was signed out; sign in again",
            )));
        }
        if used_at.is_some() || revoked_at.is_some() {
            diesel::update(
                rt::table
                    .filter(rt::family_id.eq(&family))
                    .filter(rt::revoked_at.is_null()),
            )
            .set(rt::revoked_at.eq(now))
            .execute(c)?;
            return Ok(Err(ApiError::unauthorized(
                "refresh_token_reused",
                "this refresh token was already used; sign in again",
            )));
        }
        if expires_at <= now {
            return Ok(Err(invalid()));
        }
        let spent = diesel::update(rt::table.find(&id).filter(rt::used_at.is_null()))
            .set(rt::used_at.eq(now))
            .execute(c)?;
        if spent != 1 {
            return Ok(Err(invalid()));
        }
        let name = users::table
            .find(&user_id)
            .select(users::name)
            .first::<String>(c)?;
        let token = store_refresh_token(c, &user_id, &family)?;
        Ok::<_, ApiError>(Ok((user_id, name, token)))
    })?;
    // The family revocation above must commit even though the call fails.
    outcome
}

pub async fn me(principal: Principal) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(match &principal {
        Principal::System => {
            json!({ "id": "system", "name": "system", "roles": ["system"], "scopes": [] })
        }
        Principal::User(u) => json!({
            "id": u.id,
            "name": u.name,
            "roles": principal.roles(),
            "scopes": u.grants,
            "volunteer": u.volunteer.as_ref().map(|(community_id, status)| json!({
                "community_id": community_id, "status": status,
            })),
            "resident": u.resident.as_ref().map(|(community_id, status)| json!({
                "community_id": community_id, "status": status,
            })),
        }),
    }))
}
