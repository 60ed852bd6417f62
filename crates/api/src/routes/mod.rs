//! Every route in one table, so the server and the OpenAPI test read the
//! same list.

use actix_web::http::Method;
use actix_web::{FromRequest, Handler, Responder, Route, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use timebank_kernel::Code;
use validator::Validate;

use crate::error::ApiError;

pub(crate) mod activities;
mod auth;
mod cases;
mod console;
mod gifts;
mod grants;
pub mod health;
mod jobs;
mod ledger;
mod list_items;
mod lists;
mod organising;
mod orgs;
mod policies;
mod projects;
mod queues;
mod recovery;
pub(crate) mod redemptions;
mod reports;
mod services;
mod sites;
mod teams;
mod units;
mod violations;
mod volunteers;
mod wishes;

pub const API: &str = "/api/v1";

/// One route: method, full path, handler.
fn at<F, Args>(method: Method, path: &str, handler: F) -> (Method, String, Route)
where
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    let route = web::route().method(method.clone()).to(handler);
    (method, path.to_owned(), route)
}

/// One route under [`API`].
fn api<F, Args>(method: Method, path: &str, handler: F) -> (Method, String, Route)
where
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    at(method, &format!("{API}{path}"), handler)
}

/// (method, full path, handler) for every route the server serves.
pub fn table() -> Vec<(Method, String, Route)> {
    use Method as M;
    vec![
        at(M::GET, "/healthz", health::healthz),
        at(M::GET, "/readyz", health::readyz),
        at(M::GET, "/metrics", health::metrics),
        at(M::GET, "/openapi.yaml", health::openapi),
        api(M::POST, "/auth/login", auth::login),
        api(M::POST, "/auth/refresh", auth::refresh),
        api(M::POST, "/auth/logout", recovery::logout),
        api(M::POST, "/auth/reset", recovery::reset),
        api(M::POST, "/me/password", recovery::change),
        at(M::GET, "/", console::root),
        at(M::GET, "/console", console::index),
        at(M::GET, "/console/{path:.*}", console::asset),
        api(M::GET, "/me", auth::me),
        api(M::POST, "/orgs", orgs::create),
        api(M::GET, "/orgs/{id}", orgs::get),
        api(M::GET, "/orgs/{id}/children", orgs::children),
        api(M::POST, "/orgs/{id}/admins", orgs::add_admin),
        api(M::GET, "/orgs/{id}/admins", grants::list),
        api(
            M::DELETE,
            "/orgs/{id}/admins/{user_id}",
            grants::revoke_admin,
        ),
        api(M::GET, "/orgs/{id}/queues", queues::org_queues),
        api(M::GET, "/volunteers", queues::people),
        api(M::POST, "/volunteers/{id}/reset-code", recovery::issue_code),
        api(M::GET, "/residents", queues::people),
        api(M::POST, "/residents/{id}/reset-code", recovery::issue_code),
        api(M::GET, "/case-awards", queues::case_awards),
        api(M::GET, "/wishes", queues::wishes),
        api(M::GET, "/sites/{id}/redemptions", queues::site_redemptions),
        api(
            M::DELETE,
            "/sites/{id}/operators/{user_id}",
            grants::revoke_operator,
        ),
        api(M::GET, "/violations", queues::violations),
        api(M::GET, "/transactions", queues::transactions),
        api(M::GET, "/jobs", queues::jobs),
        api(M::POST, "/volunteers/register", volunteers::register),
        api(M::POST, "/volunteers/{id}/approve", volunteers::approve),
        api(M::GET, "/volunteers/{id}", volunteers::get),
        api(
            M::POST,
            "/volunteers/{id}/party-member",
            volunteers::set_party_member,
        ),
        api(M::GET, "/volunteers/{id}/balance", ledger::balance),
        api(M::GET, "/volunteers/{id}/entries", ledger::entries),
        api(M::GET, "/transactions/{id}", ledger::transaction),
        api(M::POST, "/transactions/{id}/reverse", ledger::reverse),
        api(M::GET, "/ledger/verify", ledger::verify),
        api(M::GET, "/policies/{kind}", policies::get),
        api(M::PUT, "/policies/{kind}", policies::put),
        api(M::POST, "/activities", activities::create),
        api(M::GET, "/activities", activities::list),
        api(M::GET, "/activities/{id}", activities::get),
        api(M::POST, "/activities/{id}/review", activities::review),
        api(M::POST, "/activities/{id}/signups", activities::sign_up),
        api(
            M::DELETE,
            "/activities/{id}/signups",
            activities::cancel_sign_up,
        ),
        api(M::GET, "/activities/{id}/code", activities::code),
        api(M::POST, "/activities/{id}/check-in", activities::check_in),
        api(M::POST, "/activities/{id}/check-out", activities::check_out),
        api(
            M::POST,
            "/activities/{id}/attendance",
            activities::record_attendance,
        ),
        api(
            M::GET,
            "/activities/{id}/attendance",
            activities::list_attendance,
        ),
        api(M::POST, "/activities/{id}/settle", activities::settle),
        api(M::POST, "/case-rules", cases::publish_rule),
        api(M::GET, "/case-rules", cases::list_rules),
        api(M::POST, "/case-awards", cases::file_award),
        api(M::GET, "/case-awards/{id}", cases::get_award),
        api(M::POST, "/case-awards/{id}/approve", cases::approve),
        api(M::POST, "/case-awards/{id}/reject", cases::reject),
        api(M::GET, "/volunteers/{id}/stars", volunteers::stars),
        api(
            M::GET,
            "/volunteers/{id}/violations",
            volunteers::violations,
        ),
        api(M::POST, "/violations", violations::record),
        api(M::POST, "/sites", sites::create),
        api(M::GET, "/sites", sites::list),
        api(M::GET, "/sites/{id}", sites::get),
        api(M::POST, "/sites/{id}/operators", sites::add_operator),
        api(M::POST, "/sites/{id}/stock", sites::change_stock),
        api(M::POST, "/catalog/items", sites::create_item),
        api(M::POST, "/catalog/items/{id}/retire", sites::retire_item),
        api(M::GET, "/catalog", sites::catalog_at_site),
        api(M::POST, "/redemptions", redemptions::place),
        api(M::GET, "/redemptions/{id}", redemptions::get),
        api(M::POST, "/redemptions/{id}/fulfil", redemptions::fulfil),
        api(M::POST, "/redemptions/{id}/cancel", redemptions::cancel),
        api(
            M::GET,
            "/volunteers/{id}/redemptions",
            redemptions::for_volunteer,
        ),
        api(M::POST, "/family-links", gifts::request_link),
        api(M::GET, "/family-links", gifts::list_links),
        api(M::POST, "/family-links/{id}/confirm", gifts::confirm_link),
        api(M::POST, "/gifts", gifts::give),
        api(M::POST, "/pool/grants", gifts::grant),
        api(M::GET, "/pool", gifts::pool),
        api(M::POST, "/residents/register", services::register_resident),
        api(
            M::POST,
            "/residents/{id}/approve",
            services::approve_resident,
        ),
        api(M::GET, "/me/balance", services::my_balance),
        api(M::GET, "/me/requests", services::mine),
        api(M::GET, "/me/assignments", services::mine),
        api(M::POST, "/service-requests", services::create),
        api(M::GET, "/service-requests", services::list),
        api(M::GET, "/service-requests/{id}", services::get),
        api(
            M::POST,
            "/service-requests/{id}/dispatch",
            services::dispatch,
        ),
        api(M::POST, "/service-requests/{id}/accept", services::accept),
        api(M::POST, "/service-requests/{id}/decline", services::decline),
        api(
            M::POST,
            "/service-requests/{id}/complete",
            services::complete,
        ),
        api(M::POST, "/service-requests/{id}/rate", services::rate),
        api(M::POST, "/service-requests/{id}/resolve", services::resolve),
        api(M::POST, "/service-requests/{id}/cancel", services::cancel),
        api(M::POST, "/wishes", wishes::create),
        api(M::GET, "/wishes/{id}", wishes::get),
        api(M::POST, "/wishes/{id}/claim", wishes::claim),
        api(M::POST, "/wishes/{id}/fulfil", wishes::fulfil),
        api(M::POST, "/wishes/{id}/confirm", wishes::confirm),
        api(M::POST, "/teams", teams::create),
        api(M::GET, "/teams", teams::list),
        api(M::GET, "/teams/{id}", teams::get),
        api(M::POST, "/teams/{id}/approve", teams::approve),
        api(M::POST, "/teams/{id}/reject", teams::reject),
        api(M::POST, "/teams/{id}/dissolve", teams::dissolve),
        api(M::POST, "/teams/{id}/members", teams::add_member),
        api(
            M::DELETE,
            "/teams/{id}/members/{volunteer_id}",
            teams::remove_member,
        ),
        api(M::POST, "/teams/{id}/leader", teams::set_leader),
        api(M::POST, "/teams/{id}/honours", teams::honour),
        api(M::POST, "/teams/{id}/donate", teams::donate),
        api(M::POST, "/teams/{id}/grant", teams::grant),
        api(M::POST, "/units", units::register),
        api(M::GET, "/units", units::list),
        api(M::GET, "/units/{id}", units::get),
        api(M::POST, "/units/{id}/approve", units::approve),
        api(M::POST, "/units/{id}/reject", units::reject),
        api(M::POST, "/units/{id}/withdraw", units::withdraw),
        api(M::POST, "/units/{id}/members", units::add_member),
        api(
            M::DELETE,
            "/units/{id}/members/{volunteer_id}",
            units::remove_member,
        ),
        api(M::POST, "/units/{id}/admins", units::add_admin),
        api(M::POST, "/list-items", list_items::create),
        api(M::GET, "/list-items", list_items::list),
        api(M::GET, "/list-items/{id}", list_items::get),
        api(M::POST, "/list-items/{id}/claim", list_items::claim),
        api(M::POST, "/list-items/{id}/confirm", list_items::confirm),
        api(M::POST, "/list-items/{id}/decline", list_items::decline),
        api(M::POST, "/list-items/{id}/unclaim", list_items::unclaim),
        api(M::POST, "/list-items/{id}/withdraw", list_items::withdraw),
        api(M::GET, "/projects", projects::list),
        api(M::GET, "/projects/{id}", projects::get),
        api(M::POST, "/projects/{id}/start", projects::start),
        api(M::POST, "/projects/{id}/assess", projects::assess),
        api(M::POST, "/projects/{id}/close", projects::close),
        api(M::POST, "/projects/{id}/cancel", projects::cancel),
        api(M::GET, "/orgs/{id}/needs", lists::needs),
        api(M::GET, "/orgs/{id}/resources", lists::resources),
        api(M::GET, "/reports/services", lists::services_report),
        api(M::POST, "/jobs/{name}", jobs::run),
        api(M::GET, "/reports/summary", reports::summary),
        api(M::GET, "/reports/export", reports::export),
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

/// Every route's path, as the router matches it, with its methods.
fn known_paths() -> &'static [(actix_web::dev::ResourceDef, Vec<Method>)] {
    static PATHS: std::sync::OnceLock<Vec<(actix_web::dev::ResourceDef, Vec<Method>)>> =
        std::sync::OnceLock::new();
    PATHS.get_or_init(|| {
        let mut paths: Vec<(String, Vec<Method>)> = Vec::new();
        for (method, path, _) in table() {
            match paths.iter_mut().find(|(p, _)| *p == path) {
                Some((_, methods)) => methods.push(method),
                None => paths.push((path, vec![method])),
            }
        }
        paths
            .into_iter()
            .map(|(path, methods)| (actix_web::dev::ResourceDef::new(path), methods))
            .collect()
    })
}

/// What no route answered: 405 with `Allow` when the path is served with
/// other methods, else 404.
pub async fn unmatched(req: actix_web::HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    let mut allowed: Vec<&str> = known_paths()
        .iter()
        .filter(|(def, _)| def.is_match(req.path()))
        .flat_map(|(_, methods)| methods.iter().map(Method::as_str))
        .collect();
    if allowed.is_empty() {
        return Err(ApiError::not_found("route"));
    }
    allowed.sort_unstable();
    allowed.dedup();
    let allow = allowed.join(", ");
    Err(ApiError::new(
        Code::MethodNotAllowed,
        format!("{} is not allowed here; use {allow}", req.method()),
    )
    .with_details(serde_json::json!({ "allow": allowed }))
    .with_allow(allow))
}

/// Unwraps a JSON body and runs its `validator` rules.
pub fn valid<T: Validate>(body: crate::input::Json<T>) -> Result<T, ApiError> {
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
    body: crate::input::Json<T>,
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
            Some(_) => Err(ApiError::new(
                Code::InvalidQuery,
                format!("query parameter limit must be from 1 to {MAX_LIMIT}"),
            )
            .with_zh(format!("请求参数不正确：limit 须在 1 到 {MAX_LIMIT} 之间"))
            .with_details(serde_json::json!({ "fields": { "limit": ["range"] } }))),
        }
    }

    pub fn cursor(&self) -> Result<Option<String>, ApiError> {
        self.cursor
            .as_deref()
            .filter(|c| !c.is_empty())
            .map(decode_cursor)
            .transpose()
    }

    /// The position a list's keyset cursor names, and the page size.
    pub fn keyset(&self, list: &str) -> Result<(Option<timebank_views::After>, i64), ApiError> {
        let limit = self.limit()?;
        let after = self
            .cursor()?
            .map(|c| timebank_views::After::parse(list, &c).ok_or_else(invalid_cursor))
            .transpose()?;
        Ok((after, limit))
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

/// A `status` filter naming one of the machine's states (empty is none).
pub(crate) fn state_query<S: timebank_rules::states::State>(
    text: Option<&str>,
) -> Result<Option<S>, ApiError> {
    match text.filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => S::parse(s).map(Some).ok_or_else(|| {
            let allowed: Vec<&str> = S::ALL.iter().map(|s| s.as_str()).collect();
            ApiError::new(
                Code::InvalidQuery,
                format!("status must be one of {}", allowed.join(", ")),
            )
            .with_details(
                serde_json::json!({ "fields": { "status": ["enum"] }, "allowed": allowed }),
            )
        }),
    }
}

pub(crate) fn invalid_cursor() -> ApiError {
    ApiError::new(
        Code::InvalidCursor,
        "the cursor is not one this server gave out",
    )
}

/// A page of a keyset list: its items and the cursor of the next page.
pub fn page_json(
    items: Vec<serde_json::Value>,
    next: Option<timebank_views::After>,
    list: &str,
) -> serde_json::Value {
    let next_cursor = next.map(|a| encode_cursor(&a.render(list)));
    serde_json::json!({ "items": items, "next_cursor": next_cursor })
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
    let json: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|_| ApiError::of(Code::InvalidJson))?;
    let value: T = crate::input::body_from_value(json)?;
    value.validate().map_err(|e| ApiError::validation(&e))?;
    Ok(Some(value))
}

/// Hashes a password off the async workers: it is slow on purpose.
pub async fn hash_off_workers(password: String) -> Result<String, ApiError> {
    Ok(actix_web::web::block(move || crate::auth::hash_password(&password)).await??)
}

/// The org a body names for the caller to act on: 422 `invalid_org` when it
/// does not exist, 403 unless the caller administers it.
pub fn administered_org(
    conn: &mut timebank_store::DbConnection,
    principal: &crate::principal::Principal,
    org_id: &str,
) -> Result<timebank_directory::Org, ApiError> {
    let org = timebank_directory::get_org(conn, org_id)
        .map_err(|_| ApiError::new(Code::InvalidOrg, "org_id is not an organisation"))?;
    crate::principal::Principal::require(crate::access::may_administer(principal, &org))?;
    Ok(org)
}
