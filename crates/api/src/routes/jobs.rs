use actix_web::{HttpResponse, web};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::json;
use timebank_jobs::{Job, Silent};
use timebank_kernel::Code;

use crate::error::ApiError;
use crate::principal::Principal;
use crate::routes::{naive, optional_body};
use crate::state::AppState;
use validator::Validate;

#[derive(Debug, Default, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct JobBody {
    /// settle: what ended by then (default now): an instant, or a local
    /// day (by its end, in each district's days).
    until: Option<UntilText>,
    /// settle: only this organisation's subtree.
    org_id: Option<String>,
    /// expire: the date to apply expiry as of (YYYY-MM-DD).
    as_of: Option<NaiveDate>,
    /// verify: also record a checkpoint.
    checkpoint: Option<bool>,
    /// export: first and last local day.
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
}

#[derive(Debug, Deserialize)]
#[serde(try_from = "String")]
enum UntilText {
    Day(NaiveDate),
    At(DateTime<Utc>),
}

impl TryFrom<String> for UntilText {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        if let Ok(day) = text.parse::<NaiveDate>() {
            return Ok(UntilText::Day(day));
        }
        text.parse::<DateTime<Utc>>()
            .map(UntilText::At)
            .map_err(|_| "expected a day (2026-12-01) or a time (2026-12-01T08:00:00Z)".to_owned())
    }
}

/// Runs a batch job for a script holding a system token; the run is
/// recorded and its summary returned.
/// A batch job that changes the ledger, from its name and body.
fn job_of(name: &str, body: JobBody) -> Result<Job, ApiError> {
    Ok(match name {
        "settle" => Job::Settle {
            until: match body.until {
                None => timebank_jobs::Until::At(timebank_store::now()),
                Some(UntilText::At(at)) => timebank_jobs::Until::At(naive(at)),
                Some(UntilText::Day(day)) => timebank_jobs::Until::EndOfLocalDay(day),
            },
            org_id: body.org_id,
        },
        "expire" => Job::Expire {
            as_of: body.as_of.ok_or_else(|| {
                ApiError::new(Code::ValidationFailed, "as_of is required")
                    .with_details(json!({ "fields": { "as_of": ["required"] } }))
            })?,
        },
        "stars" => Job::Stars,
        "orders-expire" => Job::OrdersExpire,
        _ => return Err(ApiError::not_found("job")),
    })
}

pub async fn run(
    state: web::Data<AppState>,
    principal: Principal,
    name: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    if !matches!(principal, Principal::System) {
        return Err(ApiError::forbidden());
    }
    match name.as_str() {
        "verify" | "export" => {
            return run_read(
                state,
                name.as_str(),
                optional_body(&body)?.unwrap_or_default(),
            )
            .await;
        }
        "import-volunteers" | "import-hours" => {
            return run_import(state, name.as_str() == "import-hours", body).await;
        }
        _ => {}
    }
    let job = job_of(name.as_str(), optional_body(&body)?.unwrap_or_default())?;
    let done = state
        .db(move |conn| Ok(timebank_jobs::run(conn, &job, "system", &Silent)?))
        .await?;
    Ok(HttpResponse::Ok().json(done))
}

fn required<T>(value: Option<T>, field: &str) -> Result<T, ApiError> {
    value.ok_or_else(|| {
        ApiError::new(Code::ValidationFailed, format!("{field} is required"))
            .with_details(json!({ "fields": { field: ["required"] } }))
    })
}

/// verify (optionally checkpointing) and export answer with their data.
async fn run_read(
    state: web::Data<AppState>,
    name: &str,
    body: JobBody,
) -> Result<HttpResponse, ApiError> {
    if name == "verify" {
        let out = state
            .db(move |conn| {
                let report = timebank_jobs::verify(conn)?;
                let checkpoint = if report.ok && body.checkpoint.unwrap_or(false) {
                    Some(timebank_jobs::write_checkpoint(conn)?)
                } else {
                    None
                };
                Ok(json!({ "job": "verify", "report": report, "checkpoint": checkpoint }))
            })
            .await?;
        return Ok(HttpResponse::Ok().json(out));
    }
    let (org_id, from, to) = (
        required(body.org_id, "org_id")?,
        required(body.from, "from")?,
        required(body.to, "to")?,
    );
    if to < from {
        return Err(ApiError::new(
            Code::ValidationFailed,
            "to must not be before from",
        ));
    }
    let out = state
        .db(move |conn| {
            let org = timebank_directory::get_org(conn, &org_id)?;
            // The org's own days, as its earning policy sets them.
            let (start, end) = timebank_policy::calendar(conn, &org.path)?.period(from, to);
            Ok(timebank_jobs::transfer::export(conn, &org, start, end)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "job": "export", "data": out })))
}

/// The request body is the CSV file itself.
async fn run_import(
    state: web::Data<AppState>,
    hours: bool,
    csv_text: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let report = state
        .db(move |conn| {
            Ok(if hours {
                timebank_jobs::transfer::import_hours(conn, &csv_text, "system", &Silent)?
            } else {
                timebank_jobs::transfer::import_volunteers(conn, &csv_text, "system", &Silent)?
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "job": if hours { "import-hours" } else { "import-volunteers" }, "report": report })))
}
