//! Accounts: the password rule, one-time reset codes issued at the office,
//! and setting a password (which signs out every other session).
//!
//! Hashing is the caller's (slow on purpose, so it runs off the write
//! transaction); this module keeps the rows and the rules.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde_json::json;
use timebank_store::schema::{refresh_tokens, reset_codes, users};
use timebank_store::{DbConnection, write_tx};

use timebank_kernel::{Code, DomainError};

pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 128;
/// A reset code lives one day.
pub const RESET_CODE_TTL_HOURS: i64 = 24;
/// Wrong tries after which a reset code is void.
pub const RESET_CODE_MAX_ATTEMPTS: i32 = 5;

/// The passwords people pick first (leaked-password lists, Chinese and
/// international); a list checked in lower case.
const COMMON: &[&str] = &[
    "12345678",
    "123456789",
    "1234567890",
    "87654321",
    "11111111",
    "00000000",
    "88888888",
    "66666666",
    "99999999",
    "12341234",
    "11223344",
    "12121212",
    "123123123",
    "147258369",
    "123654789",
    "741852963",
    "159357123",
    "5201314520",
    "52013145",
    "13145201314",
    "woaini1314",
    "woaini520",
    "iloveyou",
    "iloveyou1",
    "password",
    "password1",
    "password123",
    "passw0rd",
    "p@ssw0rd",
    "p@ssword",
    "qwertyui",
    "qwerty123",
    "qwertyuiop",
    "1qaz2wsx",
    "1q2w3e4r",
    "1q2w3e4r5t",
    "zaq12wsx",
    "asdfghjk",
    "asdf1234",
    "zxcvbnm1",
    "zxcvbnm123",
    "abcd1234",
    "abc12345",
    "abcdefgh",
    "a1234567",
    "a12345678",
    "aa123456",
    "qq123456",
    "qq5201314",
    "123456aa",
    "123456abc",
    "12345abc",
    "admin123",
    "admin1234",
    "administrator",
    "root1234",
    "welcome1",
    "welcome123",
    "sunshine",
    "princess",
    "football",
    "baseball",
    "superman",
    "dragon123",
    "monkey123",
    "letmein1",
    "trustno1",
    "changeme",
    "11112222",
    "12344321",
    "10203040",
    "20082008",
    "20202020",
    "19491001",
    "woaiwojia",
    "wangyuan",
    "zhang123",
    "wang1234",
    "li123456",
    "aini1314",
    "1314520520",
    "521521521",
    "hello123",
    "helloworld",
    "computer",
    "internet",
    "shanghai",
    "beijing1",
    "chinese1",
    "zhongguo",
    "volunteer",
    "timebank",
    "volunteer1",
    "12qwaszx",
    "q1w2e3r4",
    "qazwsxedc",
    "1234qwer",
    "qwer1234",
];

/// Why a password is refused, named for clients and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weakness {
    TooShort,
    TooLong,
    TooCommon,
    SameAsPhone,
}

impl Weakness {
    pub fn as_str(self) -> &'static str {
        match self {
            Weakness::TooShort => "too_short",
            Weakness::TooLong => "too_long",
            Weakness::TooCommon => "too_common",
            Weakness::SameAsPhone => "same_as_phone",
        }
    }
}

/// The password rule, the same at registration, reset and change.
pub fn weakness(password: &str, phone: &str) -> Option<Weakness> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Some(Weakness::TooShort);
    }
    if chars > MAX_PASSWORD_CHARS {
        return Some(Weakness::TooLong);
    }
    let lower = password.to_lowercase();
    if !phone.is_empty() && lower.contains(phone) {
        return Some(Weakness::SameAsPhone);
    }
    let mut distinct: Vec<char> = lower.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() <= 2 || COMMON.contains(&lower.as_str()) || is_run(&lower) {
        return Some(Weakness::TooCommon);
    }
    None
}

/// "12345678…", "abcdefgh…" and their reverses.
fn is_run(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() >= 2
        && (bytes.windows(2).all(|w| w[1] == w[0].wrapping_add(1))
            || bytes.windows(2).all(|w| w[0] == w[1].wrapping_add(1)))
}

/// The rule as a refusal: 422 `weak_password` naming the field and why.
pub fn check_password(password: &str, phone: &str, field: &str) -> Result<(), DomainError> {
    let Some(weakness) = weakness(password, phone) else {
        return Ok(());
    };
    let message = match weakness {
        Weakness::TooShort => format!("{field} must be at least {MIN_PASSWORD_CHARS} characters"),
        Weakness::TooLong => format!("{field} must be at most {MAX_PASSWORD_CHARS} characters"),
        Weakness::TooCommon => format!("{field} is too common or too simple; choose another"),
        Weakness::SameAsPhone => format!("{field} must not contain the phone number"),
    };
    Err(
        DomainError::refused(Code::WeakPassword, message).with_details(json!({
            "field": field,
            "reason": weakness.as_str(),
            "min_length": MIN_PASSWORD_CHARS,
            "fields": { field: [weakness.as_str()] },
        })),
    )
}

/// A new code for a volunteer (or a resident, as `volunteer` says), if
/// `allowed` over them: every earlier live code of theirs is void. Returns
/// when it expires.
pub fn issue_member_reset_code(
    conn: &mut DbConnection,
    member_id: &str,
    volunteer: bool,
    code_hash: &str,
    issued_by: &str,
    allowed: timebank_kernel::Check<'_, crate::Member>,
) -> Result<NaiveDateTime, DomainError> {
    let member = crate::get_member(conn, member_id)?;
    if member.is_volunteer != volunteer {
        return Err(DomainError::NotFound(if volunteer {
            "volunteer"
        } else {
            "resident"
        }));
    }
    if !allowed(&member) {
        return Err(DomainError::forbidden());
    }
    let now = timebank_store::now();
    issue_reset_code(conn, &member.user_id, code_hash, issued_by, now)
}

/// A new code for `user_id`: every earlier live code of theirs is void.
/// Returns when it expires.
pub fn issue_reset_code(
    conn: &mut DbConnection,
    user_id: &str,
    code_hash: &str,
    issued_by: &str,
    now: NaiveDateTime,
) -> Result<NaiveDateTime, DomainError> {
    let expires_at = now + Duration::hours(RESET_CODE_TTL_HOURS);
    write_tx(conn, |c| {
        diesel::update(
            reset_codes::table
                .filter(reset_codes::user_id.eq(user_id))
                .filter(reset_codes::used_at.is_null())
                .filter(reset_codes::voided_at.is_null()),
        )
        .set(reset_codes::voided_at.eq(now))
        .execute(c)?;
        diesel::insert_into(reset_codes::table)
            .values((
                reset_codes::id.eq(timebank_store::new_id()),
                reset_codes::user_id.eq(user_id),
                reset_codes::code_hash.eq(code_hash),
                reset_codes::created_by.eq(issued_by),
                reset_codes::created_at.eq(now),
                reset_codes::expires_at.eq(expires_at),
                reset_codes::attempts.eq(0),
            ))
            .execute(c)?;
        Ok::<_, DomainError>(())
    })?;
    Ok(expires_at)
}

/// The live reset code of the user with this phone: (user id, code id,
/// code hash). `None` when there is no such user or no live code.
pub fn live_reset_code(
    conn: &mut DbConnection,
    phone: &str,
    now: NaiveDateTime,
) -> Result<Option<(String, String, String)>, DomainError> {
    Ok(reset_codes::table
        .inner_join(users::table.on(users::id.eq(reset_codes::user_id)))
        .filter(users::phone.eq(phone))
        .filter(reset_codes::used_at.is_null())
        .filter(reset_codes::voided_at.is_null())
        .filter(reset_codes::expires_at.gt(now))
        .order(reset_codes::created_at.desc())
        .select((users::id, reset_codes::id, reset_codes::code_hash))
        .first(conn)
        .optional()?)
}

/// A wrong code was tried: counted, and void after the last allowed try.
pub fn reset_code_missed(
    conn: &mut DbConnection,
    code_id: &str,
    now: NaiveDateTime,
) -> Result<(), DomainError> {
    write_tx(conn, |c| {
        diesel::update(reset_codes::table.find(code_id))
            .set(reset_codes::attempts.eq(reset_codes::attempts + 1))
            .execute(c)?;
        diesel::update(
            reset_codes::table
                .find(code_id)
                .filter(reset_codes::attempts.ge(RESET_CODE_MAX_ATTEMPTS))
                .filter(reset_codes::voided_at.is_null()),
        )
        .set(reset_codes::voided_at.eq(now))
        .execute(c)?;
        Ok::<_, DomainError>(())
    })
}

/// A reset attempt: with the new password's hash when the code matched
/// (the code is redeemed), without it when it did not (the miss is counted).
/// Whether the password changed.
pub fn use_reset_code(
    conn: &mut DbConnection,
    user_id: &str,
    code_id: &str,
    new_hash: Option<&str>,
    now: NaiveDateTime,
) -> Result<bool, DomainError> {
    match new_hash {
        Some(hash) => redeem_reset_code(conn, user_id, code_id, hash, now),
        None => {
            reset_code_missed(conn, code_id, now)?;
            Ok(false)
        }
    }
}

/// Spends the code and sets the password in one transaction: a code that
/// was spent, voided or expired meanwhile sets nothing. Every refresh token
/// of the user is revoked.
pub fn redeem_reset_code(
    conn: &mut DbConnection,
    user_id: &str,
    code_id: &str,
    password_hash: &str,
    now: NaiveDateTime,
) -> Result<bool, DomainError> {
    write_tx(conn, |c| {
        let spent = diesel::update(
            reset_codes::table
                .find(code_id)
                .filter(reset_codes::used_at.is_null())
                .filter(reset_codes::voided_at.is_null())
                .filter(reset_codes::expires_at.gt(now)),
        )
        .set(reset_codes::used_at.eq(now))
        .execute(c)?;
        if spent != 1 {
            return Ok(false);
        }
        set_password_in(c, user_id, password_hash, now)?;
        Ok(true)
    })
}

/// (phone, password hash, name) of a user, for changing their password.
pub fn credentials(
    conn: &mut DbConnection,
    user_id: &str,
) -> Result<(String, String, String), DomainError> {
    users::table
        .find(user_id)
        .select((users::phone, users::password_hash, users::name))
        .first(conn)
        .optional()?
        .ok_or(DomainError::NotFound("user"))
}

/// Sets a password and revokes every refresh token of the user.
pub fn set_password(
    conn: &mut DbConnection,
    user_id: &str,
    password_hash: &str,
    now: NaiveDateTime,
) -> Result<(), DomainError> {
    write_tx(conn, |c| set_password_in(c, user_id, password_hash, now))
}

fn set_password_in(
    conn: &mut DbConnection,
    user_id: &str,
    password_hash: &str,
    now: NaiveDateTime,
) -> Result<(), DomainError> {
    diesel::update(users::table.find(user_id))
        .set(users::password_hash.eq(password_hash))
        .execute(conn)?;
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::user_id.eq(user_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now))
    .execute(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_rule() {
        assert_eq!(weakness("short7!", ""), Some(Weakness::TooShort));
        assert_eq!(weakness(&"长".repeat(129), ""), Some(Weakness::TooLong));
        for common in [
            "12345678",
            "PASSWORD",
            "woaini1314",
            "aaaaaaaa",
            "abababab",
            "87654321",
            "abcdefghij",
        ] {
            assert_eq!(weakness(common, ""), Some(Weakness::TooCommon), "{common}");
        }
        assert_eq!(
            weakness("x13800001111", "13800001111"),
            Some(Weakness::SameAsPhone)
        );
        for fine in [
            "volunteer-pass",
            "馨园-2026-春",
            "Tb7#kq!m",
            "长城长城长城长城1",
        ] {
            assert_eq!(weakness(fine, "13800001111"), None, "{fine}");
        }
        // Eight characters, not eight bytes.
        assert_eq!(weakness("志愿服务爱心银行", ""), None);
    }

    #[test]
    fn a_refusal_names_the_field_and_the_reason() {
        let err = check_password("123", "", "new_password").unwrap_err();
        let DomainError::Refused { code, details, .. } = err else {
            panic!("not a refusal")
        };
        assert_eq!(code, Code::WeakPassword);
        let details = details.unwrap();
        assert_eq!(details["field"], "new_password");
        assert_eq!(details["reason"], "too_short");
    }
}
