//! Headers every answer carries: cross-origin access for the origins an
//! operator allows (a city platform's dashboard on another origin), and
//! what keeps a browser or a proxy from sniffing or storing authenticated
//! answers.
//!
//! CORS is written here rather than taken from `actix-cors`, which answers
//! 400 to any request whose `Origin` is not listed — the console's own
//! same-origin POSTs carry one too. Here an origin not listed simply gets no
//! CORS headers, and the browser keeps the answer from the page.

use std::sync::Arc;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse};

/// Origins allowed to call the API from a browser, exactly as the browser
/// sends them (`https://dashboard.example.org`); none by default.
#[derive(Debug, Clone, Default)]
pub struct AllowedOrigins(Arc<Vec<String>>);

const ALLOW_METHODS: &str = "GET, POST, PUT, DELETE";
const ALLOW_HEADERS: &str = "Authorization, Content-Type, Accept, Accept-Language, Idempotency-Key";
const EXPOSE_HEADERS: &str = "Idempotent-Replayed, X-Request-Id, Retry-After";
const MAX_AGE_SECS: &str = "600";

impl AllowedOrigins {
    /// A comma-separated list; each must be `scheme://host[:port]`.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut origins = Vec::new();
        for origin in list.split(',').map(str::trim).filter(|o| !o.is_empty()) {
            let rest = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"))
                .ok_or_else(|| format!("{origin:?}: an origin starts with https:// or http://"))?;
            if rest.is_empty() || rest.contains('/') {
                return Err(format!(
                    "{origin:?}: an origin is scheme://host[:port], with no path"
                ));
            }
            origins.push(origin.to_owned());
        }
        Ok(Self(Arc::new(origins)))
    }

    fn allows(&self, origin: &str) -> bool {
        self.0.iter().any(|o| o == origin)
    }
}

/// Middleware: answers preflights, marks answers for allowed origins, and
/// sets `nosniff` everywhere and `no-store` on authenticated answers.
pub async fn apply(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let origins = req
        .app_data::<actix_web::web::Data<crate::state::AppState>>()
        .map(|state| state.cors.clone())
        .unwrap_or_default();
    // Answers differ by Origin only when some origin is allowed.
    let varies = !origins.0.is_empty() && req.headers().contains_key(header::ORIGIN);
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .filter(|o| origins.allows(o))
        .map(str::to_owned);
    let preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if preflight {
        let mut res = HttpResponse::build(StatusCode::NO_CONTENT);
        if let Some(origin) = &origin {
            res.insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.as_str()))
                .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, ALLOW_METHODS))
                .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOW_HEADERS))
                .insert_header((header::ACCESS_CONTROL_MAX_AGE, MAX_AGE_SECS));
        }
        if varies {
            res.insert_header((header::VARY, "Origin"));
        }
        return Ok(req.into_response(res.finish()));
    }
    let authenticated = req.headers().contains_key(header::AUTHORIZATION);
    let mut res = next.call(req).await?.map_into_boxed_body();
    let headers = res.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if authenticated {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if let Some(origin) = origin.and_then(|o| HeaderValue::from_str(&o).ok()) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSE_HEADERS),
        );
    }
    if varies {
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_scheme_host_and_port_only() {
        let ok = AllowedOrigins::parse("https://a.example.org, http://localhost:5173").unwrap();
        assert!(ok.allows("https://a.example.org"));
        assert!(ok.allows("http://localhost:5173"));
        assert!(!ok.allows("https://evil.example.org"));
        assert!(AllowedOrigins::parse("").unwrap().0.is_empty());
        for bad in [
            "a.example.org",
            "https://a.example.org/",
            "ftp://x",
            "https://",
        ] {
            assert!(AllowedOrigins::parse(bad).is_err(), "{bad}");
        }
    }
}
