//! What a newcomer and a client author meet first: mistakes named in both
//! languages, a wrong method, unknown fields, tokens that expired, the
//! caller's own records with names, cross-origin calls, and the command
//! line's answers about which database it used.

use serde_json::{Value, json};

use crate::helpers::*;

#[test]
fn mistakes_in_a_body_are_named_in_both_languages() {
    each_backend(|app| {
        let t = tree(app);
        let (site, item) = oil_shop(app, &t, 5);
        let (v, token) = app.active_volunteer("钱多", "13500000301", &t.community_a);
        earn(app, &v, &t.community_a, "10.00");
        let order = |body: Value, lang: &str| {
            app.send(
                "POST",
                "/api/v1/redemptions",
                Some(&token),
                Some(body),
                &[
                    ("Idempotency-Key", &uuid::Uuid::new_v4().to_string()),
                    ("Accept-Language", lang),
                ],
            )
        };
        // A misspelt field is refused, not dropped: `qty` must not order one.
        let r = order(json!({ "item_id": item, "site_id": site, "qty": 3 }), "en");
        r.assert_error(422, "validation_failed");
        assert_eq!(
            r.body["error"]["details"]["fields"]["qty"],
            json!(["unknown_field"])
        );
        assert!(
            r.body["error"]["message"].as_str().unwrap().contains("qty"),
            "{}",
            r.body
        );
        // A field of the wrong type says which and what it must be.
        let r = order(
            json!({ "item_id": item, "site_id": site, "quantity": "1" }),
            "en",
        );
        r.assert_error(400, "invalid_body");
        assert_eq!(
            r.body["error"]["details"]["fields"]["quantity"],
            json!(["invalid_type"])
        );
        assert_eq!(
            r.body["error"]["message"], "field quantity must be a whole number",
            "{}",
            r.body
        );
        assert!(!r.body.to_string().contains("line 1"), "{}", r.body);
        // The same facts in Chinese.
        let r = order(json!({ "item_id": item, "quantity": 1 }), "zh-CN");
        r.assert_error(400, "invalid_body");
        let zh = r.body["error"]["message"].as_str().unwrap();
        assert!(zh.contains("site_id") && zh.contains("必填"), "{zh}");
        let r = order(
            json!({ "item_id": item, "site_id": site, "quantity": 9 }),
            "zh-CN",
        );
        let zh = r.body["error"]["message"].as_str().unwrap().to_owned();
        assert!(!r.body["error"]["code"].is_null(), "{}", r.body);
        assert!(zh.chars().any(|c| c > '\u{2E80}'), "{zh}");
        assert_ne!(zh, "请求格式不正确");
        // Nothing was ordered by any of them.
        assert_eq!(app.balance(&v)["points"], "10.00");
        let missing = app.send(
            "GET",
            "/api/v1/volunteers/no-such-volunteer/balance",
            Some(&app.admin),
            None,
            &[("Accept-Language", "zh-CN")],
        );
        missing.assert_error(404, "not_found");
        assert_eq!(
            missing.body["error"]["message"], "未找到：志愿者",
            "{}",
            missing.body
        );
        // Weights decide, not the order.
        let weighted = app.send(
            "GET",
            "/api/v1/me",
            None,
            None,
            &[("Accept-Language", "en;q=0.1, zh-CN")],
        );
        weighted.assert_error(401, "unauthenticated");
        assert!(
            weighted.body["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("请先登录")
        );
        assert_eq!(weighted.header("www-authenticate"), Some("Bearer"));
        // Out of stock says how much there is, in both languages.
        let r = order(
            json!({ "item_id": item, "site_id": site, "quantity": 50 }),
            "en",
        );
        r.assert_error(422, "out_of_stock");
        assert!(
            r.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("5 available"),
            "{}",
            r.body
        );
        // A bad query parameter is named too.
        let r = app.get("/api/v1/transactions?limit=ten", Some(&app.admin));
        r.assert_error(400, "invalid_query");
        assert_eq!(
            r.body["error"]["message"], "query parameter limit must be a whole number",
            "{}",
            r.body
        );
    });
}

#[test]
fn a_wrong_method_is_405_with_allow() {
    each_backend(|app| {
        let r = app.get("/api/v1/auth/login", None);
        r.assert_error(405, "method_not_allowed");
        assert_eq!(r.header("allow"), Some("POST"));
        let r = app.send("DELETE", "/api/v1/activities", Some(&app.admin), None, &[]);
        r.assert_error(405, "method_not_allowed");
        assert_eq!(r.header("allow"), Some("GET, POST"));
        app.get("/api/v1/no-such-thing", None)
            .assert_error(404, "not_found");
    });
}

#[test]
fn the_callers_own_records_carry_names_and_stars() {
    each_backend(|app| {
        let t = tree(app);
        let (v, token) = app.active_volunteer("孙二", "13500000302", &t.community_a);
        let me = app.get("/api/v1/me", Some(&token));
        assert_eq!(me.status, 200, "{}", me.body);
        assert_eq!(me.body["volunteer"]["community_id"], t.community_a);
        assert_eq!(
            me.body["volunteer"]["community_name"], "新塘社区",
            "{}",
            me.body
        );
        let mine = app.get("/api/v1/me/balance", Some(&token));
        assert_eq!(mine.status, 200, "{}", mine.body);
        let theirs = app.get(&format!("/api/v1/volunteers/{v}/balance"), Some(&app.admin));
        assert_eq!(
            mine.body, theirs.body,
            "/me/balance is the volunteer balance"
        );
        assert_eq!(mine.body["star_level"], 0);
        // Authenticated answers are neither sniffed nor stored.
        assert_eq!(mine.header("cache-control"), Some("no-store"));
        assert_eq!(mine.header("x-content-type-options"), Some("nosniff"));
    });
}

#[test]
fn only_the_listed_origins_may_call_from_a_browser() {
    let db = timebank_store::testing::TestDb::sqlite();
    let app = spawn_with(db, &[("TIMEBANK_CORS_ORIGINS", "https://dash.example.org")]);
    let allowed = [("Origin", "https://dash.example.org")];
    let preflight = app.send(
        "OPTIONS",
        "/api/v1/redemptions",
        None,
        None,
        &[
            ("Origin", "https://dash.example.org"),
            ("Access-Control-Request-Method", "POST"),
            (
                "Access-Control-Request-Headers",
                "authorization, idempotency-key",
            ),
        ],
    );
    assert_eq!(preflight.status, 204);
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some("https://dash.example.org")
    );
    assert!(
        preflight
            .header("access-control-allow-headers")
            .is_some_and(|h| h.contains("Idempotency-Key")),
        "{:?}",
        preflight.headers
    );
    let me = app.send("GET", "/api/v1/me", Some(&app.admin), None, &allowed);
    assert_eq!(me.status, 200);
    assert_eq!(
        me.header("access-control-allow-origin"),
        Some("https://dash.example.org")
    );
    assert!(
        me.header("access-control-expose-headers")
            .is_some_and(|h| h.contains("X-Request-Id")),
        "{:?}",
        me.headers
    );
    // Another origin gets no grant; the console's own requests still work.
    let other = app.send(
        "GET",
        "/api/v1/me",
        Some(&app.admin),
        None,
        &[("Origin", "https://evil.example.org")],
    );
    assert_eq!(other.status, 200);
    assert_eq!(other.header("access-control-allow-origin"), None);
    let preflight = app.send(
        "OPTIONS",
        "/api/v1/me",
        None,
        None,
        &[
            ("Origin", "https://evil.example.org"),
            ("Access-Control-Request-Method", "GET"),
        ],
    );
    assert_eq!(preflight.header("access-control-allow-origin"), None);
}

#[test]
fn hours_reported_above_the_cap_are_answered_with_what_will_be_credited() {
    each_backend(|app| {
        let t = tree(app);
        let resident = {
            let phone = "13300000303";
            let r = app.post(
                "/api/v1/residents/register",
                None,
                json!({ "name": "老李", "phone": phone, "password": "resident-pass", "community_id": t.community_a }),
            );
            assert_eq!(r.status, 201, "{}", r.body);
            let id = r.body["id"].as_str().unwrap().to_owned();
            let approved = app.send(
                "POST",
                &format!("/api/v1/residents/{id}/approve"),
                Some(&app.admin),
                None,
                &[],
            );
            assert_eq!(approved.status, 200, "{}", approved.body);
            app.login(phone, "resident-pass")
        };
        let (v, volunteer) = app.active_volunteer("周到", "13500000303", &t.community_a);
        let request = app.post(
            "/api/v1/service-requests",
            Some(&resident),
            json!({
                "community_id": t.community_a, "category": "助餐", "description": "送饭",
                "wanted_at": minutes_from_now(60), "payment": "platform", "max_hours": "2.00",
            }),
        );
        assert_eq!(request.status, 201, "{}", request.body);
        let id = request.body["id"].as_str().unwrap();
        let dispatched = app.post(
            &format!("/api/v1/service-requests/{id}/dispatch"),
            Some(&app.admin),
            json!({ "volunteer_id": v }),
        );
        assert_eq!(dispatched.status, 200, "{}", dispatched.body);
        let accepted = app.send(
            "POST",
            &format!("/api/v1/service-requests/{id}/accept"),
            Some(&volunteer),
            None,
            &[],
        );
        assert_eq!(accepted.status, 200, "{}", accepted.body);
        let done = app.post(
            &format!("/api/v1/service-requests/{id}/complete"),
            Some(&volunteer),
            json!({ "hours": "5.00" }),
        );
        assert_eq!(done.status, 200, "{}", done.body);
        assert_eq!(done.body["reported_hours"], "5.00");
        assert_eq!(done.body["creditable_hours"], "2.00", "{}", done.body);
        assert_eq!(done.body["creditable_reason"], "capped_at_max_hours");
    });
}

#[test]
fn the_command_line_says_which_database_it_read() {
    let dir = tempfile_dir();
    // No database there: a check refuses to make an empty one and call it fine.
    let out = bin()
        .current_dir(&dir)
        .env_remove("DATABASE_URL")
        .env("JWT_SECRET", SECRET)
        .args(["verify"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("no database at ./data/timebank.db"), "{err}");
    assert!(!dir.join("data/timebank.db").exists());

    let db = timebank_store::testing::TestDb::sqlite();
    assert!(cli(&db, &["migrate"]).status.success());
    let empty = cli(&db, &["verify", "--checkpoint"]);
    let err = String::from_utf8_lossy(&empty.stderr);
    assert!(empty.status.success(), "{err}");
    assert!(err.contains("database: sqlite://"), "{err}");
    assert!(err.contains("is empty"), "{err}");
    // One JSON document, with the checkpoint inside.
    let report: Value = serde_json::from_slice(&empty.stdout).unwrap();
    assert_eq!(report["empty"], true);
    assert!(report["checkpoint"].is_object(), "{report}");

    // The usage line of a mistake lists what is missing, not what the
    // environment already gave.
    let out = cli(&db, &["export"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("--database-url"), "{err}");
}

#[test]
fn export_takes_an_org_by_its_name_path() {
    let app = spawn(timebank_store::testing::TestDb::sqlite());
    let t = tree(&app);
    app.register("吴用", "13500000304", &t.community_a);
    let dir = tempfile_dir();
    let file = dir.join("out.jsonl");
    let by_name = cli(
        &app.db,
        &[
            "export",
            "--org",
            "测试市/荷塘区",
            "--from",
            "2020-01-01",
            "--to",
            "2030-12-31",
            "--format",
            "jsonl",
            "--out",
            file.to_str().unwrap(),
        ],
    );
    assert!(
        by_name.status.success(),
        "{}",
        String::from_utf8_lossy(&by_name.stderr)
    );
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("13500000304") || text.contains("吴用"),
        "{text}"
    );
    let unknown = cli(
        &app.db,
        &[
            "export",
            "--org",
            "测试市/无此区",
            "--from",
            "2020-01-01",
            "--to",
            "2030-12-31",
        ],
    );
    assert!(!unknown.status.success());
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("timebank-newcomer-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
