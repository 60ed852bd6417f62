use diesel::RunQueryDsl;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::{DbConnection, StoreError};

const POSTGRES: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");
const SQLITE: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// An arbitrary constant shared by every timebank instance, so two instances
/// starting at once never run migrations concurrently.
const MIGRATION_LOCK_KEY: i64 = 0x7469_6d65_6261_6e6b;

/// Runs pending migrations; returns the versions it applied.
pub fn run_migrations(conn: &mut DbConnection) -> Result<Vec<String>, StoreError> {
    let applied = match conn {
        DbConnection::Pg(pg) => {
            diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
                .execute(pg)?;
            let result = pg
                .run_pending_migrations(POSTGRES)
                .map(|v| v.iter().map(ToString::to_string).collect::<Vec<_>>());
            diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))
                .execute(pg)?;
            result
        }
        DbConnection::Sqlite(lite) => {
            let result = lite
                .run_pending_migrations(SQLITE)
                .map(|v| v.iter().map(ToString::to_string).collect::<Vec<_>>());
            // A table rebuild turns foreign keys off for its own span; however
            // it ended, this connection goes back to the pool with them on.
            diesel::connection::SimpleConnection::batch_execute(lite, "PRAGMA foreign_keys = ON")?;
            result
        }
    };
    applied.map_err(|e| StoreError::Migration(e.to_string()))
}

#[cfg(test)]
mod tests {
    use diesel::RunQueryDsl;
    use diesel::sql_types::BigInt;
    use diesel_migrations::MigrationHarness;

    use super::*;
    use crate::testing::TestDb;

    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }

    fn count(conn: &mut DbConnection, sql: &str) -> i64 {
        diesel::sql_query(sql).get_result::<Count>(conn).unwrap().n
    }

    /// The newest migration rebuilds `accounts` on SQLite: an existing
    /// ledger keeps its rows and its foreign keys, and team accounts open.
    #[test]
    fn team_accounts_arrive_on_a_ledger_with_rows() {
        for db in TestDb::all() {
            let url = crate::DatabaseUrl::parse(db.url()).unwrap();
            let pool = crate::connection::build_pool(&url, 1).unwrap();
            let mut conn = pool.get().unwrap();
            let conn = &mut *conn;
            loop {
                let pending = match conn {
                    DbConnection::Pg(pg) => pg.pending_migrations(POSTGRES).unwrap().len(),
                    DbConnection::Sqlite(lite) => lite.pending_migrations(SQLITE).unwrap().len(),
                };
                if pending <= 1 {
                    break;
                }
                match conn {
                    DbConnection::Pg(pg) => pg.run_next_migration(POSTGRES).map(|_| ()),
                    DbConnection::Sqlite(lite) => lite.run_next_migration(SQLITE).map(|_| ()),
                }
                .unwrap();
            }
            for sql in [
                "INSERT INTO accounts VALUES ('a1', 'org_issuance', 'o1', '/o1/', TRUE, 1, 'h', '2026-01-01 00:00:00')",
                "INSERT INTO accounts VALUES ('a2', 'volunteer_wallet', 'v1', '/o1/', FALSE, 1, 'h', '2026-01-01 00:00:00')",
                "INSERT INTO balances VALUES ('a2', 'POINT', 100, 100, FALSE)",
                "INSERT INTO transactions (id, kind, reason, created_at) VALUES ('t1', 'adjustment', 'r', '2026-01-01 00:00:00')",
                "INSERT INTO postings VALUES ('p1', 't1', 'a2', 1, 'POINT', 100, 100, 'g', 'h1', '2026-01-01 00:00:00')",
            ] {
                diesel::sql_query(sql).execute(conn).unwrap();
            }
            assert_eq!(run_migrations(conn).unwrap().len(), 1);
            assert_eq!(count(conn, "SELECT COUNT(*) AS n FROM accounts"), 2);
            assert_eq!(
                count(
                    conn,
                    "SELECT COUNT(*) AS n FROM postings p JOIN accounts a ON a.id = p.account_id"
                ),
                1
            );
            diesel::sql_query(
                "INSERT INTO accounts VALUES ('a3', 'team_account', 't1', '/o1/', FALSE, 0, 'h', '2026-01-01 00:00:00')",
            )
            .execute(conn)
            .unwrap();
            let orphan =
                diesel::sql_query("INSERT INTO balances VALUES ('nope', 'POINT', 1, 1, FALSE)")
                    .execute(conn);
            assert!(orphan.is_err(), "balances still reference accounts");
            let unknown = diesel::sql_query(
                "INSERT INTO accounts VALUES ('a4', 'team_wallet', 't2', '/o1/', FALSE, 0, 'h', '2026-01-01 00:00:00')",
            )
            .execute(conn);
            assert!(unknown.is_err(), "the kinds are still checked");
        }
    }
}
