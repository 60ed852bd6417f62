use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};
use timebank_store::DbConnection;
use validator::{Validate, ValidationError};

use crate::access;
use crate::error::ApiError;
use crate::principal::Principal;
use crate::routes::{hash_off_workers, utc_string, valid_with_password};
use crate::state::AppState;
use timebank_directory::{self as directory, Volunteer};

#[derive(Debug, Deserialize, Validate)]
pub struct Register {
    #[validate(length(min = 1, max = 50))]
    name: String,
    #[validate(custom(function = "mainland_mobile"))]
    phone: String,
    // The password rule (`weak_password`) checks the rest.
    #[validate(length(min = 1, max = 256))]
    password: String,
    #[validate(length(min = 1, max = 64))]
    community_id: String,
    #[validate(length(max = 20), custom(function = "skill_names"))]
    skills: Option<Vec<String>>,
}

/// Mainland mobile numbers: 11 digits starting with 1.
fn mainland_mobile(phone: &str) -> Result<(), ValidationError> {
    let ok =
        phone.len() == 11 && phone.starts_with('1') && phone.bytes().all(|b| b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(ValidationError::new("phone"))
    }
}

fn skill_names(skills: &[String]) -> Result<(), ValidationError> {
    let ok = skills
        .iter()
        .all(|s| !s.trim().is_empty() && s.chars().count() <= 30);
    if ok {
        Ok(())
    } else {
        Err(ValidationError::new("skill"))
    }
}

/// A name that is not only blanks.
pub(crate) fn trimmed_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    if name.is_empty() {
        let mut e = validator::ValidationErrors::new();
        e.add("name", ValidationError::new("length"));
        return Err(ApiError::validation(&e));
    }
    Ok(name.to_owned())
}

impl Register {
    fn trimmed_skills(&self) -> Vec<String> {
        self.skills
            .iter()
            .flatten()
            .map(|s| s.trim().to_owned())
            .collect()
    }
}

pub async fn register(
    req: actix_web::HttpRequest,
    state: web::Data<AppState>,
    body: crate::input::Json<Register>,
) -> Result<HttpResponse, ApiError> {
    let body = valid_with_password(body, |b| (&b.password, &b.phone))?;
    state
        .limits
        .check_register(req.peer_addr().map(|a| a.ip()), &body.phone)?;
    let name = trimmed_name(&body.name)?;
    let hash = hash_off_workers(body.password.clone()).await?;
    let skills = body.trimmed_skills();
    let id = state
        .db(move |conn| {
            Ok(directory::register_volunteer(
                conn,
                &name,
                &body.phone,
                &hash,
                &body.community_id,
                &skills,
            )?)
        })
        .await?;
    Ok(HttpResponse::Created()
        .json(json!({ "id": id, "status": timebank_rules::states::MemberStatus::Pending })))
}

pub async fn approve(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let view = state
        .db(move |conn| {
            let allowed = |v: &Volunteer| access::may_approve(&principal, &v.community_path);
            let approved =
                directory::approve_volunteer(conn, &id, &principal.actor_id(), &allowed)?;
            profile(conn, &approved, true)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

pub async fn get(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let view = state
        .db(move |conn| {
            let volunteer = load_readable(conn, &principal, &id)?;
            // The volunteer and the admins who must reach them see the
            // number; auditors and other readers see it masked.
            let full_phone =
                principal.is_user(&id) || principal.admin_over(&volunteer.community_path);
            let mut view = profile(conn, &volunteer, full_phone)?;
            if principal.reads(&volunteer.community_path) {
                view["party_member"] = json!(directory::is_party_member(conn, &id)?);
            }
            Ok(view)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Who may read a volunteer's private data: the volunteer, and admins or
/// auditors over their community.
pub fn load_readable(
    conn: &mut DbConnection,
    principal: &Principal,
    id: &str,
) -> Result<Volunteer, ApiError> {
    let volunteer = directory::get_volunteer(conn, id)?;
    Principal::require(access::may_read_volunteer(
        principal,
        id,
        &volunteer.community_path,
    ))?;
    Ok(volunteer)
}

fn profile(conn: &mut DbConnection, v: &Volunteer, full_phone: bool) -> Result<Value, ApiError> {
    let (rating_avg, rating_count) = timebank_services::requests::rating_of(conn, &v.row.user_id)?;
    let skills: Vec<String> = serde_json::from_str(&v.row.skills).unwrap_or_default();
    Ok(json!({
        "id": v.row.user_id,
        "name": v.name,
        "phone": if full_phone { v.phone.clone() } else { directory::mask_phone(&v.phone) },
        "community_id": v.row.community_id,
        "community_name": directory::get_org(conn, &v.row.community_id)?.name,
        "status": v.row.effective_status(timebank_store::now()),
        "skills": skills,
        "star_level": v.row.star_level,
        "rating_avg": rating_avg,
        "rating_count": rating_count,
        "approved_at": v.row.approved_at.map(|t| utc_string(&t)),
        "suspended_until": v.row.suspended_until.map(|t| utc_string(&t)),
        "created_at": utc_string(&v.row.created_at),
        "teams": timebank_services::teams::of_volunteer(conn, &v.row.user_id)?
            .into_iter()
            .map(|(id, name, leader)| json!({ "id": id, "name": name, "leader": leader }))
            .collect::<Vec<_>>(),
        "units": timebank_services::units::of_volunteer(conn, &v.row.user_id)?
            .into_iter()
            .map(|(id, name, confirmed)| json!({ "id": id, "name": name, "confirmed": confirmed }))
            .collect::<Vec<_>>(),
    }))
}

#[derive(Debug, serde::Deserialize, validator::Validate)]
pub struct PartyMember {
    party_member: bool,
}

/// Staff over the volunteer's community record whether they are a party
/// member; nobody else ever sees it.
pub async fn set_party_member(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: crate::input::Json<PartyMember>,
) -> Result<HttpResponse, ApiError> {
    let body = crate::routes::valid(body)?;
    let view = state
        .db(move |conn| {
            let volunteer = directory::get_volunteer(conn, &id)?;
            Principal::require(principal.admin_over(&volunteer.community_path))?;
            directory::set_party_member(conn, &id, body.party_member)?;
            Ok(json!({ "volunteer_id": id.as_str(), "party_member": body.party_member }))
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

pub async fn stars(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let body = state
        .db(move |conn| {
            let volunteer = load_readable(conn, &principal, &id)?;
            let hours = timebank_earning::stars::hours_of(conn, &id)?;
            let policy = timebank_policy::stars(conn, &volunteer.community_path)?;
            let level = u8::try_from(volunteer.row.star_level).unwrap_or(0);
            let next = policy
                .policy
                .hours_to_next(level, hours.to_decimal())
                .and_then(|h| timebank_ledger::Amount::from_decimal(h).ok());
            let history = timebank_earning::stars::history(conn, &id)?;
            Ok(json!({
                "volunteer_id": id.as_str(),
                "star_level": level,
                "hours": hours,
                "next_star_hours": next,
                "barred_until": volunteer.row.star_barred_until.map(|t| utc_string(&t)),
                "rule_version": policy.version,
                "history": history,
            }))
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

pub async fn violations(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let items = state
        .db(move |conn| {
            load_readable(conn, &principal, &id)?;
            Ok(timebank_earning::violations::list(conn, &id)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}
