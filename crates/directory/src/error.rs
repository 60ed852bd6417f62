use serde_json::Value;
use timebank_ledger::LedgerError;

/// Why a domain operation was refused, with a stable snake_case code. The
/// API maps each variant to one HTTP status; authorisation is the API's job
/// and never appears here.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The current state does not allow it (HTTP 409).
    #[error("{message}")]
    Conflict {
        code: &'static str,
        message: String,
        details: Option<Value>,
    },
    /// The actor's standing forbids it, e.g. a suspended volunteer (HTTP 403).
    #[error("{message}")]
    NotAllowed { code: &'static str, message: String },
    /// A validation or business rule refused it (HTTP 422).
    #[error("{message}")]
    Refused {
        code: &'static str,
        message: String,
        details: Option<Value>,
    },
    /// Something that is never the caller's fault (no randomness, a hash
    /// that cannot be made): logged in full, answered with a bare 500.
    #[error("{0}")]
    Internal(String),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

impl DomainError {
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
            details: None,
        }
    }

    pub fn refused(code: &'static str, message: impl Into<String>) -> Self {
        Self::Refused {
            code,
            message: message.into(),
            details: None,
        }
    }

    pub fn not_allowed(code: &'static str, message: impl Into<String>) -> Self {
        Self::NotAllowed {
            code,
            message: message.into(),
        }
    }

    pub fn with_details(self, value: Value) -> Self {
        match self {
            Self::Conflict { code, message, .. } => Self::Conflict {
                code,
                message,
                details: Some(value),
            },
            Self::Refused { code, message, .. } => Self::Refused {
                code,
                message,
                details: Some(value),
            },
            other => other,
        }
    }
}

impl From<timebank_store::StoreError> for DomainError {
    fn from(e: timebank_store::StoreError) -> Self {
        DomainError::Ledger(LedgerError::Store(e))
    }
}
