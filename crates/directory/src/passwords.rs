//! Password hashes: argon2 with a random salt, verified in constant time by
//! the argon2 crate. Slow on purpose; callers run them off async workers.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use timebank_kernel::DomainError;

pub fn hash_password(password: &str) -> Result<String, DomainError> {
    let mut salt_bytes = [0u8; 16];
    getrandom::fill(&mut salt_bytes)
        .map_err(|e| DomainError::Internal(format!("no randomness: {e}")))?;
    let salt = SaltString::encode_b64(&salt_bytes)
        .map_err(|e| DomainError::Internal(format!("salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| DomainError::Internal(format!("password hashing failed: {e}")))
}

pub fn verify_password(password: &str, stored_hash: &str) -> bool {
    PasswordHash::new(stored_hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash of a password nobody has, verified against when the phone is
/// unknown so that a login takes as long whether or not the user exists.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("timebank-no-such-user").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let hash = hash_password("volunteer-pass").unwrap();
        assert!(hash.starts_with("$argon2"));
        assert!(verify_password("volunteer-pass", &hash));
        assert!(!verify_password("volunteer-pas", &hash));
        assert!(!verify_password("volunteer-pass", "not a hash"));
        assert!(!verify_password("timebank-no-such-user-x", dummy_hash()));
    }
}
