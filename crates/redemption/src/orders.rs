//! Orders: reserve stock and debit points at once, hand out with a pickup
//! code at the site, refund and release on cancel or expiry.
//!
//! Lock order, the same everywhere: volunteer or order row, then the stock
//! row (by its conditional update), then ledger accounts.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use timebank_directory::{get_org, get_volunteer, lock_volunteer};
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

/// Places an order. Run inside the caller's write transaction.
pub fn place(
    conn: &mut DbConnection,
    volunteer_id: &str,
    item_id: &str,
    site_id: &str,
    quantity: i32,
    now: NaiveDateTime,
) -> Result<OrderRow, DomainError> {
    let volunteer = lock_volunteer(conn, volunteer_id)?;
    volunteer.row.require_active(now)?;
    let (site, site_org) = sites::get_with_org(conn, site_id)?;
    let item = catalog::get(conn, item_id)?;
    may_order(conn, &volunteer, &item, &site_org)?;
    let quarter = within_limit(conn, &volunteer, &item, quantity, now)?;
    let points = item
        .points_price
        .checked_mul(i64::from(quantity))
        .map(Amount::from_units)
        .ok_or_else(|| DomainError::refused(Code::AmountTooLarge, "amount too large"))?;
    let id = timebank_store::new_id();
    stock::apply(
        conn,
        &site.id,
        &item.id,
        MovementKind::Reservation,
        quantity,
        "order",
        Some(&id),
        volunteer_id,
    )?;
    let wallet = find_account(conn, AccountKind::VolunteerWallet, volunteer_id)?
        .ok_or(DomainError::NotFound("wallet"))?;
    let sink = open_account(conn, AccountKind::SiteSink, &site.id, &site_org.path)?;
    let reason = format!("兑换：{} × {quantity}（{}）", item.name, site.name);
    let posted = Transfer::new(TxKind::Redeem, reason)
        .by(volunteer_id)
        .once(format!("order:{id}"))
        .moving(Asset::Point, points, wallet.id, sink.id)
        .post_fresh_in(conn)?;
    let spending = policy::spending(conn, &volunteer.community_path)?;
    // The row as stored, built here rather than read back.
    let order = OrderRow {
        id,
        volunteer_id: volunteer_id.to_owned(),
        site_id: site.id,
        item_id: item.id,
        quantity,
        points: points.units(),
        quarter,
        status: OrderStatus::Reserved,
        pickup_code: six_digits()?,
        wrong_attempts: 0,
        locked_until: None,
        expires_at: now + Duration::days(i64::from(spending.policy.order_pickup_days)),
        transaction_id: posted.transaction.id,
        refund_transaction_id: None,
        created_at: now,
        closed_at: None,
        closed_by: None,
    };
    diesel::insert_into(orders::table)
        .values((
            orders::id.eq(&order.id),
            orders::volunteer_id.eq(&order.volunteer_id),
            orders::site_id.eq(&order.site_id),
            orders::item_id.eq(&order.item_id),
            orders::quantity.eq(order.quantity),
            orders::points.eq(order.points),
            orders::quarter.eq(&order.quarter),
            orders::status.eq(order.status),
            orders::pickup_code.eq(&order.pickup_code),
            orders::wrong_attempts.eq(order.wrong_attempts),
            orders::expires_at.eq(order.expires_at),
            orders::transaction_id.eq(&order.transaction_id),
            orders::created_at.eq(order.created_at),
        ))
        .execute(conn)?;
    Ok(order)
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

/// The quarter this order counts in, once it is within the item's limit
/// per person per quarter (reserved and handed-out orders count).
fn within_limit(
    conn: &mut DbConnection,
    volunteer: &timebank_directory::Volunteer,
    item: &catalog::ItemRow,
    quantity: i32,
    now: NaiveDateTime,
) -> Result<String, DomainError> {
    let earning = policy::earning(conn, &volunteer.community_path)?;
    let quarter = quarter_of(earning.policy.local_day(now));
    let Some(limit) = item.limit_per_person_per_quarter else {
        return Ok(quarter);
    };
    let used: Option<i64> = orders::table
        .filter(orders::volunteer_id.eq(&volunteer.row.user_id))
        .filter(orders::item_id.eq(&item.id))
        .filter(orders::quarter.eq(&quarter))
        .filter(orders::status.eq_any([OrderStatus::Reserved, OrderStatus::Fulfilled]))
        .select(diesel::dsl::sum(orders::quantity))
        .first(conn)?;
    let used = used.unwrap_or(0);
    if used + i64::from(quantity) > i64::from(limit) {
        return Err(DomainError::refused(
            Code::LimitReached,
            format!("at most {limit} per person per quarter"),
        )
        .with_details(serde_json::json!({ "limit": limit, "used": used, "quarter": quarter })));
    }
    Ok(quarter)
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
