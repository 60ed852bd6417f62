//! `Idempotency-Key`: the same key from the same caller with the same body
//! gets the first response again; with another body, 422. The key row is
//! written first in the same database transaction as the effect, so on
//! Postgres a concurrent twin (in another process or commit group) waits on
//! it and then replays the answer; within one group, twins run one after
//! the other and the second finds the first's row.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::Value;
use std::sync::Arc;
use timebank_kernel::Code;
use timebank_store::DbConnection;
use timebank_store::idempotency as stored;

use crate::error::ApiError;
use crate::state::AppState;

pub const HEADER: &str = "Idempotency-Key";
const REPLAY_HEADER: &str = "Idempotent-Replayed";

/// The caller's key, if any: 1 to 255 visible ASCII characters.
fn key_from(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get(HEADER) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or_default().trim();
    if text.is_empty() || text.len() > 255 || !text.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::new(
            Code::InvalidIdempotencyKey,
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
        ));
    }
    Ok(Some(text.to_owned()))
}

/// A request's `Idempotency-Key` (if any) and what the request is, for
/// comparing a replay with the first call.
#[derive(Debug, Clone)]
pub struct Keyed {
    key: Option<String>,
    fingerprint: String,
}

impl Keyed {
    pub fn from_request(req: &HttpRequest, body: &Value) -> Result<Self, ApiError> {
        let fingerprint =
            crate::auth::sha256_hex(format!("{}\n{}\n{body}", req.method(), req.path()).as_bytes());
        Ok(Self {
            key: key_from(req)?,
            fingerprint,
        })
    }

    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// What the request was (method, path and body), hashed.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Runs `effect` once per (caller, key) in one write transaction with
    /// the stored answer (a savepoint of a commit group when the server
    /// groups commits). Errors are not stored: a refused request may be
    /// retried. `effect` runs again only if a concurrent twin (another
    /// process) won the key, and then its answer is replayed instead.
    pub async fn run<F>(
        self,
        state: &AppState,
        caller: String,
        effect: F,
    ) -> Result<Outcome, ApiError>
    where
        F: Fn(&mut DbConnection) -> Result<Effect, ApiError> + Send + Sync + 'static,
    {
        let effect = Arc::new(effect);
        let Some(key) = self.key else {
            return state.write(move |c| effect(c).map(Outcome::fresh)).await;
        };
        let (key, hash) = (Arc::new(key), Arc::new(self.fingerprint));
        for _ in 0..2 {
            let (caller, key, hash, effect) =
                (caller.clone(), key.clone(), hash.clone(), effect.clone());
            let attempt = state
                .write(move |c| keyed_once(c, &caller, &key, &hash, &*effect))
                .await;
            match attempt {
                Err(e) if e.code == Code::Conflict => continue,
                other => return other,
            }
        }
        let found = state.db(move |c| lookup(c, &caller, &key, &hash)).await?;
        found.ok_or_else(ApiError::unavailable)
    }
}

/// The stored answer, or the effect's with the key row written first.
fn keyed_once(
    c: &mut DbConnection,
    caller: &str,
    key: &str,
    request_hash: &str,
    effect: &dyn Fn(&mut DbConnection) -> Result<Effect, ApiError>,
) -> Result<Outcome, ApiError> {
    // Taken before the effect: a concurrent request with the same key then
    // waits on this row (ungrouped writers on Postgres) and replays the
    // answer, instead of running the effect and being refused by it.
    if !stored::reserve(c, caller, key, request_hash, timebank_store::now())? {
        // Taken, so there to replay; were it not, the conflict is retried.
        return lookup(c, caller, key, request_hash)?.ok_or_else(|| ApiError::of(Code::Conflict));
    }
    let outcome = Outcome::fresh(effect(c)?);
    stored::record(
        c,
        caller,
        key,
        i32::from(outcome.status.as_u16()),
        &outcome.body,
    )?;
    Ok(outcome)
}

pub struct Outcome {
    pub status: StatusCode,
    pub body: String,
    pub replayed: bool,
}

/// What an effect answers.
pub struct Effect {
    pub status: StatusCode,
    pub body: Value,
}

impl Effect {
    pub fn new(status: StatusCode, body: Value) -> Self {
        Self { status, body }
    }
}

impl Outcome {
    /// The answer kept for a key, if it was kept for this same request.
    pub fn replay(kept: &stored::StoredAnswer, request_hash: &str) -> Result<Self, ApiError> {
        if kept.request_hash != request_hash {
            return Err(ApiError::new(
                Code::IdempotencyKeyReused,
                "this Idempotency-Key was used with a different request",
            ));
        }
        let status = u16::try_from(kept.status)
            .ok()
            .and_then(|s| StatusCode::from_u16(s).ok())
            .ok_or_else(ApiError::internal)?;
        Ok(Self {
            status,
            body: kept.body.clone(),
            replayed: true,
        })
    }

    pub fn fresh(e: Effect) -> Self {
        Self {
            status: e.status,
            body: e.body.to_string(),
            replayed: false,
        }
    }

    pub fn into_response(self) -> HttpResponse {
        let mut builder = HttpResponse::build(self.status);
        builder.content_type("application/json");
        if self.replayed {
            builder.insert_header((REPLAY_HEADER, "true"));
        }
        builder.body(self.body)
    }
}

fn lookup(
    conn: &mut DbConnection,
    caller: &str,
    key: &str,
    request_hash: &str,
) -> Result<Option<Outcome>, ApiError> {
    stored::find(conn, caller, key)?
        .map(|answer| Outcome::replay(&answer, request_hash))
        .transpose()
}
