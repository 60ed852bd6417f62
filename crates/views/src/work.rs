//! The queues staff work through: case awards to decide, micro-wishes to
//! claim, orders waiting at a site.

use diesel::prelude::*;
use timebank_earning::cases::CaseAwardRow;
use timebank_kernel::DomainError;
use timebank_redemption::orders::OrderRow;
use timebank_rules::states::{AwardStatus, OrderStatus, WishStatus};
use timebank_services::wishes::WishRow;
use timebank_store::DbConnection;
use timebank_store::schema::{
    case_awards, case_rules, catalog_items, orders, users, volunteers, wishes,
};

use crate::{After, Page, Scope};

/// A case award with what a reviewer needs beside it.
pub struct AwardItem {
    pub row: CaseAwardRow,
    pub volunteer_name: String,
    pub rule_name: String,
    pub points: i64,
    pub hours: i64,
}

pub fn case_awards(
    conn: &mut DbConnection,
    scope: &Scope,
    status: Option<AwardStatus>,
    after: Option<&After>,
    limit: i64,
) -> Result<Page<AwardItem>, DomainError> {
    let mut q = case_awards::table
        .inner_join(volunteers::table.on(volunteers::user_id.eq(case_awards::volunteer_id)))
        .inner_join(users::table.on(users::id.eq(case_awards::volunteer_id)))
        .inner_join(case_rules::table.on(case_rules::id.eq(case_awards::rule_id)))
        .filter(volunteers::community_id.eq_any(&scope.community_ids))
        .select((
            CaseAwardRow::as_select(),
            users::name,
            case_rules::name,
            case_rules::points,
            case_rules::hours,
        ))
        .into_boxed();
    if let Some(status) = status {
        q = q.filter(case_awards::status.eq(status));
    }
    if let Some(a) = after {
        q = q.filter(
            case_awards::created_at.lt(a.at).or(case_awards::created_at
                .eq(a.at)
                .and(case_awards::id.lt(a.id.clone()))),
        );
    }
    let rows: Vec<(CaseAwardRow, String, String, i64, i64)> = q
        .order((case_awards::created_at.desc(), case_awards::id.desc()))
        .limit(limit + 1)
        .load(conn)?;
    let items = rows
        .into_iter()
        .map(
            |(row, volunteer_name, rule_name, points, hours)| AwardItem {
                row,
                volunteer_name,
                rule_name,
                points,
                hours,
            },
        )
        .collect();
    Ok(Page::from_rows(items, limit, |i: &AwardItem| {
        After::new(i.row.created_at, &i.row.id)
    }))
}

pub fn wishes(
    conn: &mut DbConnection,
    community_ids: &[String],
    status: Option<WishStatus>,
    after: Option<&After>,
    limit: i64,
) -> Result<Page<WishRow>, DomainError> {
    let mut q = wishes::table
        .filter(wishes::community_id.eq_any(community_ids))
        .select(WishRow::as_select())
        .into_boxed();
    if let Some(status) = status {
        q = q.filter(wishes::status.eq(status));
    }
    if let Some(a) = after {
        q = q.filter(
            wishes::created_at
                .lt(a.at)
                .or(wishes::created_at.eq(a.at).and(wishes::id.lt(a.id.clone()))),
        );
    }
    let rows = q
        .order((wishes::created_at.desc(), wishes::id.desc()))
        .limit(limit + 1)
        .load(conn)?;
    Ok(Page::from_rows(rows, limit, |w: &WishRow| {
        After::new(w.created_at, &w.id)
    }))
}

/// An order in a site's queue, with who ordered and what.
pub struct SiteOrder {
    pub row: OrderRow,
    pub volunteer_name: String,
    pub volunteer_phone: String,
    pub item_name: String,
}

pub fn site_orders(
    conn: &mut DbConnection,
    site_id: &str,
    status: Option<OrderStatus>,
    after: Option<&After>,
    limit: i64,
) -> Result<Page<SiteOrder>, DomainError> {
    let mut q = orders::table
        .inner_join(users::table.on(users::id.eq(orders::volunteer_id)))
        .inner_join(catalog_items::table.on(catalog_items::id.eq(orders::item_id)))
        .filter(orders::site_id.eq(site_id.to_owned()))
        .select((
            OrderRow::as_select(),
            users::name,
            users::phone,
            catalog_items::name,
        ))
        .into_boxed();
    if let Some(status) = status {
        q = q.filter(orders::status.eq(status));
    }
    if let Some(a) = after {
        q = q.filter(
            orders::created_at
                .lt(a.at)
                .or(orders::created_at.eq(a.at).and(orders::id.lt(a.id.clone()))),
        );
    }
    let rows: Vec<(OrderRow, String, String, String)> = q
        .order((orders::created_at.desc(), orders::id.desc()))
        .limit(limit + 1)
        .load(conn)?;
    let items = rows
        .into_iter()
        .map(
            |(row, volunteer_name, volunteer_phone, item_name)| SiteOrder {
                row,
                volunteer_name,
                volunteer_phone,
                item_name,
            },
        )
        .collect();
    Ok(Page::from_rows(items, limit, |o: &SiteOrder| {
        After::new(o.row.created_at, &o.row.id)
    }))
}
