use actix_web::{HttpResponse, web};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::json;
use timebank_jobs::{Job, Silent};

use crate::error::ApiError;
use crate::principal::Principal;
use crate::routes::{naive, optional_body};
use crate::state::AppState;
use validator::Validate;

#[derive(Debug, Default, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct JobBody {
    /// settle: what ended by then (default now).
    until: Option<DateTime<Utc>>,
    /// settle: only this organisation's subtree.
    org_id: Option<String>,
    /// expire: the date to apply expiry as of (YYYY-MM-DD).
    as_of: Option<NaiveDate>,
}

/// Runs a batch job for a script holding a system token; the run is
/// recorded and its summary returned.
pub async fn run(
    state: web::Data<AppState>,
    principal: Principal,
    name: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    if !matches!(principal, Principal::System) {
        return Err(ApiError::forbidden());
    }
    let body: JobBody = optional_body(&body)?.unwrap_or_default();
    let job = match name.as_str() {
        "settle" => Job::Settle {
            until: body.until.map(naive).unwrap_or_else(timebank_store::now),
            org_id: body.org_id,
        },
        "expire" => Job::Expire {
            as_of: body.as_of.ok_or_else(|| {
                ApiError::unprocessable("validation_failed", "as_of is required")
                    .with_details(json!({ "fields": { "as_of": ["required"] } }))
            })?,
        },
        "stars" => Job::Stars,
        "orders-expire" => Job::OrdersExpire,
        _ => return Err(ApiError::not_found("job")),
    };
    let done = state
        .db(move |conn| Ok(timebank_jobs::run(conn, &job, "system", &Silent)?))
        .await?;
    Ok(HttpResponse::Ok().json(done))
}
