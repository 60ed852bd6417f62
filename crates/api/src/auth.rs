//! Authentication as the HTTP layer sees it: tokens, refresh tokens and
//! passwords are the directory's (`timebank_directory::{tokens, passwords,
//! sessions}`); one import path for the handlers and the extractor.

pub use timebank_directory::passwords::{dummy_hash, hash_password, verify_password};
pub use timebank_directory::sessions::REFRESH_TTL_SECS;
pub use timebank_directory::tokens::{
    ACCESS_TTL_SECS, Claims, ISSUER, SYSTEM_SUBJECT, TokenKeys, generate_secret, new_refresh_token,
    random_bytes, sha256_hex,
};
