use serde_json::{Value, json};

use crate::helpers::*;

fn job(app: &App, args: &[&str], failpoint: Option<&str>) -> std::process::Output {
    let mut cmd = bin();
    cmd.args(args)
        .env("DATABASE_URL", app.db.url())
        .env("JWT_SECRET", SECRET)
        .env("RUST_LOG", "warn");
    if let Some(f) = failpoint {
        cmd.env("TIMEBANK_FAILPOINT", f);
    }
    cmd.output().unwrap()
}

/// Three finished activities with three volunteers' attendance, unsettled.
fn unsettled_work(app: &App) -> Vec<String> {
    let t = tree(app);
    let mut volunteers = Vec::new();
    for (i, phone) in ["13500000001", "13500000002", "13500000003"]
        .iter()
        .enumerate()
    {
        volunteers.push(
            app.active_volunteer(&format!("志愿者{i}"), phone, &t.community_a)
                .0,
        );
    }
    for day in 1..=3 {
        let a = app.published_activity(
            &t.community_a,
            &day_at(day, 1, 0),
            &day_at(day, 5, 0),
            10,
            None,
        );
        for (i, v) in volunteers.iter().enumerate() {
            let minutes = 10 * i as u32;
            assert_eq!(
                app.attend(&a, v, &day_at(day, 1, minutes), &day_at(day, 5, 0))
                    .status,
                201
            );
        }
    }
    volunteers
}

fn hours(app: &App, vs: &[String]) -> Vec<String> {
    vs.iter()
        .map(|v| app.balance(v)["hours"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn settle_killed_midway_then_rerun_equals_one_clean_run() {
    let clean = {
        let db = timebank_store::testing::TestDb::sqlite();
        let app = spawn(db);
        let vs = unsettled_work(&app);
        let out = job(&app, &["settle"], None);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        hours(&app, &vs)
    };
    each_backend(|app| {
        let vs = unsettled_work(app);
        let killed = job(app, &["settle"], Some("settle:1"));
        assert!(!killed.status.success(), "the failpoint aborts the process");
        let partial = hours(app, &vs);
        assert_ne!(partial, clean, "only part was settled before the kill");
        let rerun = job(app, &["settle"], None);
        assert!(
            rerun.status.success(),
            "{}",
            String::from_utf8_lossy(&rerun.stderr)
        );
        assert_eq!(
            hours(app, &vs),
            clean,
            "kill + rerun ends where one clean run ends"
        );
        let again: Value = serde_json::from_slice(&job(app, &["settle"], None).stdout).unwrap();
        assert_eq!(again["summary"]["changed"], 0, "{again}");
        assert_eq!(hours(app, &vs), clean);
    });
}

#[test]
fn expire_killed_midway_then_rerun_expires_each_wallet_once() {
    each_backend(|app| {
        let t = tree(app);
        let mut vs = Vec::new();
        for (i, phone) in ["13500000001", "13500000002", "13500000003"]
            .iter()
            .enumerate()
        {
            let (v, _) = app.active_volunteer(&format!("志愿者{i}"), phone, &t.community_a);
            earn(app, &v, &t.community_a, &format!("{}.00", 10 * (i + 1)));
            vs.push(v);
        }
        // One spent some: only the unspent part of old points expires.
        let (spender, st) = app.active_volunteer("花费者", "13500000009", &t.community_a);
        earn(app, &spender, &t.community_a, "10.00");
        let (child, ct) = app.active_volunteer("孩子", "13500000008", &t.community_a);
        let link = app.post(
            "/api/v1/family-links",
            Some(&st),
            json!({ "user_id": child, "relation": "child" }),
        );
        app.send(
            "POST",
            &format!(
                "/api/v1/family-links/{}/confirm",
                link.body["id"].as_str().unwrap()
            ),
            Some(&ct),
            None,
            &[],
        );
        assert_eq!(
            app.post(
                "/api/v1/gifts",
                Some(&st),
                json!({ "to_user_id": child, "points": "4.00" })
            )
            .status,
            201
        );
        let policy = app
            .get(
                &format!("/api/v1/policies/earning?org_id={}", t.district),
                Some(&app.admin),
            )
            .body["policy"]
            .clone();
        let mut policy = policy;
        policy["expiry"] = json!({ "kind": "end_of_next_year" });
        let put = app.send(
            "PUT",
            &format!("/api/v1/policies/earning?org_id={}", t.district),
            Some(&app.admin),
            Some(policy),
            &[],
        );
        assert_eq!(put.status, 200, "{}", put.body);

        // As of 2026-12-31 nothing earned in 2026 has expired yet.
        let early: Value =
            serde_json::from_slice(&job(app, &["expire", "--as-of", "2026-12-31"], None).stdout)
                .unwrap();
        assert_eq!(early["summary"]["changed"], 0, "{early}");
        let killed = job(app, &["expire", "--as-of", "2028-01-01"], Some("expire:1"));
        assert!(!killed.status.success());
        let rerun = job(app, &["expire", "--as-of", "2028-01-01"], None);
        assert!(
            rerun.status.success(),
            "{}",
            String::from_utf8_lossy(&rerun.stderr)
        );
        for v in vs.iter().chain([&spender]) {
            let b = app.balance(v);
            assert_eq!(b["points"], "0.00", "{b}");
            assert_ne!(b["lifetime_points"], "0.00", "lifetime points never expire");
        }
        assert_eq!(
            app.balance(&child)["points"],
            "0.00",
            "gifted points expire too, by their own date"
        );
        let spender_entries = app.get(&format!("/api/v1/volunteers/{spender}/entries"), Some(&st));
        let expiry = spender_entries.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["kind"] == "expiry")
            .cloned()
            .unwrap();
        assert_eq!(expiry["amount"], "-6.00", "10 earned − 4 given away");
        let again: Value =
            serde_json::from_slice(&job(app, &["expire", "--as-of", "2028-01-01"], None).stdout)
                .unwrap();
        assert_eq!(
            again["summary"]["changed"], 0,
            "each wallet expires once per cut-off"
        );
    });
}

#[test]
fn jobs_over_http_and_ledger_checkpoints() {
    each_backend(|app| {
        let t = tree(app);
        let (v, vt) = app.active_volunteer("李明", "13500000001", &t.community_a);
        earn(app, &v, &t.community_a, "5.00");
        let token =
            String::from_utf8(cli(&app.db, &["token", "--role", "system", "--ttl", "10m"]).stdout)
                .unwrap()
                .trim()
                .to_owned();
        app.send("POST", "/api/v1/jobs/stars", Some(&app.admin), None, &[])
            .assert_error(403, "forbidden");
        app.send("POST", "/api/v1/jobs/stars", Some(&vt), None, &[])
            .assert_error(403, "forbidden");
        app.send("POST", "/api/v1/jobs/nothing", Some(&token), None, &[])
            .assert_error(404, "not_found");
        app.send("POST", "/api/v1/jobs/expire", Some(&token), None, &[])
            .assert_error(422, "validation_failed");
        // An unknown field is named, not dropped.
        let bogus = app.post("/api/v1/jobs/settle", Some(&token), json!({ "bogus": 1 }));
        bogus.assert_error(422, "validation_failed");
        assert_eq!(
            bogus.body["error"]["details"]["fields"]["bogus"],
            json!(["unknown_field"])
        );
        // A day, as the CLI takes it, or a time.
        for until in ["2026-12-01", "2026-12-01T08:00:00Z"] {
            let r = app.post(
                "/api/v1/jobs/settle",
                Some(&token),
                json!({ "until": until }),
            );
            assert_eq!(r.status, 200, "{until}: {}", r.body);
        }
        let r = app.post(
            "/api/v1/jobs/settle",
            Some(&token),
            json!({ "until": "2026-12" }),
        );
        r.assert_error(400, "invalid_body");
        assert!(
            r.body["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("field until must be a day"),
            "{}",
            r.body
        );
        for name in ["stars", "orders-expire", "settle"] {
            let r = app.send(
                "POST",
                &format!("/api/v1/jobs/{name}"),
                Some(&token),
                None,
                &[],
            );
            assert_eq!(r.status, 200, "{name}: {}", r.body);
            assert_eq!(r.body["job"], name);
            assert!(r.body["run_id"].is_string());
        }
        let r = app.post(
            "/api/v1/jobs/expire",
            Some(&token),
            json!({ "as_of": "2027-06-30" }),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        for args in [vec!["stars"], vec!["orders", "expire"]] {
            let out = job(app, &args, None);
            assert!(
                out.status.success(),
                "{args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }

        let verified = app.post(
            "/api/v1/jobs/verify",
            Some(&token),
            json!({ "checkpoint": false }),
        );
        assert_eq!(verified.body["report"]["ok"], true, "{}", verified.body);
        let today = chrono::Utc::now().date_naive().to_string();
        let exported = app.post(
            "/api/v1/jobs/export",
            Some(&token),
            json!({ "org_id": t.district, "from": "2026-01-01", "to": today }),
        );
        assert!(
            exported.body["data"]["volunteers"]
                .as_array()
                .unwrap()
                .iter()
                .any(|v| v["phone"] == "13500000001"),
            "{}",
            exported.body
        );
        app.post(
            "/api/v1/jobs/export",
            Some(&token),
            json!({ "org_id": t.district }),
        )
        .assert_error(422, "validation_failed");
        let csv = "phone,name,community,status,skills,registered_at\n13500000077,网上导入,测试市/荷塘区/月塘街道/新塘社区,active,,\n";
        let imported = app.post_raw_auth(
            "/api/v1/jobs/import-volunteers",
            &token,
            "text/csv",
            csv.as_bytes(),
        );
        assert_eq!(imported.body["report"]["applied"], 1, "{}", imported.body);

        let out = job(app, &["verify", "--checkpoint"], None);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("\"digest\""), "{text}");
        earn(app, &v, &t.community_a, "1.00");
        assert!(
            job(app, &["verify"], None).status.success(),
            "new postings extend the checkpoint"
        );

        // Rewriting history behind the checkpoint is found.
        app.tampered
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let pool = app.db.pool(1).unwrap();
        let conn = &mut pool.get().unwrap();
        use diesel::RunQueryDsl;
        use diesel::connection::SimpleConnection;
        match app.db.backend() {
            timebank_store::Backend::Sqlite => conn
                .batch_execute("DROP TRIGGER postings_no_update")
                .unwrap(),
            timebank_store::Backend::Postgres => conn
                .batch_execute("ALTER TABLE postings DISABLE TRIGGER postings_append_only")
                .unwrap(),
        }
        diesel::sql_query("UPDATE postings SET hash = 'forged' WHERE seq = 2")
            .execute(conn)
            .unwrap();
        let bad = job(app, &["verify"], None);
        assert_eq!(bad.status.code(), Some(1));
        let report: Value = serde_json::from_slice(&bad.stdout).unwrap();
        let codes: Vec<&str> = report["problems"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p["code"].as_str())
            .collect();
        assert!(codes.contains(&"checkpoint_not_extended"), "{codes:?}");
    });
}

fn balances_by_phone(app: &App, phones: &[&str]) -> Vec<(String, String, String)> {
    use diesel::prelude::*;
    use timebank_store::schema::users;
    let pool = app.db.pool(1).unwrap();
    let conn = &mut pool.get().unwrap();
    phones
        .iter()
        .map(|phone| {
            let id: String = users::table
                .filter(users::phone.eq(*phone))
                .select(users::id)
                .first(conn)
                .unwrap();
            let b = app.balance(&id);
            (
                phone.to_string(),
                b["hours"].as_str().unwrap().to_owned(),
                b["points"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn export_then_import_into_a_fresh_database_gives_identical_balances() {
    for db in timebank_store::testing::TestDb::all() {
        let backend = db.backend();
        let source = spawn(db);
        let t = tree(&source);
        let phones = ["13500000001", "13500000002", "13500000003"];
        let mut ids = Vec::new();
        for (i, phone) in phones.iter().enumerate() {
            let community = if i == 2 {
                &t.community_b
            } else {
                &t.community_a
            };
            ids.push(
                source
                    .active_volunteer(&format!("志愿者{i}"), phone, community)
                    .0,
            );
        }
        for day in 1..=2 {
            let a = source.published_activity(
                &t.community_a,
                &day_at(day, 1, 0),
                &day_at(day, 5, 0),
                10,
                Some("1.50"),
            );
            let b = source.published_activity(
                &t.street_a,
                &day_at(day, 6, 0),
                &day_at(day, 9, 0),
                10,
                None,
            );
            for (i, v) in ids.iter().enumerate() {
                source.attend(&a, v, &day_at(day, 1, 10 * i as u32), &day_at(day, 5, 0));
                if i != 1 {
                    source.attend(&b, v, &day_at(day, 6, 0), &day_at(day, 8, 45));
                }
            }
            source.settle(&a);
            source.settle(&b);
        }
        let expected = balances_by_phone(&source, &phones);
        let dir = std::env::temp_dir().join(format!("timebank-export-{}", uuid::Uuid::new_v4()));
        // Export periods are the district's local days (+08:00 by default):
        // after 16:00 UTC its today is tomorrow in UTC.
        let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
        let out = job(
            &source,
            &[
                "export",
                "--org",
                &t.district,
                "--from",
                "2026-01-01",
                "--to",
                &(today + chrono::Duration::days(1)).to_string(),
                "--format",
                "csv",
                "--out",
                dir.to_str().unwrap(),
            ],
            None,
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let records = std::fs::read_to_string(dir.join("service_records.csv")).unwrap();
        assert_eq!(
            records.lines().next().unwrap(),
            "record_id,phone,title,category,organiser,started_at,ended_at,hours,points,points_per_hour"
        );
        assert_eq!(records.lines().count(), 1 + 10);
        let jsonl = job(
            &source,
            &[
                "export",
                "--org",
                &t.district,
                "--from",
                "2026-01-01",
                "--to",
                &today.to_string(),
                "--format",
                "jsonl",
            ],
            None,
        );
        assert!(
            String::from_utf8(jsonl.stdout)
                .unwrap()
                .lines()
                .any(|l| l.contains("\"type\":\"transaction\""))
        );

        let target_db = match backend {
            timebank_store::Backend::Sqlite => timebank_store::testing::TestDb::sqlite(),
            timebank_store::Backend::Postgres => {
                timebank_store::testing::TestDb::postgres().unwrap()
            }
        };
        let target = spawn(target_db);
        tree(&target);
        let vols = dir.join("volunteers.csv");
        let hours_file = dir.join("service_records.csv");
        let first = job(
            &target,
            &["import", "volunteers", vols.to_str().unwrap()],
            None,
        );
        assert!(
            first.status.success(),
            "{}{}",
            String::from_utf8_lossy(&first.stdout),
            String::from_utf8_lossy(&first.stderr)
        );
        // Killed after the first record, then run again: one clean run's result.
        let killed = job(
            &target,
            &["import", "hours", hours_file.to_str().unwrap()],
            Some("import-hours:1"),
        );
        assert!(!killed.status.success());
        let rerun = job(
            &target,
            &["import", "hours", hours_file.to_str().unwrap()],
            None,
        );
        assert!(
            rerun.status.success(),
            "{}",
            String::from_utf8_lossy(&rerun.stdout)
        );
        assert_eq!(
            balances_by_phone(&target, &phones),
            expected,
            "identical balances after the round trip"
        );
        // Re-importing changes nothing.
        for (what, file) in [("volunteers", &vols), ("hours", &hours_file)] {
            let again: Value = serde_json::from_slice(
                &job(&target, &["import", what, file.to_str().unwrap()], None).stdout,
            )
            .unwrap();
            assert_eq!(again["applied"], 0, "{again}");
        }
        assert_eq!(balances_by_phone(&target, &phones), expected);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn bad_import_rows_are_reported_by_line_and_change_nothing() {
    each_backend(|app| {
        tree(app);
        let file =
            std::env::temp_dir().join(format!("timebank-import-{}.csv", uuid::Uuid::new_v4()));
        std::fs::write(
            &file,
            "phone,name,community,status,skills,registered_at\n\
             12345,坏号码,测试市/荷塘区/月塘街道/新塘社区,active,,\n\
             13500000011,没有社区,测试市/荷塘区/不存在社区,active,,\n\
             13500000012,好的一行,测试市/荷塘区/月塘街道/新塘社区,active,维修;代买,\n",
        )
        .unwrap();
        let out = job(app, &["import", "volunteers", file.to_str().unwrap()], None);
        assert_eq!(
            out.status.code(),
            Some(1),
            "rejected rows make the exit code 1"
        );
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["applied"], 1, "{report}");
        let lines: Vec<i64> = report["rejected"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["line"].as_i64().unwrap())
            .collect();
        assert_eq!(lines, [2, 3]);
        assert!(
            report["rejected"][1]["reason"]
                .as_str()
                .unwrap()
                .contains("不存在社区")
        );
        let again: Value = serde_json::from_slice(
            &job(app, &["import", "volunteers", file.to_str().unwrap()], None).stdout,
        )
        .unwrap();
        assert_eq!(
            (
                again["applied"].as_i64(),
                again["already_imported"].as_i64()
            ),
            (Some(0), Some(1))
        );
        app.post(
            "/api/v1/auth/login",
            None,
            json!({ "phone": "13500000012", "password": "anything-at-all" }),
        )
        .assert_error(401, "invalid_credentials");
        let _ = std::fs::remove_file(&file);
    });
}

#[test]
fn stars_job_promotes_by_tenure_once() {
    each_backend(|app| {
        let t = tree(app);
        let policy = json!({ "thresholds_hours": ["10"], "min_tenure_days": [30], "falsification_bar_days": 365 });
        assert_eq!(
            app.send(
                "PUT",
                &format!("/api/v1/policies/stars?org_id={}", t.district),
                Some(&app.admin),
                Some(policy),
                &[]
            )
            .status,
            200
        );
        let (v, vt) = app.active_volunteer("老志愿者", "13500000001", &t.community_a);
        earn(app, &v, &t.community_a, "12.00");
        assert_eq!(
            app.balance(&v)["star_level"],
            0,
            "enough hours, not yet the tenure"
        );
        // Forty days pass.
        let pool = app.db.pool(1).unwrap();
        let conn = &mut pool.get().unwrap();
        use diesel::prelude::*;
        use timebank_store::schema::volunteers;
        diesel::update(volunteers::table.find(&v))
            .set(volunteers::approved_at.eq(timebank_store::now() - chrono::Duration::days(40)))
            .execute(conn)
            .unwrap();
        let first: Value = serde_json::from_slice(&job(app, &["stars"], None).stdout).unwrap();
        assert_eq!(first["summary"]["changed"], 1, "{first}");
        assert_eq!(app.balance(&v)["star_level"], 1);
        let history = app
            .get(&format!("/api/v1/volunteers/{v}/stars"), Some(&vt))
            .body["history"]
            .clone();
        assert_eq!(history.as_array().unwrap().len(), 1);
        let again: Value = serde_json::from_slice(&job(app, &["stars"], None).stdout).unwrap();
        assert_eq!(again["summary"]["changed"], 0, "idempotent");
    });
}
