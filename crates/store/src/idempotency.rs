//! The rows behind `Idempotency-Key`: one per (caller, key), with the
//! request's hash and the answer, written in the transaction of the effect,
//! so a key never answers two different effects.

use diesel::prelude::*;

use crate::DbConnection;
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

/// A key's answer as it is kept.
pub struct Answer<'a> {
    pub caller: &'a str,
    pub key: &'a str,
    pub request_hash: &'a str,
    pub status: i32,
    pub body: &'a str,
}

/// Keeps the answer given for the key, in the transaction of its effect; a
/// second taker of the key fails on the primary key.
pub fn keep(
    conn: &mut DbConnection,
    a: &Answer<'_>,
    now: chrono::NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(keys::table)
        .values((
            keys::caller_id.eq(a.caller),
            keys::idem_key.eq(a.key),
            keys::request_hash.eq(a.request_hash),
            keys::status_code.eq(a.status),
            keys::response_body.eq(a.body),
            keys::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}
