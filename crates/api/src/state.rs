use std::sync::Arc;

use timebank_store::{DbConnection, Pool};

use crate::auth::TokenKeys;
use crate::error::ApiError;

/// Shared by every worker; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub pool: Pool,
    pub keys: Arc<TokenKeys>,
    pub metrics: Arc<crate::metrics::Metrics>,
}

impl AppState {
    /// Runs blocking database work on actix's blocking pool so the async
    /// workers never wait on the database.
    pub async fn db<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
    {
        let pool = self.pool.clone();
        actix_web::web::block(move || {
            let mut conn = pool.get().map_err(timebank_store::StoreError::from)?;
            work(&mut conn)
        })
        .await?
    }
}
