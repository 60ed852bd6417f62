use serde_json::json;
use timebank_api::auth::TokenKeys;

use crate::helpers::*;

#[test]
fn login_refresh_rotation_and_me() {
    each_backend(|app| {
        app.post(
            "/api/v1/auth/login",
            None,
            json!({ "phone": ADMIN_PHONE, "password": "wrong" }),
        )
        .assert_error(401, "invalid_credentials");
        app.post(
            "/api/v1/auth/login",
            None,
            json!({ "phone": "13999999999", "password": "whatever1" }),
        )
        .assert_error(401, "invalid_credentials");

        let login = app.post(
            "/api/v1/auth/login",
            None,
            json!({ "phone": ADMIN_PHONE, "password": ADMIN_PASSWORD }),
        );
        assert_eq!(login.status, 200);
        assert_eq!(login.body["user"]["roles"], json!(["org_admin"]));
        assert!(login.body["expires_in"].as_i64().unwrap() > 0);
        let access = login.body["access_token"].as_str().unwrap();
        let first_refresh = login.body["refresh_token"].as_str().unwrap().to_owned();

        let me = app.get("/api/v1/me", Some(access));
        assert_eq!(me.status, 200);
        assert_eq!(me.body["roles"], json!(["org_admin"]));
        assert_eq!(me.body["scopes"][0]["org_id"], app.root_id.as_str());

        let rotated = app.post(
            "/api/v1/auth/refresh",
            None,
            json!({ "refresh_token": first_refresh }),
        );
        assert_eq!(rotated.status, 200, "{}", rotated.body);
        let second_refresh = rotated.body["refresh_token"].as_str().unwrap().to_owned();
        assert_ne!(second_refresh, first_refresh);
        assert_eq!(
            app.get("/api/v1/me", rotated.body["access_token"].as_str())
                .status,
            200
        );

        // The old token is dead, and presenting it again revokes its family.
        app.post(
            "/api/v1/auth/refresh",
            None,
            json!({ "refresh_token": first_refresh }),
        )
        .assert_error(401, "refresh_token_reused");
        // Its family is gone with it: the newest token is signed out.
        app.post(
            "/api/v1/auth/refresh",
            None,
            json!({ "refresh_token": second_refresh }),
        )
        .assert_error(401, "invalid_refresh_token");
        app.post(
            "/api/v1/auth/refresh",
            None,
            json!({ "refresh_token": "rt_nonsense" }),
        )
        .assert_error(401, "invalid_refresh_token");
    });
}

#[test]
fn bad_tokens_are_refused() {
    each_backend(|app| {
        app.get("/api/v1/me", None)
            .assert_error(401, "unauthenticated");
        let forged = TokenKeys::from_secret(b"another-secret-entirely")
            .issue("x", Some("system"), 600)
            .unwrap();
        let expired = TokenKeys::from_secret(SECRET.as_bytes())
            .issue("system", Some("system"), -600)
            .unwrap();
        let none_alg = {
            use base64::Engine;
            let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
            let now = chrono::Utc::now().timestamp();
            format!(
                "{}.{}.",
                e.encode(br#"{"alg":"none","typ":"JWT"}"#),
                e.encode(format!(r#"{{"iss":"timebank","sub":"system","role":"system","iat":{now},"nbf":{now},"exp":{}}}"#, now + 600))
            )
        };
        // A token that is right but past its time says so, for the client
        // to refresh; anything else is just invalid.
        app.get("/api/v1/me", Some(&expired))
            .assert_error(401, "token_expired");
        for token in [forged.as_str(), none_alg.as_str(), "garbage", "a.b.c"] {
            app.get("/api/v1/me", Some(token))
                .assert_error(401, "invalid_token");
        }
        let valid_user_token_for_missing_user = TokenKeys::from_secret(SECRET.as_bytes())
            .issue("no-such-user", None, 600)
            .unwrap();
        app.get("/api/v1/me", Some(&valid_user_token_for_missing_user))
            .assert_error(401, "invalid_token");
    });
}

#[test]
fn system_token_from_the_cli() {
    each_backend(|app| {
        let out = cli(&app.db, &["token", "--role", "system", "--ttl", "10m"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        let me = app.get("/api/v1/me", Some(&token));
        assert_eq!(me.status, 200);
        assert_eq!(me.body["roles"], json!(["system"]));
        assert_eq!(app.get("/api/v1/ledger/verify", Some(&token)).status, 200);
        let refused = cli(&app.db, &["token", "--role", "org_admin"]);
        assert_eq!(refused.status.code(), Some(2));
    });
}

/// Rotating the signing key: for a while both keys are accepted (tokens
/// name theirs in `kid`), then the old one is dropped. Refresh tokens are
/// not JWTs and survive the rotation.
#[test]
fn signing_key_rotation() {
    const NEW_SECRET: &str = "rotated-secret-9876543210";
    for db in timebank_store::testing::TestDb::all() {
        let mut app = spawn(db);
        let old_access = app.admin.clone();
        let login = app.post(
            "/api/v1/auth/login",
            None,
            json!({ "phone": ADMIN_PHONE, "password": ADMIN_PASSWORD }),
        );
        let refresh = login.body["refresh_token"].as_str().unwrap().to_owned();
        let kid = |token: &str| {
            jsonwebtoken::decode_header(token)
                .unwrap()
                .kid
                .expect("tokens name their key")
        };

        app.restart(&[("JWT_SECRET", NEW_SECRET), ("JWT_PREVIOUS_SECRETS", SECRET)]);
        assert_eq!(app.get("/api/v1/me", Some(&old_access)).status, 200);
        let new_access = app.login(ADMIN_PHONE, ADMIN_PASSWORD);
        assert_ne!(kid(&new_access), kid(&old_access));
        assert_eq!(app.get("/api/v1/me", Some(&new_access)).status, 200);

        app.restart(&[("JWT_SECRET", NEW_SECRET)]);
        app.get("/api/v1/me", Some(&old_access))
            .assert_error(401, "invalid_token");
        assert_eq!(app.get("/api/v1/me", Some(&new_access)).status, 200);
        let renewed = app.post(
            "/api/v1/auth/refresh",
            None,
            json!({ "refresh_token": refresh }),
        );
        assert_eq!(renewed.status, 200, "{}", renewed.body);
        app.admin = new_access;
    }
}

/// Guessing passwords for one phone, or hammering login and registration
/// from one address, meets 429 `rate_limited` with `Retry-After`.
#[test]
fn login_and_registration_are_rate_limited() {
    for db in timebank_store::testing::TestDb::all() {
        // The defaults: ten wrong guesses per phone, then one more every
        // 6 min. Signing in rightly never counts, however often.
        let app = spawn(db);
        let t = tree(&app);
        let right = json!({ "phone": ADMIN_PHONE, "password": ADMIN_PASSWORD });
        for _ in 0..15 {
            assert_eq!(
                app.post("/api/v1/auth/login", None, right.clone()).status,
                200
            );
        }
        let wrong = json!({ "phone": ADMIN_PHONE, "password": "guess-guess" });
        // A right password clears the wrong guesses before it.
        for _ in 0..9 {
            app.post("/api/v1/auth/login", None, wrong.clone())
                .assert_error(401, "invalid_credentials");
        }
        assert_eq!(
            app.post("/api/v1/auth/login", None, right.clone()).status,
            200
        );
        for _ in 0..10 {
            app.post("/api/v1/auth/login", None, wrong.clone())
                .assert_error(401, "invalid_credentials");
        }
        let limited = app.post("/api/v1/auth/login", None, wrong.clone());
        limited.assert_error(429, "rate_limited");
        let retry: u64 = limited.header("retry-after").unwrap().parse().unwrap();
        assert!((300..=360).contains(&retry), "Retry-After {retry}");
        assert_eq!(
            limited.body["error"]["details"]["retry_after_seconds"],
            retry
        );
        // Even the right password waits: the phone is the one being guessed.
        app.post(
            "/api/v1/auth/login",
            None,
            json!({ "phone": ADMIN_PHONE, "password": ADMIN_PASSWORD }),
        )
        .assert_error(429, "rate_limited");
        // Another person from the same address is not locked out.
        app.register("钱七", "13500000077", &t.community_a);
        assert_eq!(
            app.post(
                "/api/v1/auth/login",
                None,
                json!({ "phone": "13500000077", "password": "volunteer-pass" }),
            )
            .status,
            200
        );
        // Registering one phone again and again: 409 until the limit, then 429.
        let again = json!({ "name": "钱七", "phone": "13500000077", "password": "volunteer-pass", "community_id": t.community_a });
        for _ in 0..4 {
            app.post("/api/v1/volunteers/register", None, again.clone())
                .assert_error(409, "phone_taken");
        }
        app.post("/api/v1/volunteers/register", None, again)
            .assert_error(429, "rate_limited");

        // Per address, with tighter limits set by the operator.
        let mut app = app;
        app.restart(&[("TIMEBANK_RATE_LIMITS", "login_ip=3/min,register_ip=2/min")]);
        for i in 0..3 {
            let phone = format!("1390000000{i}");
            app.post(
                "/api/v1/auth/login",
                None,
                json!({ "phone": phone, "password": "whatever-1" }),
            )
            .assert_error(401, "invalid_credentials");
        }
        app.post(
            "/api/v1/auth/login",
            None,
            json!({ "phone": "13900000009", "password": "whatever-1" }),
        )
        .assert_error(429, "rate_limited");
        for i in 0..2 {
            app.register("孙八", &format!("1360000000{i}"), &t.community_a);
        }
        let limited = app.post(
            "/api/v1/residents/register",
            None,
            json!({ "name": "周九", "phone": "13600000009", "password": "resident-pass", "community_id": t.community_a }),
        );
        limited.assert_error(429, "rate_limited");
        assert!(limited.header("retry-after").is_some());
    }
}
