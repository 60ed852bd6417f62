use std::sync::Arc;

use timebank_store::{DbConnection, GroupError, GroupWriter, Pool, write_tx};

use crate::auth::TokenKeys;
use crate::error::ApiError;

/// Shared by every worker; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub pool: Pool,
    pub keys: Arc<TokenKeys>,
    pub metrics: Arc<crate::metrics::Metrics>,
    pub limits: Arc<crate::limits::RateLimits>,
    /// What authentication and balance reads keep in memory.
    pub memos: Arc<crate::memo::Memos>,
    /// `/metrics` is served on an internal address of its own, not here.
    pub metrics_elsewhere: bool,
    /// Commit grouping for writes; `None`: each write commits on its own.
    pub writer: Option<GroupWriter>,
    /// Orders waiting to be placed together.
    pub placing: Arc<crate::placing::Placing>,
    /// Origins whose pages may call the API from a browser.
    pub cors: crate::headers::AllowedOrigins,
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
            let mut conn = timebank_store::checked_out(&pool)?;
            let done = work(&mut conn);
            // Statements run outside a transaction have committed by now.
            timebank_store::generation::transaction_ended();
            done
        })
        .await?
    }

    /// Runs write work in one transaction: in the next commit group when the
    /// server groups commits, else in its own transaction on a pooled
    /// connection. Either way the answer comes only after the commit.
    pub async fn write<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
    {
        let Some(writer) = &self.writer else {
            return self.db(move |conn| write_tx(conn, work)).await;
        };
        let (tx, rx) = tokio::sync::oneshot::channel();
        writer.submit(
            work,
            Box::new(move |outcome| {
                // The caller may have gone (client hung up): nothing to tell.
                let _ = tx.send(outcome);
            }),
        );
        match rx.await {
            Ok(Ok(result)) => result,
            Ok(Err(group)) => Err(group.into()),
            Err(_) => Err(ApiError::unavailable()),
        }
    }
}

impl From<GroupError> for ApiError {
    fn from(err: GroupError) -> Self {
        match err {
            GroupError::Commit(e) => e.into(),
            GroupError::Connect(m) => {
                tracing::error!(error = %m, "write group cannot connect");
                ApiError::unavailable()
            }
            GroupError::Unavailable => ApiError::unavailable(),
            GroupError::Panicked => ApiError::internal(),
        }
    }
}
