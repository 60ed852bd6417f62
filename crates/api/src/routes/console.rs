//! The staff console: static ES modules and CSS from `crates/api/console`,
//! embedded in release builds (read from the folder in debug builds, so an
//! edit shows on reload). It is only a client of `/api/v1`.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use rust_embed::RustEmbed;

use crate::error::ApiError;

#[derive(RustEmbed)]
#[folder = "console/"]
struct Assets;

/// No inline script or style, no framing, nothing from elsewhere.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub async fn root() -> HttpResponse {
    HttpResponse::Found()
        .insert_header((header::LOCATION, "/console/"))
        .finish()
}

pub async fn index(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    serve(&req, "index.html")
}

pub async fn asset(req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let path = path.into_inner();
    if path
        .split('/')
        .any(|part| part == ".." || part.starts_with('.'))
    {
        return Err(ApiError::not_found("file"));
    }
    if path.is_empty() {
        return serve(&req, "index.html");
    }
    serve(&req, &path)
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("json") => "application/json",
        Some("txt") | Some("md") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Every answer carries the file's content hash as its ETag and must be
/// revalidated, so a new release is never served from a stale cache.
fn serve(req: &HttpRequest, path: &str) -> Result<HttpResponse, ApiError> {
    let file = Assets::get(path).ok_or_else(|| ApiError::not_found("file"))?;
    let etag = format!(
        "\"{}\"",
        timebank_ledger::hash::hex(&file.metadata.sha256_hash())
    );
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut res = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")));
    if fresh {
        return Ok(res.finish());
    }
    Ok(res
        .insert_header((header::CONTENT_TYPE, content_type(path)))
        .body(file.data.into_owned()))
}
