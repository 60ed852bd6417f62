//! What a server keeps in memory learns of changes made by other processes:
//! triggers move a counter with every change to the rows memos are made of,
//! whichever connection makes it, and the watcher moves the generation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use diesel::prelude::*;
use timebank_store::generation::{IDENTITIES, REFERENCE};
use timebank_store::testing::TestDb;
use timebank_store::watch::Watcher;
use timebank_store::{Backend, DbConnection};

fn run(conn: &mut DbConnection, sql: &str) {
    diesel::sql_query(sql).execute(conn).unwrap();
}

#[derive(QueryableByName)]
struct Counter {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    value: i64,
}

/// The counters (identities, reference) as the database holds them.
fn counters(conn: &mut DbConnection) -> (i64, i64) {
    let read = |name: &str, conn: &mut DbConnection| {
        diesel::sql_query(format!(
            "SELECT value FROM memo_generations WHERE name = '{name}'"
        ))
        .get_result::<Counter>(conn)
        .unwrap()
        .value
    };
    (read("identities", conn), read("reference", conn))
}

/// Which generations one poll moved: (identities, reference).
fn moved_by_poll(watcher: &mut Watcher, conn: &mut DbConnection) -> (bool, bool) {
    let before = (IDENTITIES.current(), REFERENCE.current());
    assert!(watcher.poll(Some(conn)));
    (
        IDENTITIES.current() != before.0,
        REFERENCE.current() != before.1,
    )
}

#[test]
fn changes_made_on_another_connection_move_the_generations_they_concern() {
    for db in TestDb::all() {
        let pool = db.pool(2).unwrap();
        let mut watching = pool.get().unwrap();
        let mut other = pool.get().unwrap();
        let mut watcher = Watcher::default();
        assert_eq!(
            moved_by_poll(&mut watcher, &mut watching),
            (true, true),
            "the first read cannot know what changed before it"
        );
        assert_eq!(moved_by_poll(&mut watcher, &mut watching), (false, false));

        let now = "'2026-12-03 10:00:00'";
        run(
            &mut other,
            &format!(
                "INSERT INTO orgs (id, name, kind, path, created_at) \
                 VALUES ('o1', '荷塘区', 'district', '/o1/', {now})"
            ),
        );
        run(
            &mut other,
            &format!(
                "INSERT INTO users (id, name, phone, password_hash, created_at) \
                 VALUES ('u1', '李四', '13100000001', 'x', {now})"
            ),
        );
        assert_eq!(
            moved_by_poll(&mut watcher, &mut watching),
            (false, false),
            "a new org or user is in no memo yet"
        );

        run(
            &mut other,
            &format!(
                "INSERT INTO volunteers (user_id, community_id, status, skills, created_at) \
                 VALUES ('u1', 'o1', 'pending', '[]', {now})"
            ),
        );
        assert_eq!(moved_by_poll(&mut watcher, &mut watching), (true, false));
        run(
            &mut other,
            "UPDATE volunteers SET status = 'active' WHERE user_id = 'u1'",
        );
        assert_eq!(moved_by_poll(&mut watcher, &mut watching), (true, false));
        run(
            &mut other,
            "UPDATE volunteers SET star_level = 3 WHERE user_id = 'u1'",
        );
        assert_eq!(
            moved_by_poll(&mut watcher, &mut watching),
            (false, false),
            "a star level is no part of who a user is"
        );
        run(
            &mut other,
            &format!(
                "INSERT INTO role_grants (id, user_id, role, org_id, created_at) \
                 VALUES ('g1', 'u1', 'org_admin', 'o1', {now})"
            ),
        );
        assert_eq!(moved_by_poll(&mut watcher, &mut watching), (true, false));
        run(
            &mut other,
            &format!("UPDATE role_grants SET revoked_at = {now} WHERE id = 'g1'"),
        );
        assert_eq!(moved_by_poll(&mut watcher, &mut watching), (true, false));
        run(&mut other, "UPDATE orgs SET name = '荷塘' WHERE id = 'o1'");
        assert_eq!(moved_by_poll(&mut watcher, &mut watching), (true, true));
        run(
            &mut other,
            &format!(
                "INSERT INTO policies (id, org_id, kind, version, body, created_by, created_at) \
                 VALUES ('p1', 'o1', 'stars', 1, '{{}}', 'u1', {now})"
            ),
        );
        assert_eq!(moved_by_poll(&mut watcher, &mut watching), (false, true));

        // Uncommitted, a change is not seen; committed, it is.
        run(&mut other, "BEGIN");
        run(
            &mut other,
            "UPDATE volunteers SET status = 'suspended' WHERE user_id = 'u1'",
        );
        assert_eq!(moved_by_poll(&mut watcher, &mut watching), (false, false));
        run(&mut other, "COMMIT");
        assert_eq!(moved_by_poll(&mut watcher, &mut watching), (true, false));

        if db.backend() == Backend::Postgres {
            // However many rows a transaction changes, each counter moves once.
            let before = counters(&mut other);
            run(&mut other, "BEGIN");
            run(&mut other, "UPDATE volunteers SET status = 'active'");
            run(&mut other, "UPDATE volunteers SET status = 'suspended'");
            run(&mut other, "UPDATE orgs SET name = '荷塘区'");
            run(&mut other, "COMMIT");
            assert_eq!(counters(&mut other), (before.0 + 1, before.1 + 1));
            assert_eq!(moved_by_poll(&mut watcher, &mut watching), (true, true));
        }

        // While the counters cannot be read, every memo is doubted.
        let before = (IDENTITIES.current(), REFERENCE.current());
        assert!(!watcher.poll(None));
        assert!(IDENTITIES.current() > before.0 && REFERENCE.current() > before.1);
        assert_eq!(
            moved_by_poll(&mut watcher, &mut watching),
            (true, true),
            "nor is the first read after a failed one believed to know what changed"
        );
        assert_eq!(moved_by_poll(&mut watcher, &mut watching), (false, false));
    }
}
