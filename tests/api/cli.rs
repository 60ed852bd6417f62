use std::process::Stdio;

use diesel::RunQueryDsl;
use serde_json::{Value, json};
use timebank_store::testing::TestDb;

use crate::helpers::*;

#[test]
fn bad_database_urls_exit_with_code_2() {
    for (url, says) in [
        ("mysql://u@h/db", "not compiled"),
        ("nonsense", "malformed"),
        ("sqlite://", "malformed"),
        ("ftp://x", "unknown"),
    ] {
        let out = bin()
            .arg("migrate")
            .env("DATABASE_URL", url)
            .env("JWT_SECRET", SECRET)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{url}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{url}: {stderr}");
    }
}

#[test]
fn migrate_is_repeatable_and_verify_reports_tampering() {
    for db in TestDb::all() {
        for _ in 0..2 {
            let out = cli(&db, &["migrate"]);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let app = spawn(db);
        let t = tree(&app);
        let v = app.register("赵敏", "13500000001", &t.community_a);
        let ok = cli(&app.db, &["verify"]);
        assert!(ok.status.success());
        let report: Value = serde_json::from_slice(&ok.stdout).unwrap();
        assert_eq!(report["ok"], true);

        // Someone edits a balance behind the ledger's back.
        app.tampered
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let pool = app.db.pool(1).unwrap();
        let conn = &mut pool.get().unwrap();
        diesel::sql_query("UPDATE balances SET amount = 99900 WHERE asset = 'POINT' AND account_id IN (SELECT id FROM accounts WHERE owner_id = '".to_owned() + &v + "')")
            .execute(conn)
            .unwrap();
        let bad = cli(&app.db, &["verify"]);
        assert_eq!(bad.status.code(), Some(1));
        let report: Value = serde_json::from_slice(&bad.stdout).unwrap();
        assert_eq!(report["ok"], false);
        assert_eq!(report["problems"][0]["code"], "balance_mismatch");
        let api = app.get("/api/v1/ledger/verify", Some(&app.admin));
        assert_eq!(api.body["ok"], false);
    }
}

/// `demo` loads once, serves, and a second run reuses the same database.
#[test]
fn demo_runs_twice() {
    let dir = std::env::temp_dir().join(format!("timebank-demo-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut postings_seen = Vec::new();
    for _ in 0..2 {
        let mut child = bin()
            .args(["demo", "--bind", "127.0.0.1:0"])
            .current_dir(&dir)
            .env_remove("DATABASE_URL")
            .env_remove("JWT_SECRET")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let url = wait_for_listening(&mut child);
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let login: Value = agent
            .post(format!("{url}/api/v1/auth/login"))
            .send_json(json!({ "phone": "13800000000", "password": "admin-demo-2026" }))
            .unwrap()
            .body_mut()
            .read_json()
            .unwrap();
        let token = login["access_token"]
            .as_str()
            .expect("admin login works")
            .to_owned();
        let report: Value = agent
            .get(format!("{url}/api/v1/ledger/verify"))
            .header("Authorization", format!("Bearer {token}"))
            .call()
            .unwrap()
            .body_mut()
            .read_json()
            .unwrap();
        assert_eq!(report["ok"], true, "{report}");
        assert!(report["postings_checked"].as_u64().unwrap() > 1000);
        let activities: Value = agent
            .get(format!("{url}/api/v1/activities?limit=3"))
            .header("Authorization", format!("Bearer {token}"))
            .call()
            .unwrap()
            .body_mut()
            .read_json()
            .unwrap();
        assert_eq!(
            activities["items"].as_array().unwrap().len(),
            3,
            "upcoming published activities"
        );
        postings_seen.push(report["postings_checked"].clone());
        let _ = child.kill();
        let _ = child.wait();
    }
    assert_eq!(
        postings_seen[0], postings_seen[1],
        "the second run adds nothing"
    );
    assert!(dir.join("data/demo.db").exists());
    assert!(dir.join("data/jwt-secret").exists());
    let _ = std::fs::remove_dir_all(&dir);
}
