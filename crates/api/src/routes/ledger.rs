use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::json;
use timebank_earning::stars::{self, TransactionScope};
use timebank_kernel::Code;
use timebank_ledger::{AccountKind, find_account, read};
use tracing_actix_web::RequestId;
use validator::Validate;

use crate::access;
use crate::error::ApiError;
use crate::idempotency;
use crate::principal::Principal;
use crate::routes::volunteers::load_readable;
use crate::routes::{PageQuery, encode_cursor, valid};
use crate::state::AppState;

fn wallet_of(
    conn: &mut timebank_store::DbConnection,
    volunteer_id: &str,
) -> Result<String, ApiError> {
    find_account(conn, AccountKind::VolunteerWallet, volunteer_id)?
        .map(|a| a.id)
        .ok_or_else(|| ApiError::not_found("wallet"))
}

pub async fn balance(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let standing = state
        .db(move |conn| {
            star_standing(conn, &id, |community| {
                Principal::require(access::may_read_volunteer(&principal, &id, community))
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(standing.to_json()))
}

/// A volunteer's wallet with their star level and the hours to the next.
pub(crate) struct StarStanding {
    balances: timebank_ledger::AccountBalances,
    level: u8,
    next: Option<timebank_ledger::Amount>,
}

impl StarStanding {
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "points": self.balances.points,
            "lifetime_points": self.balances.lifetime_points,
            "hours": self.balances.hours,
            "star_level": self.level,
            "next_star_hours": self.next,
        })
    }
}

/// One statement for the wallet and level, the star policy from memory;
/// `allowed` decides on the volunteer's community before anything else is
/// said (a missing wallet included).
pub(crate) fn star_standing(
    conn: &mut timebank_store::DbConnection,
    volunteer_id: &str,
    allowed: impl FnOnce(&str) -> Result<(), ApiError>,
) -> Result<StarStanding, ApiError> {
    let (level, community, balances) = timebank_directory::volunteer_balances(conn, volunteer_id)?;
    allowed(&community)?;
    let balances = balances.ok_or_else(|| ApiError::not_found("wallet"))?;
    let policy = timebank_policy::stars(conn, &community)?;
    let level = u8::try_from(level).unwrap_or(0);
    let next = policy
        .policy
        .hours_to_next(level, balances.hours.to_decimal())
        .and_then(|h| timebank_ledger::Amount::from_decimal(h).ok());
    Ok(StarStanding {
        balances,
        level,
        next,
    })
}

pub async fn entries(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    page: crate::input::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = page.limit()?;
    let before = page
        .cursor()?
        .map(|c| {
            c.parse::<i64>().map_err(|_| {
                ApiError::new(
                    Code::InvalidCursor,
                    "the cursor is not one this server gave out",
                )
            })
        })
        .transpose()?;
    let items = state
        .db(move |conn| {
            load_readable(conn, &principal, &id)?;
            let wallet = wallet_of(conn, &id)?;
            Ok(read::entries(conn, &wallet, before, limit)?)
        })
        .await?;
    let next_cursor = (items.len() as i64 == limit)
        .then(|| items.last().map(|e| encode_cursor(&e.seq.to_string())))
        .flatten();
    Ok(HttpResponse::Ok().json(json!({ "items": items, "next_cursor": next_cursor })))
}

/// A volunteer sees transactions touching their wallet; staff see those
/// touching an account in their subtree.
fn may_read_transaction(
    principal: &Principal,
    tx: &timebank_ledger::Transaction,
    paths: &[(AccountKind, String)],
) -> bool {
    let own = tx
        .postings
        .iter()
        .any(|p| p.account_kind == AccountKind::VolunteerWallet && principal.is_user(&p.owner_id));
    own || paths.iter().any(|(_, path)| principal.reads(path))
}

pub async fn transaction(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tx = state
        .db(move |conn| {
            let tx = read::transaction(conn, &id)?;
            let paths = read::transaction_scope(conn, &id)?;
            Principal::require(may_read_transaction(&principal, &tx, &paths))?;
            Ok(tx)
        })
        .await?;
    Ok(HttpResponse::Ok().json(tx))
}

#[derive(Debug, Deserialize, Serialize, Validate)]
pub struct ReverseBody {
    #[validate(length(min = 1, max = 500))]
    reason: String,
}

pub async fn reverse(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    request_id: RequestId,
    id: web::Path<String>,
    body: crate::input::Json<ReverseBody>,
) -> Result<HttpResponse, ApiError> {
    let body = valid(body)?;
    let keyed = idempotency::Keyed::from_request(&req, &json!(body))?;
    let request_id = request_id.to_string();
    let actor = principal.actor_id();
    let outcome = keyed
        .run(&state, actor.clone(), move |c| {
            let allowed = |scope: &TransactionScope| access::may_reverse(&principal, scope);
            let reason = body.reason.trim();
            let tx =
                stars::reverse_transaction(c, &id, &actor, reason, Some(&request_id), &allowed)?;
            Ok(idempotency::Effect::new(StatusCode::CREATED, json!(tx)))
        })
        .await?;
    Ok(outcome.into_response())
}

#[derive(Debug, Deserialize)]
pub struct VerifyQuery {
    org_id: Option<String>,
}

/// Platform staff and batch scripts verify the whole ledger (with stock and
/// checkpoints); other staff verify the accounts of their own subtree, so
/// the work and the counts stay within what they may read.
pub async fn verify(
    state: web::Data<AppState>,
    principal: Principal,
    query: crate::input::Query<VerifyQuery>,
) -> Result<HttpResponse, ApiError> {
    Principal::require(principal.is_staff())?;
    let body = state
        .db(move |conn| {
            let (org, _) =
                crate::routes::queues::readable_scope(conn, &principal, query.org_id.as_deref())?;
            let whole = org.parent_id.is_none();
            let report = if whole {
                timebank_jobs::verify(conn)?
            } else {
                timebank_ledger::verify_subtree(conn, &org.path)?
            };
            let mut body = serde_json::json!(report);
            body["org_id"] = serde_json::json!(org.id);
            body["scope"] = serde_json::json!(if whole { "ledger" } else { "subtree" });
            // Checkpoints cover every account: the platform's to see.
            if whole {
                body["last_checkpoint"] = serde_json::json!(timebank_jobs::last_checkpoint(conn)?);
            }
            Ok(body)
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}
