//! The one mapping from failures to HTTP: a stable snake_case code, a
//! message, optional details. A 5xx never carries its cause to the client;
//! the cause is logged here instead.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use serde_json::{Value, json};
use timebank_directory::DomainError;
use timebank_ledger::{LedgerError, is_wallet_points};
use timebank_store::StoreError;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Option<Value>,
    /// Seconds for the `Retry-After` header (429; 503 always says 1).
    pub retry_after: Option<u64>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }

    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "you may not do this here",
        )
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the service is busy or its database is unavailable; try again",
        )
    }

    pub fn rate_limited(retry_after_secs: u64) -> Self {
        let mut err = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many attempts; wait before trying again",
        )
        .with_details(json!({ "retry_after_seconds": retry_after_secs }));
        err.retry_after = Some(retry_after_secs);
        err
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error",
        )
    }

    pub fn validation(errors: &validator::ValidationErrors) -> Self {
        let mut fields = serde_json::Map::new();
        for (field, list) in errors.field_errors() {
            let codes: Vec<Value> = list.iter().map(|e| json!(e.code)).collect();
            fields.insert(field.to_string(), Value::Array(codes));
        }
        Self::unprocessable("validation_failed", "the request has invalid fields")
            .with_details(json!({ "fields": fields }))
    }

    pub fn body(&self, message: &str) -> Value {
        let mut error = json!({ "code": self.code, "message": message });
        if let Some(details) = &self.details {
            error["details"] = details.clone();
        }
        json!({ "error": error })
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut builder = HttpResponse::build(self.status);
        if let Some(secs) = self.retry_after {
            builder.insert_header(("Retry-After", secs.to_string()));
        } else if self.status == StatusCode::SERVICE_UNAVAILABLE {
            builder.insert_header(("Retry-After", "1"));
        }
        builder.json(self.body(&self.message))
    }
}

impl From<DieselError> for ApiError {
    fn from(err: DieselError) -> Self {
        match &err {
            DieselError::NotFound => ApiError::not_found("resource"),
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                ApiError::conflict("conflict", "a record with these values already exists")
            }
            // The connection died under a transaction (the database went
            // away): nothing is known to have committed; retry with the key.
            // SQLite rolls a transaction back by itself on an I/O error or a
            // full disk; what was left of it (savepoints, the commit) fails.
            DieselError::BrokenTransactionManager | DieselError::NotInTransaction => {
                tracing::warn!(error = %err, "transaction lost with its connection");
                ApiError::unavailable()
            }
            DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => {
                tracing::error!(error = %err, "database connection closed");
                ApiError::unavailable()
            }
            // A deadlock victim or a serialization failure (Postgres) took
            // no effect and may simply be retried.
            DieselError::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => {
                tracing::warn!(error = %err, "write conflict; the client may retry");
                ApiError::unavailable()
            }
            DieselError::DatabaseError(_, info) if is_transient(info.message()) => {
                tracing::warn!(error = %err, "database busy or not writable");
                ApiError::unavailable()
            }
            _ => {
                tracing::error!(error = %err, "database error");
                ApiError::internal()
            }
        }
    }
}

/// SQLite's busy, read-only and disk-full conditions and a Postgres server
/// that went away or is restarting pass with time or an operator's fix: the
/// client should retry, not see a bug.
fn is_transient(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    [
        "database is locked",
        "busy",
        "readonly",
        "read-only",
        "disk",
        "full",
        "deadlock detected",
        "no connection to the server",
        "server closed the connection",
        "terminating connection",
        "connection refused",
        "could not connect",
        "the database system is",
        "no such savepoint",
    ]
    .iter()
    .any(|needle| m.contains(needle))
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Query(e) => e.into(),
            StoreError::Pool(e) => {
                tracing::error!(error = %e, "database pool");
                ApiError::unavailable()
            }
            other => {
                tracing::error!(error = %other, "storage");
                ApiError::unavailable()
            }
        }
    }
}

impl From<LedgerError> for ApiError {
    fn from(err: LedgerError) -> Self {
        match err {
            LedgerError::TooFewPostings
            | LedgerError::Unbalanced(_)
            | LedgerError::ZeroPosting
            | LedgerError::ReversalNotPostable => {
                ApiError::unprocessable("invalid_transaction", err.to_string())
            }
            LedgerError::UnknownAccount(_) => ApiError::not_found("account"),
            LedgerError::TransactionNotFound(_) => ApiError::not_found("transaction"),
            LedgerError::AlreadyReversed { original, reversal } => {
                ApiError::conflict("already_reversed", "this transaction was already reversed")
                    .with_details(json!({ "transaction_id": original, "reversal_id": reversal }))
            }
            LedgerError::CannotReverseReversal => ApiError::unprocessable(
                "cannot_reverse_reversal",
                "a reversal cannot itself be reversed",
            ),
            LedgerError::InsufficientBalance {
                owner_id,
                account_kind,
                asset,
                available,
                required,
                ..
            } => {
                let code = if is_wallet_points(account_kind, asset) {
                    "insufficient_points"
                } else if account_kind == timebank_ledger::AccountKind::DistrictPool {
                    "insufficient_pool"
                } else {
                    "insufficient_balance"
                };
                ApiError::unprocessable(
                    code,
                    format!("not enough {asset}: {available} available, {required} needed"),
                )
                .with_details(json!({
                    "owner_id": owner_id,
                    "account_kind": account_kind,
                    "asset": asset,
                    "available": available,
                    "required": required,
                }))
            }
            LedgerError::Overflow => {
                ApiError::unprocessable("amount_too_large", "amount too large")
            }
            LedgerError::Store(e) => e.into(),
            LedgerError::Db(e) => e.into(),
            LedgerError::Corrupt(message) => {
                tracing::error!(%message, "ledger data unreadable");
                ApiError::internal()
            }
        }
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(_: actix_web::error::BlockingError) -> Self {
        ApiError::unavailable()
    }
}

impl From<DomainError> for ApiError {
    fn from(err: DomainError) -> Self {
        let with = |e: ApiError, details: Option<Value>| match details {
            Some(d) => e.with_details(d),
            None => e,
        };
        match err {
            DomainError::NotFound(what) => ApiError::not_found(what),
            DomainError::Conflict {
                code,
                message,
                details,
            } => with(ApiError::conflict(code, message), details),
            DomainError::NotAllowed { code, message } => {
                ApiError::new(StatusCode::FORBIDDEN, code, message)
            }
            DomainError::Refused {
                code,
                message,
                details,
            } => with(ApiError::unprocessable(code, message), details),
            DomainError::Internal(cause) => {
                tracing::error!(error = %cause, "internal error");
                ApiError::internal()
            }
            DomainError::Ledger(e) => e.into(),
            DomainError::Db(e) => e.into(),
        }
    }
}

/// Middleware: any error response that is not already an [`ApiError`]
/// (actix's own payload and routing errors) gets the one error shape.
pub async fn uniform(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    let res = next.call(req).await?.map_into_boxed_body();
    let foreign = res
        .response()
        .error()
        .is_some_and(|e| e.as_error::<ApiError>().is_none());
    if !foreign {
        return Ok(res);
    }
    let status = res.status();
    let api = match status {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            status,
            "payload_too_large",
            "the request body is larger than 64 KiB",
        ),
        StatusCode::NOT_FOUND => ApiError::not_found("route"),
        StatusCode::METHOD_NOT_ALLOWED => ApiError::new(
            status,
            "method_not_allowed",
            "this method is not allowed here",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::new(
            status,
            "unsupported_media_type",
            "send the body as application/json",
        ),
        s if s.is_server_error() => ApiError::internal(),
        s => ApiError::new(s, "bad_request", "the request could not be read"),
    };
    let (req, _) = res.into_parts();
    Ok(actix_web::dev::ServiceResponse::new(
        req,
        HttpResponse::from_error(api),
    ))
}
