use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use timebank_kernel::Code;
use timebank_rules::states::ListItemStatus;
use timebank_services::lists::{
    self, ClaimRow, ItemRow, LISTS, NewItem, Party, PartyScope, Source,
};
use timebank_views::{After, Page};
use validator::Validate;

use crate::access;
use crate::error::ApiError;
use crate::principal::Principal;
use crate::routes::organising::{listed_org, reason, text};
use crate::routes::projects::project_json;
use crate::routes::{PageQuery, naive, opt_utc, page_json, utc_string, valid};
use crate::state::AppState;

fn claim_json(c: &ClaimRow) -> Value {
    json!({
        "id": c.id,
        "by_unit_id": c.by_unit_id,
        "by_org_id": c.by_org_id,
        "by_team_id": c.by_team_id,
        "note": c.note,
        "claimed_at": utc_string(&c.claimed_at),
        "outcome": c.outcome,
        "decided_at": opt_utc(c.decided_at),
        "reason": c.reason,
    })
}

fn item_json(i: &ItemRow, claim: Option<&ClaimRow>) -> Value {
    json!({
        "id": i.id,
        "list": i.list,
        "org_id": i.org_id,
        "unit_id": i.unit_id,
        "category": i.category,
        "title": i.title,
        "description": i.description,
        "quantity": i.quantity,
        "until": opt_utc(i.until),
        "status": i.status,
        "source": i.source,
        "claim": claim.map(claim_json),
        "project_id": i.project_id,
        "created_at": utc_string(&i.created_at),
        "updated_at": utc_string(&i.updated_at),
    })
}

const NAMES: &[(&str, &str)] = &[("org_id", "org_name"), ("unit_id", "unit_name")];

/// An item with its current claim and the names of who is named.
fn item_body(conn: &mut timebank_store::DbConnection, item: &ItemRow) -> Result<Value, ApiError> {
    let mut bodies = items_json(conn, std::slice::from_ref(item))?;
    Ok(bodies.pop().unwrap_or_default())
}

/// Items with their current claims and every name, in a few statements
/// whatever the number of items.
fn items_json(
    conn: &mut timebank_store::DbConnection,
    items: &[ItemRow],
) -> Result<Vec<Value>, ApiError> {
    let claims = lists::claims_of(conn, items)?;
    let mut bodies: Vec<Value> = items
        .iter()
        .map(|i| {
            let claim = i
                .claim_id
                .as_ref()
                .and_then(|id| claims.iter().find(|c| c.id == *id));
            item_json(i, claim)
        })
        .collect();
    crate::routes::with_names(conn, &mut bodies, NAMES)?;
    // The claims are named together, then put back in their items.
    let claimed: Vec<usize> = (0..bodies.len())
        .filter(|&i| !bodies[i]["claim"].is_null())
        .collect();
    let mut claim_bodies: Vec<Value> = claimed.iter().map(|&i| bodies[i]["claim"].take()).collect();
    crate::routes::with_names(
        conn,
        &mut claim_bodies,
        &[
            ("by_unit_id", "by_unit_name"),
            ("by_org_id", "by_org_name"),
            ("by_team_id", "by_team_name"),
        ],
    )?;
    for (i, claim) in claimed.into_iter().zip(claim_bodies) {
        bodies[i]["claim"] = claim;
    }
    Ok(bodies)
}

fn list_error(code: Code) -> ApiError {
    ApiError::new(code, format!("list must be one of {}", LISTS.join(", ")))
        .with_details(json!({ "fields": { "list": ["enum"] }, "allowed": LISTS }))
}

/// Exactly one of the three ids names who acts.
fn one_party(
    org: Option<String>,
    unit: Option<String>,
    team: Option<String>,
    fields: [&str; 3],
) -> Result<Party, ApiError> {
    match (org, unit, team) {
        (Some(o), None, None) => Ok(Party::Org(o)),
        (None, Some(u), None) => Ok(Party::Unit(u)),
        (None, None, Some(t)) => Ok(Party::Team(t)),
        _ => {
            let named: Vec<&str> = fields.iter().copied().filter(|f| !f.is_empty()).collect();
            let mut wrong = serde_json::Map::new();
            for f in &named {
                wrong.insert((*f).to_owned(), json!(["one_of"]));
            }
            Err(ApiError::new(
                Code::ValidationFailed,
                format!("give exactly one of {}", named.join(", ")),
            )
            .with_details(json!({ "fields": wrong })))
        }
    }
}

#[derive(Debug, Deserialize, Validate)]
pub struct CreateItem {
    list: String,
    #[validate(length(min = 1, max = 64))]
    org_id: Option<String>,
    #[validate(length(min = 1, max = 64))]
    unit_id: Option<String>,
    /// A need made of a resident's service request or wish: its community
    /// owns it, its category and description are the defaults.
    #[validate(length(min = 1, max = 64))]
    from_request_id: Option<String>,
    #[validate(length(min = 1, max = 64))]
    from_wish_id: Option<String>,
    #[validate(length(min = 1, max = 30))]
    category: Option<String>,
    #[validate(length(min = 1, max = 100))]
    title: Option<String>,
    #[validate(length(min = 1, max = 2000))]
    description: Option<String>,
    #[validate(range(min = 1, max = 1000000))]
    quantity: Option<i32>,
    until: Option<DateTime<Utc>>,
}

fn invalid(message: &str, fields: Value) -> ApiError {
    ApiError::new(Code::ValidationFailed, message).with_details(json!({ "fields": fields }))
}

impl CreateItem {
    fn source(&self) -> Result<Option<Source>, ApiError> {
        match (&self.from_request_id, &self.from_wish_id) {
            (None, None) => Ok(None),
            (Some(r), None) => Ok(Some(Source::Request(r.clone()))),
            (None, Some(w)) => Ok(Some(Source::Wish(w.clone()))),
            (Some(_), Some(_)) => Err(invalid(
                "give one of from_request_id and from_wish_id",
                json!({ "from_request_id": ["one_of"], "from_wish_id": ["one_of"] }),
            )),
        }
    }

    /// Without a source, category, title and description are required.
    fn require_text(&self) -> Result<(), ApiError> {
        let mut missing = serde_json::Map::new();
        for (name, value) in [
            ("category", &self.category),
            ("title", &self.title),
            ("description", &self.description),
        ] {
            if value.as_deref().is_none_or(|v| v.trim().is_empty()) {
                missing.insert(name.to_owned(), json!(["required"]));
            }
        }
        if missing.is_empty() {
            Ok(())
        } else {
            let names: Vec<&String> = missing.keys().collect();
            let names: Vec<&str> = names.iter().map(|n| n.as_str()).collect();
            Err(invalid(
                &format!("{} required", names.join(", ")),
                Value::Object(missing),
            ))
        }
    }
}

/// The first characters of a description, as a title.
fn title_of(description: &str) -> String {
    let text = description.trim();
    let short: String = text.chars().take(30).collect();
    if short.chars().count() < text.chars().count() {
        format!("{short}…")
    } else {
        short
    }
}

pub async fn create(
    state: web::Data<AppState>,
    principal: Principal,
    body: crate::input::Json<CreateItem>,
) -> Result<HttpResponse, ApiError> {
    let body = valid(body)?;
    if !LISTS.contains(&body.list.as_str()) {
        return Err(list_error(Code::ValidationFailed));
    }
    let source = body.source()?;
    if source.is_some() && body.list != "need" {
        return Err(invalid(
            "a resident's request or wish becomes a need",
            json!({ "list": ["need_from_source"] }),
        ));
    }
    if source.is_some() && body.unit_id.is_some() {
        return Err(invalid(
            "a need made of a request or wish is its community's",
            json!({ "unit_id": ["not_with_source"] }),
        ));
    }
    if source.is_none() {
        body.require_text()?;
    }
    let owner_given = (body.org_id.clone(), body.unit_id.clone());
    let body = state
        .db(move |conn| {
            let allowed = |s: &PartyScope| access::may_act_for(&principal, s);
            let (owner, from) = match &source {
                Some(src) => {
                    let from = lists::source_of(conn, src)?;
                    if owner_given
                        .0
                        .as_ref()
                        .is_some_and(|o| *o != from.community_id)
                    {
                        return Err(invalid(
                            "org_id must be the community of the request or wish",
                            json!({ "org_id": ["mismatch"] }),
                        ));
                    }
                    (Party::Org(from.community_id.clone()), Some(from))
                }
                None => (
                    one_party(
                        owner_given.0,
                        owner_given.1,
                        None,
                        ["org_id", "unit_id", ""],
                    )?,
                    None,
                ),
            };
            let pick = |given: Option<String>, default: Option<&str>| {
                given
                    .map(|g| g.trim().to_owned())
                    .or_else(|| default.map(str::to_owned))
                    .unwrap_or_default()
            };
            let description = pick(
                body.description,
                from.as_ref().map(|f| f.description.as_str()),
            );
            let new = NewItem {
                list: body.list,
                owner,
                category: text(
                    "category",
                    &pick(body.category, from.as_ref().map(|f| f.category.as_str())),
                )?,
                title: text("title", &pick(body.title, Some(&title_of(&description))))?,
                description: text("description", &description)?,
                quantity: body.quantity,
                until: body.until.map(naive),
            };
            let key = from.map(|f| f.key);
            let item = lists::create(conn, new, key, &principal.actor_id(), &allowed)?;
            item_body(conn, &item)
        })
        .await?;
    Ok(HttpResponse::Created().json(body))
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    list: Option<String>,
    org_id: Option<String>,
    unit_id: Option<String>,
    category: Option<String>,
    q: Option<String>,
    status: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

/// The three lists are published: anyone signed in reads them (open items
/// unless a status is asked for).
pub async fn list(
    state: web::Data<AppState>,
    _principal: Principal,
    query: crate::input::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let page = PageQuery {
        cursor: q.cursor.clone(),
        limit: q.limit,
    };
    let (after, limit) = page.keyset("list-items")?;
    let status = crate::routes::state_query::<ListItemStatus>(q.status.as_deref())?
        .unwrap_or(ListItemStatus::Open);
    let list = q.list.clone().filter(|l| !l.is_empty());
    if list.as_deref().is_some_and(|l| !LISTS.contains(&l)) {
        return Err(list_error(Code::InvalidQuery));
    }
    let body = state
        .db(move |conn| {
            let org = listed_org(conn, q.org_id.as_deref())?;
            let unit_id = q.unit_id.filter(|u| !u.is_empty());
            if let Some(unit) = &unit_id {
                timebank_services::units::get(conn, unit)?;
            }
            let filter = lists::ListFilter {
                org_path: org.path,
                list,
                unit_id,
                category: q.category.filter(|c| !c.is_empty()),
                q: q.q.filter(|t| !t.trim().is_empty()),
                status: Some(status),
            };
            let rows = lists::list(conn, &filter, after.map(|a| (a.at, a.id)).as_ref(), limit)?;
            let page = Page::from_rows(rows, limit, |i: &ItemRow| After::new(i.created_at, &i.id));
            let items = items_json(conn, &page.items)?;
            Ok(page_json(items, page.next, "list-items"))
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

pub async fn get(
    state: web::Data<AppState>,
    _principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let body = state
        .db(move |conn| {
            let item = lists::get(conn, &id)?;
            let mut body = item_body(conn, &item)?;
            body["claims"] = lists::claims(conn, &item.id)?
                .iter()
                .map(claim_json)
                .collect();
            Ok(body)
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

#[derive(Debug, Deserialize, Validate)]
pub struct ClaimBody {
    #[validate(length(min = 1, max = 64))]
    by_unit_id: Option<String>,
    #[validate(length(min = 1, max = 64))]
    by_org_id: Option<String>,
    #[validate(length(min = 1, max = 64))]
    by_team_id: Option<String>,
    #[validate(length(min = 1, max = 500))]
    note: Option<String>,
}

pub async fn claim(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: crate::input::Json<ClaimBody>,
) -> Result<HttpResponse, ApiError> {
    let body = valid(body)?;
    let by = one_party(
        body.by_org_id,
        body.by_unit_id,
        body.by_team_id,
        ["by_org_id", "by_unit_id", "by_team_id"],
    )?;
    let body = state
        .db(move |conn| {
            let allowed = |s: &PartyScope| access::may_act_for(&principal, s);
            let (item, _) = lists::claim(
                conn,
                &id,
                by,
                body.note.as_deref().map(str::trim),
                &principal.actor_id(),
                &allowed,
            )?;
            item_body(conn, &item)
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

pub async fn confirm(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let body = state
        .db(move |conn| {
            let allowed = |s: &PartyScope| access::may_act_for(&principal, s);
            let (item, project) = lists::confirm(conn, &id, &principal.actor_id(), &allowed)?;
            let mut body = item_body(conn, &item)?;
            body["project"] = project_json(&project);
            Ok(body)
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

pub async fn decline(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    step_with_reason(state, principal, id, body, lists::decline).await
}

pub async fn withdraw(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    step_with_reason(state, principal, id, body, lists::withdraw).await
}

/// The claimant takes its pending claim back (the check is on the claimant).
pub async fn unclaim(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    step_with_reason(state, principal, id, body, lists::unclaim).await
}

/// A step the item's owner (or, for `unclaim`, its claimant) takes with an
/// optional reason; the step names whom the check is on.
type ReasonedStep = for<'a> fn(
    &mut timebank_store::DbConnection,
    &str,
    Option<&str>,
    &str,
    timebank_kernel::Check<'a, PartyScope>,
) -> Result<ItemRow, timebank_kernel::DomainError>;

async fn step_with_reason(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: web::Bytes,
    step: ReasonedStep,
) -> Result<HttpResponse, ApiError> {
    let reason = reason(&body)?;
    let body = state
        .db(move |conn| {
            let allowed = |s: &PartyScope| access::may_act_for(&principal, s);
            let actor = principal.actor_id();
            let item = step(conn, &id, reason.as_deref(), &actor, &allowed)?;
            item_body(conn, &item)
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}
