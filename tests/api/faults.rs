//! The database stops taking writes while the server runs: the disk fills
//! (a file-size limit on the writing processes makes every write fail, as
//! a full disk does: on SQLite the server's own, on Postgres the database
//! server's), or the database turns read-only (Postgres,
//! `default_transaction_read_only`, as after a failover to a replica). The server must stay up, answer writes 503 with the error
//! shape and `Retry-After`, keep answering reads, lose nothing, and take
//! writes again as soon as the database does.

use std::process::Command;

use diesel::Connection;
use diesel::connection::SimpleConnection;
use serde_json::json;
use timebank_store::testing::TestDb;

use crate::helpers::*;
use crate::pg_cluster::PgCluster;

/// Sets the soft file-size limit only, so an unprivileged user can lift it.
fn prlimit_fsize(pid: u32, limit: &str) {
    let out = Command::new("prlimit")
        .args(["--pid", &pid.to_string(), &format!("--fsize={limit}:")])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "prlimit: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Orders, breaks writes with `break_writes`, checks the 503s, restores
/// with `restore`, and checks that the refused key now succeeds once.
fn writes_fail_then_recover(
    app: &App,
    reads_survive: bool,
    break_writes: impl FnOnce(),
    restore: impl FnOnce(),
) {
    let t = tree(app);
    let (site, item) = oil_shop(app, &t, 50);
    let (v, token) = app.active_volunteer("满盘", "13300000001", &t.community_a);
    earn(app, &v, &t.community_a, "20.00");
    let body = json!({ "item_id": item, "site_id": site, "quantity": 1 });
    let keyed = |key: &str| {
        app.send(
            "POST",
            "/api/v1/redemptions",
            Some(&token),
            Some(body.clone()),
            &[("Idempotency-Key", key)],
        )
    };
    assert_eq!(keyed("before").status, 201);

    break_writes();
    for key in ["during-1", "during-2", "during-1"] {
        let r = keyed(key);
        r.assert_error(503, "unavailable");
        assert!(r.header("retry-after").is_some(), "{:?}", r.headers);
    }
    // Writes outside commit groups fail the same way.
    app.post(
        "/api/v1/volunteers/register",
        None,
        json!({ "name": "新人", "phone": "13300000002", "password": "volunteer-pass", "community_id": t.community_a }),
    )
    .assert_error(503, "unavailable");
    // The process carries on; so do reads, unless the database itself
    // stopped (Postgres shuts down when it cannot write its WAL): then
    // they too answer 503 with the error shape.
    assert_eq!(app.get("/healthz", None).status, 200);
    let me = app.get("/api/v1/me", Some(&token));
    if reads_survive {
        assert_eq!(me.status, 200, "{}", me.body);
        assert_eq!(app.balance(&v)["points"], "18.00");
    } else if me.status != 200 {
        me.assert_error(503, "unavailable");
    }

    restore();
    let mut retried = keyed("during-1");
    for _ in 0..300 {
        if retried.status != 503 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        retried = keyed("during-1");
    }
    assert_eq!(retried.status, 201, "{}", retried.body);
    assert_eq!(
        retried.header("idempotent-replayed"),
        None,
        "nothing was kept of the refused try"
    );
    assert_eq!(
        keyed("during-1").header("idempotent-replayed"),
        Some("true")
    );
    assert_eq!(keyed("before").status, 201);
    assert_eq!(app.balance(&v)["points"], "16.00");
    let out = cli(&app.db, &["verify"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn sqlite_disk_full_answers_503_and_recovers() {
    let app = spawn(TestDb::sqlite());
    let pid = app.pid();
    writes_fail_then_recover(
        &app,
        true,
        || prlimit_fsize(pid, "0"),
        || prlimit_fsize(pid, "unlimited"),
    );
}

#[test]
fn postgres_read_only_answers_503_and_recovers() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let app = spawn(TestDb::postgres_at(&cluster.url()));
    let set_read_only = |on: bool| {
        let mut conn = diesel::PgConnection::establish(&cluster.url()).unwrap();
        conn.batch_execute(&format!(
            "ALTER SYSTEM SET default_transaction_read_only = {on}"
        ))
        .unwrap();
        conn.batch_execute("SELECT pg_reload_conf()").unwrap();
        // Give every backend a moment to read the new setting.
        std::thread::sleep(std::time::Duration::from_millis(300));
    };
    writes_fail_then_recover(&app, true, || set_read_only(true), || set_read_only(false));
}

#[test]
fn postgres_disk_full_answers_503_and_recovers() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let app = spawn(TestDb::postgres_at(&cluster.url()));
    writes_fail_then_recover(
        &app,
        false,
        || cluster.limit_file_size("0"),
        || {
            cluster.limit_file_size("unlimited");
            cluster.ensure_running();
        },
    );
}
