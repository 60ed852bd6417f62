use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::ManageConnection;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{Backend, DatabaseUrl, StoreError};

/// One connection type for both backends; the variant is chosen by the URL.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Pg(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

pub type Pool = r2d2::Pool<DbManager>;
pub type PooledConn = r2d2::PooledConnection<DbManager>;

/// Builds the right variant itself: the derive's own `establish` would try
/// every backend in turn, so a Postgres outage could create a SQLite file.
#[derive(Debug)]
pub struct DbManager {
    url: DatabaseUrl,
}

impl DbManager {
    pub fn new(url: DatabaseUrl) -> Self {
        Self { url }
    }
}

// busy_timeout first: switching to WAL takes a lock, and without a timeout
// a connection opened while another one writes would fail at once.
// temp_store = MEMORY keeps savepoint journals (a commit group's job each
// runs in one) in memory: past 64 KiB SQLite would spill them to a temp
// file, a write per page changed. It holds no committed data.
pub const SQLITE_SETUP: &str = "PRAGMA busy_timeout = 10000;
PRAGMA journal_mode = WAL;
PRAGMA synchronous = FULL;
PRAGMA foreign_keys = ON;
PRAGMA temp_store = MEMORY;";

// Every statement the service keeps prepared looks rows up by key or by a
// range of paths, where one generic plan serves every call. Left to
// choose, Postgres kept planning some anew on each call (a custom plan
// for the parameters at hand, reading column statistics each time): a
// fifth of its CPU under write load.
pub const PG_SETUP: &str = "SET plan_cache_mode = force_generic_plan";

impl ManageConnection for DbManager {
    type Connection = DbConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConnection, Self::Error> {
        match self.url.backend() {
            Backend::Postgres => {
                let mut conn = diesel::PgConnection::establish(self.url.target())
                    .map_err(diesel::r2d2::Error::ConnectionError)?;
                conn.set_instrumentation(crate::statements::Counter);
                conn.batch_execute(PG_SETUP)
                    .map_err(diesel::r2d2::Error::QueryError)?;
                Ok(DbConnection::Pg(conn))
            }
            Backend::Sqlite => {
                let mut conn = diesel::SqliteConnection::establish(self.url.target())
                    .map_err(diesel::r2d2::Error::ConnectionError)?;
                conn.set_instrumentation(crate::statements::Counter);
                conn.batch_execute(SQLITE_SETUP)
                    .map_err(diesel::r2d2::Error::QueryError)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), Self::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        let broken = diesel::r2d2::R2D2Connection::is_broken(conn);
        if broken {
            connection_broke();
        }
        broken
    }
}

/// When a connection was last found broken (ms since the Unix epoch).
static BROKE_AT_MS: AtomicU64 = AtomicU64::new(0);
/// How long after a broken connection pooled ones are checked before use.
const TROUBLE_MS: u64 = 30_000;

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A connection broke (the database restarted or went away): the pool's
/// idle ones are likely dead too.
pub fn connection_broke() {
    BROKE_AT_MS.store(unix_ms(), Ordering::Relaxed);
}

/// A pooled connection to use now. Checking each one costs a round trip,
/// so that is done only for a while after a connection broke: then the
/// dead idle ones are dropped here instead of failing a request each.
pub fn checked_out(pool: &Pool) -> Result<PooledConn, StoreError> {
    let mut conn = pool.get()?;
    if unix_ms().saturating_sub(BROKE_AT_MS.load(Ordering::Relaxed)) > TROUBLE_MS {
        return Ok(conn);
    }
    for _ in 0..pool.max_size() {
        if conn.batch_execute("SELECT 1").is_ok() {
            return Ok(conn);
        }
        drop(conn);
        conn = pool.get()?;
    }
    Ok(conn)
}

pub(crate) fn build_pool(url: &DatabaseUrl, max_size: u32) -> Result<Pool, StoreError> {
    if let Some(path) = url.sqlite_path()
        && let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Config(format!("cannot create directory {}: {e}", dir.display()))
        })?;
    }
    // Check the connection once up front so a bad URL fails with its own
    // message instead of a pool time-out.
    let manager = DbManager::new(url.clone());
    manager
        .connect()
        .map_err(|e| StoreError::Connect(format!("{} ({})", e, url.redacted())))?;
    r2d2::Pool::builder()
        .max_size(max_size)
        // Open connections as load needs them, not max_size up front.
        .min_idle(Some(1))
        // No `SELECT 1` per checkout: a connection that fails is marked
        // broken by `has_broken` and replaced, and the request that met it
        // answers 503.
        .test_on_check_out(false)
        .connection_timeout(std::time::Duration::from_secs(10))
        .build(manager)
        .map_err(StoreError::Pool)
}

/// Runs `f` in a write transaction: `BEGIN IMMEDIATE` on SQLite (the writer
/// lock is taken up front, so busy_timeout applies and no read snapshot has
/// to be upgraded), a plain transaction on Postgres, where writers lock rows
/// with [`lock_rows_for_update`]. Inside a transaction already, it is a
/// savepoint of that one.
pub fn write_tx<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    let nested = DbConnection::transaction_manager_status_mut(conn)
        .transaction_depth()?
        .is_some();
    if nested {
        return conn.transaction(f);
    }
    // However this ends (commit, rollback, a panic), the generations it
    // touched move again afterwards.
    let _ended = TransactionEnd;
    match conn {
        DbConnection::Sqlite(inner) => {
            AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?
        }
        DbConnection::Pg(_) => DbConnection::begin_transaction(conn)?,
    }
    match f(conn) {
        Ok(value) => DbConnection::commit_transaction(conn)
            .map(|()| value)
            .map_err(E::from),
        Err(err) => {
            if let Err(rollback) = DbConnection::rollback_transaction(conn) {
                tracing::error!(error = %rollback, "rollback failed");
            }
            Err(err)
        }
    }
}

struct TransactionEnd;

impl Drop for TransactionEnd {
    fn drop(&mut self) {
        crate::generation::transaction_ended();
    }
}

/// Locks the `accounts` rows with these ids, in sorted order so that two
/// writers never wait on each other in a cycle. SQLite needs nothing: its
/// `BEGIN IMMEDIATE` already made this connection the only writer.
pub fn lock_rows_for_update(conn: &mut DbConnection, account_ids: &[String]) -> QueryResult<()> {
    use crate::schema::accounts::dsl::*;
    match conn {
        DbConnection::Pg(pg) => {
            let mut sorted: Vec<&String> = account_ids.iter().collect();
            sorted.sort();
            sorted.dedup();
            accounts
                .filter(id.eq_any(sorted))
                .order(id.asc())
                .select(id)
                .for_update()
                .load::<String>(pg)
                .map(|_| ())
        }
        DbConnection::Sqlite(_) => Ok(()),
    }
}

/// Rows other than accounts that writers serialise on.
#[derive(Debug, Clone, Copy)]
pub enum Lockable {
    Activity,
    Volunteer,
    CaseAward,
    Order,
    ServiceRequest,
    Wish,
    Team,
    Unit,
    ListItem,
    Project,
}

/// Locks one row for the rest of the write transaction (Postgres); SQLite's
/// `BEGIN IMMEDIATE` already serialises writers.
pub fn lock_row(conn: &mut DbConnection, what: Lockable, id: &str) -> QueryResult<()> {
    let sql = match what {
        Lockable::Activity => "SELECT 1 FROM activities WHERE id = ? FOR UPDATE",
        Lockable::Volunteer => "SELECT 1 FROM volunteers WHERE user_id = ? FOR UPDATE",
        Lockable::CaseAward => "SELECT 1 FROM case_awards WHERE id = ? FOR UPDATE",
        Lockable::Order => "SELECT 1 FROM orders WHERE id = ? FOR UPDATE",
        Lockable::ServiceRequest => "SELECT 1 FROM service_requests WHERE id = ? FOR UPDATE",
        Lockable::Wish => "SELECT 1 FROM wishes WHERE id = ? FOR UPDATE",
        Lockable::Team => "SELECT 1 FROM teams WHERE id = ? FOR UPDATE",
        Lockable::Unit => "SELECT 1 FROM units WHERE id = ? FOR UPDATE",
        Lockable::ListItem => "SELECT 1 FROM list_items WHERE id = ? FOR UPDATE",
        Lockable::Project => "SELECT 1 FROM projects WHERE id = ? FOR UPDATE",
    };
    match conn {
        DbConnection::Pg(_) => {
            crate::fixed::Fixed::new(sql, vec![crate::fixed::Param::Text(id.to_owned())])
                .execute(conn)
                .map(|_| ())
        }
        DbConnection::Sqlite(_) => Ok(()),
    }
}

/// Locks the `volunteers` rows with these user ids (Postgres), in sorted
/// order like [`lock_rows_for_update`], in one statement.
pub fn lock_volunteers(conn: &mut DbConnection, user_ids: &[&str]) -> QueryResult<()> {
    use crate::schema::volunteers::dsl::*;
    match conn {
        DbConnection::Pg(pg) => volunteers
            .filter(user_id.eq_any(user_ids))
            .order(user_id.asc())
            .select(user_id)
            .for_update()
            .load::<String>(pg)
            .map(|_| ()),
        DbConnection::Sqlite(_) => Ok(()),
    }
}
