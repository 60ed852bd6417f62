use diesel::result::{DatabaseErrorKind, Error as DieselError};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A bad `DATABASE_URL` or similar; the CLI exits with code 2.
    #[error("{0}")]
    Config(String),
    #[error("cannot connect to the database: {0}")]
    Connect(String),
    #[error("database pool exhausted or unreachable: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error(transparent)]
    Query(#[from] DieselError),
}

pub fn is_unique_violation(err: &DieselError) -> bool {
    matches!(
        err,
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)
    )
}

impl From<StoreError> for timebank_kernel::DomainError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Query(e) => Self::Db(e),
            other => Self::Unavailable(other.to_string()),
        }
    }
}
