//! Every route in one table, so the server and the OpenAPI test read the
//! same list.

use actix_web::http::Method;
use actix_web::{Route, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use validator::Validate;

use crate::error::ApiError;

mod activities;
mod auth;
mod cases;
mod console;
mod gifts;
mod grants;
mod health;
mod jobs;
mod ledger;
mod lists;
mod orgs;
mod policies;
mod queues;
mod recovery;
mod redemptions;
mod reports;
mod services;
mod sites;
mod violations;
mod volunteers;
mod wishes;

pub const API: &str = "/api/v1";

/// (method, full path, handler) for every route the server serves.
pub fn table() -> Vec<(Method, String, Route)> {
    let api = |path: &str| format!("{API}{path}");
    vec![
        (
            Method::GET,
            "/healthz".into(),
            web::get().to(health::healthz),
        ),
        (Method::GET, "/readyz".into(), web::get().to(health::readyz)),
        (
            Method::GET,
            "/metrics".into(),
            web::get().to(health::metrics),
        ),
        (
            Method::GET,
            "/openapi.yaml".into(),
            web::get().to(health::openapi),
        ),
        (
            Method::POST,
            api("/auth/login"),
            web::post().to(auth::login),
        ),
        (
            Method::POST,
            api("/auth/refresh"),
            web::post().to(auth::refresh),
        ),
        (
            Method::POST,
            api("/auth/logout"),
            web::post().to(recovery::logout),
        ),
        (
            Method::POST,
            api("/auth/reset"),
            web::post().to(recovery::reset),
        ),
        (
            Method::POST,
            api("/me/password"),
            web::post().to(recovery::change),
        ),
        (Method::GET, "/".into(), web::get().to(console::root)),
        (
            Method::GET,
            "/console".into(),
            web::get().to(console::index),
        ),
        (
            Method::GET,
            "/console/{path:.*}".into(),
            web::get().to(console::asset),
        ),
        (Method::GET, api("/me"), web::get().to(auth::me)),
        (Method::POST, api("/orgs"), web::post().to(orgs::create)),
        (Method::GET, api("/orgs/{id}"), web::get().to(orgs::get)),
        (
            Method::GET,
            api("/orgs/{id}/children"),
            web::get().to(orgs::children),
        ),
        (
            Method::POST,
            api("/orgs/{id}/admins"),
            web::post().to(orgs::add_admin),
        ),
        (
            Method::GET,
            api("/orgs/{id}/admins"),
            web::get().to(grants::list),
        ),
        (
            Method::DELETE,
            api("/orgs/{id}/admins/{user_id}"),
            web::delete().to(grants::revoke_admin),
        ),
        (
            Method::GET,
            api("/orgs/{id}/queues"),
            web::get().to(queues::org_queues),
        ),
        (
            Method::GET,
            api("/volunteers"),
            web::get().to(queues::people),
        ),
        (
            Method::POST,
            api("/volunteers/{id}/reset-code"),
            web::post().to(recovery::issue_code),
        ),
        (
            Method::GET,
            api("/residents"),
            web::get().to(queues::people),
        ),
        (
            Method::POST,
            api("/residents/{id}/reset-code"),
            web::post().to(recovery::issue_code),
        ),
        (
            Method::GET,
            api("/case-awards"),
            web::get().to(queues::case_awards),
        ),
        (Method::GET, api("/wishes"), web::get().to(queues::wishes)),
        (
            Method::GET,
            api("/sites/{id}/redemptions"),
            web::get().to(queues::site_redemptions),
        ),
        (
            Method::DELETE,
            api("/sites/{id}/operators/{user_id}"),
            web::delete().to(grants::revoke_operator),
        ),
        (
            Method::GET,
            api("/violations"),
            web::get().to(queues::violations),
        ),
        (
            Method::GET,
            api("/transactions"),
            web::get().to(queues::transactions),
        ),
        (Method::GET, api("/jobs"), web::get().to(queues::jobs)),
        (
            Method::POST,
            api("/volunteers/register"),
            web::post().to(volunteers::register),
        ),
        (
            Method::POST,
            api("/volunteers/{id}/approve"),
            web::post().to(volunteers::approve),
        ),
        (
            Method::GET,
            api("/volunteers/{id}"),
            web::get().to(volunteers::get),
        ),
        (
            Method::GET,
            api("/volunteers/{id}/balance"),
            web::get().to(ledger::balance),
        ),
        (
            Method::GET,
            api("/volunteers/{id}/entries"),
            web::get().to(ledger::entries),
        ),
        (
            Method::GET,
            api("/transactions/{id}"),
            web::get().to(ledger::transaction),
        ),
        (
            Method::POST,
            api("/transactions/{id}/reverse"),
            web::post().to(ledger::reverse),
        ),
        (
            Method::GET,
            api("/ledger/verify"),
            web::get().to(ledger::verify),
        ),
        (
            Method::GET,
            api("/policies/{kind}"),
            web::get().to(policies::get),
        ),
        (
            Method::PUT,
            api("/policies/{kind}"),
            web::put().to(policies::put),
        ),
        (
            Method::POST,
            api("/activities"),
            web::post().to(activities::create),
        ),
        (
            Method::GET,
            api("/activities"),
            web::get().to(activities::list),
        ),
        (
            Method::GET,
            api("/activities/{id}"),
            web::get().to(activities::get),
        ),
        (
            Method::POST,
            api("/activities/{id}/review"),
            web::post().to(activities::review),
        ),
        (
            Method::POST,
            api("/activities/{id}/signups"),
            web::post().to(activities::sign_up),
        ),
        (
            Method::DELETE,
            api("/activities/{id}/signups"),
            web::delete().to(activities::cancel_sign_up),
        ),
        (
            Method::GET,
            api("/activities/{id}/code"),
            web::get().to(activities::code),
        ),
        (
            Method::POST,
            api("/activities/{id}/check-in"),
            web::post().to(activities::check_in),
        ),
        (
            Method::POST,
            api("/activities/{id}/check-out"),
            web::post().to(activities::check_out),
        ),
        (
            Method::POST,
            api("/activities/{id}/attendance"),
            web::post().to(activities::record_attendance),
        ),
        (
            Method::GET,
            api("/activities/{id}/attendance"),
            web::get().to(activities::list_attendance),
        ),
        (
            Method::POST,
            api("/activities/{id}/settle"),
            web::post().to(activities::settle),
        ),
        (
            Method::POST,
            api("/case-rules"),
            web::post().to(cases::publish_rule),
        ),
        (
            Method::GET,
            api("/case-rules"),
            web::get().to(cases::list_rules),
        ),
        (
            Method::POST,
            api("/case-awards"),
            web::post().to(cases::file_award),
        ),
        (
            Method::GET,
            api("/case-awards/{id}"),
            web::get().to(cases::get_award),
        ),
        (
            Method::POST,
            api("/case-awards/{id}/approve"),
            web::post().to(cases::approve),
        ),
        (
            Method::POST,
            api("/case-awards/{id}/reject"),
            web::post().to(cases::reject),
        ),
        (
            Method::GET,
            api("/volunteers/{id}/stars"),
            web::get().to(volunteers::stars),
        ),
        (
            Method::GET,
            api("/volunteers/{id}/violations"),
            web::get().to(volunteers::violations),
        ),
        (
            Method::POST,
            api("/violations"),
            web::post().to(violations::record),
        ),
        (Method::POST, api("/sites"), web::post().to(sites::create)),
        (Method::GET, api("/sites"), web::get().to(sites::list)),
        (Method::GET, api("/sites/{id}"), web::get().to(sites::get)),
        (
            Method::POST,
            api("/sites/{id}/operators"),
            web::post().to(sites::add_operator),
        ),
        (
            Method::POST,
            api("/sites/{id}/stock"),
            web::post().to(sites::change_stock),
        ),
        (
            Method::POST,
            api("/catalog/items"),
            web::post().to(sites::create_item),
        ),
        (
            Method::POST,
            api("/catalog/items/{id}/retire"),
            web::post().to(sites::retire_item),
        ),
        (
            Method::GET,
            api("/catalog"),
            web::get().to(sites::catalog_at_site),
        ),
        (
            Method::POST,
            api("/redemptions"),
            web::post().to(redemptions::place),
        ),
        (
            Method::GET,
            api("/redemptions/{id}"),
            web::get().to(redemptions::get),
        ),
        (
            Method::POST,
            api("/redemptions/{id}/fulfil"),
            web::post().to(redemptions::fulfil),
        ),
        (
            Method::POST,
            api("/redemptions/{id}/cancel"),
            web::post().to(redemptions::cancel),
        ),
        (
            Method::GET,
            api("/volunteers/{id}/redemptions"),
            web::get().to(redemptions::for_volunteer),
        ),
        (
            Method::POST,
            api("/family-links"),
            web::post().to(gifts::request_link),
        ),
        (
            Method::GET,
            api("/family-links"),
            web::get().to(gifts::list_links),
        ),
        (
            Method::POST,
            api("/family-links/{id}/confirm"),
            web::post().to(gifts::confirm_link),
        ),
        (Method::POST, api("/gifts"), web::post().to(gifts::give)),
        (
            Method::POST,
            api("/pool/grants"),
            web::post().to(gifts::grant),
        ),
        (Method::GET, api("/pool"), web::get().to(gifts::pool)),
        (
            Method::POST,
            api("/residents/register"),
            web::post().to(services::register_resident),
        ),
        (
            Method::POST,
            api("/residents/{id}/approve"),
            web::post().to(services::approve_resident),
        ),
        (
            Method::GET,
            api("/me/balance"),
            web::get().to(services::my_balance),
        ),
        (
            Method::GET,
            api("/me/requests"),
            web::get().to(services::mine),
        ),
        (
            Method::GET,
            api("/me/assignments"),
            web::get().to(services::mine),
        ),
        (
            Method::POST,
            api("/service-requests"),
            web::post().to(services::create),
        ),
        (
            Method::GET,
            api("/service-requests"),
            web::get().to(services::list),
        ),
        (
            Method::GET,
            api("/service-requests/{id}"),
            web::get().to(services::get),
        ),
        (
            Method::POST,
            api("/service-requests/{id}/dispatch"),
            web::post().to(services::dispatch),
        ),
        (
            Method::POST,
            api("/service-requests/{id}/accept"),
            web::post().to(services::accept),
        ),
        (
            Method::POST,
            api("/service-requests/{id}/decline"),
            web::post().to(services::decline),
        ),
        (
            Method::POST,
            api("/service-requests/{id}/complete"),
            web::post().to(services::complete),
        ),
        (
            Method::POST,
            api("/service-requests/{id}/rate"),
            web::post().to(services::rate),
        ),
        (
            Method::POST,
            api("/service-requests/{id}/resolve"),
            web::post().to(services::resolve),
        ),
        (
            Method::POST,
            api("/service-requests/{id}/cancel"),
            web::post().to(services::cancel),
        ),
        (Method::POST, api("/wishes"), web::post().to(wishes::create)),
        (Method::GET, api("/wishes/{id}"), web::get().to(wishes::get)),
        (
            Method::POST,
            api("/wishes/{id}/claim"),
            web::post().to(wishes::claim),
        ),
        (
            Method::POST,
            api("/wishes/{id}/fulfil"),
            web::post().to(wishes::fulfil),
        ),
        (
            Method::POST,
            api("/wishes/{id}/confirm"),
            web::post().to(wishes::confirm),
        ),
        (
            Method::GET,
            api("/orgs/{id}/needs"),
            web::get().to(lists::needs),
        ),
        (
            Method::GET,
            api("/orgs/{id}/resources"),
            web::get().to(lists::resources),
        ),
        (
            Method::GET,
            api("/reports/services"),
            web::get().to(lists::services_report),
        ),
        (Method::POST, api("/jobs/{name}"), web::post().to(jobs::run)),
        (
            Method::GET,
            api("/reports/summary"),
            web::get().to(reports::summary),
        ),
        (
            Method::GET,
            api("/reports/export"),
            web::get().to(reports::export),
        ),
    ]
}

/// (method, path) pairs, for comparing with `openapi.yaml`: a segment's
/// pattern (`{path:.*}`) is written as OpenAPI names it (`{path}`).
pub fn list() -> Vec<(String, String)> {
    table()
        .into_iter()
        .map(|(method, path, _)| {
            let mut plain = String::with_capacity(path.len());
            let (mut in_brace, mut in_pattern) = (false, false);
            for c in path.chars() {
                match c {
                    '{' => in_brace = true,
                    ':' if in_brace => in_pattern = true,
                    '}' => (in_brace, in_pattern) = (false, false),
                    _ => {}
                }
                if !in_pattern {
                    plain.push(c);
                }
            }
            (method.as_str().to_ascii_lowercase(), plain)
        })
        .collect()
}

/// Registers the table with one scope per first path segment under
/// [`API`]: routing compares static prefixes first and runs the pattern
/// matcher only on the few routes of one scope, instead of on every route
/// in turn (and again for every `match_pattern` the logs and metrics ask).
pub fn configure(cfg: &mut web::ServiceConfig) {
    let mut scopes: std::collections::BTreeMap<String, Vec<(String, Route)>> =
        std::collections::BTreeMap::new();
    for (_, path, route) in table() {
        let scoped = path.strip_prefix(API).and_then(|rest| {
            let end = rest.get(1..)?.find('/').map_or(rest.len(), |i| i + 1);
            let (first, tail) = rest.split_at(end);
            (!first.contains('{')).then(|| (first.to_owned(), tail.to_owned()))
        });
        match scoped {
            Some((first, tail)) => scopes.entry(first).or_default().push((tail, route)),
            None => {
                cfg.route(&path, route);
            }
        }
    }
    for (first, routes) in scopes {
        let mut scope = web::scope(&format!("{API}{first}"));
        for (tail, route) in routes {
            scope = scope.route(&tail, route);
        }
        cfg.service(scope);
    }
}

/// Unwraps a JSON body and runs its `validator` rules.
pub fn valid<T: Validate>(body: web::Json<T>) -> Result<T, ApiError> {
    let body = body.into_inner();
    body.validate().map_err(|e| ApiError::validation(&e))?;
    Ok(body)
}

/// Adds a display name beside each id a list shows (`(id field, name
/// field)`), looked up once for the whole list.
pub fn with_names(
    conn: &mut timebank_store::DbConnection,
    items: &mut [serde_json::Value],
    fields: &[(&str, &str)],
) -> Result<(), ApiError> {
    let ids: Vec<String> = items
        .iter()
        .flat_map(|item| fields.iter().filter_map(|(id, _)| item[*id].as_str()))
        .map(str::to_owned)
        .collect();
    let names = timebank_views::audit::names(conn, ids.iter().map(String::as_str))?;
    for item in items.iter_mut() {
        for (id, name) in fields {
            let found = item[*id].as_str().and_then(|i| names.get(i)).cloned();
            item[*name] = serde_json::json!(found);
        }
    }
    Ok(())
}

/// As [`valid`], with the password rule: a weak password alone is 422
/// `weak_password`; beside other invalid fields it is one of them.
pub fn valid_with_password<T: Validate>(
    body: web::Json<T>,
    password_and_phone: impl Fn(&T) -> (&str, &str),
) -> Result<T, ApiError> {
    let body = body.into_inner();
    let (password, phone) = password_and_phone(&body);
    let weakness = timebank_directory::accounts::weakness(password, phone);
    match (body.validate(), weakness) {
        (Ok(()), None) => Ok(body),
        (Ok(()), Some(_)) => {
            timebank_directory::accounts::check_password(password, phone, "password")?;
            Ok(body)
        }
        (Err(mut errors), weakness) => {
            if let Some(w) = weakness {
                errors.add("password", validator::ValidationError::new(w.as_str()));
            }
            Err(ApiError::validation(&errors))
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

pub const MAX_LIMIT: i64 = 200;

impl PageQuery {
    pub fn limit(&self) -> Result<i64, ApiError> {
        match self.limit {
            None => Ok(50),
            Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            Some(_) => Err(ApiError::bad_request(
                "invalid_query",
                "limit must be between 1 and 200",
            )),
        }
    }

    pub fn cursor(&self) -> Result<Option<String>, ApiError> {
        self.cursor
            .as_deref()
            .filter(|c| !c.is_empty())
            .map(decode_cursor)
            .transpose()
    }

    /// A cursor that holds the last row's id: anything else was not given
    /// out by this server.
    pub fn id_cursor(&self) -> Result<Option<String>, ApiError> {
        let after = self.cursor()?;
        if after
            .as_deref()
            .is_some_and(|id| uuid::Uuid::parse_str(id).is_err())
        {
            return Err(invalid_cursor());
        }
        Ok(after)
    }
}

pub(crate) fn invalid_cursor() -> ApiError {
    ApiError::bad_request(
        "invalid_cursor",
        "the cursor is not one this server gave out",
    )
}

/// Cursors are opaque to clients: base64url of a position only we read.
pub fn encode_cursor(position: &str) -> String {
    URL_SAFE_NO_PAD.encode(position.as_bytes())
}

fn decode_cursor(text: &str) -> Result<String, ApiError> {
    URL_SAFE_NO_PAD
        .decode(text.as_bytes())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(invalid_cursor)
}

pub use timebank_kernel::wire::{naive, opt_utc, utc_string};

/// An optional JSON body: empty means none; anything else must parse (a
/// malformed body is refused, never silently ignored) and validate.
pub fn optional_body<T: serde::de::DeserializeOwned + Validate>(
    bytes: &web::Bytes,
) -> Result<Option<T>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let value: T = serde_json::from_slice(bytes).map_err(|e| {
        if e.is_syntax() || e.is_eof() {
            ApiError::bad_request("invalid_json", "the body is not valid JSON")
        } else {
            ApiError::bad_request("invalid_body", e.to_string())
        }
    })?;
    value.validate().map_err(|e| ApiError::validation(&e))?;
    Ok(Some(value))
}

/// The org a body names for the caller to act on: 422 `invalid_org` when it
/// does not exist, 403 unless the caller administers it.
pub fn administered_org(
    conn: &mut timebank_store::DbConnection,
    principal: &crate::principal::Principal,
    org_id: &str,
) -> Result<timebank_directory::Org, ApiError> {
    let org = timebank_directory::get_org(conn, org_id)
        .map_err(|_| ApiError::unprocessable("invalid_org", "org_id is not an organisation"))?;
    crate::principal::Principal::require(principal.admin_over(&org.path))?;
    Ok(org)
}
