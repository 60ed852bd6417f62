use serde_json::json;

use crate::helpers::*;

#[test]
fn org_tree_is_built_by_admins_only_with_the_right_kinds() {
    each_backend(|app| {
        let t = tree(app);
        let org = app.get(&format!("/api/v1/orgs/{}", t.community_a), None);
        assert_eq!(org.status, 200);
        assert_eq!(org.body["kind"], "community");
        assert_eq!(org.body["parent_id"], t.street_a.as_str());
        assert_eq!(org.body["district_id"], t.district.as_str());

        app.post(
            "/api/v1/orgs",
            Some(&app.admin),
            json!({ "name": "x", "kind": "community", "parent_id": t.district }),
        )
        .assert_error(422, "invalid_org_kind");
        app.post(
            "/api/v1/orgs",
            Some(&app.admin),
            json!({ "name": "x", "kind": "galaxy", "parent_id": t.district }),
        )
        .assert_error(422, "validation_failed");
        app.post(
            "/api/v1/orgs",
            Some(&app.admin),
            json!({ "name": "x", "kind": "street", "parent_id": "nope" }),
        )
        .assert_error(422, "invalid_parent");
        app.post(
            "/api/v1/orgs",
            Some(&app.admin),
            json!({ "name": "", "kind": "street", "parent_id": t.district }),
        )
        .assert_error(422, "validation_failed");
        app.post(
            "/api/v1/orgs",
            None,
            json!({ "name": "x", "kind": "street", "parent_id": t.district }),
        )
        .assert_error(401, "unauthenticated");
        app.get("/api/v1/orgs/does-not-exist", None)
            .assert_error(404, "not_found");

        // A community admin cannot build outside their subtree.
        let admin_a = app.admin_of(&t.community_a, "13600000001", &t.community_a);
        app.post(
            "/api/v1/orgs",
            Some(&admin_a),
            json!({ "name": "x", "kind": "street", "parent_id": t.district }),
        )
        .assert_error(403, "forbidden");
        app.post(
            &format!("/api/v1/orgs/{}/admins", t.district),
            Some(&admin_a),
            json!({ "user_id": "whoever" }),
        )
        .assert_error(403, "forbidden");

        // Children, one page at a time.
        let first = app.get(
            &format!("/api/v1/orgs/{}/children?limit=1", t.district),
            None,
        );
        assert_eq!(first.status, 200);
        assert_eq!(first.body["items"].as_array().unwrap().len(), 1);
        let cursor = first.body["next_cursor"].as_str().unwrap();
        let second = app.get(
            &format!(
                "/api/v1/orgs/{}/children?limit=1&cursor={cursor}",
                t.district
            ),
            None,
        );
        assert_eq!(second.body["items"].as_array().unwrap().len(), 1);
        assert_ne!(first.body["items"][0]["id"], second.body["items"][0]["id"]);
        let cursor = second.body["next_cursor"].as_str().unwrap();
        let third = app.get(
            &format!(
                "/api/v1/orgs/{}/children?limit=1&cursor={cursor}",
                t.district
            ),
            None,
        );
        assert_eq!(third.body["items"].as_array().unwrap().len(), 0);
        assert!(third.body["next_cursor"].is_null());
        app.get(
            &format!("/api/v1/orgs/{}/children?cursor=!!!", t.district),
            None,
        )
        .assert_error(400, "invalid_cursor");
        app.get(
            &format!("/api/v1/orgs/{}/children?limit=500", t.district),
            None,
        )
        .assert_error(400, "invalid_query");

        // Granting twice is harmless.
        let someone = app.register("李四", "13600000002", &t.community_a);
        let grant = app.post(
            &format!("/api/v1/orgs/{}/admins", t.street_a),
            Some(&app.admin),
            json!({ "user_id": someone }),
        );
        assert_eq!(grant.status, 201);
        let again = app.post(
            &format!("/api/v1/orgs/{}/admins", t.street_a),
            Some(&app.admin),
            json!({ "user_id": someone }),
        );
        assert_eq!(again.status, 200);
        assert_eq!(again.body["granted"], false);
        app.post(
            &format!("/api/v1/orgs/{}/admins", t.street_a),
            Some(&app.admin),
            json!({ "user_id": "nobody" }),
        )
        .assert_error(422, "unknown_user");
    });
}

#[test]
fn auditors_read_their_subtree_and_change_nothing() {
    each_backend(|app| {
        let t = tree(app);
        let v = app.register("孙明", "13500000001", &t.community_a);
        let b = app.register("马超", "13500000002", &t.community_b);
        let auditor_id = app.register("审计员", "13600000009", &t.community_a);
        let grant = app.post(
            &format!("/api/v1/orgs/{}/admins", t.street_a),
            Some(&app.admin),
            json!({ "user_id": auditor_id, "role": "auditor" }),
        );
        assert_eq!(grant.status, 201, "{}", grant.body);
        assert_eq!(grant.body["role"], "auditor");
        app.post(
            &format!("/api/v1/orgs/{}/admins", t.street_a),
            Some(&app.admin),
            json!({ "user_id": auditor_id, "role": "king" }),
        )
        .assert_error(422, "validation_failed");
        let auditor = app.login("13600000009", "volunteer-pass");
        let me = app.get("/api/v1/me", Some(&auditor));
        assert_eq!(me.body["roles"], json!(["auditor", "volunteer"]));

        // Auditors see phone numbers masked; admins over the community and
        // the volunteer see them whole.
        let seen = app.get(&format!("/api/v1/volunteers/{v}"), Some(&auditor));
        assert_eq!(seen.status, 200);
        assert_eq!(seen.body["phone"], "135****0001");
        let by_admin = app.get(&format!("/api/v1/volunteers/{v}"), Some(&app.admin));
        assert_eq!(by_admin.body["phone"], "13500000001");
        let own = app.get(&format!("/api/v1/volunteers/{auditor_id}"), Some(&auditor));
        assert_eq!(own.body["phone"], "13600000009");
        assert_eq!(
            app.get(&format!("/api/v1/volunteers/{v}/balance"), Some(&auditor))
                .status,
            200
        );
        app.get(&format!("/api/v1/volunteers/{b}"), Some(&auditor))
            .assert_error(403, "forbidden");
        assert_eq!(app.get("/api/v1/ledger/verify", Some(&auditor)).status, 200);
        app.send(
            "POST",
            &format!("/api/v1/volunteers/{v}/approve"),
            Some(&auditor),
            None,
            &[],
        )
        .assert_error(403, "forbidden");
        app.post(
            "/api/v1/orgs",
            Some(&auditor),
            json!({ "name": "x", "kind": "community", "parent_id": t.street_a }),
        )
        .assert_error(403, "forbidden");
        app.post(
            &format!("/api/v1/orgs/{}/admins", t.street_a),
            Some(&auditor),
            json!({ "user_id": auditor_id }),
        )
        .assert_error(403, "forbidden");
    });
}
