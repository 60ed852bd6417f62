//! What the routes of teams, units, the three lists and projects share.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};
use timebank_directory::{self as directory, Org};
use timebank_store::DbConnection;
use validator::Validate;

use crate::error::ApiError;
use crate::routes::optional_body;

/// The org a public list is about: the one named, or the whole platform.
pub fn listed_org(conn: &mut DbConnection, org_id: Option<&str>) -> Result<Org, ApiError> {
    match org_id.filter(|id| !id.is_empty()) {
        Some(id) => Ok(directory::get_org(conn, id)?),
        None => directory::root_org(conn)?.ok_or_else(|| ApiError::not_found("organisation")),
    }
}

/// A text field without its surrounding spaces; blank is refused as an
/// empty one would be.
pub fn text(field: &str, value: &str) -> Result<String, ApiError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(ApiError::new(
            timebank_kernel::Code::ValidationFailed,
            format!("invalid fields: {field} must not be blank"),
        )
        .with_details(json!({ "fields": { field: ["length"] } })));
    }
    Ok(trimmed.to_owned())
}

#[derive(Debug, Deserialize, Validate)]
pub struct ReasonBody {
    #[validate(length(min = 1, max = 500))]
    reason: Option<String>,
}

/// The optional `{reason}` body of a decision, a withdrawal or a cancel.
pub fn reason(body: &web::Bytes) -> Result<Option<String>, ApiError> {
    Ok(optional_body::<ReasonBody>(body)?.and_then(|r| r.reason))
}

/// `{volunteer_id}`: who joins a team or a unit, or leads a team.
#[derive(Debug, Deserialize, Validate)]
pub struct VolunteerBody {
    #[validate(length(min = 1, max = 64))]
    pub volunteer_id: String,
}

/// 201 when the call made something new, 200 when it was already so.
pub fn created_or_ok(created: bool, body: Value) -> HttpResponse {
    if created {
        HttpResponse::Created().json(body)
    } else {
        HttpResponse::Ok().json(body)
    }
}
