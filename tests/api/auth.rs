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
        app.post(
            "/api/v1/auth/refresh",
            None,
            json!({ "refresh_token": second_refresh }),
        )
        .assert_error(401, "refresh_token_reused");
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
        for token in [
            forged.as_str(),
            expired.as_str(),
            none_alg.as_str(),
            "garbage",
            "a.b.c",
        ] {
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
