//! The rows behind `Idempotency-Key`: one per (caller, key), reserved with
//! the request's hash before the effect runs and completed with its answer
//! in the same transaction, so a key never answers two different effects.

use diesel::prelude::*;

use crate::DbConnection;
use crate::fixed::{Fixed, Param};
use crate::schema::idempotency_keys as keys;

/// What a key holds: the request it was first used with and its answer
/// (status 0 while reserved).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    pub request_hash: String,
    pub status: i32,
    pub body: String,
}

pub fn find(conn: &mut DbConnection, caller: &str, key: &str) -> QueryResult<Option<StoredAnswer>> {
    Ok(keys::table
        .find((caller, key))
        .select((keys::request_hash, keys::status_code, keys::response_body))
        .first::<(String, i32, String)>(conn)
        .optional()?
        .map(|(request_hash, status, body)| StoredAnswer {
            request_hash,
            status,
            body,
        }))
}

/// Takes the key for this request, or answers `false` if it is taken. On
/// Postgres a twin's reservation not yet committed is waited for first
/// (then it is taken, or, rolled back, free again).
pub fn reserve(
    conn: &mut DbConnection,
    caller: &str,
    key: &str,
    request_hash: &str,
    now: chrono::NaiveDateTime,
) -> QueryResult<bool> {
    let insert = diesel::insert_into(keys::table)
        .values((
            keys::caller_id.eq(caller),
            keys::idem_key.eq(key),
            keys::request_hash.eq(request_hash),
            keys::status_code.eq(0),
            keys::response_body.eq(""),
            keys::created_at.eq(now),
        ))
        .on_conflict_do_nothing();
    let taken = crate::on_backend!(conn, c => insert.execute(c))?;
    Ok(taken == 1)
}

/// Keeps the answer given for the key.
pub fn record(
    conn: &mut DbConnection,
    caller: &str,
    key: &str,
    status: i32,
    body: &str,
) -> QueryResult<()> {
    Fixed::new(
        "UPDATE idempotency_keys SET status_code = ?, response_body = ? \
         WHERE caller_id = ? AND idem_key = ?",
        vec![
            Param::Integer(status),
            Param::Text(body.to_owned()),
            Param::Text(caller.to_owned()),
            Param::Text(key.to_owned()),
        ],
    )
    .execute(conn)?;
    Ok(())
}
