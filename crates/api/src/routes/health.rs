use actix_web::{HttpResponse, web};
use diesel::connection::SimpleConnection;
use serde_json::json;

use crate::error::ApiError;
use crate::state::AppState;

pub const OPENAPI: &str = include_str!("../../../../openapi.yaml");

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state
        .db(|conn| conn.batch_execute("SELECT 1").map_err(ApiError::from))
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "status": "ready" })))
}

/// `/metrics` on the public listener, unless it is served on its own.
pub async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    if state.metrics_elsewhere {
        return Err(ApiError::not_found("route"));
    }
    Ok(metrics_here(state).await)
}

pub async fn metrics_here(state: web::Data<AppState>) -> HttpResponse {
    // Metrics still answer when the database does not.
    let postings = match state.metrics.recent_postings() {
        Some(n) => Some(n),
        None => {
            let n = state
                .db(|conn| Ok(timebank_ledger::read::posting_count(conn)?))
                .await
                .ok();
            if let Some(n) = n {
                state.metrics.counted_postings(n);
            }
            n
        }
    };
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render(postings))
}

pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/yaml")
        .body(OPENAPI)
}
