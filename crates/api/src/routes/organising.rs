//! What the routes of teams, units, the three lists and projects share.

use actix_web::HttpResponse;
use serde_json::{Value, json};
use timebank_directory::{self as directory, Org};
use timebank_store::DbConnection;
use timebank_views::After;

use crate::error::ApiError;
use crate::routes::encode_cursor;

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

/// The states a list shows: the one asked for, or its default.
pub fn statuses<S: Copy>(asked: Option<S>, default: S) -> Vec<S> {
    vec![asked.unwrap_or(default)]
}

pub fn page_json(items: Vec<Value>, next: Option<After>, list: &str) -> Value {
    let next_cursor = next.map(|a| encode_cursor(&a.render(list)));
    json!({ "items": items, "next_cursor": next_cursor })
}

/// 201 when the call made something new, 200 when it was already so.
pub fn created_or_ok(created: bool, body: Value) -> HttpResponse {
    if created {
        HttpResponse::Created().json(body)
    } else {
        HttpResponse::Ok().json(body)
    }
}
