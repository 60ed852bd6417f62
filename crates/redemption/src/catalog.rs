//! The goods catalog (爱心物资): items owned by an org, offered at every site
//! in its subtree, with an optional minimum star level and a per-person
//! limit per quarter.

use std::sync::LazyLock;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use timebank_directory::{Org, path_ids};
use timebank_kernel::{Code, DomainError};
use timebank_ledger::Amount;
use timebank_rules::states::{ItemStatus, ItemStep};
use timebank_store::DbConnection;
use timebank_store::generation::REFERENCE;
use timebank_store::memo::Memo;
use timebank_store::schema::{catalog_items, stock_levels};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = catalog_items)]
pub struct ItemRow {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub description: String,
    pub points_price: i64,
    pub min_star_level: Option<i32>,
    pub limit_per_person_per_quarter: Option<i32>,
    #[diesel(deserialize_as = String)]
    pub status: ItemStatus,
    pub created_by: String,
    pub created_at: NaiveDateTime,
}

pub struct NewItem {
    pub name: String,
    pub description: String,
    pub points_price: Amount,
    pub min_star_level: Option<i32>,
    pub limit_per_person_per_quarter: Option<i32>,
}

pub fn create(
    conn: &mut DbConnection,
    org: &Org,
    new: NewItem,
    actor: &str,
) -> Result<ItemRow, DomainError> {
    if !new.points_price.is_positive() {
        return Err(DomainError::refused(
            Code::ValidationFailed,
            "points_price must be above zero",
        )
        .with_details(serde_json::json!({ "fields": { "points_price": ["range"] } })));
    }
    let id = timebank_store::new_id();
    diesel::insert_into(catalog_items::table)
        .values((
            catalog_items::id.eq(&id),
            catalog_items::org_id.eq(&org.id),
            catalog_items::name.eq(&new.name),
            catalog_items::description.eq(&new.description),
            catalog_items::points_price.eq(new.points_price.units()),
            catalog_items::min_star_level.eq(new.min_star_level),
            catalog_items::limit_per_person_per_quarter.eq(new.limit_per_person_per_quarter),
            catalog_items::status.eq(ItemStatus::Active),
            catalog_items::created_by.eq(actor),
            catalog_items::created_at.eq(timebank_store::now()),
        ))
        .execute(conn)?;
    REFERENCE.touch();
    get(conn, &id)
}

/// Items change only when retired (which moves the reference generation),
/// so they are kept in memory.
pub fn get(conn: &mut DbConnection, id: &str) -> Result<ItemRow, DomainError> {
    static MEMO: LazyLock<Memo<ItemRow>> = LazyLock::new(|| Memo::new(&REFERENCE));
    let found = MEMO.find_or_load(id, || {
        catalog_items::table
            .find(id)
            .select(ItemRow::as_select())
            .first(conn)
            .optional()
    })?;
    found
        .map(|item| (*item).clone())
        .ok_or(DomainError::NotFound("catalog item"))
}

/// Retires an item, if `allowed` over the org that offers it.
pub fn retire(
    conn: &mut DbConnection,
    id: &str,
    allowed: timebank_kernel::Check<'_, Org>,
) -> Result<ItemRow, DomainError> {
    let item = get(conn, id)?;
    if !allowed(&timebank_directory::get_org(conn, &item.org_id)?) {
        return Err(DomainError::forbidden());
    }
    let changed = diesel::update(
        catalog_items::table
            .find(id)
            .filter(catalog_items::status.eq_any(ItemStep::Retire.from_states())),
    )
    .set(catalog_items::status.eq(ItemStep::Retire.to()))
    .execute(conn)?;
    REFERENCE.touch();
    let item = get(conn, id)?;
    if changed == 0 {
        return Err(DomainError::refused(
            Code::InvalidState,
            "the item is already retired",
        ));
    }
    Ok(item)
}

/// Whether an item is offered at a site of `site_org`: it is owned by that
/// org or one of its ancestors.
pub fn offered_at(item: &ItemRow, site_org: &Org) -> bool {
    path_ids(&site_org.path).contains(&item.org_id.as_str())
}

/// Active items offered at a site, with the stock there.
pub fn at_site(
    conn: &mut DbConnection,
    site_id: &str,
    site_org: &Org,
) -> Result<Vec<(ItemRow, i32, i32)>, DomainError> {
    let ids: Vec<&str> = path_ids(&site_org.path);
    let rows: Vec<(ItemRow, Option<i32>, Option<i32>)> = catalog_items::table
        .left_join(
            stock_levels::table.on(stock_levels::item_id
                .eq(catalog_items::id)
                .and(stock_levels::site_id.eq(site_id))),
        )
        .filter(catalog_items::org_id.eq_any(ids))
        .filter(catalog_items::status.eq(ItemStatus::Active))
        .order((catalog_items::name.asc(), catalog_items::id.asc()))
        .select((
            ItemRow::as_select(),
            stock_levels::available.nullable(),
            stock_levels::reserved.nullable(),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(item, a, r)| (item, a.unwrap_or(0), r.unwrap_or(0)))
        .collect())
}
