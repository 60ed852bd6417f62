//! The rows behind `Idempotency-Key`: one per (caller, key), reserved with
//! the request's hash before the effect runs and completed with its answer
//! in the same transaction, so a key never answers two different effects.

use std::collections::{HashMap, HashSet};

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

/// One request's key: who sent it, the key, and what the request was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyOf<'a> {
    pub caller: &'a str,
    pub key: &'a str,
    pub request_hash: &'a str,
}

/// A kept answer with its key, as [`find_many`] reads it.
#[derive(QueryableByName)]
struct KeptRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    caller_id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    idem_key: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    request_hash: String,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    status_code: i32,
    #[diesel(sql_type = diesel::sql_types::Text)]
    response_body: String,
}

// Joined pair by pair on the primary key: two `IN` lists (callers, keys)
// would match every key of every caller, then filter.
const SQLITE_FIND_MANY: &str = "SELECT k.caller_id, k.idem_key, k.request_hash, \
     k.status_code, k.response_body FROM (SELECT value ->> 0 AS caller_id, \
     value ->> 1 AS idem_key FROM json_each(?)) AS j \
     JOIN idempotency_keys AS k ON k.caller_id = j.caller_id AND k.idem_key = j.idem_key";

const PG_FIND_MANY: &str = "SELECT k.caller_id, k.idem_key, k.request_hash, \
     k.status_code, k.response_body FROM unnest(?::text[], ?::text[]) AS j(caller_id, idem_key) \
     JOIN idempotency_keys AS k ON k.caller_id = j.caller_id AND k.idem_key = j.idem_key";

/// The answers already kept for any of these keys, in one statement.
pub fn find_many(
    conn: &mut DbConnection,
    wanted: &[KeyOf<'_>],
) -> QueryResult<HashMap<(String, String), StoredAnswer>> {
    if wanted.is_empty() {
        return Ok(HashMap::new());
    }
    let statement = Fixed::columns(
        conn,
        PG_FIND_MANY,
        SQLITE_FIND_MANY,
        Vec::new(),
        key_columns(wanted),
    );
    Ok(statement
        .load::<KeptRow>(conn)?
        .into_iter()
        .map(|r| {
            let answer = StoredAnswer {
                request_hash: r.request_hash,
                status: r.status_code,
                body: r.response_body,
            };
            ((r.caller_id, r.idem_key), answer)
        })
        .collect())
}

#[derive(QueryableByName)]
struct TakenRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    caller_id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    idem_key: String,
}

const SQLITE_RESERVE_MANY: &str = "INSERT INTO idempotency_keys (caller_id, idem_key, \
     request_hash, status_code, response_body, created_at) \
     SELECT value ->> 0, value ->> 1, value ->> 2, 0, '', ? FROM json_each(?) WHERE true \
     ON CONFLICT DO NOTHING RETURNING caller_id, idem_key";

const PG_RESERVE_MANY: &str = "INSERT INTO idempotency_keys (caller_id, idem_key, \
     request_hash, status_code, response_body, created_at) \
     SELECT j.caller_id, j.idem_key, j.request_hash, 0, '', ?::timestamp \
     FROM unnest(?::text[], ?::text[], ?::text[]) WITH ORDINALITY \
     AS j(caller_id, idem_key, request_hash, n) ORDER BY j.n \
     ON CONFLICT DO NOTHING RETURNING caller_id, idem_key";

/// [`reserve`] for several requests at once, in (caller, key) order so
/// that two batches never wait on each other crosswise. Answers the keys
/// taken here; the others are held by an earlier request.
pub fn reserve_many(
    conn: &mut DbConnection,
    wanted: &[KeyOf<'_>],
    now: chrono::NaiveDateTime,
) -> QueryResult<HashSet<(String, String)>> {
    if wanted.is_empty() {
        return Ok(HashSet::new());
    }
    let mut sorted = wanted.to_vec();
    sorted.sort_by(|a, b| (a.caller, a.key).cmp(&(b.caller, b.key)));
    let mut columns = key_columns(&sorted);
    columns.push(sorted.iter().map(|k| k.request_hash.to_owned()).collect());
    let stamp = Param::Text(crate::fixed::sqlite_timestamp(now));
    let statement = Fixed::columns(
        conn,
        PG_RESERVE_MANY,
        SQLITE_RESERVE_MANY,
        vec![stamp],
        columns,
    );
    Ok(statement
        .load::<TakenRow>(conn)?
        .into_iter()
        .map(|t| (t.caller_id, t.idem_key))
        .collect())
}

const SQLITE_RECORD_MANY: &str = "UPDATE idempotency_keys SET status_code = j.status, \
     response_body = j.body FROM (SELECT value ->> 0 AS caller_id, value ->> 1 AS idem_key, \
     value ->> 2 AS status, value ->> 3 AS body FROM json_each(?)) AS j \
     WHERE idempotency_keys.caller_id = j.caller_id AND idempotency_keys.idem_key = j.idem_key";

const PG_RECORD_MANY: &str = "UPDATE idempotency_keys SET status_code = j.status::integer, \
     response_body = j.body \
     FROM unnest(?::text[], ?::text[], ?::text[], ?::text[]) AS j(caller_id, idem_key, status, body) \
     WHERE idempotency_keys.caller_id = j.caller_id AND idempotency_keys.idem_key = j.idem_key";

/// [`record`] for several keys, in one statement.
pub fn record_many(conn: &mut DbConnection, answers: &[(KeyOf<'_>, i32, &str)]) -> QueryResult<()> {
    if answers.is_empty() {
        return Ok(());
    }
    let keys: Vec<KeyOf<'_>> = answers.iter().map(|a| a.0.clone()).collect();
    let mut columns = key_columns(&keys);
    columns.push(answers.iter().map(|a| a.1.to_string()).collect());
    columns.push(answers.iter().map(|a| a.2.to_owned()).collect());
    let statement = Fixed::columns(
        conn,
        PG_RECORD_MANY,
        SQLITE_RECORD_MANY,
        Vec::new(),
        columns,
    );
    statement.execute(conn)?;
    Ok(())
}

const SQLITE_RELEASE_MANY: &str = "DELETE FROM idempotency_keys WHERE status_code = 0 \
     AND (caller_id, idem_key) IN (SELECT value ->> 0, value ->> 1 FROM json_each(?))";

const PG_RELEASE_MANY: &str = "DELETE FROM idempotency_keys \
     USING unnest(?::text[], ?::text[]) AS j(caller_id, idem_key) \
     WHERE idempotency_keys.caller_id = j.caller_id \
     AND idempotency_keys.idem_key = j.idem_key AND idempotency_keys.status_code = 0";

/// Frees keys reserved for requests that were refused (a refusal is not
/// kept: the request may be sent again).
pub fn release_many(conn: &mut DbConnection, keys: &[KeyOf<'_>]) -> QueryResult<()> {
    if keys.is_empty() {
        return Ok(());
    }
    let statement = Fixed::columns(
        conn,
        PG_RELEASE_MANY,
        SQLITE_RELEASE_MANY,
        Vec::new(),
        key_columns(keys),
    );
    statement.execute(conn)?;
    Ok(())
}

/// Callers and keys, as two columns.
fn key_columns(keys: &[KeyOf<'_>]) -> Vec<Vec<String>> {
    vec![
        keys.iter().map(|k| k.caller.to_owned()).collect(),
        keys.iter().map(|k| k.key.to_owned()).collect(),
    ]
}
