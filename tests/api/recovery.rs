//! Account recovery: reset codes issued at the office (single use, 24 h,
//! voided by a newer one or five wrong tries), setting a password with one,
//! changing one's own, the password rule, and signing out.

use diesel::prelude::*;
use serde_json::json;

use crate::helpers::*;

fn issue(app: &App, token: &str, volunteer: &str) -> String {
    let r = app.post(
        &format!("/api/v1/volunteers/{volunteer}/reset-code"),
        Some(token),
        json!({}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let code = r.body["code"].as_str().unwrap().to_owned();
    assert!(
        code.len() == 8 && code.bytes().all(|b| b.is_ascii_digit()),
        "{code}"
    );
    let expires = chrono::DateTime::parse_from_rfc3339(r.body["expires_at"].as_str().unwrap())
        .unwrap()
        .with_timezone(&chrono::Utc);
    let hours = (expires - chrono::Utc::now()).num_minutes() as f64 / 60.0;
    assert!((23.9..=24.0).contains(&hours), "expires in {hours} h");
    code
}

fn reset(app: &App, phone: &str, code: &str, password: &str) -> Resp {
    app.post(
        "/api/v1/auth/reset",
        None,
        json!({ "phone": phone, "code": code, "new_password": password }),
    )
}

fn can_login(app: &App, phone: &str, password: &str) -> bool {
    app.post(
        "/api/v1/auth/login",
        None,
        json!({ "phone": phone, "password": password }),
    )
    .status
        == 200
}

/// Each backend, with room for the many sign-ins and resets of one phone
/// that these tests make (the per-phone limit is tested on its own).
fn each_roomy_backend(test: impl Fn(&App)) {
    for db in timebank_store::testing::TestDb::all() {
        let app = spawn_with(db, &[("TIMEBANK_RATE_LIMITS", "login_phone=1000/h")]);
        test(&app);
    }
}

#[test]
fn a_reset_code_sets_the_password_once_and_signs_out_everywhere() {
    each_roomy_backend(|app| {
        let t = tree(app);
        let c_a = app.admin_of(&t.community_a, "13200000011", &t.community_a);
        let c_b = app.admin_of(&t.community_b, "13200000012", &t.community_b);
        let (vo, _) = app.active_volunteer("本人", "13300000001", &t.community_a);
        let session = app.post(
            "/api/v1/auth/login",
            None,
            json!({ "phone": "13300000001", "password": "volunteer-pass" }),
        );
        let old_refresh = session.body["refresh_token"].as_str().unwrap().to_owned();

        // Only an admin over the person's community issues one.
        app.post(
            &format!("/api/v1/volunteers/{vo}/reset-code"),
            Some(&c_b),
            json!({}),
        )
        .assert_error(403, "forbidden");
        app.post(
            "/api/v1/volunteers/no-such-person/reset-code",
            Some(&c_a),
            json!({}),
        )
        .assert_error(404, "not_found");
        let code = issue(app, &c_a, &vo);

        // Wrong code, wrong phone, weak password: nothing changes.
        let wrong = if code == "00000000" {
            "11111111"
        } else {
            "00000000"
        };
        reset(app, "13300000001", wrong, "new-pass-2027").assert_error(422, "invalid_reset_code");
        reset(app, "13399999999", &code, "new-pass-2027").assert_error(422, "invalid_reset_code");
        let weak = reset(app, "13300000001", &code, "12345678");
        weak.assert_error(422, "weak_password");
        assert_eq!(weak.body["error"]["details"]["field"], "new_password");
        assert_eq!(weak.body["error"]["details"]["reason"], "too_common");
        assert!(can_login(app, "13300000001", "volunteer-pass"));

        let r = reset(app, "13300000001", &code, "new-pass-2027");
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["password_changed"], true);
        assert!(can_login(app, "13300000001", "new-pass-2027"));
        assert!(!can_login(app, "13300000001", "volunteer-pass"));
        // Every session from before is signed out.
        app.post(
            "/api/v1/auth/refresh",
            None,
            json!({ "refresh_token": old_refresh }),
        )
        .assert_error(401, "invalid_refresh_token");
        // Single use.
        reset(app, "13300000001", &code, "another-pass-2027")
            .assert_error(422, "invalid_reset_code");

        // A newer code voids the older one.
        let first = issue(app, &c_a, &vo);
        let second = issue(app, &c_a, &vo);
        if first != second {
            reset(app, "13300000001", &first, "pass-from-first")
                .assert_error(422, "invalid_reset_code");
        }
        assert_eq!(
            reset(app, "13300000001", &second, "pass-from-second").status,
            200
        );

        // Five wrong tries void a code.
        let third = issue(app, &c_a, &vo);
        let wrong = if third == "00000000" {
            "11111111"
        } else {
            "00000000"
        };
        for _ in 0..5 {
            reset(app, "13300000001", wrong, "pass-after-five")
                .assert_error(422, "invalid_reset_code");
        }
        reset(app, "13300000001", &third, "pass-after-five")
            .assert_error(422, "invalid_reset_code");

        // An expired code is refused.
        let fourth = issue(app, &c_a, &vo);
        {
            use timebank_store::schema::reset_codes;
            let pool = app.db.pool(1).unwrap();
            let conn = &mut pool.get().unwrap();
            let past = timebank_store::now() - chrono::Duration::hours(25);
            diesel::update(reset_codes::table.filter(reset_codes::used_at.is_null()))
                .set(reset_codes::expires_at.eq(past))
                .execute(conn)
                .unwrap();
        }
        reset(app, "13300000001", &fourth, "pass-after-expiry")
            .assert_error(422, "invalid_reset_code");
        assert!(can_login(app, "13300000001", "pass-from-second"));

        // Residents: the same, under /residents.
        let resident = app.post(
            "/api/v1/residents/register",
            None,
            json!({ "name": "居民", "phone": "13300000041", "password": "resident-pass", "community_id": t.community_a }),
        );
        let resident = resident.body["id"].as_str().unwrap().to_owned();
        app.post(
            &format!("/api/v1/volunteers/{resident}/reset-code"),
            Some(&c_a),
            json!({}),
        )
        .assert_error(404, "not_found");
        let r = app.post(
            &format!("/api/v1/residents/{resident}/reset-code"),
            Some(&c_a),
            json!({}),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        let code = r.body["code"].as_str().unwrap().to_owned();
        assert_eq!(
            reset(app, "13300000041", &code, "resident-new-2027").status,
            200
        );
        assert!(can_login(app, "13300000041", "resident-new-2027"));
    });
}

#[test]
fn resets_are_rate_limited_like_login() {
    let app = spawn_with(
        timebank_store::testing::TestDb::sqlite(),
        &[("TIMEBANK_RATE_LIMITS", "login_phone=3/h")],
    );
    for _ in 0..3 {
        reset(&app, "13300000001", "12345678", "new-pass-2027")
            .assert_error(422, "invalid_reset_code");
    }
    let r = reset(&app, "13300000001", "12345678", "new-pass-2027");
    r.assert_error(429, "rate_limited");
    assert!(r.header("retry-after").is_some());
    // Guessing the current password with a stolen session is limited too.
    let statuses: Vec<u16> = (0..4)
        .map(|_| {
            app.post(
                "/api/v1/me/password",
                Some(&app.admin),
                json!({ "current_password": "a-guess-2027", "new_password": "changed-pass-2027" }),
            )
            .status
        })
        .collect();
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
}

#[test]
fn passwords_follow_one_rule_and_changing_one_signs_out_other_sessions() {
    each_roomy_backend(|app| {
        let t = tree(app);
        for (password, reason) in [
            ("short", "too_short"),
            ("password1", "too_common"),
            ("x13300000005", "same_as_phone"),
        ] {
            let r = app.post(
                "/api/v1/volunteers/register",
                None,
                json!({ "name": "新人", "phone": "13300000005", "password": password, "community_id": t.community_a }),
            );
            r.assert_error(422, "weak_password");
            assert_eq!(r.body["error"]["details"]["reason"], reason, "{password}");
        }
        let r = app.post(
            "/api/v1/residents/register",
            None,
            json!({ "name": "新居民", "phone": "13300000006", "password": "qwerty123", "community_id": t.community_a }),
        );
        r.assert_error(422, "weak_password");
        let zh = app.send(
            "POST",
            "/api/v1/residents/register",
            None,
            Some(json!({ "name": "新居民", "phone": "13300000006", "password": "qwerty123", "community_id": t.community_a })),
            &[("Accept-Language", "zh-CN")],
        );
        zh.assert_error(422, "weak_password");
        assert!(
            zh.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("至少 8 位"),
            "{}",
            zh.body
        );

        let (_, token) = app.active_volunteer("本人", "13300000001", &t.community_a);
        let other = app.post(
            "/api/v1/auth/login",
            None,
            json!({ "phone": "13300000001", "password": "volunteer-pass" }),
        );
        let other_refresh = other.body["refresh_token"].as_str().unwrap().to_owned();
        let change = |current: &str, new: &str| {
            app.post(
                "/api/v1/me/password",
                Some(&token),
                json!({ "current_password": current, "new_password": new }),
            )
        };
        change("not-my-password", "changed-pass-2027").assert_error(422, "wrong_password");
        change("volunteer-pass", "11111111").assert_error(422, "weak_password");
        change("volunteer-pass", "volunteer-pass").assert_error(422, "same_password");
        app.post(
            "/api/v1/me/password",
            Some(&token),
            json!({ "current_password": "volunteer-pass", "new_password": "changed-pass-2027", "extra": 1 }),
        )
        .assert_error(422, "validation_failed");
        let r = change("volunteer-pass", "changed-pass-2027");
        assert_eq!(r.status, 200, "{}", r.body);
        let fresh = r.body["refresh_token"].as_str().unwrap().to_owned();
        assert!(r.body["access_token"].is_string());
        app.post(
            "/api/v1/auth/refresh",
            None,
            json!({ "refresh_token": other_refresh }),
        )
        .assert_error(401, "invalid_refresh_token");
        assert!(can_login(app, "13300000001", "changed-pass-2027"));
        assert!(!can_login(app, "13300000001", "volunteer-pass"));

        // Sign-out revokes the refresh token (and what was rotated from it).
        let rotated = app.post(
            "/api/v1/auth/refresh",
            None,
            json!({ "refresh_token": fresh }),
        );
        assert_eq!(rotated.status, 200, "{}", rotated.body);
        let latest = rotated.body["refresh_token"].as_str().unwrap().to_owned();
        let out = app.post(
            "/api/v1/auth/logout",
            None,
            json!({ "refresh_token": fresh }),
        );
        assert_eq!(out.status, 204);
        app.post(
            "/api/v1/auth/refresh",
            None,
            json!({ "refresh_token": latest }),
        )
        .assert_error(401, "invalid_refresh_token");
        let unknown = app.post(
            "/api/v1/auth/logout",
            None,
            json!({ "refresh_token": "rt_nothing" }),
        );
        assert_eq!(unknown.status, 204);
        // A system token is no person: no password to change.
        let sy = timebank_api::auth::TokenKeys::from_secret(SECRET.as_bytes())
            .issue("system", Some("system"), 600)
            .unwrap();
        app.post(
            "/api/v1/me/password",
            Some(&sy),
            json!({ "current_password": "x", "new_password": "changed-pass-2028" }),
        )
        .assert_error(403, "forbidden");
    });
}
