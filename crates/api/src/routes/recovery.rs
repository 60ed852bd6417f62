//! Account recovery and passwords: a reset code issued at the office after
//! checking the person, spending it to set a password, changing one's own
//! password, and signing out.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use timebank_directory::Member;
use timebank_directory::accounts;
use timebank_kernel::Code;
use validator::Validate;

use crate::access;
use crate::auth::{dummy_hash, hash_password, random_bytes, sha256_hex, verify_password};
use crate::error::ApiError;
use crate::principal::Principal;
use crate::routes::auth::{respond_with_tokens, store_refresh_token};
use crate::routes::{hash_off_workers, utc_string, valid};
use crate::state::AppState;

/// Eight digits: read out at the counter, typed on a phone.
fn new_reset_code() -> Result<String, ApiError> {
    let mut bytes = [0u8; 8];
    random_bytes(&mut bytes)?;
    Ok(format!("{:08}", u64::from_le_bytes(bytes) % 100_000_000))
}

/// `POST /volunteers/{id}/reset-code` and `/residents/{id}/reset-code`.
pub async fn issue_code(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let volunteers = req.path().contains("/volunteers/");
    let code = new_reset_code()?;
    let code_hash = hash_off_workers(code.clone()).await?;
    let expires_at = state
        .db(move |conn| {
            let allowed = |m: &Member| access::may_issue_reset_code(&principal, m);
            let actor = principal.actor_id();
            Ok(accounts::issue_member_reset_code(
                conn, &id, volunteers, &code_hash, &actor, &allowed,
            )?)
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(json!({
            "code": code,
            "expires_at": utc_string(&expires_at),
        })))
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct ResetBody {
    #[validate(length(min = 1, max = 32))]
    phone: String,
    #[validate(length(min = 1, max = 32))]
    code: String,
    #[validate(length(min = 1, max = 256))]
    new_password: String,
}

fn invalid_code() -> ApiError {
    ApiError::new(
        Code::InvalidResetCode,
        "the reset code is wrong, used, replaced by a newer one or expired; ask your community office for a new one",
    )
}

/// Whether the code matches the live one, and the new password's hash if
/// it does; the same work whether or not a code exists for this phone.
fn check_code(
    (user_id, code_id, code_hash): (String, String, String),
    code: &str,
    new_password: &str,
) -> Result<(String, String, bool, String), ApiError> {
    let against = if code_hash.is_empty() {
        dummy_hash()
    } else {
        &code_hash
    };
    let matches = verify_password(code, against) && !code_hash.is_empty();
    let new_hash = if matches {
        hash_password(new_password)?
    } else {
        String::new()
    };
    Ok((user_id, code_id, matches, new_hash))
}

pub async fn reset(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: crate::input::Json<ResetBody>,
) -> Result<HttpResponse, ApiError> {
    let body = valid(body)?;
    accounts::check_password(&body.new_password, &body.phone, "new_password")?;
    let phone = body.phone.clone();
    state
        .limits
        .guess(
            req.peer_addr().map(|a| a.ip()),
            &phone,
            spend_code(&state, body),
        )
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "password_changed": true })))
}

/// Sets the new password if the code is the phone's live one; any other
/// code counts as a wrong try.
async fn spend_code(state: &AppState, body: ResetBody) -> Result<(), ApiError> {
    let phone = body.phone.clone();
    let now = timebank_store::now();
    let live = state
        .db(move |conn| Ok(accounts::live_reset_code(conn, &phone, now)?))
        .await?;
    let code = body.code.trim().to_owned();
    // Both hashes are slow on purpose: off the async workers, and before the
    // write transaction so it holds no lock while hashing.
    let (user_id, code_id, matches, new_hash) =
        web::block(move || check_code(live.unwrap_or_default(), &code, &body.new_password))
            .await??;
    if code_id.is_empty() {
        return Err(invalid_code());
    }
    let changed = state
        .db(move |conn| {
            let attempt = matches.then_some(new_hash.as_str());
            Ok(accounts::use_reset_code(
                conn,
                &user_id,
                &code_id,
                attempt,
                timebank_store::now(),
            )?)
        })
        .await?;
    if !changed {
        return Err(invalid_code());
    }
    Ok(())
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct ChangeBody {
    #[validate(length(min = 1, max = 256))]
    current_password: String,
    #[validate(length(min = 1, max = 256))]
    new_password: String,
}

/// Changes the caller's password; every other session is signed out and
/// this one gets a fresh pair of tokens.
/// The new password's hash, once the current one is proven.
fn rehash(current: &str, stored: &str, new_password: &str) -> Result<String, ApiError> {
    if !verify_password(current, stored) {
        return Err(
            ApiError::new(Code::WrongPassword, "current_password is not your password")
                .with_details(json!({ "fields": { "current_password": ["wrong"] } })),
        );
    }
    Ok(hash_password(new_password)?)
}

pub async fn change(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    body: crate::input::Json<ChangeBody>,
) -> Result<HttpResponse, ApiError> {
    let body = valid(body)?;
    let me = principal.user_id()?;
    if body.new_password == body.current_password {
        return Err(ApiError::new(
            Code::SamePassword,
            "new_password must differ from the current password",
        )
        .with_details(json!({ "fields": { "new_password": ["same_password"] } })));
    }
    let ip = req.peer_addr().map(|a| a.ip());
    let (name, refresh) = replace_password(&state, &me, body, ip).await?;
    respond_with_tokens(&state, &me, &name, refresh).await
}

/// Checks the current password (as a login: rate limited) and stores the
/// new one, signing out every other session; the name and a new refresh
/// token for this one.
async fn replace_password(
    state: &AppState,
    me: &str,
    body: ChangeBody,
    ip: Option<std::net::IpAddr>,
) -> Result<(String, String), ApiError> {
    let uid = me.to_owned();
    let (phone, stored, name) = state
        .db(move |conn| Ok(accounts::credentials(conn, &uid)?))
        .await?;
    accounts::check_password(&body.new_password, &phone, "new_password")?;
    let new_hash = state
        .limits
        .guess(ip, &phone, async move {
            web::block(move || rehash(&body.current_password, &stored, &body.new_password)).await?
        })
        .await?;
    let uid = me.to_owned();
    let refresh = state
        .db(move |conn| {
            accounts::set_password(conn, &uid, &new_hash, timebank_store::now())?;
            store_refresh_token(conn, &uid, &timebank_store::new_id())
        })
        .await?;
    Ok((name, refresh))
}

#[derive(Debug, Deserialize, Validate)]
pub struct LogoutBody {
    #[validate(length(min = 1, max = 256))]
    refresh_token: String,
}

/// Revokes the refresh token's whole family. The answer is the same
/// whether or not the token was known.
pub async fn logout(
    state: web::Data<AppState>,
    body: crate::input::Json<LogoutBody>,
) -> Result<HttpResponse, ApiError> {
    let body = valid(body)?;
    let hash = sha256_hex(body.refresh_token.as_bytes());
    state
        .db(move |conn| {
            Ok(timebank_directory::sessions::revoke_family(
                conn,
                &hash,
                timebank_store::now(),
            )?)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
