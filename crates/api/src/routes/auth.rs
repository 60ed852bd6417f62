use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use timebank_directory::sessions::{self, Rotation};
use timebank_kernel::Code;
use timebank_store::DbConnection;
use validator::Validate;

use crate::auth::{ACCESS_TTL_SECS, dummy_hash, new_refresh_token, sha256_hex, verify_password};
use crate::error::ApiError;
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
    body: crate::input::Json<LoginBody>,
) -> Result<HttpResponse, ApiError> {
    let body = valid(body)?;
    let phone = body.phone.clone();
    let st = state.clone();
    let (id, name, refresh) = state
        .limits
        .guess(
            req.peer_addr().map(|a| a.ip()),
            &phone,
            st.db(move |conn| sign_in(conn, &body.phone, &body.password)),
        )
        .await?;
    let st = state.clone();
    respond_with_tokens(&st, &id, &name, refresh).await
}

/// The user, their name and a new session's refresh token, if the password
/// is theirs; the same work for an unknown phone.
fn sign_in(
    conn: &mut DbConnection,
    phone: &str,
    password: &str,
) -> Result<(String, String, String), ApiError> {
    let user = sessions::user_by_phone(conn, phone)?;
    let hash = user
        .as_ref()
        .map(|u| u.2.as_str())
        .unwrap_or_else(|| dummy_hash());
    let ok = verify_password(password, hash);
    let Some((id, name, _)) = user.filter(|_| ok) else {
        return Err(ApiError::of(Code::InvalidCredentials));
    };
    let refresh = store_refresh_token(conn, &id, &timebank_store::new_id())?;
    Ok((id, name, refresh))
}

pub async fn refresh(
    state: web::Data<AppState>,
    body: crate::input::Json<RefreshBody>,
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
        .ok_or_else(|| ApiError::of(Code::InvalidCredentials))?;
    // Credentials are never kept by a cache on the way.
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(json!({
            "access_token": access,
            "refresh_token": refresh_token,
            "token_type": "Bearer",
            "expires_in": ACCESS_TTL_SECS,
            "user": { "id": user_id, "name": name, "roles": Principal::User(principal.into()).roles() },
        })))
}

/// A new token in `family_id` for `user_id`; returns the token to hand out.
pub(crate) fn store_refresh_token(
    conn: &mut DbConnection,
    user_id: &str,
    family_id: &str,
) -> Result<String, ApiError> {
    let (token, hash) = new_refresh_token()?;
    sessions::store(conn, user_id, family_id, &hash, timebank_store::now())?;
    Ok(token)
}

/// Spends a refresh token for a new one of the same family.
fn rotate(conn: &mut DbConnection, presented: &str) -> Result<(String, String, String), ApiError> {
    let (token, hash) = new_refresh_token()?;
    let presented = sha256_hex(presented.as_bytes());
    match sessions::rotate(conn, &presented, &hash, timebank_store::now())? {
        Rotation::Rotated { user_id, name } => Ok((user_id, name, token)),
        Rotation::Invalid => Err(ApiError::new(
            Code::InvalidRefreshToken,
            "the refresh token is invalid or expired",
        )),
        Rotation::SignedOut => Err(ApiError::new(
            Code::InvalidRefreshToken,
            "the session was signed out; sign in again",
        )),
        Rotation::Reused => Err(ApiError::new(
            Code::RefreshTokenReused,
            "this refresh token was already used; sign in again",
        )),
    }
}

/// The caller; the communities of their volunteer and resident records
/// with their names.
pub async fn me(
    state: web::Data<AppState>,
    principal: Principal,
) -> Result<HttpResponse, ApiError> {
    let u = match &principal {
        Principal::System => {
            return Ok(HttpResponse::Ok().json(
                json!({ "id": "system", "name": "system", "roles": ["system"], "scopes": [] }),
            ));
        }
        Principal::User(u) => u.clone(),
    };
    let ids: Vec<String> = [&u.volunteer, &u.resident]
        .into_iter()
        .flatten()
        .map(|(community_id, _)| community_id.clone())
        .collect();
    let me = u.id.clone();
    let (names, led, administered) = state
        .db(move |conn| {
            let names = timebank_views::audit::names(conn, ids.iter().map(String::as_str))?;
            let led = timebank_services::teams::led_by(conn, &me)?;
            let administered = timebank_services::units::administered_by(conn, &me)?;
            Ok((names, led, administered))
        })
        .await?;
    let named = |rows: Vec<(String, String, String)>| -> Vec<serde_json::Value> {
        rows.into_iter()
            .map(|(id, name, status)| json!({ "id": id, "name": name, "status": status }))
            .collect()
    };
    let membership = |record: &Option<(String, String)>| {
        record.as_ref().map(|(community_id, status)| {
            json!({
                "community_id": community_id,
                "community_name": names.get(community_id),
                "status": status,
            })
        })
    };
    Ok(HttpResponse::Ok().json(json!({
        "id": u.id,
        "name": u.name,
        "roles": principal.roles(),
        "scopes": u.grants,
        "volunteer": membership(&u.volunteer),
        "resident": membership(&u.resident),
        "team_leader_of": named(led),
        "unit_admin_of": named(administered),
    })))
}
