use std::path::PathBuf;

use crate::StoreError;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://./data/timebank.db";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// A parsed `DATABASE_URL`: `postgres://…`/`postgresql://…` or `sqlite://path`.
#[derive(Debug, Clone)]
pub struct DatabaseUrl {
    backend: Backend,
    target: String,
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, StoreError> {
        let raw = raw.trim();
        let Some((scheme, rest)) = raw.split_once("://") else {
            return Err(StoreError::Config(format!(
                "malformed DATABASE_URL {raw:?}: expected postgres://… or sqlite://path"
            )));
        };
        match scheme.to_ascii_lowercase().as_str() {
            "postgres" | "postgresql" if !rest.is_empty() => Ok(Self {
                backend: Backend::Postgres,
                target: raw.to_owned(),
            }),
            "sqlite" if !rest.is_empty() => Ok(Self {
                backend: Backend::Sqlite,
                target: rest.to_owned(),
            }),
            "postgres" | "postgresql" | "sqlite" => Err(StoreError::Config(format!(
                "malformed DATABASE_URL {raw:?}: nothing after {scheme}://"
            ))),
            "mysql" | "mariadb" | "mssql" | "sqlserver" | "oracle" | "cockroachdb" => {
                Err(StoreError::Config(format!(
                    "database backend {scheme:?} is not compiled into timebank; use postgres:// or sqlite://"
                )))
            }
            _ => Err(StoreError::Config(format!(
                "unknown database scheme {scheme:?} in DATABASE_URL; use postgres://… or sqlite://path"
            ))),
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// What the driver is given: the whole URL for Postgres, the file path for SQLite.
    pub fn target(&self) -> &str {
        &self.target
    }

    pub fn sqlite_path(&self) -> Option<PathBuf> {
        (self.backend == Backend::Sqlite && self.target != ":memory:")
            .then(|| PathBuf::from(&self.target))
    }

    /// The URL with any password hidden, for logs and messages.
    pub fn redacted(&self) -> String {
        match self.backend {
            Backend::Sqlite => format!("sqlite://{}", self.target),
            Backend::Postgres => redact_password(&self.target),
        }
    }
}

fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_backends() {
        let pg = DatabaseUrl::parse("postgres://u:secret@localhost/db").unwrap();
        assert_eq!(pg.backend(), Backend::Postgres);
        assert_eq!(pg.redacted(), "postgres://u:***@localhost/db");
        let lite = DatabaseUrl::parse("sqlite://./data/x.db").unwrap();
        assert_eq!(lite.backend(), Backend::Sqlite);
        assert_eq!(lite.sqlite_path().unwrap(), PathBuf::from("./data/x.db"));
        assert!(DatabaseUrl::parse("sqlite:///abs/x.db").is_ok());
    }

    #[test]
    fn rejects_other_and_malformed_urls() {
        for bad in ["mysql://x/y", "nonsense", "sqlite://", "http://x", ""] {
            assert!(
                matches!(DatabaseUrl::parse(bad), Err(StoreError::Config(_))),
                "{bad}"
            );
        }
    }
}
