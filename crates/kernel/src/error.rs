use serde_json::Value;

use crate::Code;

/// Why a domain operation did not happen. A refusal carries a stable code
/// (whose class fixes the HTTP status), a message with the facts, and
/// optional details; authorisation is the API's job and never appears here.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{message}")]
    Refused {
        code: Code,
        message: String,
        details: Option<Value>,
    },
    /// Something that is never the caller's fault (no randomness, a hash
    /// that cannot be made, unreadable stored data): logged in full,
    /// answered with a bare 500.
    #[error("{0}")]
    Internal(String),
    /// The database is busy, full or gone: nothing happened; retry.
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

impl DomainError {
    pub fn refused(code: Code, message: impl Into<String>) -> Self {
        Self::Refused {
            code,
            message: message.into(),
            details: None,
        }
    }

    pub fn with_details(self, value: Value) -> Self {
        match self {
            Self::Refused { code, message, .. } => Self::Refused {
                code,
                message,
                details: Some(value),
            },
            other => other,
        }
    }

    /// An access check refused it (HTTP 403).
    pub fn forbidden() -> Self {
        Self::refused(Code::Forbidden, Code::Forbidden.en())
    }

    /// The row's state does not allow the step: 409 with the state it is in.
    pub fn invalid_state(thing: &str, current: &str, wanted: &str) -> Self {
        Self::refused(
            Code::InvalidState,
            format!("the {thing} is {current}, not {wanted}"),
        )
        .with_details(serde_json::json!({ "status": current }))
    }

    /// The refusal's code, if it is one.
    pub fn code(&self) -> Option<Code> {
        match self {
            Self::Refused { code, .. } => Some(*code),
            _ => None,
        }
    }
}
