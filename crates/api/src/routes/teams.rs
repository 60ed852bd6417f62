use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use timebank_directory as directory;
use timebank_ledger::Amount;
use timebank_rules::states::{TeamStatus, TeamStep};
use timebank_services::Tally;
use timebank_services::honours::{self, Actor, HonourRow};
use timebank_services::teams::{self, NewTeam, TeamRow, TeamScope};
use timebank_views::{After, Page};
use tracing_actix_web::RequestId;
use validator::Validate;

use crate::access;
use crate::error::ApiError;
use crate::idempotency::{self, Effect};
use crate::principal::Principal;
use crate::routes::organising::{VolunteerBody, created_or_ok, listed_org, reason, text};
use crate::routes::{PageQuery, naive, opt_utc, page_json, utc_string, valid};
use crate::state::AppState;

pub(crate) fn team_json(t: &TeamRow) -> Value {
    json!({
        "id": t.id,
        "org_id": t.org_id,
        "name": t.name,
        "category": t.category,
        "description": t.description,
        "leader_id": t.leader_id,
        "status": t.status,
        "reason": t.reason,
        "decided_at": opt_utc(t.decided_at),
        "created_at": utc_string(&t.created_at),
    })
}

pub(crate) fn tally_json(t: &Tally) -> Value {
    json!({
        "activities": t.activities,
        "volunteers": t.volunteers,
        "hours": Amount::from_units(t.hours),
        "points": Amount::from_units(t.points),
    })
}

#[derive(Debug, Deserialize, Validate)]
pub struct CreateTeam {
    #[validate(length(min = 1, max = 64))]
    org_id: String,
    #[validate(length(min = 1, max = 60))]
    name: String,
    #[validate(length(min = 1, max = 30))]
    category: String,
    #[validate(length(min = 1, max = 64))]
    leader_id: String,
    #[validate(length(max = 2000))]
    description: Option<String>,
}

/// An admin over the org creates an active team; an active volunteer
/// applies for one they will lead, pending until an admin approves.
pub async fn create(
    state: web::Data<AppState>,
    principal: Principal,
    body: crate::input::Json<CreateTeam>,
) -> Result<HttpResponse, ApiError> {
    let body = valid(body)?;
    let name = text("name", &body.name)?;
    let category = text("category", &body.category)?;
    let team = state
        .db(move |conn| {
            let org = directory::get_org(conn, &body.org_id).map_err(|_| {
                ApiError::new(
                    timebank_kernel::Code::InvalidOrg,
                    "org_id is not an organisation",
                )
            })?;
            let admin = access::may_administer(&principal, &org);
            // A volunteer applies for a team they lead themselves.
            Principal::require(admin || principal.is_user(&body.leader_id))?;
            let new = NewTeam {
                org_id: org.id,
                name,
                category,
                description: body.description.unwrap_or_default().trim().to_owned(),
                leader_id: body.leader_id,
            };
            Ok(teams::create(conn, new, &principal.actor_id(), admin)?)
        })
        .await?;
    Ok(HttpResponse::Created().json(team_json(&team)))
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    org_id: Option<String>,
    category: Option<String>,
    q: Option<String>,
    status: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

/// Active and dissolved teams for everyone signed in; pending and rejected
/// ones for staff who read the org, and to anyone else their own
/// applications.
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
    let (after, limit) = page.keyset("teams")?;
    let status = crate::routes::state_query::<TeamStatus>(q.status.as_deref())?;
    let body = state
        .db(move |conn| {
            let org = listed_org(conn, q.org_id.as_deref())?;
            let wanted = vec![status.unwrap_or(TeamStatus::Active)];
            let public = wanted
                .iter()
                .all(|s| matches!(s, TeamStatus::Active | TeamStatus::Dissolved));
            let mine = if public || principal.reads(&org.path) {
                None
            } else {
                Some(principal.user_id()?)
            };
            let filter = teams::ListFilter {
                org_path: org.path,
                category: q.category.filter(|c| !c.is_empty()),
                q: q.q.filter(|t| !t.trim().is_empty()),
                statuses: wanted,
                mine,
            };
            let rows = teams::list(conn, &filter, after.map(|a| (a.at, a.id)).as_ref(), limit)?;
            let page = Page::from_rows(rows, limit, |t: &TeamRow| After::new(t.created_at, &t.id));
            let mut items: Vec<Value> = page.items.iter().map(team_json).collect();
            crate::routes::with_names(
                conn,
                &mut items,
                &[("org_id", "org_name"), ("leader_id", "leader_name")],
            )?;
            Ok(page_json(items, page.next, "teams"))
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// May see a team that is not active: staff who read its org, its leader
/// and who applied for it.
fn may_see(p: &Principal, s: &TeamScope) -> bool {
    s.status == TeamStatus::Active
        || s.status == TeamStatus::Dissolved
        || p.reads(&s.org_path)
        || p.is_user(&s.leader_id)
        || p.is_user(&s.applied_by)
}

pub async fn get(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let body = state
        .db(move |conn| {
            let team = teams::get(conn, &id)?;
            let scope = teams::scope(conn, &team)?;
            Principal::require(may_see(&principal, &scope))?;
            // Activities under review are for who runs or reads the team.
            let all =
                principal.reads(&scope.org_path) || access::may_manage_team(&principal, &scope);
            detail(conn, &team, all)
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// A team's page: its members, its latest activities, and what they
/// earned in all and this year.
fn detail(
    conn: &mut timebank_store::DbConnection,
    team: &TeamRow,
    unpublished: bool,
) -> Result<Value, ApiError> {
    let now = timebank_store::now();
    let members = teams::members(conn, &team.id)?;
    let (all, year) = teams::tallies(conn, &team.id, now)?;
    let recent = timebank_earning::activities::latest_of_team(conn, &team.id, !unpublished, 20)?;
    let mut body = team_json(team);
    crate::routes::with_names(
        conn,
        std::slice::from_mut(&mut body),
        &[("org_id", "org_name"), ("leader_id", "leader_name")],
    )?;
    body["members"] = members
        .iter()
        .map(|m| {
            json!({
                "volunteer_id": m.volunteer_id,
                "name": m.name,
                "joined_at": utc_string(&m.joined_at),
                "leader": m.volunteer_id == team.leader_id,
            })
        })
        .collect();
    body["member_count"] = json!(members.len());
    body["activities"] = recent
        .iter()
        .map(crate::routes::activities::activity_json)
        .collect();
    body["totals"] = tally_json(&all);
    body["this_year"] = tally_json(&year);
    let held = honours::balances(conn, &team.id)?;
    body["account"] = json!({ "points": held.points, "hours": held.hours });
    body["honours"] = honours::of_team(conn, &team.id, 20)?
        .iter()
        .map(|(h, reversed)| honour_json(h, *reversed))
        .collect();
    Ok(body)
}

async fn decide(
    state: web::Data<AppState>,
    principal: Principal,
    id: String,
    step: TeamStep,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let reason = reason(&body)?;
    if step == TeamStep::Reject && reason.is_none() {
        return Err(ApiError::new(
            timebank_kernel::Code::ReasonRequired,
            "a rejection needs a reason",
        ));
    }
    let team = state
        .db(move |conn| {
            let allowed = |s: &TeamScope| access::may_decide_team(&principal, s);
            let actor = principal.actor_id();
            Ok(teams::decide(
                conn,
                &id,
                step,
                reason.as_deref(),
                &actor,
                &allowed,
            )?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(team_json(&team)))
}

pub async fn approve(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    decide(state, principal, id.into_inner(), TeamStep::Approve, body).await
}

pub async fn reject(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    decide(state, principal, id.into_inner(), TeamStep::Reject, body).await
}

pub async fn dissolve(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    decide(state, principal, id.into_inner(), TeamStep::Dissolve, body).await
}

pub async fn add_member(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: crate::input::Json<VolunteerBody>,
) -> Result<HttpResponse, ApiError> {
    let body = valid(body)?;
    let (added, team_id, volunteer_id) = state
        .db(move |conn| {
            let allowed = |s: &TeamScope| access::may_manage_team(&principal, s);
            let added = teams::add_member(
                conn,
                &id,
                &body.volunteer_id,
                &principal.actor_id(),
                &allowed,
            )?;
            Ok((added, id.into_inner(), body.volunteer_id))
        })
        .await?;
    Ok(created_or_ok(
        added,
        json!({ "team_id": team_id, "volunteer_id": volunteer_id, "member": true }),
    ))
}

pub async fn remove_member(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, volunteer_id) = path.into_inner();
    state
        .db(move |conn| {
            let allowed =
                |s: &TeamScope| access::may_remove_from_team(&principal, s, &volunteer_id);
            Ok(teams::remove_member(conn, &id, &volunteer_id, &allowed)?)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn set_leader(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: crate::input::Json<VolunteerBody>,
) -> Result<HttpResponse, ApiError> {
    let body = valid(body)?;
    let team = state
        .db(move |conn| {
            let allowed = |s: &TeamScope| access::may_manage_team(&principal, s);
            Ok(teams::set_leader(
                conn,
                &id,
                &body.volunteer_id,
                &principal.actor_id(),
                &allowed,
            )?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(team_json(&team)))
}

fn honour_json(h: &HonourRow, reversed: bool) -> Value {
    json!({
        "reversed": reversed,
        "id": h.id,
        "team_id": h.team_id,
        "rule_code": h.rule_code,
        "occurred_at": utc_string(&h.occurred_at),
        "evidence": h.evidence,
        "transaction_id": h.transaction_id,
        "created_at": utc_string(&h.created_at),
    })
}

#[derive(Debug, Deserialize, Serialize, Validate)]
pub struct HonourBody {
    #[validate(length(min = 1, max = 50))]
    rule_code: String,
    occurred_at: DateTime<Utc>,
    #[validate(length(min = 1, max = 2000))]
    evidence: Option<String>,
}

/// An admin over the team's org awards it a team rule; its points and
/// hours go to the team's own account.
pub async fn honour(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    request_id: RequestId,
    id: web::Path<String>,
    body: crate::input::Json<HonourBody>,
) -> Result<HttpResponse, ApiError> {
    let body = valid(body)?;
    let sent = json!(body);
    on_account(
        req,
        state,
        principal,
        request_id,
        id,
        sent,
        move |c, id, by, allowed| {
            let (row, tx) = honours::award(
                c,
                id,
                body.rule_code.trim(),
                naive(body.occurred_at),
                body.evidence.clone(),
                by,
                allowed,
            )?;
            let mut out = honour_json(&row, false);
            out["transaction"] = json!(tx);
            Ok(out)
        },
    )
    .await
}

#[derive(Debug, Deserialize, Serialize, Validate)]
pub struct DonateBody {
    points: Amount,
    #[validate(length(min = 1, max = 500))]
    reason: Option<String>,
}

/// An admin over the team's org gives points of its account to the
/// district's public pool.
pub async fn donate(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    request_id: RequestId,
    id: web::Path<String>,
    body: crate::input::Json<DonateBody>,
) -> Result<HttpResponse, ApiError> {
    let body = valid(body)?;
    let sent = json!(body);
    on_account(
        req,
        state,
        principal,
        request_id,
        id,
        sent,
        move |c, id, by, allowed| {
            let tx = honours::donate(c, id, body.points, body.reason.as_deref(), by, allowed)?;
            Ok(json!(tx))
        },
    )
    .await
}

#[derive(Debug, Deserialize, Serialize, Validate)]
pub struct GrantBody {
    #[validate(length(min = 1, max = 64))]
    volunteer_id: String,
    points: Amount,
    #[validate(length(min = 1, max = 500))]
    reason: String,
}

/// An admin over the team's org grants points of its account to a member.
pub async fn grant(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    request_id: RequestId,
    id: web::Path<String>,
    body: crate::input::Json<GrantBody>,
) -> Result<HttpResponse, ApiError> {
    let body = valid(body)?;
    let sent = json!(body);
    on_account(
        req,
        state,
        principal,
        request_id,
        id,
        sent,
        move |c, id, by, allowed| {
            let tx = honours::grant(
                c,
                id,
                &body.volunteer_id,
                body.points,
                body.reason.trim(),
                by,
                allowed,
            )?;
            Ok(json!(tx))
        },
    )
    .await
}

/// Runs a movement of a team's account (201 with what `run` answers) as an
/// admin over the team's org, honouring an Idempotency-Key over `sent`.
async fn on_account<F>(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    request_id: RequestId,
    id: web::Path<String>,
    sent: Value,
    run: F,
) -> Result<HttpResponse, ApiError>
where
    F: Fn(
            &mut timebank_store::DbConnection,
            &str,
            Actor<'_>,
            timebank_kernel::Check<'_, TeamScope>,
        ) -> Result<Value, ApiError>
        + Send
        + Sync
        + 'static,
{
    let keyed = idempotency::Keyed::from_request(&req, &sent)?;
    let actor = principal.actor_id();
    let request_id = request_id.to_string();
    let outcome = keyed
        .run(&state, actor.clone(), move |c| {
            let allowed = |s: &TeamScope| access::may_decide_team(&principal, s);
            let by = Actor {
                id: &actor,
                request_id: Some(&request_id),
            };
            let body = run(c, &id, by, &allowed)?;
            Ok(Effect::new(StatusCode::CREATED, body))
        })
        .await?;
    Ok(outcome.into_response())
}
