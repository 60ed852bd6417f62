//! The one mapping from failures to HTTP: a stable snake_case code, a
//! message, optional details. A 5xx never carries its cause to the client;
//! the cause is logged here instead.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use serde_json::{Value, json};
use timebank_kernel::{Code, DomainError};
use timebank_ledger::LedgerError;
use timebank_store::StoreError;

fn status_of(code: Code) -> StatusCode {
    StatusCode::from_u16(code.class().http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: Code,
    pub message: String,
    pub details: Option<Value>,
    /// Seconds for the `Retry-After` header (429; 503 always says 1).
    pub retry_after: Option<u64>,
    /// The `Allow` header of a 405.
    pub allow: Option<Box<str>>,
    /// The message for zh clients, when it is written where the facts are
    /// (else [`crate::i18n`] builds it from the code and the details).
    pub message_zh: Option<Box<str>>,
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
    /// A refusal with its code's status and a message with the facts.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            status: status_of(code),
            code,
            message: message.into(),
            details: None,
            retry_after: None,
            allow: None,
            message_zh: None,
        }
    }

    pub fn with_zh(mut self, message: impl Into<String>) -> Self {
        self.message_zh = Some(message.into().into_boxed_str());
        self
    }

    pub fn with_allow(mut self, methods: String) -> Self {
        self.allow = Some(methods.into_boxed_str());
        self
    }

    /// A refusal with its code's own message.
    pub fn of(code: Code) -> Self {
        Self::new(code, code.en())
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn forbidden() -> Self {
        Self::of(Code::Forbidden)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(Code::NotFound, format!("{what} not found"))
    }

    pub fn unavailable() -> Self {
        Self::of(Code::Unavailable)
    }

    pub fn rate_limited(retry_after_secs: u64) -> Self {
        let mut err = Self::of(Code::RateLimited)
            .with_details(json!({ "retry_after_seconds": retry_after_secs }));
        err.retry_after = Some(retry_after_secs);
        err
    }

    pub fn internal() -> Self {
        Self::of(Code::Internal)
    }

    pub fn validation(errors: &validator::ValidationErrors) -> Self {
        let mut fields = serde_json::Map::new();
        let (mut en, mut zh) = (Vec::new(), Vec::new());
        let mut sorted: Vec<_> = errors.field_errors().into_iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        for (field, list) in sorted {
            let codes: Vec<Value> = list.iter().map(|e| json!(e.code)).collect();
            fields.insert(field.to_string(), Value::Array(codes));
            for e in list {
                let (rule_en, rule_zh) = crate::i18n::rule(e);
                en.push(format!("{field} {rule_en}"));
                zh.push(format!("{field}{rule_zh}"));
            }
        }
        Self::new(
            Code::ValidationFailed,
            format!("invalid fields: {}", en.join("; ")),
        )
        .with_zh(format!(
            "{}：{}",
            Code::ValidationFailed.zh(),
            zh.join("；")
        ))
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
        if self.status == StatusCode::UNAUTHORIZED {
            builder.insert_header((actix_web::http::header::WWW_AUTHENTICATE, "Bearer"));
        }
        if let Some(allow) = &self.allow {
            builder.insert_header((actix_web::http::header::ALLOW, &**allow));
        }
        builder.json(self.body(&self.message))
    }
}

impl From<DieselError> for ApiError {
    fn from(err: DieselError) -> Self {
        match &err {
            DieselError::NotFound => ApiError::not_found("resource"),
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                ApiError::of(Code::Conflict)
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
        DomainError::from(err).into()
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(_: actix_web::error::BlockingError) -> Self {
        ApiError::unavailable()
    }
}

impl From<DomainError> for ApiError {
    fn from(err: DomainError) -> Self {
        match err {
            DomainError::NotFound(what) => ApiError::not_found(what),
            DomainError::Refused {
                code,
                message,
                details,
            } => {
                let e = ApiError::new(code, message);
                match details {
                    Some(d) => e.with_details(d),
                    None => e,
                }
            }
            DomainError::Internal(cause) => {
                tracing::error!(error = %cause, "internal error");
                ApiError::internal()
            }
            DomainError::Unavailable(cause) => {
                tracing::error!(error = %cause, "storage");
                ApiError::unavailable()
            }
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
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::of(Code::PayloadTooLarge),
        StatusCode::NOT_FOUND => ApiError::not_found("route"),
        StatusCode::METHOD_NOT_ALLOWED => ApiError::of(Code::MethodNotAllowed),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::of(Code::UnsupportedMediaType),
        s if s.is_server_error() => ApiError::internal(),
        // Whatever else actix refuses keeps its status under the one code.
        s => ApiError {
            status: s,
            ..ApiError::of(Code::BadRequest)
        },
    };
    let (req, _) = res.into_parts();
    Ok(actix_web::dev::ServiceResponse::new(
        req,
        HttpResponse::from_error(api),
    ))
}
