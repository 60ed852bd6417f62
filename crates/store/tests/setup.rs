//! Every connection is set up as the service's durability and speed rely
//! on: SQLite in WAL mode with full syncs, Postgres with generic plans.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use diesel::prelude::*;
use diesel::sql_types::Text;
use timebank_store::Backend;
use timebank_store::testing::TestDb;

#[derive(QueryableByName)]
struct Setting {
    #[diesel(sql_type = Text)]
    value: String,
}

fn setting(conn: &mut timebank_store::DbConnection, sql: &str) -> String {
    diesel::sql_query(sql)
        .get_result::<Setting>(conn)
        .unwrap()
        .value
}

#[test]
fn pooled_connections_are_set_up() {
    for db in TestDb::all() {
        let pool = db.pool(2).unwrap();
        let mut conn = pool.get().unwrap();
        match db.backend() {
            Backend::Sqlite => {
                let mode = "SELECT journal_mode AS value FROM pragma_journal_mode";
                assert_eq!(setting(&mut conn, mode), "wal");
                let sync = "SELECT CAST(synchronous AS TEXT) AS value FROM pragma_synchronous";
                assert_eq!(setting(&mut conn, sync), "2", "synchronous = FULL");
            }
            Backend::Postgres => {
                let plans = "SELECT current_setting('plan_cache_mode') AS value";
                assert_eq!(setting(&mut conn, plans), "force_generic_plan");
            }
        }
    }
}
