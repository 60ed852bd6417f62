//! Orders: reserve stock and debit points at once, hand out with a pickup
//! code at the site, refund and release on cancel or expiry.
//!
//! Lock order, the same everywhere: volunteer or order row, then the stock
//! row (by a locking read or its conditional update), then ledger accounts.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use std::collections::HashMap;

use timebank_directory::{get_org, get_volunteer};
use timebank_kernel::{Check, Class, Code, DomainError, anyone};
use timebank_ledger::{AccountKind, Amount, Asset, Transfer, TxKind, find_account, open_account};
use timebank_policy as policy;
use timebank_rules::quarter_of;
use timebank_rules::states::{ItemStatus, OrderStatus, OrderStep};
use timebank_store::schema::orders;
use timebank_store::{DbConnection, Lockable, lock_row, write_tx};

use crate::stock::{self, MovementKind};
use crate::{catalog, same, sites, six_digits};

/// Wrong pickup codes allowed before an order locks for an hour.
const MAX_WRONG_CODES: i32 = 5;
const LOCK_MINUTES: i64 = 60;

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = orders)]
pub struct OrderRow {
    pub id: String,
    pub volunteer_id: String,
    pub site_id: String,
    pub item_id: String,
    pub quantity: i32,
    pub points: i64,
    pub quarter: String,
    #[diesel(deserialize_as = String)]
    pub status: OrderStatus,
    pub pickup_code: String,
    pub wrong_attempts: i32,
    pub locked_until: Option<NaiveDateTime>,
    pub expires_at: NaiveDateTime,
    pub transaction_id: String,
    pub refund_transaction_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub closed_at: Option<NaiveDateTime>,
    pub closed_by: Option<String>,
}

pub fn get(conn: &mut DbConnection, id: &str) -> Result<OrderRow, DomainError> {
    orders::table
        .find(id)
        .select(OrderRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(DomainError::NotFound("order"))
}

fn not_here(reason: &str, message: &str) -> DomainError {
    DomainError::refused(Code::ItemNotAvailableHere, message.to_owned())
        .with_details(serde_json::json!({ "reason": reason }))
}

/// What one order asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRequest {
    pub volunteer_id: String,
    pub item_id: String,
    pub site_id: String,
    pub quantity: i32,
}

/// Places an order. Run inside the caller's write transaction.
pub fn place(
    conn: &mut DbConnection,
    volunteer_id: &str,
    item_id: &str,
    site_id: &str,
    quantity: i32,
    now: NaiveDateTime,
) -> Result<OrderRow, DomainError> {
    let request = OrderRequest {
        volunteer_id: volunteer_id.to_owned(),
        item_id: item_id.to_owned(),
        site_id: site_id.to_owned(),
        quantity,
    };
    place_many(conn, std::slice::from_ref(&request), now)?
        .pop()
        .unwrap_or_else(|| Err(DomainError::Internal("an order went unanswered".into())))
}

/// Places several orders as if one after another in the order given: each
/// is placed or refused on its own (a refused one writes nothing), while
/// the rows they share (volunteers, stock levels, ledger accounts) are
/// locked, read and written once for all. Run inside the caller's write
/// transaction. An outer error (the database failed, or a row changed
/// under a lock it should have held) means none may be kept.
pub fn place_many(
    conn: &mut DbConnection,
    requests: &[OrderRequest],
    now: NaiveDateTime,
) -> Result<Vec<Result<OrderRow, DomainError>>, DomainError> {
    let ids: Vec<&str> = requests.iter().map(|r| r.volunteer_id.as_str()).collect();
    let mut pass = Pass {
        volunteers: timebank_directory::lock_volunteers_by_id(conn, &ids)?
            .into_iter()
            .map(|v| (v.row.user_id.clone(), v))
            .collect(),
        stock: HashMap::new(),
        wallets: HashMap::new(),
        ordered: HashMap::new(),
        now,
    };
    // Every level the pass may move, locked in one order (site, item) so
    // that two passes never wait on each other in a cycle.
    let mut levels: Vec<(&str, &str)> = requests
        .iter()
        .map(|r| (r.site_id.as_str(), r.item_id.as_str()))
        .collect();
    levels.sort_unstable();
    levels.dedup();
    pass.stock = stock::available_for_update(conn, &levels)?;
    let mut wallet_owners: Vec<&str> = pass.volunteers.keys().map(String::as_str).collect();
    wallet_owners.sort_unstable();
    pass.wallets = timebank_ledger::read::wallets_of_owners(conn, &wallet_owners)?
        .into_iter()
        .map(|(owner, (wallet, balances))| (owner, (wallet, balances.points)))
        .collect();
    let mut answers = Vec::with_capacity(requests.len());
    let mut accepted = Vec::new();
    for request in requests {
        match pass.assess(conn, request) {
            Ok(order) => {
                answers.push(None);
                accepted.push(order);
            }
            Err(
                e @ (DomainError::Db(_) | DomainError::Internal(_) | DomainError::Unavailable(_)),
            ) => {
                return Err(e);
            }
            Err(refusal) => answers.push(Some(refusal)),
        }
    }
    let mut placed = write_accepted(conn, accepted)?.into_iter();
    Ok(answers
        .into_iter()
        .map(|refusal| match refusal {
            Some(refusal) => Err(refusal),
            None => placed
                .next()
                .ok_or_else(|| DomainError::Internal("an order went unwritten".into())),
        })
        .collect())
}

/// What a pass of orders knows and has promised so far.
struct Pass {
    volunteers: HashMap<String, timebank_directory::Volunteer>,
    /// Units still available by (site, item).
    stock: HashMap<(String, String), i32>,
    /// By volunteer: their wallet and the points still in it.
    wallets: HashMap<String, (String, Amount)>,
    /// Units placed in this pass by (volunteer, item, quarter).
    ordered: HashMap<(String, String, String), i64>,
    now: NaiveDateTime,
}

/// An order that passed every check, waiting to be written.
struct Accepted {
    order: OrderRow,
    transfer: timebank_ledger::NewTransaction,
}

impl Pass {
    /// Runs one order's checks in the order [`place`] always has, against
    /// what the orders before it in the pass left.
    fn assess(
        &mut self,
        conn: &mut DbConnection,
        request: &OrderRequest,
    ) -> Result<Accepted, DomainError> {
        let volunteer = self
            .volunteers
            .get(&request.volunteer_id)
            .ok_or(DomainError::NotFound("volunteer"))?;
        volunteer.row.require_active(self.now)?;
        let (site, site_org) = sites::get_with_org(conn, &request.site_id)?;
        let item = catalog::get(conn, &request.item_id)?;
        may_order(conn, volunteer, &item, &site_org)?;
        let quarter = quarter_for(conn, volunteer, self.now)?;
        let ordered_key = (
            volunteer.row.user_id.clone(),
            item.id.clone(),
            quarter.clone(),
        );
        let earlier = self.ordered.get(&ordered_key).copied().unwrap_or(0);
        within_limit(conn, volunteer, &item, &quarter, earlier, request.quantity)?;
        let points = item
            .points_price
            .checked_mul(i64::from(request.quantity))
            .map(Amount::from_units)
            .ok_or_else(|| DomainError::refused(Code::AmountTooLarge, "amount too large"))?;
        let stock_key = (site.id.clone(), item.id.clone());
        let available = self.stock.get(&stock_key).copied().unwrap_or(0);
        if available < request.quantity {
            return Err(DomainError::refused(
                Code::OutOfStock,
                format!(
                    "not enough stock at this site: {available} available, {} requested",
                    request.quantity
                ),
            )
            .with_details(serde_json::json!({
                "available": available,
                "requested": request.quantity,
            })));
        }
        let (wallet, held) = self
            .wallets
            .get(&volunteer.row.user_id)
            .cloned()
            .ok_or(DomainError::NotFound("wallet"))?;
        if held.units() < points.units() {
            return Err(timebank_ledger::LedgerError::InsufficientBalance {
                account_id: wallet,
                owner_id: volunteer.row.user_id.clone(),
                account_kind: AccountKind::VolunteerWallet,
                asset: Asset::Point,
                available: held,
                required: points,
            }
            .into());
        }
        let sink = open_account(conn, AccountKind::SiteSink, &site.id, &site_org.path)?;
        let spending = policy::spending(conn, &volunteer.community_path)?;
        let id = timebank_store::new_id();
        let reason = format!(
            "兑换：{} × {}（{}）",
            item.name, request.quantity, site.name
        );
        let transfer = Transfer::new(TxKind::Redeem, reason)
            .by(&volunteer.row.user_id)
            .once(format!("order:{id}"))
            .moving(Asset::Point, points, &wallet, sink.id)
            .into_new();
        // Promised to this order: what the orders after it can no longer have.
        self.stock.insert(stock_key, available - request.quantity);
        self.wallets.insert(
            volunteer.row.user_id.clone(),
            (wallet, Amount::from_units(held.units() - points.units())),
        );
        *self.ordered.entry(ordered_key).or_insert(0) += i64::from(request.quantity);
        let order = OrderRow {
            id,
            volunteer_id: volunteer.row.user_id.clone(),
            site_id: site.id,
            item_id: item.id,
            quantity: request.quantity,
            points: points.units(),
            quarter,
            status: OrderStatus::Reserved,
            pickup_code: six_digits()?,
            wrong_attempts: 0,
            locked_until: None,
            expires_at: self.now + Duration::days(i64::from(spending.policy.order_pickup_days)),
            // Known once the ledger has posted it.
            transaction_id: String::new(),
            refund_transaction_id: None,
            created_at: self.now,
            closed_at: None,
            closed_by: None,
        };
        Ok(Accepted { order, transfer })
    }
}

/// Writes the accepted orders: each stock level moved once, the points in
/// one ledger batch, the order rows in one statement.
fn write_accepted(
    conn: &mut DbConnection,
    accepted: Vec<Accepted>,
) -> Result<Vec<OrderRow>, DomainError> {
    if accepted.is_empty() {
        return Ok(Vec::new());
    }
    let reservations: Vec<stock::Reservation<'_>> = accepted
        .iter()
        .map(|a| stock::Reservation {
            site_id: &a.order.site_id,
            item_id: &a.order.item_id,
            quantity: a.order.quantity,
            order_id: &a.order.id,
            actor: &a.order.volunteer_id,
        })
        .collect();
    stock::reserve_many(conn, &reservations)?;
    let transfers: Vec<_> = accepted.iter().map(|a| a.transfer.clone()).collect();
    let posted = timebank_ledger::post_many_fresh_in(conn, &transfers)?;
    let orders: Vec<OrderRow> = accepted
        .into_iter()
        .zip(posted)
        .map(|(a, tx)| OrderRow {
            transaction_id: tx.id,
            ..a.order
        })
        .collect();
    insert_orders(conn, &orders)?;
    Ok(orders)
}

fn insert_orders(conn: &mut DbConnection, placed: &[OrderRow]) -> Result<(), DomainError> {
    let rows: Vec<_> = placed
        .iter()
        .map(|o| {
            (
                orders::id.eq(&o.id),
                orders::volunteer_id.eq(&o.volunteer_id),
                orders::site_id.eq(&o.site_id),
                orders::item_id.eq(&o.item_id),
                orders::quantity.eq(o.quantity),
                orders::points.eq(o.points),
                orders::quarter.eq(&o.quarter),
                orders::status.eq(o.status),
                orders::pickup_code.eq(&o.pickup_code),
                orders::wrong_attempts.eq(o.wrong_attempts),
                orders::expires_at.eq(o.expires_at),
                orders::transaction_id.eq(&o.transaction_id),
                orders::created_at.eq(o.created_at),
            )
        })
        .collect();
    for chunk in rows.chunks(timebank_store::ROWS_PER_STATEMENT) {
        let insert = diesel::insert_into(orders::table).values(chunk);
        timebank_store::on_backend!(conn, c => insert.execute(c))?;
    }
    Ok(())
}

/// Who an order concerns, which is what access to it is decided on: the
/// volunteer (and their community) and the site (and its org).
#[derive(Debug, Clone)]
pub struct OrderScope {
    pub volunteer_id: String,
    pub volunteer_community_path: String,
    pub site_id: String,
    pub site_org_path: String,
}

/// The order and its scope, read once; the scope decides access.
pub fn get_scoped(
    conn: &mut DbConnection,
    id: &str,
) -> Result<(OrderRow, OrderScope), DomainError> {
    let order = get(conn, id)?;
    let scope = scope_of(conn, &order)?;
    Ok((order, scope))
}

fn scope_of(conn: &mut DbConnection, order: &OrderRow) -> Result<OrderScope, DomainError> {
    let (site, org) = sites::get_with_org(conn, &order.site_id)?;
    let volunteer = get_volunteer(conn, &order.volunteer_id)?;
    Ok(OrderScope {
        volunteer_id: order.volunteer_id.clone(),
        volunteer_community_path: volunteer.community_path,
        site_id: site.id,
        site_org_path: org.path,
    })
}

/// Locks the order, reads it and its scope once, lets `allowed` decide on
/// that scope, and finds where `step` takes it.
fn locked_for(
    conn: &mut DbConnection,
    id: &str,
    step: OrderStep,
    allowed: Check<'_, OrderScope>,
) -> Result<(OrderRow, OrderStatus), DomainError> {
    lock_row(conn, Lockable::Order, id)?;
    let (order, scope) = get_scoped(conn, id)?;
    if !allowed(&scope) {
        return Err(DomainError::forbidden());
    }
    let next = order.status.after(step).ok_or_else(|| {
        DomainError::invalid_state("order", order.status.as_str(), &step.wanted())
    })?;
    Ok((order, next))
}

/// Hands out an order for its pickup code. The outer error aborts the
/// transaction; the inner one is a refusal whose bookkeeping (a wrong-code
/// count, a lock) must still be committed.
pub fn fulfil(
    conn: &mut DbConnection,
    id: &str,
    code: &str,
    actor: &str,
    now: NaiveDateTime,
    allowed: Check<'_, OrderScope>,
) -> Result<Result<OrderRow, DomainError>, DomainError> {
    let (order, next) = locked_for(conn, id, OrderStep::HandOut, allowed)?;
    if let Some(until) = order.locked_until.filter(|u| *u > now) {
        return Ok(Err(DomainError::refused(
            Code::OrderLocked,
            "too many wrong pickup codes; try again later",
        )
        .with_details(
            serde_json::json!({ "locked_until": timebank_directory::utc_string(&until) }),
        )));
    }
    if !same(&order.pickup_code, code) {
        let attempts = order.wrong_attempts + 1;
        let lock = attempts >= MAX_WRONG_CODES;
        diesel::update(orders::table.find(id))
            .set((
                orders::wrong_attempts.eq(if lock { 0 } else { attempts }),
                orders::locked_until.eq(lock.then(|| now + Duration::minutes(LOCK_MINUTES))),
            ))
            .execute(conn)?;
        let left = if lock { 0 } else { MAX_WRONG_CODES - attempts };
        return Ok(Err(DomainError::refused(
            Code::WrongPickupCode,
            "the pickup code is wrong",
        )
        .with_details(
            serde_json::json!({ "attempts_left": left, "locked": lock }),
        )));
    }
    stock::apply(
        conn,
        &order.site_id,
        &order.item_id,
        MovementKind::Handout,
        order.quantity,
        "handed out",
        Some(id),
        actor,
    )?;
    diesel::update(orders::table.find(id))
        .set((
            orders::status.eq(next),
            orders::closed_at.eq(now),
            orders::closed_by.eq(actor),
        ))
        .execute(conn)?;
    Ok(Ok(get(conn, id)?))
}

/// Cancels (or expires) a reserved order: refund and release in one
/// transaction. Run inside the caller's write transaction.
pub fn cancel(
    conn: &mut DbConnection,
    id: &str,
    actor: &str,
    expired: bool,
    now: NaiveDateTime,
    allowed: Check<'_, OrderScope>,
) -> Result<OrderRow, DomainError> {
    let step = if expired {
        OrderStep::Expire
    } else {
        OrderStep::Cancel
    };
    let (order, next) = locked_for(conn, id, step, allowed)?;
    stock::apply(
        conn,
        &order.site_id,
        &order.item_id,
        MovementKind::Release,
        order.quantity,
        next.as_str(),
        Some(id),
        actor,
    )?;
    let wallet = find_account(conn, AccountKind::VolunteerWallet, &order.volunteer_id)?
        .ok_or(DomainError::NotFound("wallet"))?;
    let sink = find_account(conn, AccountKind::SiteSink, &order.site_id)?
        .ok_or(DomainError::NotFound("site account"))?;
    let reason = if expired {
        "订单超期未领取，退还积分"
    } else {
        "订单取消，退还积分"
    };
    let refund = Transfer::new(TxKind::Refund, reason)
        .by(actor)
        .once(format!("refund:{id}"))
        .moving(
            Asset::Point,
            Amount::from_units(order.points),
            sink.id,
            wallet.id,
        )
        .post_in(conn)?;
    diesel::update(orders::table.find(id))
        .set((
            orders::status.eq(next),
            orders::refund_transaction_id.eq(&refund.transaction.id),
            orders::closed_at.eq(now),
            orders::closed_by.eq(actor),
        ))
        .execute(conn)?;
    get(conn, id)
}

/// The item is offered at this site of the volunteer's own district, to
/// their star level.
fn may_order(
    conn: &mut DbConnection,
    volunteer: &timebank_directory::Volunteer,
    item: &catalog::ItemRow,
    site_org: &timebank_directory::Org,
) -> Result<(), DomainError> {
    if item.status != ItemStatus::Active {
        return Err(not_here(
            ItemStatus::Retired.as_str(),
            "this item is no longer offered",
        ));
    }
    if !catalog::offered_at(item, site_org) {
        return Err(not_here(
            "not_offered_at_site",
            "this item is not offered at this site",
        ));
    }
    let community = get_org(conn, &volunteer.row.community_id)?;
    if community.district_id.is_none() || community.district_id != site_org.district_id {
        return Err(not_here(
            "other_district",
            "points are spendable at sites in the volunteer's own district",
        ));
    }
    if let Some(required) = item.min_star_level
        && volunteer.row.star_level < required
    {
        return Err(DomainError::refused(
            Code::StarLevelTooLow,
            format!("this item needs {required}★"),
        )
        .with_details(
            serde_json::json!({ "required": required, "current": volunteer.row.star_level }),
        ));
    }
    Ok(())
}

/// The quarter an order placed now counts in, by the volunteer's
/// community's local day.
fn quarter_for(
    conn: &mut DbConnection,
    volunteer: &timebank_directory::Volunteer,
    now: NaiveDateTime,
) -> Result<String, DomainError> {
    let earning = policy::earning(conn, &volunteer.community_path)?;
    Ok(quarter_of(earning.policy.local_day(now)))
}

/// Refuses an order past the item's limit per person per quarter (reserved
/// and handed-out orders count, and `earlier` units ordered in the same
/// pass).
fn within_limit(
    conn: &mut DbConnection,
    volunteer: &timebank_directory::Volunteer,
    item: &catalog::ItemRow,
    quarter: &str,
    earlier: i64,
    quantity: i32,
) -> Result<(), DomainError> {
    let Some(limit) = item.limit_per_person_per_quarter else {
        return Ok(());
    };
    let used: Option<i64> = orders::table
        .filter(orders::volunteer_id.eq(&volunteer.row.user_id))
        .filter(orders::item_id.eq(&item.id))
        .filter(orders::quarter.eq(quarter))
        .filter(orders::status.eq_any([OrderStatus::Reserved, OrderStatus::Fulfilled]))
        .select(diesel::dsl::sum(orders::quantity))
        .first(conn)?;
    let used = used.unwrap_or(0) + earlier;
    if used + i64::from(quantity) > i64::from(limit) {
        return Err(DomainError::refused(
            Code::LimitReached,
            format!("at most {limit} per person per quarter"),
        )
        .with_details(serde_json::json!({ "limit": limit, "used": used, "quarter": quarter })));
    }
    Ok(())
}

/// Expires reserved orders past their pickup window, each in its own
/// transaction (so a crash loses nothing and a re-run repeats nothing).
/// Returns the ids expired.
pub fn expire_due(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    limit: i64,
) -> Result<Vec<String>, DomainError> {
    let due: Vec<String> = orders::table
        .filter(orders::status.eq(OrderStatus::Reserved))
        .filter(orders::expires_at.le(now))
        .order(orders::expires_at.asc())
        .limit(limit)
        .select(orders::id)
        .load(conn)?;
    let mut done = Vec::new();
    for id in due {
        match write_tx(conn, |c| cancel(c, &id, "system", true, now, &anyone)) {
            Ok(_) => done.push(id),
            // Picked up or cancelled meanwhile: nothing to expire.
            Err(e) if e.code().is_some_and(|c| c.class() == Class::Conflict) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

pub fn for_volunteer(
    conn: &mut DbConnection,
    volunteer_id: &str,
    limit: i64,
) -> Result<Vec<OrderRow>, DomainError> {
    Ok(orders::table
        .filter(orders::volunteer_id.eq(volunteer_id))
        .order((orders::created_at.desc(), orders::id.desc()))
        .limit(limit)
        .select(OrderRow::as_select())
        .load(conn)?)
}
