//! Staff work queues and searches: every list is scoped to an org subtree
//! the caller may read, newest first, paged by an opaque cursor.

use actix_web::{HttpResponse, web};
use chrono::NaiveDateTime;
use serde::Deserialize;
use serde_json::{Value, json};
use timebank_directory::{self as directory, Org};
use timebank_kernel::Code;
use timebank_redemption::sites::SiteScope;
use timebank_rules::states::{AwardStatus, MemberStatus, OrderStatus, State, WishStatus};
use timebank_store::DbConnection;
use timebank_views::people::{PeopleFilter, Search};
use timebank_views::{After, Page, Scope};

use crate::error::ApiError;
use crate::principal::Principal;
use crate::routes::{PageQuery, naive};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    org_id: Option<String>,
    status: Option<String>,
    q: Option<String>,
    kind: Option<String>,
    from: Option<chrono::DateTime<chrono::Utc>>,
    to: Option<chrono::DateTime<chrono::Utc>>,
    cursor: Option<String>,
    limit: Option<i64>,
}

impl ListQuery {
    /// The page a request asks for; `list` names the list its cursor must
    /// come from.
    fn page(&self, list: &str) -> Result<(Option<After>, i64), ApiError> {
        PageQuery {
            cursor: self.cursor.clone(),
            limit: self.limit,
        }
        .keyset(list)
    }

    /// One of `allowed`, or 400 naming them.
    fn status<S: State>(&self) -> Result<Option<S>, ApiError> {
        crate::routes::state_query(self.status.as_deref())
    }
}

use crate::routes::page_json;

fn ok(body: Value) -> HttpResponse {
    HttpResponse::Ok().json(body)
}

/// The org a list is about (the caller's widest readable org when none is
/// named) and its subtree; 403 unless the caller reads it.
pub fn readable_scope(
    conn: &mut DbConnection,
    principal: &Principal,
    org_id: Option<&str>,
) -> Result<(Org, Scope), ApiError> {
    let id = match org_id.filter(|id| !id.is_empty()) {
        Some(id) => id.to_owned(),
        None => principal
            .home_read_org(conn)?
            .ok_or_else(ApiError::forbidden)?,
    };
    let org = directory::get_org(conn, &id)?;
    Principal::require(principal.reads(&org.path))?;
    let scope = Scope::of(conn, &org)?;
    Ok((org, scope))
}

fn people_filter(q: &ListQuery, list: &str) -> Result<PeopleFilter, ApiError> {
    let (after, limit) = q.page(list)?;
    let standing = q.status::<MemberStatus>()?;
    let search = match q.q.as_deref() {
        Some(text) if text.chars().count() > 50 => {
            return Err(
                ApiError::new(Code::InvalidQuery, "q must be at most 50 characters")
                    .with_details(json!({ "fields": { "q": ["length"] } })),
            );
        }
        Some(text) => Search::parse(text),
        None => None,
    };
    Ok(PeopleFilter {
        standing,
        search,
        after,
        limit,
        now: timebank_store::now(),
    })
}

/// Callers who see phones masked (`138****5678`) may search by the digits
/// they see, no more: a longer prefix would spell the hidden ones out.
fn refuse_unmasking_search(
    principal: &Principal,
    org: &Org,
    search: Option<&Search>,
) -> Result<(), ApiError> {
    match search {
        Some(Search::PhonePrefix(p)) if p.len() > 3 && !principal.admin_over(&org.path) => {
            Err(ApiError::new(
                Code::PhoneSearchNotAllowed,
                "only admins over the community search by phone number; search by name",
            )
            .with_details(json!({ "fields": { "q": ["phone_search_not_allowed"] } })))
        }
        _ => Ok(()),
    }
}

fn people_json(
    principal: &Principal,
    page: Page<timebank_views::people::Person>,
    list: &'static str,
) -> Value {
    let items = page
        .items
        .into_iter()
        .map(|mut p| {
            // Whole only for the admins who must reach the person.
            if !principal.admin_over(&p.community_path) {
                p.phone = directory::mask_phone(&p.phone);
            }
            json!(p)
        })
        .collect();
    page_json(items, page.next, list)
}

/// `GET /volunteers` and `GET /residents`: one search over either.
pub async fn people(
    req: actix_web::HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    query: crate::input::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let residents = req.path().ends_with("/residents");
    let name = if residents { "residents" } else { "volunteers" };
    let filter = people_filter(&query, name)?;
    state
        .db(move |conn| {
            let (org, scope) = readable_scope(conn, &principal, query.org_id.as_deref())?;
            refuse_unmasking_search(&principal, &org, filter.search.as_ref())?;
            let page = if residents {
                timebank_views::people::residents(conn, &scope, &filter)?
            } else {
                timebank_views::people::volunteers(conn, &scope, &filter)?
            };
            Ok(people_json(&principal, page, name))
        })
        .await
        .map(ok)
}

pub async fn case_awards(
    state: web::Data<AppState>,
    principal: Principal,
    query: crate::input::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let (after, limit) = query.page("case-awards")?;
    let status = query.status::<AwardStatus>()?;
    state
        .db(move |conn| {
            let (_, scope) = readable_scope(conn, &principal, query.org_id.as_deref())?;
            let page =
                timebank_views::work::case_awards(conn, &scope, status, after.as_ref(), limit)?;
            let items = page
                .items
                .iter()
                .map(|i| {
                    let mut v = crate::routes::cases::award_json(&i.row);
                    v["volunteer_name"] = json!(i.volunteer_name);
                    v["rule_name"] = json!(i.rule_name);
                    v["points"] = json!(timebank_ledger::Amount::from_units(i.points));
                    v["hours"] = json!(timebank_ledger::Amount::from_units(i.hours));
                    v
                })
                .collect();
            Ok(page_json(items, page.next, "case-awards"))
        })
        .await
        .map(ok)
}

/// Staff read the wishes of their subtree in any state; a volunteer sees
/// the open wishes of their own district, to claim one.
fn wish_scope(
    conn: &mut DbConnection,
    principal: &Principal,
    named: Option<&str>,
    status: Option<WishStatus>,
) -> Result<(Scope, Option<WishStatus>), ApiError> {
    let staff_scope = match named {
        Some(id) => {
            let org = directory::get_org(conn, id)?;
            principal
                .reads(&org.path)
                .then(|| Scope::of(conn, &org))
                .transpose()?
        }
        None if principal.is_staff() => Some(readable_scope(conn, principal, None)?.1),
        None => None,
    };
    if let Some(scope) = staff_scope {
        return Ok((scope, status));
    }
    let scope = volunteer_district(conn, principal, named)?;
    if status.is_some_and(|s| s != WishStatus::Open) {
        return Err(ApiError::forbidden());
    }
    Ok((scope, Some(WishStatus::Open)))
}

/// Wishes with the names of who made, holds and claimed them.
fn named_wishes(
    conn: &mut DbConnection,
    rows: &[timebank_services::wishes::WishRow],
) -> Result<Vec<Value>, ApiError> {
    let mut items: Vec<Value> = rows.iter().map(crate::routes::wishes::wish_json).collect();
    crate::routes::with_names(
        conn,
        &mut items,
        &[
            ("requester_id", "requester_name"),
            ("community_id", "community_name"),
            ("claimed_by_volunteer", "claimed_by_volunteer_name"),
            ("claimed_by_org", "claimed_by_org_name"),
        ],
    )?;
    Ok(items)
}

pub async fn wishes(
    state: web::Data<AppState>,
    principal: Principal,
    query: crate::input::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let (after, limit) = query.page("wishes")?;
    let status = query.status::<WishStatus>()?;
    state
        .db(move |conn| {
            let (scope, status) = wish_scope(conn, &principal, query.org_id.as_deref(), status)?;
            let page = timebank_views::work::wishes(
                conn,
                &scope.community_ids,
                status,
                after.as_ref(),
                limit,
            )?;
            let items = named_wishes(conn, &page.items)?;
            Ok(page_json(items, page.next, "wishes"))
        })
        .await
        .map(ok)
}

/// The district of an active volunteer's community, or the part of it
/// they named; anything outside it is refused.
fn volunteer_district(
    conn: &mut DbConnection,
    principal: &Principal,
    named: Option<&str>,
) -> Result<Scope, ApiError> {
    let me = principal.volunteer_id()?;
    let volunteer = directory::get_volunteer(conn, &me)?;
    volunteer.row.require_active(timebank_store::now())?;
    let community = directory::get_org(conn, &volunteer.row.community_id)?;
    let district_id = community
        .district_id
        .clone()
        .ok_or_else(ApiError::forbidden)?;
    let district = directory::get_org(conn, &district_id)?;
    let org = match named {
        Some(id) => directory::get_org(conn, id)?,
        None => district.clone(),
    };
    Principal::require(org.path.starts_with(&district.path))?;
    Ok(Scope::of(conn, &org)?)
}

/// The pickup code proves the volunteer is at the counter: never shown to
/// the site; nor is their whole phone number.
fn site_order_json(o: &timebank_views::work::SiteOrder) -> Value {
    let mut v = crate::routes::redemptions::order_json(&o.row, false);
    v["volunteer_name"] = json!(o.volunteer_name);
    v["volunteer_phone"] = json!(directory::mask_phone(&o.volunteer_phone));
    v["item_name"] = json!(o.item_name);
    v
}

pub async fn site_redemptions(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    query: crate::input::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let (after, limit) = query.page("site-orders")?;
    let status = query.status::<OrderStatus>()?;
    state
        .db(move |conn| {
            let allowed = |s: &SiteScope| crate::access::may_read_site_orders(&principal, s);
            let (site, _) = timebank_redemption::sites::get_allowed(conn, &id, &allowed)?;
            let page =
                timebank_views::work::site_orders(conn, &site.id, status, after.as_ref(), limit)?;
            let items = page.items.iter().map(site_order_json).collect();
            Ok(page_json(items, page.next, "site-orders"))
        })
        .await
        .map(ok)
}

fn named_violations(
    conn: &mut DbConnection,
    rows: &[timebank_earning::violations::Violation],
) -> Result<Vec<Value>, ApiError> {
    let names = timebank_views::audit::names(conn, rows.iter().map(|v| v.volunteer_id.as_str()))?;
    Ok(rows
        .iter()
        .map(|v| {
            let mut item = json!(v);
            item["volunteer_name"] = json!(names.get(&v.volunteer_id));
            item
        })
        .collect())
}

pub async fn violations(
    state: web::Data<AppState>,
    principal: Principal,
    query: crate::input::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let (after, limit) = query.page("violations")?;
    state
        .db(move |conn| {
            let (_, scope) = readable_scope(conn, &principal, query.org_id.as_deref())?;
            let rows = timebank_earning::violations::list_of(
                conn,
                timebank_earning::violations::Of::Communities {
                    ids: &scope.community_ids,
                    before: after.map(|a| (a.at, a.id)),
                    limit: limit + 1,
                },
            )?;
            let Page { items: rows, next } =
                Page::from_rows(rows, limit, |v| After::new(v.created, &v.id));
            let items = named_violations(conn, &rows)?;
            Ok(page_json(items, next, "violations"))
        })
        .await
        .map(ok)
}

/// The `from`..`to` window of a list, in order.
fn period(query: &ListQuery) -> Result<(Option<NaiveDateTime>, Option<NaiveDateTime>), ApiError> {
    let (from, to) = (query.from.map(naive), query.to.map(naive));
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(ApiError::new(
            Code::InvalidQuery,
            "from must not be after to",
        ));
    }
    Ok((from, to))
}

pub async fn transactions(
    state: web::Data<AppState>,
    principal: Principal,
    query: crate::input::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let (after, limit) = query.page("transactions")?;
    let kind = tx_kind(query.kind.as_deref())?;
    let (from, to) = period(&query)?;
    state
        .db(move |conn| {
            let (org, _) = readable_scope(conn, &principal, query.org_id.as_deref())?;
            let filter = timebank_ledger::read::TransactionFilter {
                path: org.path,
                kind,
                from,
                to,
                before: after.map(|a| (a.at, a.id)),
                limit: limit + 1,
            };
            let rows = timebank_ledger::read::list_transactions(conn, &filter)?;
            let Page { items: rows, next } =
                Page::from_rows(rows, limit, |t| After::new(naive(t.created_at), &t.id));
            let items = with_owner_names(conn, &rows)?;
            Ok(page_json(items, next, "transactions"))
        })
        .await
        .map(ok)
}

fn tx_kind(text: Option<&str>) -> Result<Option<timebank_ledger::TxKind>, ApiError> {
    match text.filter(|k| !k.is_empty()) {
        None => Ok(None),
        Some(k) => k.parse().map(Some).map_err(|_| {
            ApiError::new(Code::InvalidQuery, "kind is not a transaction kind")
                .with_details(json!({ "fields": { "kind": ["enum"] } }))
        }),
    }
}

/// The audit trail names who acted and whose accounts moved.
fn with_owner_names(
    conn: &mut DbConnection,
    rows: &[timebank_ledger::Transaction],
) -> Result<Vec<Value>, ApiError> {
    let ids = rows.iter().flat_map(|t| {
        t.actor_id
            .as_deref()
            .into_iter()
            .chain(t.postings.iter().map(|p| p.owner_id.as_str()))
    });
    let names = timebank_views::audit::names(conn, ids)?;
    Ok(rows
        .iter()
        .map(|t| {
            let mut v = json!(t);
            v["actor_name"] = json!(t.actor_id.as_ref().and_then(|a| names.get(a)));
            if let Some(postings) = v["postings"].as_array_mut() {
                for (p, posting) in postings.iter_mut().zip(&t.postings) {
                    p["owner_name"] = json!(names.get(&posting.owner_id));
                }
            }
            v
        })
        .collect())
}

/// Batch runs are the platform's: counted over the whole ledger, so read
/// by platform staff (readers of the root org) and batch scripts.
pub async fn jobs(
    state: web::Data<AppState>,
    principal: Principal,
    query: crate::input::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let (after, limit) = query.page("jobs")?;
    state
        .db(move |conn| {
            let root = directory::root_org(conn)?.ok_or_else(ApiError::forbidden)?;
            Principal::require(principal.reads(&root.path))?;
            let page = timebank_views::jobs::recent(conn, after.as_ref(), limit)?;
            let items = page.items.iter().map(|r| json!(r)).collect();
            Ok(page_json(items, page.next, "jobs"))
        })
        .await
        .map(ok)
}

pub async fn org_queues(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state
        .db(move |conn| {
            let (org, scope) = readable_scope(conn, &principal, Some(&id))?;
            let counts = timebank_views::queues::counts(conn, &org.id, &scope)?;
            Ok(json!(counts))
        })
        .await
        .map(ok)
}
