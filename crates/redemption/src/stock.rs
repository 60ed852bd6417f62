//! Stock per site and item: changed only by appending a movement and, in
//! the same transaction, a conditional update of the cached level that
//! refuses to take it below zero — atomic on both backends without a
//! separate lock.

use std::collections::HashMap;

use diesel::prelude::*;
use timebank_kernel::{Code, DomainError};
use timebank_ledger::Problem;
use timebank_store::fixed::{Fixed, Param, sqlite_timestamp};
use timebank_store::schema::{stock_levels, stock_movements};
use timebank_store::{DbConnection, is_unique_violation, write_tx};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MovementKind {
    Restock,
    Correction,
    Reservation,
    Release,
    Handout,
}

impl MovementKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Restock => "restock",
            Self::Correction => "correction",
            Self::Reservation => "reservation",
            Self::Release => "release",
            Self::Handout => "handout",
        }
    }

    /// (available, reserved) change for `quantity` units.
    fn deltas(self, quantity: i32) -> (i32, i32) {
        match self {
            Self::Restock | Self::Correction => (quantity, 0),
            Self::Reservation => (-quantity, quantity),
            Self::Release => (quantity, -quantity),
            Self::Handout => (0, -quantity),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Level {
    pub available: i32,
    pub reserved: i32,
}

pub fn level(conn: &mut DbConnection, site_id: &str, item_id: &str) -> Result<Level, DomainError> {
    let row: Option<(i32, i32)> = stock_levels::table
        .find((site_id, item_id))
        .select((stock_levels::available, stock_levels::reserved))
        .first(conn)
        .optional()?;
    let (available, reserved) = row.unwrap_or((0, 0));
    Ok(Level {
        available,
        reserved,
    })
}

fn ensure_level_row(
    conn: &mut DbConnection,
    site_id: &str,
    item_id: &str,
) -> Result<(), DomainError> {
    let exists = stock_levels::table
        .find((site_id, item_id))
        .select(stock_levels::site_id)
        .first::<String>(conn)
        .optional()?
        .is_some();
    if exists {
        return Ok(());
    }
    // A savepoint, so a concurrent first restock's row is simply reused.
    let inserted = write_tx(conn, |c| {
        diesel::insert_into(stock_levels::table)
            .values((
                stock_levels::site_id.eq(site_id),
                stock_levels::item_id.eq(item_id),
                stock_levels::available.eq(0),
                stock_levels::reserved.eq(0),
            ))
            .execute(c)
    });
    match inserted {
        Ok(_) => Ok(()),
        Err(e) if is_unique_violation(&e) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// An operator's restock (a positive delta) or correction (a negative one)
/// of an item offered at the site.
pub fn change(
    conn: &mut DbConnection,
    site_id: &str,
    item_id: &str,
    delta: i32,
    reason: &str,
    actor: &str,
    allowed: timebank_kernel::Check<'_, crate::sites::SiteScope>,
) -> Result<Level, DomainError> {
    let (site, org) = crate::sites::get_allowed(conn, site_id, allowed)?;
    let item = crate::catalog::get(conn, item_id)?;
    if !crate::catalog::offered_at(&item, &org) {
        return Err(DomainError::refused(
            Code::ItemNotAvailableHere,
            "this item is not offered at this site",
        ));
    }
    let kind = if delta > 0 {
        MovementKind::Restock
    } else {
        MovementKind::Correction
    };
    write_tx(conn, |c| {
        apply(c, &site.id, &item.id, kind, delta, reason, None, actor)
    })
}

/// The level after a movement, unless it would go below zero.
const MOVE_LEVEL: &str = "UPDATE stock_levels SET available = available + ?, reserved = reserved + ? \
     WHERE site_id = ? AND item_id = ? AND available + ? >= 0 AND reserved + ? >= 0 \
     RETURNING available, reserved";

const LOG_MOVEMENT: &str = "INSERT INTO stock_movements (id, site_id, item_id, kind, \
     delta_available, delta_reserved, reason, order_id, actor_id, created_at) \
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

/// Postgres: the level moved and the movement logged in one round trip
/// (nothing is logged if the level would go below zero).
const PG_MOVE: &str = "WITH moved AS (UPDATE stock_levels \
     SET available = available + ?, reserved = reserved + ? \
     WHERE site_id = ? AND item_id = ? AND available + ? >= 0 AND reserved + ? >= 0 \
     RETURNING available, reserved), \
     logged AS (INSERT INTO stock_movements (id, site_id, item_id, kind, delta_available, \
     delta_reserved, reason, order_id, actor_id, created_at) \
     SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::timestamp FROM moved) \
     SELECT available, reserved FROM moved";

#[derive(QueryableByName)]
struct LevelRow {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    available: i32,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    reserved: i32,
}

/// Moves stock; refuses with `out_of_stock` rather than go below zero.
/// Run inside the caller's write transaction.
#[allow(clippy::too_many_arguments)]
pub fn apply(
    conn: &mut DbConnection,
    site_id: &str,
    item_id: &str,
    kind: MovementKind,
    quantity: i32,
    reason: &str,
    order_id: Option<&str>,
    actor: &str,
) -> Result<Level, DomainError> {
    let (d_available, d_reserved) = kind.deltas(quantity);
    if matches!(kind, MovementKind::Restock | MovementKind::Correction) {
        ensure_level_row(conn, site_id, item_id)?;
    }
    let mut params = vec![
        Param::Integer(d_available),
        Param::Integer(d_reserved),
        Param::Text(site_id.to_owned()),
        Param::Text(item_id.to_owned()),
        Param::Integer(d_available),
        Param::Integer(d_reserved),
    ];
    let movement = [
        Param::Text(timebank_store::new_id()),
        Param::Text(site_id.to_owned()),
        Param::Text(item_id.to_owned()),
        Param::Text(kind.as_str().to_owned()),
        Param::Integer(d_available),
        Param::Integer(d_reserved),
        Param::Text(reason.to_owned()),
        Param::NullableText(order_id.map(str::to_owned)),
        Param::Text(actor.to_owned()),
        Param::Text(sqlite_timestamp(timebank_store::now())),
    ];
    let pg = matches!(conn, DbConnection::Pg(_));
    if pg {
        params.extend(movement.iter().cloned());
    }
    let after = Fixed::new(if pg { PG_MOVE } else { MOVE_LEVEL }, params)
        .load::<LevelRow>(conn)?
        .pop();
    let Some(LevelRow {
        available,
        reserved,
    }) = after
    else {
        let now = level(conn, site_id, item_id)?;
        return Err(DomainError::refused(
            Code::OutOfStock,
            format!(
                "not enough stock at this site: {} available, {} requested",
                now.available,
                quantity.abs()
            ),
        )
        .with_details(
            serde_json::json!({ "available": now.available, "requested": quantity.abs() }),
        ));
    };
    if !pg {
        Fixed::new(LOG_MOVEMENT, movement.into()).execute(conn)?;
    }
    Ok(Level {
        available,
        reserved,
    })
}

#[derive(QueryableByName)]
struct Available {
    #[diesel(sql_type = diesel::sql_types::Text)]
    site_id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    item_id: String,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    available: i32,
}

const SQLITE_AVAILABLE: &str = "SELECT s.site_id, s.item_id, s.available \
     FROM (SELECT value ->> 0 AS site_id, value ->> 1 AS item_id FROM json_each(?)) AS j \
     JOIN stock_levels AS s ON s.site_id = j.site_id AND s.item_id = j.item_id";

const PG_AVAILABLE: &str = "SELECT s.site_id, s.item_id, s.available \
     FROM unnest(?::text[], ?::text[]) AS j(site_id, item_id) \
     JOIN stock_levels AS s ON s.site_id = j.site_id AND s.item_id = j.item_id \
     ORDER BY s.site_id, s.item_id FOR UPDATE OF s";

/// The units available for each (site, item), their level rows locked
/// (in that order) until the transaction ends — on SQLite the one writer
/// holds the whole database. A pair with no level has none available.
pub fn available_for_update(
    conn: &mut DbConnection,
    pairs: &[(&str, &str)],
) -> Result<HashMap<(String, String), i32>, DomainError> {
    if pairs.is_empty() {
        return Ok(HashMap::new());
    }
    let columns = vec![
        pairs.iter().map(|p| p.0.to_owned()).collect(),
        pairs.iter().map(|p| p.1.to_owned()).collect(),
    ];
    let statement = Fixed::columns(conn, PG_AVAILABLE, SQLITE_AVAILABLE, Vec::new(), columns);
    Ok(statement
        .load::<Available>(conn)?
        .into_iter()
        .map(|a| ((a.site_id, a.item_id), a.available))
        .collect())
}

/// A reservation for one order: where, what, how many, for which order
/// and who placed it.
pub struct Reservation<'a> {
    pub site_id: &'a str,
    pub item_id: &'a str,
    pub quantity: i32,
    pub order_id: &'a str,
    pub actor: &'a str,
}

const SQLITE_RESERVE: &str = "UPDATE stock_levels SET available = available - j.n, \
     reserved = reserved + j.n \
     FROM (SELECT value ->> 0 AS site_id, value ->> 1 AS item_id, value ->> 2 AS n \
     FROM json_each(?)) AS j \
     WHERE stock_levels.site_id = j.site_id AND stock_levels.item_id = j.item_id \
     AND stock_levels.available - j.n >= 0";

const PG_RESERVE: &str = "UPDATE stock_levels SET available = available - j.n::integer, \
     reserved = reserved + j.n::integer \
     FROM unnest(?::text[], ?::text[], ?::text[]) AS j(site_id, item_id, n) \
     WHERE stock_levels.site_id = j.site_id AND stock_levels.item_id = j.item_id \
     AND stock_levels.available - j.n::integer >= 0";

/// Reserves units for several orders: each level moves once by its total
/// (refused below zero, as [`apply`] is) and each order's movement is
/// logged. Run inside the caller's write transaction.
pub fn reserve_many(
    conn: &mut DbConnection,
    reservations: &[Reservation<'_>],
) -> Result<(), DomainError> {
    let mut totals: std::collections::BTreeMap<(&str, &str), i64> = Default::default();
    for r in reservations {
        *totals.entry((r.site_id, r.item_id)).or_default() += i64::from(r.quantity);
    }
    if totals.is_empty() {
        return Ok(());
    }
    let columns = vec![
        totals.keys().map(|k| k.0.to_owned()).collect(),
        totals.keys().map(|k| k.1.to_owned()).collect(),
        totals.values().map(i64::to_string).collect(),
    ];
    let statement = Fixed::columns(conn, PG_RESERVE, SQLITE_RESERVE, Vec::new(), columns);
    if statement.execute(conn)? != totals.len() {
        return Err(DomainError::refused(
            Code::OutOfStock,
            "not enough stock at this site",
        ));
    }
    let now = timebank_store::now();
    let kind = MovementKind::Reservation.as_str();
    let rows: Vec<_> = reservations
        .iter()
        .map(|r| {
            let (d_available, d_reserved) = MovementKind::Reservation.deltas(r.quantity);
            (
                stock_movements::id.eq(timebank_store::new_id()),
                stock_movements::site_id.eq(r.site_id),
                stock_movements::item_id.eq(r.item_id),
                stock_movements::kind.eq(kind),
                stock_movements::delta_available.eq(d_available),
                stock_movements::delta_reserved.eq(d_reserved),
                stock_movements::reason.eq("order"),
                stock_movements::order_id.eq(Some(r.order_id)),
                stock_movements::actor_id.eq(r.actor),
                stock_movements::created_at.eq(now),
            )
        })
        .collect();
    for chunk in rows.chunks(timebank_store::ROWS_PER_STATEMENT) {
        let insert = diesel::insert_into(stock_movements::table).values(chunk);
        timebank_store::on_backend!(conn, c => insert.execute(c))?;
    }
    Ok(())
}

/// Every stock level must equal the sum of its movements.
pub fn verify(conn: &mut DbConnection) -> Result<Vec<Problem>, DomainError> {
    use diesel::dsl::sum;
    let sums: Vec<(String, String, Option<i64>, Option<i64>)> = stock_movements::table
        .group_by((stock_movements::site_id, stock_movements::item_id))
        .select((
            stock_movements::site_id,
            stock_movements::item_id,
            sum(stock_movements::delta_available),
            sum(stock_movements::delta_reserved),
        ))
        .load(conn)?;
    let levels: Vec<(String, String, i32, i32)> = stock_levels::table
        .select((
            stock_levels::site_id,
            stock_levels::item_id,
            stock_levels::available,
            stock_levels::reserved,
        ))
        .load(conn)?;
    let mut problems = Vec::new();
    let mut expected: std::collections::HashMap<(String, String), (i64, i64)> = sums
        .into_iter()
        .map(|(s, i, a, r)| ((s, i), (a.unwrap_or(0), r.unwrap_or(0))))
        .collect();
    for (site, item, available, reserved) in levels {
        let (a, r) = expected
            .remove(&(site.clone(), item.clone()))
            .unwrap_or((0, 0));
        if (i64::from(available), i64::from(reserved)) != (a, r) {
            problems.push(Problem {
                code: "stock_mismatch",
                message: format!("site {site} item {item}: stock {available}/{reserved} but movements sum to {a}/{r}"),
                account_id: None,
                transaction_id: None,
                posting_id: None,
            });
        }
    }
    for ((site, item), (a, r)) in expected {
        if (a, r) != (0, 0) {
            problems.push(Problem {
                code: "stock_mismatch",
                message: format!(
                    "site {site} item {item}: movements sum to {a}/{r} but there is no stock level"
                ),
                account_id: None,
                transaction_id: None,
                posting_id: None,
            });
        }
    }
    Ok(problems)
}
