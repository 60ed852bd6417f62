use actix_web::{HttpResponse, web};
use chrono::{Duration, NaiveDate};
use serde::Deserialize;
use timebank_directory as directory;
use timebank_kernel::Code;
use timebank_views::reports::{self, Figures, Summary, TeamLine};

use crate::error::ApiError;
use crate::principal::Principal;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct Period {
    org_id: String,
    /// First local day, YYYY-MM-DD (an RFC 3339 time names its day);
    /// default 29 days before `to`.
    from: Option<String>,
    /// Last local day, YYYY-MM-DD (inclusive); default today.
    to: Option<String>,
    format: Option<String>,
    /// What the CSV export lists: `orgs` (each child org, then the total;
    /// the default) or `teams` (each team of the subtree).
    rows: Option<String>,
}

fn day(text: &str, field: &str) -> Result<NaiveDate, ApiError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .or_else(|_| chrono::DateTime::parse_from_rfc3339(text).map(|t| t.date_naive()))
        .map_err(|_| {
            ApiError::new(
                Code::InvalidQuery,
                format!("{field} must be a date (YYYY-MM-DD)"),
            )
        })
}

/// The period as UTC instants: local midnight of `from` up to the local
/// midnight after `to`, in the org's days (its earning policy's offset);
/// by default the 30 days up to its today.
async fn load(
    state: &web::Data<AppState>,
    principal: Principal,
    p: Period,
) -> Result<Summary, ApiError> {
    let to = p.to.as_deref().map(|text| day(text, "to")).transpose()?;
    let from = p
        .from
        .as_deref()
        .map(|text| day(text, "from"))
        .transpose()?;
    state
        .db(move |conn| {
            let org = directory::get_org(conn, &p.org_id)?;
            Principal::require(principal.reads(&org.path))?;
            let calendar = timebank_policy::calendar(conn, &org.path)?;
            let to = to.unwrap_or_else(|| calendar.date_of(timebank_store::now()));
            let from = from.unwrap_or(to - Duration::days(29));
            if to < from || (to - from).num_days() > 3660 {
                return Err(ApiError::new(
                    Code::InvalidQuery,
                    "to must not be before from, and a period is at most ten years",
                ));
            }
            let (start, end) = calendar.period(from, to);
            Ok(reports::summary(conn, &org, start, end, calendar.offset())?)
        })
        .await
}

pub async fn summary(
    state: web::Data<AppState>,
    principal: Principal,
    query: crate::input::Query<Period>,
) -> Result<HttpResponse, ApiError> {
    let report = load(&state, principal, query.into_inner()).await?;
    Ok(HttpResponse::Ok().json(report))
}

const COLUMNS: [&str; 10] = [
    "org_id",
    "org_name",
    "hours",
    "points_issued",
    "points_redeemed",
    "points_expired",
    "active_volunteers",
    "new_registrations",
    "requests_served",
    "average_rating",
];

fn row(id: &str, name: &str, f: &Figures) -> Vec<String> {
    vec![
        id.to_owned(),
        name.to_owned(),
        f.hours.to_string(),
        f.points_issued.to_string(),
        f.points_redeemed.to_string(),
        f.points_expired.to_string(),
        f.active_volunteers.to_string(),
        f.new_registrations.to_string(),
        f.requests_served.to_string(),
        f.average_rating.map(|r| r.to_string()).unwrap_or_default(),
    ]
}

/// The summary as CSV: one row per child org, then the subtree's total.
pub async fn export(
    state: web::Data<AppState>,
    principal: Principal,
    query: crate::input::Query<Period>,
) -> Result<HttpResponse, ApiError> {
    let p = query.into_inner();
    if p.format.as_deref().unwrap_or("csv") != "csv" {
        return Err(ApiError::new(Code::InvalidQuery, "format must be csv"));
    }
    let teams = match p.rows.as_deref().unwrap_or("orgs") {
        "orgs" => false,
        "teams" => true,
        _ => {
            return Err(
                ApiError::new(Code::InvalidQuery, "rows must be orgs or teams")
                    .with_details(serde_json::json!({ "fields": { "rows": ["enum"] } })),
            );
        }
    };
    let report = load(&state, principal, p).await?;
    let mut out = csv::Writer::from_writer(Vec::new());
    let fail = |_| ApiError::internal();
    if teams {
        out.write_record(TEAM_COLUMNS).map_err(fail)?;
        for t in &report.teams {
            out.write_record(team_row(t)).map_err(fail)?;
        }
    } else {
        out.write_record(COLUMNS).map_err(fail)?;
        for child in &report.children {
            out.write_record(row(&child.org_id, &child.name, &child.figures))
                .map_err(fail)?;
        }
        out.write_record(row(&report.org_id, "合计 total", &report.totals))
            .map_err(fail)?;
    }
    let bytes = out.into_inner().map_err(|_| ApiError::internal())?;
    let name = if teams {
        "timebank-teams.csv"
    } else {
        "timebank-report.csv"
    };
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{name}\""),
        ))
        .body(bytes))
}

const TEAM_COLUMNS: [&str; 10] = [
    "team_id",
    "team_name",
    "org_id",
    "category",
    "status",
    "members",
    "activities",
    "volunteers",
    "hours",
    "points",
];

fn team_row(t: &TeamLine) -> [String; 10] {
    [
        t.team_id.clone(),
        t.name.clone(),
        t.org_id.clone(),
        t.category.clone(),
        t.status.clone(),
        t.members.to_string(),
        t.activities.to_string(),
        t.volunteers.to_string(),
        t.hours.to_string(),
        t.points.to_string(),
    ]
}
