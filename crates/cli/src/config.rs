//! Typed configuration from flags and the environment, checked at start-up.

use std::path::{Path, PathBuf};

use timebank_store::{DEFAULT_DATABASE_URL, DatabaseUrl, Pool, StoreError};

/// A configuration or usage problem: the process exits with code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    // DATABASE_URL and JWT_SECRET are read from the environment by `load`,
    // not by clap: clap lists an argument the environment sets in the usage
    // line of any usage error, as if it were required.
    /// postgres://user@host/db or sqlite://path [env: DATABASE_URL] [default:
    /// sqlite://./data/timebank.db]
    #[arg(long, global = true)]
    database_url: Option<String>,
    /// Secret for signing access tokens [env: JWT_SECRET]. Without it, one is
    /// generated and kept in --jwt-secret-file.
    #[arg(long, global = true)]
    jwt_secret: Option<String>,
    /// Secrets replaced by a rotation, comma-separated: tokens they signed
    /// are still accepted (never issued) until they are removed here.
    #[arg(
        long,
        env = "JWT_PREVIOUS_SECRETS",
        global = true,
        hide_env_values = true,
        value_delimiter = ','
    )]
    jwt_previous_secrets: Vec<String>,
    #[arg(
        long,
        env = "JWT_SECRET_FILE",
        global = true,
        default_value = "./data/jwt-secret"
    )]
    jwt_secret_file: PathBuf,
    /// Log filter, e.g. info or timebank=debug,actix_web=info
    #[arg(long, env = "RUST_LOG", global = true, default_value = "info")]
    pub log: String,
    /// Login and registration limits per client IP and per phone, e.g.
    /// `login_ip=60/min,login_phone=10/h` (units s, min, h; a name left out
    /// keeps its default), or `off`.
    #[arg(long, env = "TIMEBANK_RATE_LIMITS", global = true, default_value = timebank_api::limits::DEFAULT_RATE_LIMITS)]
    rate_limits: String,
    /// Database connections in the pool.
    #[arg(long, env = "TIMEBANK_DB_POOL", global = true, default_value_t = 16)]
    db_pool: u32,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub database: DatabaseUrl,
    pub jwt_secret: String,
    pub jwt_secret_source: String,
    pub jwt_previous_secrets: Vec<String>,
    pub rate_limits: String,
    pub db_pool: u32,
}

impl Config {
    /// `sqlite_override` points `demo` at its own database file.
    pub fn load(args: &Args, sqlite_override: Option<&str>) -> Result<Self, ConfigError> {
        let raw = match sqlite_override {
            Some(path) => format!("sqlite://{path}"),
            None => args
                .database_url
                .clone()
                .or_else(|| from_env("DATABASE_URL"))
                .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned()),
        };
        let database = DatabaseUrl::parse(&raw).map_err(|e| ConfigError(e.to_string()))?;
        let jwt_secret = args.jwt_secret.clone().or_else(|| from_env("JWT_SECRET"));
        let (jwt_secret, jwt_secret_source) = match &jwt_secret {
            Some(secret) if secret.len() >= 16 => (secret.clone(), "JWT_SECRET".to_owned()),
            Some(_) => {
                return Err(ConfigError(
                    "JWT_SECRET must be at least 16 characters".into(),
                ));
            }
            None => (
                secret_from_file(&args.jwt_secret_file)?,
                args.jwt_secret_file.display().to_string(),
            ),
        };
        let jwt_previous_secrets: Vec<String> = args
            .jwt_previous_secrets
            .iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        if jwt_previous_secrets.iter().any(|s| s.len() < 16) {
            return Err(ConfigError(
                "every JWT_PREVIOUS_SECRETS entry must be at least 16 characters".into(),
            ));
        }
        timebank_api::limits::RateLimits::parse(&args.rate_limits)
            .map_err(|e| ConfigError(format!("--rate-limits: {e}")))?;
        if args.db_pool == 0 {
            return Err(ConfigError("--db-pool must be at least 1".into()));
        }
        Ok(Self {
            database,
            jwt_secret,
            jwt_secret_source,
            jwt_previous_secrets,
            rate_limits: args.rate_limits.clone(),
            db_pool: args.db_pool,
        })
    }

    /// The signing key and every key still accepted.
    pub fn token_keys(&self) -> timebank_directory::tokens::TokenKeys {
        let previous: Vec<&[u8]> = self
            .jwt_previous_secrets
            .iter()
            .map(String::as_bytes)
            .collect();
        timebank_directory::tokens::TokenKeys::rotating(self.jwt_secret.as_bytes(), &previous)
    }

    /// Opens the database (creating an SQLite file that is not there yet)
    /// and says on stderr which one, so that a command run against the wrong
    /// one is noticed.
    pub fn connect(&self) -> anyhow::Result<Pool> {
        eprintln!("database: {}", self.database.redacted());
        timebank_store::connect_and_migrate(&self.database, self.db_pool).map_err(|e| match e {
            StoreError::Config(m) => ConfigError(m).into(),
            other => anyhow::Error::new(other),
        })
    }
}

/// [`Config::connect`] for commands that only read: an SQLite file that
/// does not exist is an error, not a new empty database.
impl Config {
    pub fn connect_existing(&self) -> anyhow::Result<Pool> {
        if let Some(path) = self.database.sqlite_path()
            && !path.exists()
        {
            return Err(ConfigError(format!(
                "no database at {}: set DATABASE_URL (or --database-url) to the one to use, e.g. sqlite://./data/demo.db for the demo's",
                path.display()
            ))
            .into());
        }
        self.connect()
    }
}

fn from_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Reads the secret file, creating it (owner-only) with a random secret on
/// first start.
fn secret_from_file(path: &Path) -> Result<String, ConfigError> {
    if let Ok(text) = std::fs::read_to_string(path) {
        let secret = text.trim().to_owned();
        if secret.len() >= 16 {
            return Ok(secret);
        }
        return Err(ConfigError(format!(
            "{} holds a secret shorter than 16 characters",
            path.display()
        )));
    }
    let secret =
        timebank_directory::tokens::generate_secret().map_err(|e| ConfigError(e.to_string()))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| ConfigError(format!("cannot create {}: {e}", dir.display())))?;
    }
    write_private(path, &secret)
        .map_err(|e| ConfigError(format!("cannot write {}: {e}", path.display())))?;
    tracing::info!(path = %path.display(), "generated a new JWT secret");
    eprintln!("generated a JWT signing secret in {}", path.display());
    Ok(secret)
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(text.as_bytes())
}

/// "90s", "30m", "1h", "7d" → seconds.
pub fn parse_ttl(text: &str) -> Result<i64, ConfigError> {
    let bad = || {
        ConfigError(format!(
            "--ttl {text:?}: use a number with s, m, h or d, e.g. 1h"
        ))
    };
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let n: i64 = number.parse().map_err(|_| bad())?;
    let factor = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    if n <= 0 || n > 366 {
        return Err(bad());
    }
    Ok(n * factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_units() {
        assert_eq!(parse_ttl("1h").unwrap(), 3600);
        assert_eq!(parse_ttl("30m").unwrap(), 1800);
        assert_eq!(parse_ttl("7d").unwrap(), 604_800);
        for bad in ["", "h", "0h", "-1h", "5x", "1000d"] {
            assert!(parse_ttl(bad).is_err(), "{bad}");
        }
    }
}
