use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};
use timebank_directory as directory;
use timebank_kernel::Code;
use timebank_ledger::Amount;
use timebank_rules::states::{UnitStatus, UnitStep};
use timebank_services::units::{self, KINDS, NewUnit, UnitRow, UnitScope};
use timebank_views::{After, Page};
use validator::Validate;

use crate::access;
use crate::error::ApiError;
use crate::principal::Principal;
use crate::routes::organising::{VolunteerBody, created_or_ok, listed_org, reason, text};
use crate::routes::{PageQuery, opt_utc, page_json, utc_string, valid};
use crate::state::AppState;

/// A unit as anyone signed in sees it; `private` adds its contact.
fn unit_json(u: &UnitRow, private: bool) -> Value {
    let mut body = json!({
        "id": u.id,
        "org_id": u.org_id,
        "name": u.name,
        "kind": u.kind,
        "status": u.status,
        "reason": u.reason,
        "decided_at": opt_utc(u.decided_at),
        "created_at": utc_string(&u.created_at),
    });
    if private {
        body["contact"] = json!(u.contact);
    }
    body
}

fn kind_error() -> ApiError {
    ApiError::new(
        Code::ValidationFailed,
        format!("kind must be one of {}", KINDS.join(", ")),
    )
    .with_details(json!({ "fields": { "kind": ["enum"] }, "allowed": KINDS }))
}

#[derive(Debug, Deserialize, Validate)]
pub struct RegisterUnit {
    #[validate(length(min = 1, max = 100))]
    name: String,
    kind: String,
    #[validate(length(min = 1, max = 64))]
    org_id: String,
    #[validate(length(min = 1, max = 200))]
    contact: Option<String>,
}

/// An admin over the org registers an active unit; anyone else signed in
/// registers one for approval and becomes its admin.
pub async fn register(
    state: web::Data<AppState>,
    principal: Principal,
    body: crate::input::Json<RegisterUnit>,
) -> Result<HttpResponse, ApiError> {
    let body = valid(body)?;
    if !KINDS.contains(&body.kind.as_str()) {
        return Err(kind_error());
    }
    let name = text("name", &body.name)?;
    let actor = principal.actor_id();
    let unit = state
        .db(move |conn| {
            let org = directory::get_org(conn, &body.org_id)
                .map_err(|_| ApiError::new(Code::InvalidOrg, "org_id is not an organisation"))?;
            let admin = access::may_administer(&principal, &org);
            let new = NewUnit {
                org_id: org.id,
                name,
                kind: body.kind,
                contact: body.contact.map(|c| c.trim().to_owned()),
            };
            Ok(units::register(conn, new, &actor, admin)?)
        })
        .await?;
    Ok(HttpResponse::Created().json(unit_json(&unit, true)))
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    org_id: Option<String>,
    q: Option<String>,
    kind: Option<String>,
    status: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

/// Active units for everyone signed in; the others for staff who read the
/// org. Contacts only to who may see them.
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
    let (after, limit) = page.keyset("units")?;
    let status = crate::routes::state_query::<UnitStatus>(q.status.as_deref())?;
    if let Some(kind) = q.kind.as_deref().filter(|k| !k.is_empty())
        && !KINDS.contains(&kind)
    {
        return Err(ApiError::new(
            Code::InvalidQuery,
            format!("kind must be one of {}", KINDS.join(", ")),
        )
        .with_details(json!({ "fields": { "kind": ["enum"] }, "allowed": KINDS })));
    }
    let body = state
        .db(move |conn| {
            let org = listed_org(conn, q.org_id.as_deref())?;
            let wanted = vec![status.unwrap_or(UnitStatus::Active)];
            if wanted != [UnitStatus::Active] {
                Principal::require(principal.reads(&org.path))?;
            }
            let staff = principal.reads(&org.path);
            let filter = units::ListFilter {
                org_path: org.path,
                q: q.q.filter(|t| !t.trim().is_empty()),
                kind: q.kind.filter(|k| !k.is_empty()),
                statuses: wanted,
            };
            let rows = units::list(conn, &filter, after.map(|a| (a.at, a.id)).as_ref(), limit)?;
            let page = Page::from_rows(rows, limit, |u: &UnitRow| After::new(u.created_at, &u.id));
            let mut items: Vec<Value> = page.items.iter().map(|u| unit_json(u, staff)).collect();
            crate::routes::with_names(conn, &mut items, &[("org_id", "org_name")])?;
            Ok(page_json(items, page.next, "units"))
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

pub async fn get(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let body = state
        .db(move |conn| {
            let unit = units::get(conn, &id)?;
            let scope = units::scope(conn, &unit)?;
            let private = access::may_read_unit(&principal, &scope);
            Principal::require(private || unit.status == UnitStatus::Active)?;
            let mut body = unit_json(&unit, private);
            crate::routes::with_names(
                conn,
                std::slice::from_mut(&mut body),
                &[("org_id", "org_name")],
            )?;
            let members = units::members(conn, &unit.id)?;
            body["member_count"] = json!(members.len());
            if private {
                let mut admins: Vec<Value> = scope
                    .admins
                    .iter()
                    .map(|a| json!({ "user_id": a }))
                    .collect();
                crate::routes::with_names(conn, &mut admins, &[("user_id", "name")])?;
                body["admins"] = json!(admins);
                body["members"] = members_json(conn, &members)?;
            }
            Ok(body)
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// Members with their lifetime service hours: what a unit's admins may
/// read of them, and nothing else.
fn members_json(
    conn: &mut timebank_store::DbConnection,
    members: &[units::Member],
) -> Result<Value, ApiError> {
    let ids: Vec<&str> = members
        .iter()
        .filter(|m| m.confirmed)
        .map(|m| m.volunteer_id.as_str())
        .collect();
    let wallets = timebank_ledger::read::wallets_of_owners(conn, &ids)?;
    let mut items: Vec<Value> = members
        .iter()
        .map(|m| {
            // Hours only of those who confirmed they report from the unit.
            let hours = m.confirmed.then(|| {
                wallets
                    .get(&m.volunteer_id)
                    .map_or(Amount::ZERO, |(_, b)| b.hours)
            });
            json!({
                "volunteer_id": m.volunteer_id,
                "name": m.name,
                "community_id": m.community_id,
                "reported_at": utc_string(&m.reported_at),
                "confirmed": m.confirmed,
                "service_hours": hours,
            })
        })
        .collect();
    crate::routes::with_names(conn, &mut items, &[("community_id", "community_name")])?;
    Ok(json!(items))
}

async fn decide(
    state: web::Data<AppState>,
    principal: Principal,
    id: String,
    step: UnitStep,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let reason = reason(&body)?;
    if step == UnitStep::Reject && reason.is_none() {
        return Err(ApiError::new(
            Code::ReasonRequired,
            "a rejection needs a reason",
        ));
    }
    let unit = state
        .db(move |conn| {
            let allowed = |s: &UnitScope| match step {
                // A unit's own admins may withdraw it; approval is the org's.
                UnitStep::Withdraw => access::may_manage_unit(&principal, s),
                _ => access::may_decide_unit(&principal, s),
            };
            let actor = principal.actor_id();
            Ok(units::decide(
                conn,
                &id,
                step,
                reason.as_deref(),
                &actor,
                &allowed,
            )?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(unit_json(&unit, true)))
}

pub async fn approve(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    decide(state, principal, id.into_inner(), UnitStep::Approve, body).await
}

pub async fn reject(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    decide(state, principal, id.into_inner(), UnitStep::Reject, body).await
}

pub async fn withdraw(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    decide(state, principal, id.into_inner(), UnitStep::Withdraw, body).await
}

pub async fn add_member(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: crate::input::Json<VolunteerBody>,
) -> Result<HttpResponse, ApiError> {
    let body = valid(body)?;
    let (joined, unit_id, volunteer_id) = state
        .db(move |conn| {
            let volunteer = body.volunteer_id.clone();
            let joining = |s: &UnitScope| access::joins_unit(&principal, s, &volunteer);
            let joined = units::add_member(
                conn,
                &id,
                &body.volunteer_id,
                &principal.actor_id(),
                &joining,
            )?;
            Ok((joined, id.into_inner(), body.volunteer_id))
        })
        .await?;
    Ok(created_or_ok(
        joined.created,
        json!({
            "unit_id": unit_id,
            "volunteer_id": volunteer_id,
            "member": true,
            "confirmed": joined.confirmed,
        }),
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
            let allowed = |s: &UnitScope| {
                access::may_manage_unit(&principal, s) || principal.is_user(&volunteer_id)
            };
            Ok(units::remove_member(conn, &id, &volunteer_id, &allowed)?)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, Validate)]
pub struct UserBody {
    #[validate(length(min = 1, max = 64))]
    user_id: String,
}

pub async fn add_admin(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: crate::input::Json<UserBody>,
) -> Result<HttpResponse, ApiError> {
    let body = valid(body)?;
    let (added, unit_id, user_id) = state
        .db(move |conn| {
            let allowed = |s: &UnitScope| access::may_decide_unit(&principal, s);
            let added =
                units::add_admin(conn, &id, &body.user_id, &principal.actor_id(), &allowed)?;
            Ok((added, id.into_inner(), body.user_id))
        })
        .await?;
    Ok(created_or_ok(
        added,
        json!({ "unit_id": unit_id, "user_id": user_id, "role": "unit_admin" }),
    ))
}
