use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use timebank_directory::{self as directory, Org};
use timebank_earning::activities::{self, ActivityRow, AttendanceRow, NewActivity};
use timebank_earning::settle;
use timebank_kernel::Code;
use timebank_ledger::Amount;
use timebank_rules::states::{ActivityStatus, SignupStatus};
use timebank_store::DbConnection;
use tracing_actix_web::RequestId;
use validator::Validate;

use timebank_views::After;
use timebank_views::calendar::{self, Listing, Phase};

use crate::access;
use crate::error::ApiError;
use crate::idempotency;
use crate::principal::Principal;
use crate::routes::{
    PageQuery, administered_org, encode_cursor, naive, opt_utc, utc_string, valid,
};
use crate::state::AppState;

pub fn activity_json(a: &ActivityRow) -> Value {
    json!({
        "id": a.id,
        "org_id": a.org_id,
        "title": a.title,
        "category": a.category,
        "description": a.description,
        "location": a.location,
        "starts_at": utc_string(&a.starts_at),
        "ends_at": utc_string(&a.ends_at),
        "capacity": a.capacity,
        "signed_up": a.signed_up,
        "points_per_hour": a.points_per_hour.map(Amount::from_units),
        "status": a.status,
        "review_reason": a.review_reason,
        "team_id": a.team_id,
        "project_id": a.project_id,
        "reviewed_at": opt_utc(a.reviewed_at),
        "created_at": utc_string(&a.created_at),
    })
}

fn attendance_json(a: &AttendanceRow) -> Value {
    json!({
        "id": a.id,
        "activity_id": a.activity_id,
        "volunteer_id": a.volunteer_id,
        "check_in_at": utc_string(&a.check_in_at),
        "check_out_at": opt_utc(a.check_out_at),
        "source": a.source,
        "settled": a.settled_at.is_some(),
        "outcome": a.outcome,
        "transaction_id": a.transaction_id,
        "hours": a.hours.map(Amount::from_units),
        "points": a.points.map(Amount::from_units),
    })
}

fn signup_json(activity: &ActivityRow, volunteer_id: &str, status: SignupStatus) -> Value {
    json!({
        "activity_id": activity.id,
        "volunteer_id": volunteer_id,
        "status": status,
        "signed_up": activity.signed_up,
        "capacity": activity.capacity,
    })
}

#[derive(Debug, Deserialize, Validate)]
pub struct CreateActivity {
    /// The organiser; a team's or project's org when one is named.
    #[validate(length(min = 1, max = 64))]
    org_id: Option<String>,
    #[validate(length(min = 1, max = 64))]
    team_id: Option<String>,
    #[validate(length(min = 1, max = 64))]
    project_id: Option<String>,
    #[validate(length(min = 1, max = 100))]
    title: String,
    #[validate(length(min = 1, max = 30))]
    category: String,
    #[validate(length(max = 2000))]
    description: Option<String>,
    #[validate(length(max = 200))]
    location: Option<String>,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    #[validate(range(min = 1, max = 10000))]
    capacity: i32,
    points_per_hour: Option<Amount>,
}

pub async fn create(
    state: web::Data<AppState>,
    principal: Principal,
    body: crate::input::Json<CreateActivity>,
) -> Result<HttpResponse, ApiError> {
    let body = valid(body)?;
    let activity = state
        .db(move |conn| {
            let org = organiser(conn, &principal, &body)?;
            let new = NewActivity {
                org_id: org.id,
                title: body.title.trim().to_owned(),
                category: body.category.trim().to_owned(),
                description: body.description.unwrap_or_default(),
                location: body.location,
                starts_at: naive(body.starts_at),
                ends_at: naive(body.ends_at),
                capacity: body.capacity,
                points_per_hour: body.points_per_hour,
                team_id: body.team_id,
                project_id: body.project_id,
            };
            Ok(activities::create(conn, new, &principal.actor_id())?)
        })
        .await?;
    Ok(HttpResponse::Created().json(activity_json(&activity)))
}

/// The org an activity is organised under, and the caller's right to
/// create it: an admin over the org; for a team's activity also its
/// leader; for a project's also its lead. A team's or project's org is the
/// organiser, and a named `org_id` must agree with it.
fn organiser(
    conn: &mut DbConnection,
    principal: &Principal,
    body: &CreateActivity,
) -> Result<Org, ApiError> {
    let mut org_ids = Vec::new();
    let mut runs_it = false;
    if let Some(team_id) = &body.team_id {
        let team = timebank_services::teams::get(conn, team_id)
            .map_err(|_| ApiError::new(Code::InvalidTeam, "team_id is not a team"))?;
        let scope = timebank_services::teams::scope(conn, &team)?;
        if team.status != timebank_rules::states::TeamStatus::Active {
            return Err(ApiError::new(
                Code::TeamNotActive,
                format!("the team is {}, not active", team.status),
            )
            .with_details(json!({ "status": team.status })));
        }
        runs_it |= access::may_manage_team(principal, &scope);
        org_ids.push(team.org_id);
    }
    if let Some(project_id) = &body.project_id {
        let project = timebank_services::projects::get(conn, project_id)
            .map_err(|_| ApiError::new(Code::InvalidProject, "project_id is not a project"))?;
        let scope = timebank_services::projects::scope(conn, &project)?;
        timebank_services::projects::takes_activities(&project)?;
        runs_it |= access::may_run_project(principal, &scope);
        org_ids.push(project.org_id);
    }
    if let Some(org_id) = &body.org_id {
        org_ids.push(org_id.clone());
    }
    org_ids.dedup();
    let Some(org_id) = org_ids.first() else {
        return Err(
            ApiError::new(Code::ValidationFailed, "give org_id, team_id or project_id")
                .with_details(json!({ "fields": { "org_id": ["required"] } })),
        );
    };
    if org_ids.iter().any(|o| o != org_id) {
        return Err(ApiError::new(
            Code::ValidationFailed,
            "org_id must be the organisation of the team or project",
        )
        .with_details(json!({ "fields": { "org_id": ["mismatch"] } })));
    }
    if runs_it {
        Ok(directory::get_org(conn, org_id)?)
    } else {
        administered_org(conn, principal, org_id)
    }
}

/// Who runs an activity beside admins over its organiser: its team's
/// leader, its project's lead.
fn runs_activity(
    conn: &mut DbConnection,
    principal: &Principal,
    activity: &ActivityRow,
) -> Result<bool, ApiError> {
    if let Some(team_id) = &activity.team_id {
        let team = timebank_services::teams::get(conn, team_id)?;
        let scope = timebank_services::teams::scope(conn, &team)?;
        if team.status == timebank_rules::states::TeamStatus::Active
            && access::may_manage_team(principal, &scope)
        {
            return Ok(true);
        }
    }
    if let Some(project_id) = &activity.project_id {
        let project = timebank_services::projects::get(conn, project_id)?;
        let scope = timebank_services::projects::scope(conn, &project)?;
        if access::may_run_project(principal, &scope) {
            return Ok(true);
        }
    }
    Ok(false)
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    community_id: Option<String>,
    org_id: Option<String>,
    category: Option<String>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    // Not `#[serde(flatten)]`: flattening breaks number parsing in queries.
    cursor: Option<String>,
    limit: Option<i64>,
}

pub async fn list(
    state: web::Data<AppState>,
    principal: Principal,
    query: crate::input::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let page = PageQuery {
        cursor: q.cursor.clone(),
        limit: q.limit,
    };
    let limit = page.limit()?;
    let status = crate::routes::state_query::<ActivityStatus>(q.status.as_deref())?
        .unwrap_or(ActivityStatus::Published);
    let calendar_view = calendar::is_calendar(status, q.from.map(naive), q.to.map(naive));
    let from = Phase::resume(calendar_view, page.cursor()?.as_deref())
        .ok_or_else(crate::routes::invalid_cursor)?;
    let rows = state
        .db(move |conn| {
            let listing = listing(conn, &principal, &q, status)?;
            let now = timebank_store::now();
            Ok(calendar::page(conn, &listing, from, limit + 1, now)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(calendar_page_json(rows, limit)))
}

/// A page of the calendar; the cursor names the phase it stopped in.
fn calendar_page_json(mut rows: Vec<(Phase, ActivityRow)>, limit: i64) -> Value {
    let more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    let next_cursor = more
        .then(|| rows.last())
        .flatten()
        .map(|(phase, a)| encode_cursor(&After::new(a.starts_at, &a.id).render(phase.tag())));
    let items: Vec<Value> = rows.iter().map(|(_, a)| activity_json(a)).collect();
    json!({ "items": items, "next_cursor": next_cursor })
}

/// Published activities are for everyone; the others are the review queue,
/// for staff in scope (the caller's widest org unless one is named).
fn listing(
    conn: &mut DbConnection,
    principal: &Principal,
    q: &ListQuery,
    status: ActivityStatus,
) -> Result<Listing, ApiError> {
    let path_of = |conn: &mut DbConnection, id: &Option<String>| -> Result<_, ApiError> {
        Ok(match id {
            Some(id) => Some(directory::get_org(conn, id)?.path),
            None => None,
        })
    };
    let community_path = path_of(conn, &q.community_id)?;
    let mut org_path = path_of(conn, &q.org_id)?;
    if status != ActivityStatus::Published {
        if org_path.is_none() {
            let home = principal
                .home_read_org(conn)?
                .ok_or_else(ApiError::forbidden)?;
            org_path = Some(directory::get_org(conn, &home)?.path);
        }
        Principal::require(org_path.as_deref().is_some_and(|p| principal.reads(p)))?;
    }
    Ok(Listing {
        status,
        community_path,
        org_path,
        category: q.category.clone(),
        from: q.from.map(naive),
        to: q.to.map(naive),
    })
}

pub async fn get(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let activity = state
        .db(move |conn| {
            let (activity, org) = activities::get_with_org(conn, &id)?;
            if activity.status != ActivityStatus::Published {
                Principal::require(principal.reads(&org.path))?;
            }
            Ok(activity)
        })
        .await?;
    Ok(HttpResponse::Ok().json(activity_json(&activity)))
}

#[derive(Debug, Deserialize, Validate)]
pub struct Review {
    decision: String,
    #[validate(length(min = 1, max = 500))]
    reason: Option<String>,
}

/// Approve, or reject with a reason.
fn approves(body: &Review) -> Result<bool, ApiError> {
    match body.decision.as_str() {
        "approve" => Ok(true),
        "reject" if body.reason.is_some() => Ok(false),
        "reject" => Err(ApiError::new(
            Code::ReasonRequired,
            "a rejection needs a reason",
        )),
        _ => Err(
            ApiError::new(Code::ValidationFailed, "decision must be approve or reject")
                .with_details(json!({ "fields": { "decision": ["enum"] } })),
        ),
    }
}

pub async fn review(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: crate::input::Json<Review>,
) -> Result<HttpResponse, ApiError> {
    let body = valid(body)?;
    let approve = approves(&body)?;
    let activity = state
        .db(move |conn| {
            let allowed = |org: &Org| access::may_manage_activities(&principal, org);
            let reason = body.reason.as_deref();
            let actor = principal.actor_id();
            Ok(activities::review(
                conn, &id, approve, reason, &actor, &allowed,
            )?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(activity_json(&activity)))
}

pub async fn sign_up(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let volunteer_id = principal.volunteer_id()?;
    let vid = volunteer_id.clone();
    let activity = state
        .db(move |conn| Ok(activities::sign_up(conn, &id, &vid)?))
        .await?;
    Ok(HttpResponse::Created().json(signup_json(
        &activity,
        &volunteer_id,
        SignupStatus::SignedUp,
    )))
}

pub async fn cancel_sign_up(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let volunteer_id = principal.volunteer_id()?;
    let vid = volunteer_id.clone();
    let activity = state
        .db(move |conn| Ok(activities::cancel_sign_up(conn, &id, &vid)?))
        .await?;
    Ok(HttpResponse::Ok().json(signup_json(
        &activity,
        &volunteer_id,
        SignupStatus::Cancelled,
    )))
}

pub async fn code(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (code, valid_until) = state
        .db(move |conn| {
            let (activity, org) = activities::get_with_org(conn, &id)?;
            Principal::require(
                access::may_manage_activities(&principal, &org)
                    || runs_activity(conn, &principal, &activity)?,
            )?;
            Ok(activities::current_code(&activity, timebank_store::now()))
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "code": code, "valid_until": utc_string(&valid_until) })))
}

#[derive(Debug, Deserialize, Validate)]
pub struct CodeBody {
    #[validate(length(min = 6, max = 6))]
    code: String,
}

pub async fn check_in(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: crate::input::Json<CodeBody>,
) -> Result<HttpResponse, ApiError> {
    let body = valid(body)?;
    let volunteer_id = principal.volunteer_id()?;
    let attendance = state
        .db(move |conn| Ok(activities::check_in(conn, &id, &volunteer_id, &body.code)?))
        .await?;
    Ok(HttpResponse::Created().json(attendance_json(&attendance)))
}

pub async fn check_out(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: crate::input::Json<CodeBody>,
) -> Result<HttpResponse, ApiError> {
    let body = valid(body)?;
    let volunteer_id = principal.volunteer_id()?;
    let attendance = state
        .db(move |conn| Ok(activities::check_out(conn, &id, &volunteer_id, &body.code)?))
        .await?;
    Ok(HttpResponse::Ok().json(attendance_json(&attendance)))
}

#[derive(Debug, Deserialize, Validate)]
pub struct RecordAttendance {
    #[validate(length(min = 1, max = 64))]
    volunteer_id: String,
    check_in_at: DateTime<Utc>,
    check_out_at: DateTime<Utc>,
}

pub async fn record_attendance(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: crate::input::Json<RecordAttendance>,
) -> Result<HttpResponse, ApiError> {
    let body = valid(body)?;
    let (attendance, created) = state
        .db(move |conn| {
            let runner = match activities::find(conn, &id)? {
                Some(activity) => runs_activity(conn, &principal, &activity)?,
                None => false,
            };
            let allowed = |org: &Org| runner || access::may_manage_activities(&principal, org);
            Ok(activities::record(
                conn,
                &id,
                &body.volunteer_id,
                naive(body.check_in_at),
                naive(body.check_out_at),
                &principal.actor_id(),
                &allowed,
            )?)
        })
        .await?;
    let mut response = if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(response.json(attendance_json(&attendance)))
}

pub async fn list_attendance(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let items = state
        .db(move |conn| {
            let (activity, org) = activities::get_with_org(conn, &id)?;
            Principal::require(
                principal.reads(&org.path) || runs_activity(conn, &principal, &activity)?,
            )?;
            let rows = activities::list_attendance(conn, &id)?;
            let mut items: Vec<Value> = rows.iter().map(attendance_json).collect();
            crate::routes::with_names(conn, &mut items, &[("volunteer_id", "volunteer_name")])?;
            Ok(items)
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

#[derive(Serialize)]
struct SettleResponse {
    settled: usize,
    skipped: usize,
    transactions: Vec<settle::Settled>,
    skipped_items: Vec<settle::Skipped>,
}

pub async fn settle(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    request_id: RequestId,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let keyed = idempotency::Keyed::from_request(&req, &Value::Null)?;
    let request_id = request_id.to_string();
    let actor = principal.actor_id();
    let outcome = keyed
        .run(&state, actor.clone(), move |c| {
            let allowed = |org: &Org| access::may_manage_activities(&principal, org);
            let now = timebank_store::now();
            let report = settle::settle_activity(c, &id, &actor, Some(&request_id), now, &allowed)?;
            let body = SettleResponse {
                settled: report.settled.len(),
                skipped: report.skipped.len(),
                transactions: report.settled,
                skipped_items: report.skipped,
            };
            Ok(idempotency::Effect::new(StatusCode::OK, json!(body)))
        })
        .await?;
    Ok(outcome.into_response())
}
