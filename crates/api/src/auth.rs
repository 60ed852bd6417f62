//! Authentication: argon2 password hashes, short-lived HS256 access tokens
//! (algorithm pinned, `exp`/`nbf`/`iss` required) and rotating refresh
//! tokens stored as SHA-256 hashes.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::ApiError;

pub const ISSUER: &str = "timebank";
pub const ACCESS_TTL_SECS: i64 = 15 * 60;
pub const REFRESH_TTL_SECS: i64 = 30 * 24 * 3600;

#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
    /// Present only on system tokens (batch scripts); user roles are read
    /// from the database on every request so a revoked grant takes effect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

pub const SYSTEM_SUBJECT: &str = "system";

impl TokenKeys {
    pub fn from_secret(secret: &[u8]) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }

    pub fn issue(
        &self,
        subject: &str,
        role: Option<&str>,
        ttl_secs: i64,
    ) -> Result<String, ApiError> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            iss: ISSUER.to_owned(),
            sub: subject.to_owned(),
            iat: now,
            nbf: now,
            exp: now + ttl_secs,
            jti: uuid::Uuid::new_v4().to_string(),
            role: role.map(str::to_owned),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(|e| {
            tracing::error!(error = %e, "cannot sign token");
            ApiError::internal()
        })
    }

    pub fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 5;
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|_| {
                ApiError::unauthorized("invalid_token", "the access token is invalid or expired")
            })
    }
}

pub fn hash_password(password: &str) -> Result<String, ApiError> {
    let mut salt_bytes = [0u8; 16];
    random_bytes(&mut salt_bytes)?;
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|_| ApiError::internal())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| {
            tracing::error!(error = %e, "password hashing failed");
            ApiError::internal()
        })
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

pub fn random_bytes(buf: &mut [u8]) -> Result<(), ApiError> {
    getrandom::fill(buf).map_err(|e| {
        tracing::error!(error = %e, "no randomness");
        ApiError::internal()
    })
}

/// A new opaque refresh token and the hash stored for it.
pub fn new_refresh_token() -> Result<(String, String), ApiError> {
    let mut bytes = [0u8; 32];
    random_bytes(&mut bytes)?;
    let token = format!("rt_{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = sha256_hex(token.as_bytes());
    Ok((token, hash))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    timebank_ledger::hash::hex(&Sha256::digest(bytes))
}

/// A fresh random secret for signing tokens, as hex.
pub fn generate_secret() -> Result<String, ApiError> {
    let mut bytes = [0u8; 32];
    random_bytes(&mut bytes)?;
    Ok(timebank_ledger::hash::hex(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_tampering() {
        let keys = TokenKeys::from_secret(b"secret-one");
        let token = keys.issue("u1", None, 60).unwrap();
        assert_eq!(keys.verify(&token).unwrap().sub, "u1");
        let other = TokenKeys::from_secret(b"secret-two");
        assert!(other.verify(&token).is_err());
        let expired = keys.issue("u1", None, -120).unwrap();
        assert!(keys.verify(&expired).is_err());
    }

    #[test]
    fn alg_none_is_refused() {
        let keys = TokenKeys::from_secret(b"k");
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let now = chrono::Utc::now().timestamp();
        let body = URL_SAFE_NO_PAD.encode(
            format!(r#"{{"iss":"timebank","sub":"x","iat":{now},"nbf":{now},"exp":{}, "jti":"j","role":"system"}}"#, now + 600)
                .as_bytes(),
        );
        assert!(keys.verify(&format!("{header}.{body}.")).is_err());
    }

    #[test]
    fn passwords_verify() {
        let hash = hash_password("correct horse").unwrap();
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong", &hash));
        assert!(!verify_password("x", "not a hash"));
    }
}
