//! The timebank HTTP API (actix-web). Handlers stay thin: parse, authorise,
//! call a domain function, map the result. One error shape for every
//! failure; bodies over 64 KiB are refused.

mod access;
pub mod auth;
mod error;
pub mod headers;
mod i18n;
mod idempotency;
mod input;
pub mod limits;
mod memo;
pub mod metrics;
mod placing;
mod principal;
pub mod routes;
mod state;
mod telemetry;

use std::net::SocketAddr;
use std::sync::Arc;
use timebank_kernel::Code;

use actix_web::dev::Server;
use actix_web::error::JsonPayloadError;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpMessage, HttpServer, web};
use timebank_store::Pool;
use tracing_actix_web::TracingLogger;

pub use error::ApiError;
pub use state::AppState;

pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub fn app_state(
    pool: Pool,
    keys: auth::TokenKeys,
    limits: limits::RateLimits,
) -> anyhow::Result<AppState> {
    Ok(AppState {
        pool,
        keys: Arc::new(keys),
        metrics: Arc::new(metrics::Metrics::new()?),
        limits: Arc::new(limits),
        memos: Arc::new(memo::Memos::default()),
        metrics_elsewhere: false,
        writer: None,
        placing: Arc::default(),
        cors: headers::AllowedOrigins::default(),
    })
}

fn json_error(err: JsonPayloadError, _: &actix_web::HttpRequest) -> actix_web::Error {
    let api = match &err {
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            ApiError::new(
                Code::PayloadTooLarge,
                "the request body is larger than 64 KiB",
            )
        }
        JsonPayloadError::ContentType => ApiError::new(
            Code::UnsupportedMediaType,
            "send the body as application/json",
        ),
        JsonPayloadError::Deserialize(e) if e.is_syntax() || e.is_eof() => {
            ApiError::of(Code::InvalidJson)
        }
        JsonPayloadError::Deserialize(_) => ApiError::new(
            Code::InvalidBody,
            "the body does not have the expected shape",
        ),
        _ => ApiError::new(Code::InvalidBody, "the body could not be read"),
    };
    api.into()
}

/// Returns the request id that logs and ledger rows carry, so a client's
/// report can be matched to them.
async fn echo_request_id(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    let id = req
        .extensions()
        .get::<tracing_actix_web::RequestId>()
        .map(ToString::to_string);
    let mut res = next.call(req).await?;
    if let Some(value) = id.and_then(|id| actix_web::http::header::HeaderValue::from_str(&id).ok())
    {
        res.headers_mut().insert(
            actix_web::http::header::HeaderName::from_static("x-request-id"),
            value,
        );
    }
    Ok(res)
}

/// Binds the server; returns it with the addresses it listens on (useful
/// with port 0).
pub fn bind(
    state: AppState,
    addr: &str,
    workers: Option<usize>,
) -> std::io::Result<(Server, Vec<SocketAddr>)> {
    let metrics = web::Data::from(state.metrics.clone());
    let data = web::Data::new(state);
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(metrics.clone())
            .app_data(
                web::JsonConfig::default()
                    .limit(MAX_BODY_BYTES)
                    .error_handler(json_error),
            )
            .app_data(web::PayloadConfig::default().limit(MAX_BODY_BYTES))
            .app_data(web::PathConfig::default().error_handler(|_, _| {
                ApiError::new(Code::InvalidPath, "the path is not valid").into()
            }))
            .wrap(from_fn(error::uniform))
            .wrap(from_fn(i18n::localize))
            .wrap(from_fn(metrics::record))
            .wrap(from_fn(echo_request_id))
            .wrap(from_fn(headers::apply))
            .wrap(TracingLogger::<telemetry::RequestSpan>::new())
            .configure(routes::configure)
            .default_service(web::to(routes::unmatched))
    });
    if let Some(n) = workers {
        server = server.workers(n);
    }
    let server = server.bind(addr)?;
    let addrs = server.addrs();
    Ok((server.run(), addrs))
}

/// Binds an internal listener that serves `/metrics` only.
pub fn bind_metrics(state: &AppState, addr: &str) -> std::io::Result<(Server, Vec<SocketAddr>)> {
    let data = web::Data::new(state.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/metrics", web::get().to(routes::health::metrics_here))
    })
    .workers(1)
    .bind(addr)?;
    let addrs = server.addrs();
    Ok((server.run(), addrs))
}
