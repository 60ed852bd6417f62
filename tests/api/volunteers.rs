use serde_json::json;

use crate::helpers::*;

#[test]
fn registration_validation_and_scoped_approval() {
    each_backend(|app| {
        let t = tree(app);
        let id = app.register("王秀英", "13500000001", &t.community_a);

        let dup = app.post("/api/v1/volunteers/register", None, json!({ "name": "x", "phone": "13500000001", "password": "long-enough", "community_id": t.community_a }));
        dup.assert_error(409, "phone_taken");
        let bad = app.post("/api/v1/volunteers/register", None, json!({ "name": "x", "phone": "12345", "password": "short", "community_id": t.community_a }));
        bad.assert_error(422, "validation_failed");
        assert!(bad.body["error"]["details"]["fields"]["phone"].is_array());
        assert!(bad.body["error"]["details"]["fields"]["password"].is_array());
        app.post("/api/v1/volunteers/register", None, json!({ "name": "x", "phone": "13500000009", "password": "long-enough", "community_id": t.street_a }))
            .assert_error(422, "invalid_community");
        app.post("/api/v1/volunteers/register", None, json!({ "name": "   ", "phone": "13500000009", "password": "long-enough", "community_id": t.community_a }))
            .assert_error(422, "validation_failed");
        app.post(
            "/api/v1/volunteers/register",
            None,
            json!({ "name": "x", "phone": "13500000009", "password": "long-enough" }),
        )
        .assert_error(400, "invalid_body");

        let admin_a = app.admin_of(&t.community_a, "13600000001", &t.community_a);
        let admin_b = app.admin_of(&t.community_b, "13600000002", &t.community_b);
        let volunteer = app.login("13500000001", "volunteer-pass");

        let own = app.get(&format!("/api/v1/volunteers/{id}"), Some(&volunteer));
        assert_eq!(own.status, 200);
        assert_eq!(own.body["status"], "pending");
        assert_eq!(own.body["star_level"], 0);
        assert_eq!(own.body["skills"], json!(["维修"]));

        let approve = format!("/api/v1/volunteers/{id}/approve");
        app.send("POST", &approve, Some(&volunteer), None, &[])
            .assert_error(403, "forbidden");
        app.send("POST", &approve, Some(&admin_b), None, &[])
            .assert_error(403, "forbidden");
        app.send("POST", &approve, None, None, &[])
            .assert_error(401, "unauthenticated");
        let ok = app.send("POST", &approve, Some(&admin_a), None, &[]);
        assert_eq!(ok.status, 200, "{}", ok.body);
        assert_eq!(ok.body["status"], "active");
        app.send("POST", &approve, Some(&admin_a), None, &[])
            .assert_error(409, "invalid_state");
        app.send(
            "POST",
            "/api/v1/volunteers/nobody/approve",
            Some(&admin_a),
            None,
            &[],
        )
        .assert_error(404, "not_found");

        // Reads: self and staff over the community; nobody else.
        let other = app.register("李建国", "13500000002", &t.community_a);
        let _ = other;
        let other_token = app.login("13500000002", "volunteer-pass");
        app.get(&format!("/api/v1/volunteers/{id}"), Some(&other_token))
            .assert_error(403, "forbidden");
        app.get(&format!("/api/v1/volunteers/{id}"), Some(&admin_b))
            .assert_error(403, "forbidden");
        assert_eq!(
            app.get(&format!("/api/v1/volunteers/{id}"), Some(&admin_a))
                .status,
            200
        );
        assert_eq!(
            app.get(&format!("/api/v1/volunteers/{id}"), Some(&app.admin))
                .status,
            200
        );
        let me = app.get("/api/v1/me", Some(&volunteer));
        assert_eq!(me.body["roles"], json!(["volunteer"]));
        assert_eq!(me.body["volunteer"]["status"], "active");
    });
}
