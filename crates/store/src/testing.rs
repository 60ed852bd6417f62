//! Fresh, isolated databases for tests: a temporary SQLite file, or a
//! Postgres schema of its own under `TEST_DATABASE_URL`. Both are removed
//! when dropped. Under `CI=true` a missing `TEST_DATABASE_URL` is a failure,
//! never a silent skip.

use std::path::PathBuf;

use diesel::{Connection, PgConnection, RunQueryDsl};

use crate::{Backend, DatabaseUrl, Pool, StoreError};

pub struct TestDb {
    url: String,
    backend: Backend,
    sqlite_file: Option<PathBuf>,
    pg_schema: Option<(String, String)>,
}

impl TestDb {
    pub fn sqlite() -> Self {
        let file = std::env::temp_dir().join(format!("timebank-test-{}.db", uuid::Uuid::new_v4()));
        Self {
            url: format!("sqlite://{}", file.display()),
            backend: Backend::Sqlite,
            sqlite_file: Some(file),
            pg_schema: None,
        }
    }

    /// A fresh schema in the `TEST_DATABASE_URL` database, or None when it
    /// is unset (a panic under `CI=true`).
    pub fn postgres() -> Option<Self> {
        let Ok(base) = std::env::var("TEST_DATABASE_URL") else {
            if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
                panic!(
                    "CI=true but TEST_DATABASE_URL is not set: Postgres tests must not be skipped"
                );
            }
            eprintln!("postgres: skipped (set TEST_DATABASE_URL to run this test on Postgres too)");
            return None;
        };
        Some(Self::postgres_at(&base))
    }

    /// A fresh schema in the Postgres database at `base`.
    pub fn postgres_at(base: &str) -> Self {
        let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
        let mut conn = PgConnection::establish(base)
            .unwrap_or_else(|e| panic!("cannot connect to TEST_DATABASE_URL: {e}"));
        diesel::sql_query(format!("CREATE SCHEMA {schema}"))
            .execute(&mut conn)
            .unwrap_or_else(|e| panic!("cannot create test schema: {e}"));
        let separator = if base.contains('?') { '&' } else { '?' };
        Self {
            url: format!("{base}{separator}options=-csearch_path%3D{schema}"),
            backend: Backend::Postgres,
            sqlite_file: None,
            pg_schema: Some((base.to_owned(), schema)),
        }
    }

    /// SQLite always, then Postgres when available.
    pub fn all() -> Vec<Self> {
        let mut dbs = vec![Self::sqlite()];
        dbs.extend(Self::postgres());
        dbs
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self, size: u32) -> Result<Pool, StoreError> {
        crate::connect_and_migrate(&DatabaseUrl::parse(&self.url)?, size)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(file) = &self.sqlite_file {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
            }
        }
        if let Some((base, schema)) = &self.pg_schema
            && let Ok(mut conn) = PgConnection::establish(base)
        {
            let _ = diesel::sql_query(format!("DROP SCHEMA {schema} CASCADE")).execute(&mut conn);
        }
    }
}
