//! Access tokens: short-lived HS256 JWTs (algorithm pinned,
//! `exp`/`nbf`/`iss` required, `kid` naming the signing key so a previous
//! key can be accepted during rotation), and the opaque refresh tokens
//! stored as SHA-256 hashes.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use timebank_kernel::{Code, DomainError};

pub const ISSUER: &str = "timebank";
pub const ACCESS_TTL_SECS: i64 = 15 * 60;

/// The key that signs new tokens and every key still accepted: the current
/// one and, during a rotation, the previous ones.
#[derive(Clone)]
pub struct TokenKeys {
    kid: String,
    encoding: EncodingKey,
    accepted: Vec<(String, DecodingKey)>,
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
        Self::rotating(secret, &[])
    }

    /// Signs with `current`; also accepts tokens signed with `previous`
    /// until they are dropped from the configuration.
    pub fn rotating(current: &[u8], previous: &[&[u8]]) -> Self {
        let accepted = std::iter::once(current)
            .chain(previous.iter().copied())
            .map(|secret| (key_id(secret), DecodingKey::from_secret(secret)))
            .collect();
        Self {
            kid: key_id(current),
            encoding: EncodingKey::from_secret(current),
            accepted,
        }
    }

    /// The id new tokens carry in their `kid` header.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn issue(
        &self,
        subject: &str,
        role: Option<&str>,
        ttl_secs: i64,
    ) -> Result<String, DomainError> {
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
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.encoding)
            .map_err(|e| DomainError::Internal(format!("cannot sign token: {e}")))
    }

    pub fn verify(&self, token: &str) -> Result<Claims, DomainError> {
        let invalid = || DomainError::refused(Code::InvalidToken, "the access token is not valid");
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid())?;
        if header.alg != Algorithm::HS256 {
            return Err(invalid());
        }
        let key = header
            .kid
            .and_then(|kid| self.accepted.iter().find(|(id, _)| *id == kid))
            .map(|(_, key)| key)
            .ok_or_else(invalid)?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 5;
        jsonwebtoken::decode::<Claims>(token, key, &validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                // Only a token that is right in every other way is told it
                // expired (the signature is checked first).
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => DomainError::refused(
                    Code::TokenExpired,
                    "the access token has expired; refresh it",
                ),
                _ => invalid(),
            })
    }
}

/// A public name for a secret: a hash prefix, so logs and headers never
/// carry the secret itself.
fn key_id(secret: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(b"timebank/jwt-kid/v1\0");
    h.update(secret);
    timebank_ledger::hash::hex(&h.finalize()[..8])
}

pub fn random_bytes(buf: &mut [u8]) -> Result<(), DomainError> {
    getrandom::fill(buf).map_err(|e| DomainError::Internal(format!("no randomness: {e}")))
}

/// A new opaque refresh token and the hash stored for it.
pub fn new_refresh_token() -> Result<(String, String), DomainError> {
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
pub fn generate_secret() -> Result<String, DomainError> {
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
        assert!(matches!(
            keys.verify(&expired),
            Err(DomainError::Refused {
                code: Code::TokenExpired,
                ..
            })
        ));
        // Within the leeway of a few seconds it still passes; past it, not.
        assert!(keys.verify(&keys.issue("u1", None, -3).unwrap()).is_ok());
        assert!(keys.verify(&keys.issue("u1", None, -8).unwrap()).is_err());
        // A forged token that has also expired is only invalid.
        let other = TokenKeys::from_secret(b"another-secret-0123456789abcdef");
        assert!(matches!(
            keys.verify(&other.issue("u1", None, -120).unwrap()),
            Err(DomainError::Refused {
                code: Code::InvalidToken,
                ..
            })
        ));
    }

    fn sign(header: &str, claims: serde_json::Value, secret: &[u8]) -> String {
        use hmac::{Hmac, Mac};
        let head = URL_SAFE_NO_PAD.encode(header.as_bytes());
        let body = URL_SAFE_NO_PAD.encode(claims.to_string().as_bytes());
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
        mac.update(format!("{head}.{body}").as_bytes());
        let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{head}.{body}.{sig}")
    }

    fn claims(now: i64) -> serde_json::Value {
        serde_json::json!({"iss": ISSUER, "sub": "u1", "iat": now, "nbf": now, "exp": now + 600, "jti": "j"})
    }

    #[test]
    fn every_claim_and_the_header_are_checked() {
        let secret = b"secret-one-0123456789";
        let keys = TokenKeys::from_secret(secret);
        let kid = keys.kid().to_owned();
        let now = chrono::Utc::now().timestamp();
        let good = format!(r#"{{"alg":"HS256","typ":"JWT","kid":"{kid}"}}"#);
        assert_eq!(
            keys.verify(&sign(&good, claims(now), secret)).unwrap().sub,
            "u1"
        );
        let mut refused = Vec::new();
        let mut wrong_iss = claims(now);
        wrong_iss["iss"] = "someone-else".into();
        refused.push(("wrong iss", sign(&good, wrong_iss, secret)));
        let mut no_exp = claims(now);
        no_exp.as_object_mut().unwrap().remove("exp");
        refused.push(("no exp", sign(&good, no_exp, secret)));
        let mut no_nbf = claims(now);
        no_nbf.as_object_mut().unwrap().remove("nbf");
        refused.push(("no nbf", sign(&good, no_nbf, secret)));
        let mut future = claims(now);
        future["nbf"] = (now + 300).into();
        refused.push(("not yet valid", sign(&good, future, secret)));
        let mut expired = claims(now);
        expired["exp"] = (now - 60).into();
        refused.push(("expired", sign(&good, expired, secret)));
        let other_alg = format!(r#"{{"alg":"HS512","typ":"JWT","kid":"{kid}"}}"#);
        refused.push(("HS512", sign(&other_alg, claims(now), secret)));
        refused.push((
            "no kid",
            sign(r#"{"alg":"HS256","typ":"JWT"}"#, claims(now), secret),
        ));
        refused.push((
            "unknown kid",
            sign(
                r#"{"alg":"HS256","typ":"JWT","kid":"0011223344556677"}"#,
                claims(now),
                secret,
            ),
        ));
        refused.push((
            "other secret",
            sign(&good, claims(now), b"secret-two-0123456789"),
        ));
        for (what, token) in refused {
            assert!(keys.verify(&token).is_err(), "{what} was accepted");
        }
    }

    #[test]
    fn previous_key_is_accepted_during_rotation_only() {
        let old = TokenKeys::from_secret(b"old-secret-0123456789");
        let token = old.issue("u1", None, 60).unwrap();
        let rotating = TokenKeys::rotating(b"new-secret-0123456789", &[b"old-secret-0123456789"]);
        assert_eq!(rotating.verify(&token).unwrap().sub, "u1");
        let fresh = rotating.issue("u2", None, 60).unwrap();
        assert_ne!(rotating.kid(), old.kid());
        assert!(old.verify(&fresh).is_err(), "new tokens use the new key");
        let done = TokenKeys::from_secret(b"new-secret-0123456789");
        assert!(done.verify(&token).is_err(), "old key dropped");
        assert_eq!(done.verify(&fresh).unwrap().sub, "u2");
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
}
