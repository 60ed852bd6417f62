use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use timebank_directory::{self as directory, Member};
use timebank_kernel::Code;
use timebank_ledger::{Amount, read};
use timebank_rules::states::{MemberStatus, RequestStatus};
use timebank_services::requests::{self as services, Filter, NewRequest, RequestRow, RequestScope};
use timebank_views::{After, Page};
use validator::Validate;

use crate::access;
use crate::error::ApiError;
use crate::idempotency::{self, Effect};
use crate::principal::Principal;
use crate::routes::{
    PageQuery, encode_cursor, hash_off_workers, naive, opt_utc, optional_body, utc_string, valid,
};
use crate::state::AppState;

fn request_json(r: &RequestRow) -> Value {
    let declines: Value = serde_json::from_str(&r.declines).unwrap_or(Value::Array(vec![]));
    json!({
        "id": r.id,
        "requester_id": r.requester_id,
        "community_id": r.community_id,
        "category": r.category,
        "description": r.description,
        "wanted_at": utc_string(&r.wanted_at),
        "wanted_until": opt_utc(r.wanted_until),
        "payment": r.payment,
        "max_hours": Amount::from_units(r.max_hours),
        "status": r.status,
        "volunteer_id": r.volunteer_id,
        "reported_hours": r.reported_hours.map(Amount::from_units),
        "completed_at": opt_utc(r.completed_at),
        "stars": r.stars,
        "comment": r.comment,
        "settled_hours": r.settled_hours.map(Amount::from_units),
        "settled_points": r.settled_points.map(Amount::from_units),
        "held_points": Amount::from_units(r.held_points),
        "hold_transaction_id": r.hold_transaction_id,
        "settlement_transaction_id": r.settlement_transaction_id,
        "release_transaction_id": r.release_transaction_id,
        "declines": declines,
        "cancel_reason": r.cancel_reason,
        "created_at": utc_string(&r.created_at),
    })
}

#[derive(Debug, Deserialize, Validate)]
pub struct RegisterResident {
    #[validate(length(min = 1, max = 50))]
    name: String,
    #[validate(length(min = 11, max = 11))]
    phone: String,
    // The password rule (`weak_password`) checks the rest.
    #[validate(length(min = 1, max = 256))]
    password: String,
    #[validate(length(min = 1, max = 64))]
    community_id: String,
}

fn check_phone_and_name(body: &RegisterResident) -> Result<(), ApiError> {
    if !body.phone.starts_with('1')
        || !body.phone.bytes().all(|b| b.is_ascii_digit())
        || body.name.trim().is_empty()
    {
        return Err(
            ApiError::new(Code::ValidationFailed, "the request has invalid fields")
                .with_details(json!({ "fields": { "phone": ["phone"] } })),
        );
    }
    Ok(())
}

pub async fn register_resident(
    req: actix_web::HttpRequest,
    state: web::Data<AppState>,
    body: crate::input::Json<RegisterResident>,
) -> Result<HttpResponse, ApiError> {
    let body = crate::routes::valid_with_password(body, |b| (&b.password, &b.phone))?;
    state
        .limits
        .check_register(req.peer_addr().map(|a| a.ip()), &body.phone)?;
    check_phone_and_name(&body)?;
    let hash = hash_off_workers(body.password.clone()).await?;
    let id = state
        .db(move |conn| {
            Ok(directory::register_resident(
                conn,
                body.name.trim(),
                &body.phone,
                &hash,
                &body.community_id,
            )?)
        })
        .await?;
    Ok(HttpResponse::Created().json(json!({ "id": id, "status": MemberStatus::Pending })))
}

pub async fn approve_resident(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = state
        .db(move |conn| {
            let allowed = |m: &Member| access::may_approve(&principal, &m.community_path);
            directory::approve_resident(conn, &id, &principal.actor_id(), &allowed)?;
            Ok(id.into_inner())
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "id": id, "status": MemberStatus::Active })))
}

/// The caller's own wallet, whether volunteer or resident.
/// The caller's wallet; a volunteer's with their star level, as
/// `/volunteers/{id}/balance` gives it, a resident's with `star_level: null`.
pub async fn my_balance(
    state: web::Data<AppState>,
    principal: Principal,
) -> Result<HttpResponse, ApiError> {
    let me = principal.user_id()?;
    let volunteer = principal.volunteer_id().is_ok();
    let body = state
        .db(move |conn| {
            if volunteer {
                return Ok(super::ledger::star_standing(conn, &me, |_| Ok(()))?.to_json());
            }
            let (_, b) =
                read::wallet_of_owner(conn, &me)?.ok_or_else(|| ApiError::not_found("wallet"))?;
            Ok(json!({
                "points": b.points, "lifetime_points": b.lifetime_points, "hours": b.hours,
                "star_level": null, "next_star_hours": null,
            }))
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

#[derive(Debug, Deserialize, Validate)]
pub struct CreateRequest {
    #[validate(length(min = 1, max = 64))]
    community_id: String,
    #[validate(length(min = 1, max = 30))]
    category: String,
    #[validate(length(min = 1, max = 2000))]
    description: String,
    wanted_at: DateTime<Utc>,
    /// The end of the window the service is wanted in.
    wanted_until: Option<DateTime<Utc>>,
    payment: String,
    max_hours: Option<Amount>,
}

/// Who pays: the platform (new points) or the requester (held in escrow).
fn requester_pays(payment: &str) -> Result<bool, ApiError> {
    match payment {
        "platform" => Ok(false),
        "requester" => Ok(true),
        _ => Err(ApiError::new(
            Code::ValidationFailed,
            "payment must be platform or requester",
        )
        .with_details(json!({ "fields": { "payment": ["enum"] } }))),
    }
}

pub async fn create(
    state: web::Data<AppState>,
    principal: Principal,
    body: crate::input::Json<CreateRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = valid(body)?;
    let requester_pays = requester_pays(&body.payment)?;
    let me = principal.user_id()?;
    let request = state
        .db(move |conn| {
            Ok(services::create(
                conn,
                NewRequest {
                    requester_id: me,
                    community_id: body.community_id,
                    category: body.category.trim().to_owned(),
                    description: body.description,
                    wanted_at: naive(body.wanted_at),
                    wanted_until: body.wanted_until.map(naive),
                    requester_pays,
                    max_hours: body.max_hours.unwrap_or(Amount::from_units(200)),
                },
            )?)
        })
        .await?;
    Ok(HttpResponse::Created().json(request_json(&request)))
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    /// The subtree (`org_id` is the same, as the other staff lists name it).
    community_id: Option<String>,
    org_id: Option<String>,
    status: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

/// Requests of a subtree the caller reads, newest first, paged: the
/// dispatch queue (`open`) and the disputes (`disputed`).
impl ListQuery {
    fn page(&self) -> Result<(Option<After>, i64), ApiError> {
        PageQuery {
            cursor: self.cursor.clone(),
            limit: self.limit,
        }
        .keyset("service-requests")
    }
}

pub async fn list(
    state: web::Data<AppState>,
    principal: Principal,
    query: crate::input::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let (after, limit) = q.page()?;
    let status = crate::routes::state_query::<RequestStatus>(q.status.as_deref())?;
    let (items, next) = state
        .db(move |conn| {
            let named = q.org_id.as_deref().or(q.community_id.as_deref());
            let (org, _) = crate::routes::queues::readable_scope(conn, &principal, named)?;
            let filter = Filter::Community {
                path: &org.path,
                status,
            };
            let before = after.map(|a| (a.at, a.id));
            let rows = services::list(conn, filter, before, limit + 1)?;
            let page = Page::from_rows(rows, limit, |r| After::new(r.created_at, &r.id));
            Ok((named_requests(conn, &page.items)?, page.next))
        })
        .await?;
    let next_cursor = next.map(|a| encode_cursor(&a.render("service-requests")));
    Ok(HttpResponse::Ok().json(json!({ "items": items, "next_cursor": next_cursor })))
}

pub async fn mine(
    state: web::Data<AppState>,
    principal: Principal,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let me = principal.user_id()?;
    let assignments = req.path().ends_with("/assignments");
    let items = state
        .db(move |conn| {
            let filter = if assignments {
                Filter::Volunteer(&me)
            } else {
                Filter::Requester(&me)
            };
            let rows = services::list(conn, filter, None, 200)?;
            named_requests(conn, &rows)
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

/// Requests as lists show them: with who asked, who serves and where.
fn named_requests(
    conn: &mut timebank_store::DbConnection,
    rows: &[services::RequestRow],
) -> Result<Vec<Value>, ApiError> {
    let mut items: Vec<Value> = rows.iter().map(request_json).collect();
    crate::routes::with_names(
        conn,
        &mut items,
        &[
            ("requester_id", "requester_name"),
            ("volunteer_id", "volunteer_name"),
            ("community_id", "community_name"),
        ],
    )?;
    Ok(items)
}

fn scope(
    conn: &mut timebank_store::DbConnection,
    id: &str,
) -> Result<(RequestRow, String), ApiError> {
    let r = services::get(conn, id)?;
    let org = services::community_of(conn, &r)?;
    Ok((r, org.path))
}

pub async fn get(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let r = state
        .db(move |conn| {
            let (r, path) = scope(conn, &id)?;
            let party = principal.is_user(&r.requester_id)
                || r.volunteer_id
                    .as_deref()
                    .is_some_and(|v| principal.is_user(v));
            Principal::require(party || principal.reads(&path))?;
            Ok(r)
        })
        .await?;
    Ok(HttpResponse::Ok().json(request_json(&r)))
}

#[derive(Debug, Deserialize, Validate)]
pub struct Dispatch {
    #[validate(length(min = 1, max = 64))]
    volunteer_id: String,
}

pub async fn dispatch(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: crate::input::Json<Dispatch>,
) -> Result<HttpResponse, ApiError> {
    let body = valid(body)?;
    let r = state
        .db(move |conn| {
            let allowed = |s: &RequestScope| access::may_dispatch(&principal, s);
            let actor = principal.actor_id();
            Ok(services::dispatch(
                conn,
                &id,
                &body.volunteer_id,
                &actor,
                &allowed,
            )?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(request_json(&r)))
}

#[derive(Debug, Deserialize, Validate)]
pub struct Decline {
    #[validate(length(min = 1, max = 500))]
    reason: String,
}

pub async fn decline(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: crate::input::Json<Decline>,
) -> Result<HttpResponse, ApiError> {
    let body = valid(body)?;
    let me = principal.volunteer_id()?;
    let r = state
        .db(move |conn| Ok(services::decline(conn, &id, &me, body.reason.trim())?))
        .await?;
    Ok(HttpResponse::Ok().json(request_json(&r)))
}

/// Runs a state change that may move points under `Idempotency-Key`.
async fn moving<F>(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    caller: String,
    body: Value,
    effect: F,
) -> Result<HttpResponse, ApiError>
where
    F: Fn(&mut timebank_store::DbConnection) -> Result<RequestRow, ApiError>
        + Send
        + Sync
        + 'static,
{
    let keyed = idempotency::Keyed::from_request(req, &body)?;
    let outcome = keyed
        .run(state, caller, move |c| {
            let r = effect(c)?;
            Ok(Effect::new(StatusCode::OK, request_json(&r)))
        })
        .await?;
    Ok(outcome.into_response())
}

pub async fn accept(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let me = principal.volunteer_id()?;
    moving(&req, &state, me.clone(), Value::Null, move |c| {
        Ok(services::accept(c, &id, &me)?)
    })
    .await
}

#[derive(Debug, Deserialize, Serialize, Validate)]
pub struct Complete {
    hours: Amount,
}

pub async fn complete(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: crate::input::Json<Complete>,
) -> Result<HttpResponse, ApiError> {
    let body = valid(body)?;
    let me = principal.volunteer_id()?;
    let (r, credit) = state
        .db(move |conn| {
            let r = services::complete(conn, &id, &me, body.hours)?;
            let credit = services::creditable(conn, &r)?;
            Ok((r, credit))
        })
        .await?;
    let mut answer = request_json(&r);
    // Said now, not discovered at settlement: hours above the cap are not paid.
    if let Some((hours, why)) = credit {
        answer["creditable_hours"] = json!(hours);
        answer["creditable_reason"] = json!(why);
    }
    Ok(HttpResponse::Ok().json(answer))
}

#[derive(Debug, Deserialize, Serialize, Validate)]
pub struct Rate {
    #[validate(range(min = 1, max = 5))]
    stars: i32,
    #[validate(length(max = 500))]
    comment: Option<String>,
    /// The requester disputes the reported hours; an admin resolves them.
    dispute: Option<bool>,
}

pub async fn rate(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: crate::input::Json<Rate>,
) -> Result<HttpResponse, ApiError> {
    let body = valid(body)?;
    let me = principal.user_id()?;
    let request_body = json!(body);
    let caller = me.clone();
    moving(&req, &state, caller, request_body, move |c| {
        Ok(services::rate(
            c,
            &id,
            &me,
            body.stars,
            body.comment.as_deref(),
            body.dispute.unwrap_or(false),
        )?)
    })
    .await
}

#[derive(Debug, Deserialize, Serialize, Validate)]
pub struct Resolve {
    hours: Amount,
}

pub async fn resolve(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: crate::input::Json<Resolve>,
) -> Result<HttpResponse, ApiError> {
    let body = valid(body)?;
    let request_body = json!(body);
    let actor = principal.actor_id();
    moving(&req, &state, actor, request_body, move |c| {
        let allowed = |s: &RequestScope| access::may_resolve(&principal, s);
        Ok(services::resolve(c, &id, body.hours, &allowed)?)
    })
    .await
}

#[derive(Debug, Deserialize, Serialize, Validate)]
pub struct Cancel {
    #[validate(length(min = 1, max = 500))]
    reason: Option<String>,
}

pub async fn cancel(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let reason = optional_body::<Cancel>(&body)?.and_then(|c| c.reason);
    let actor = principal.actor_id();
    let request_body = json!({ "reason": reason });
    let who = actor.clone();
    moving(&req, &state, actor, request_body, move |c| {
        let allowed = |s: &RequestScope| access::may_cancel_request(&principal, s);
        Ok(services::cancel(c, &id, &who, reason.as_deref(), &allowed)?)
    })
    .await
}
