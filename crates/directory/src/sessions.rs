//! Sign-in sessions: refresh tokens, stored as hashes, rotated on use. A
//! family is every token rotated from one sign-in; a spent token presented
//! again is a sign of theft and ends its family. The tokens themselves
//! (random, hashed) are made by the caller.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use timebank_store::schema::{refresh_tokens as rt, users};
use timebank_store::{DbConnection, write_tx};

use timebank_kernel::DomainError;

/// A refresh token lives 30 days unless rotated or revoked first.
pub const REFRESH_TTL_SECS: i64 = 30 * 24 * 3600;

/// (user id, name, password hash) of the user with this phone.
pub fn user_by_phone(
    conn: &mut DbConnection,
    phone: &str,
) -> Result<Option<(String, String, String)>, DomainError> {
    Ok(users::table
        .filter(users::phone.eq(phone))
        .select((users::id, users::name, users::password_hash))
        .first(conn)
        .optional()?)
}

/// Stores a new token (by its hash) in `family_id`.
pub fn store(
    conn: &mut DbConnection,
    user_id: &str,
    family_id: &str,
    token_hash: &str,
    now: NaiveDateTime,
) -> Result<(), DomainError> {
    diesel::insert_into(rt::table)
        .values((
            rt::id.eq(timebank_store::new_id()),
            rt::user_id.eq(user_id),
            rt::family_id.eq(family_id),
            rt::token_hash.eq(token_hash),
            rt::created_at.eq(now),
            rt::expires_at.eq(now + Duration::seconds(REFRESH_TTL_SECS)),
        ))
        .execute(conn)?;
    Ok(())
}

/// What presenting a refresh token came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// Spent; `new_hash` now stands in its family for (user id, name).
    Rotated { user_id: String, name: String },
    /// Unknown or expired.
    Invalid,
    /// Revoked without being used: signed out, or a password was set.
    SignedOut,
    /// Spent before: its whole family is now revoked.
    Reused,
}

/// Spends the token hashed `presented` for the one hashed `new_hash`. The
/// revocation of a reused token's family commits although the call fails.
pub fn rotate(
    conn: &mut DbConnection,
    presented: &str,
    new_hash: &str,
    now: NaiveDateTime,
) -> Result<Rotation, DomainError> {
    write_tx(conn, |c| {
        let row = rt::table
            .filter(rt::token_hash.eq(presented))
            .select((
                rt::id,
                rt::user_id,
                rt::family_id,
                rt::expires_at,
                rt::used_at,
                rt::revoked_at,
            ))
            .first::<(
                String,
                String,
                String,
                NaiveDateTime,
                Option<NaiveDateTime>,
                Option<NaiveDateTime>,
            )>(c)
            .optional()?;
        let Some((id, user_id, family, expires_at, used_at, revoked_at)) = row else {
            return Ok(Rotation::Invalid);
        };
        if used_at.is_none() && revoked_at.is_some() {
            return Ok(Rotation::SignedOut);
        }
        if used_at.is_some() || revoked_at.is_some() {
            diesel::update(
                rt::table
                    .filter(rt::family_id.eq(&family))
                    .filter(rt::revoked_at.is_null()),
            )
            .set(rt::revoked_at.eq(now))
            .execute(c)?;
            return Ok(Rotation::Reused);
        }
        if expires_at <= now {
            return Ok(Rotation::Invalid);
        }
        let spent = diesel::update(rt::table.find(&id).filter(rt::used_at.is_null()))
            .set(rt::used_at.eq(now))
            .execute(c)?;
        if spent != 1 {
            return Ok(Rotation::Invalid);
        }
        let name = users::table
            .find(&user_id)
            .select(users::name)
            .first::<String>(c)?;
        store(c, &user_id, &family, new_hash, now)?;
        Ok(Rotation::Rotated { user_id, name })
    })
}

/// Signs out: revokes the family of the token hashed `token_hash`, if any.
pub fn revoke_family(
    conn: &mut DbConnection,
    token_hash: &str,
    now: NaiveDateTime,
) -> Result<(), DomainError> {
    let family: Option<String> = rt::table
        .filter(rt::token_hash.eq(token_hash))
        .select(rt::family_id)
        .first(conn)
        .optional()?;
    if let Some(family) = family {
        diesel::update(
            rt::table
                .filter(rt::family_id.eq(&family))
                .filter(rt::revoked_at.is_null()),
        )
        .set(rt::revoked_at.eq(now))
        .execute(conn)?;
    }
    Ok(())
}
