use serde_json::{Value, json};

use crate::helpers::*;

fn resident(app: &App, name: &str, phone: &str, community: &str) -> (String, String) {
    let r = app.post("/api/v1/residents/register", None, json!({ "name": name, "phone": phone, "password": "resident-pass", "community_id": community }));
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["status"], "pending");
    let id = r.body["id"].as_str().unwrap().to_owned();
    (id, app.login(phone, "resident-pass"))
}

fn approve_resident(app: &App, id: &str) {
    let r = app.send(
        "POST",
        &format!("/api/v1/residents/{id}/approve"),
        Some(&app.admin),
        None,
        &[],
    );
    assert_eq!(r.status, 200, "{}", r.body);
}

fn request(app: &App, token: &str, community: &str, payment: &str, max_hours: &str) -> Resp {
    app.post(
        "/api/v1/service-requests",
        Some(token),
        json!({ "community_id": community, "category": "维修", "description": "厨房水龙头漏水", "wanted_at": minutes_from_now(60 * 24), "payment": payment, "max_hours": max_hours }),
    )
}

fn act(app: &App, id: &str, action: &str, token: &str, body: Option<Value>) -> Resp {
    app.send(
        "POST",
        &format!("/api/v1/service-requests/{id}/{action}"),
        Some(token),
        body,
        &[],
    )
}

#[test]
fn a_platform_paid_request_from_order_to_rating() {
    each_backend(|app| {
        let t = tree(app);
        let admin_b = app.admin_of(&t.community_b, "13600000002", &t.community_b);
        let (rid, rt) = resident(app, "李奶奶", "13400000001", &t.community_a);
        let (v1, v1t) = app.active_volunteer("张师傅", "13500000001", &t.community_a);
        let (v2, v2t) = app.active_volunteer("刘师傅", "13500000002", &t.community_a);
        let pending = app.register("新人", "13500000003", &t.community_a);

        request(app, &rt, &t.community_a, "platform", "3.00")
            .assert_error(403, "member_not_active");
        approve_resident(app, &rid);
        assert_eq!(
            app.get("/api/v1/me", Some(&rt)).body["roles"],
            json!(["resident"])
        );
        request(app, &rt, &t.community_a, "barter", "3.00").assert_error(422, "validation_failed");
        request(app, &rt, &t.street_a, "platform", "3.00").assert_error(422, "invalid_community");
        let backwards = json!({ "community_id": t.community_a, "category": "维修", "description": "x", "wanted_at": minutes_from_now(120), "wanted_until": minutes_from_now(60), "payment": "platform" });
        app.post("/api/v1/service-requests", Some(&rt), backwards)
            .assert_error(422, "invalid_window");
        let created = request(app, &rt, &t.community_a, "platform", "3.00");
        assert_eq!(created.status, 201, "{}", created.body);
        assert_eq!(created.body["status"], "open");
        let id = created.body["id"].as_str().unwrap().to_owned();

        act(
            app,
            &id,
            "dispatch",
            &admin_b,
            Some(json!({ "volunteer_id": v1 })),
        )
        .assert_error(403, "forbidden");
        act(
            app,
            &id,
            "dispatch",
            &app.admin,
            Some(json!({ "volunteer_id": pending })),
        )
        .assert_error(422, "volunteer_unavailable");
        act(app, &id, "accept", &v1t, None).assert_error(409, "invalid_state");
        assert_eq!(
            act(
                app,
                &id,
                "dispatch",
                &app.admin,
                Some(json!({ "volunteer_id": v1 }))
            )
            .body["status"],
            "dispatched"
        );
        act(app, &id, "accept", &v2t, None).assert_error(403, "not_assigned");
        let declined = act(
            app,
            &id,
            "decline",
            &v1t,
            Some(json!({ "reason": "这周不在本地" })),
        );
        assert_eq!(declined.body["status"], "open");
        assert_eq!(declined.body["declines"][0]["reason"], "这周不在本地");
        act(
            app,
            &id,
            "dispatch",
            &app.admin,
            Some(json!({ "volunteer_id": v2 })),
        );
        assert_eq!(
            act(app, &id, "accept", &v2t, None).body["status"],
            "accepted"
        );
        act(
            app,
            &id,
            "complete",
            &v2t,
            Some(json!({ "hours": "30.00" })),
        )
        .assert_error(422, "validation_failed");
        act(app, &id, "complete", &v2t, Some(json!({ "hours": 2.4 })))
            .assert_error(400, "invalid_body");
        let done = act(app, &id, "complete", &v2t, Some(json!({ "hours": "2.40" })));
        assert_eq!(done.body["status"], "completed", "{}", done.body);
        act(app, &id, "complete", &v2t, Some(json!({ "hours": "2.40" })))
            .assert_error(409, "invalid_state");
        act(app, &id, "rate", &v2t, Some(json!({ "stars": 5 }))).assert_error(403, "not_requester");
        act(app, &id, "rate", &rt, Some(json!({ "stars": 6 })))
            .assert_error(422, "validation_failed");
        let rated = act(
            app,
            &id,
            "rate",
            &rt,
            Some(json!({ "stars": 5, "comment": "修得很好" })),
        );
        assert_eq!(rated.status, 200, "{}", rated.body);
        assert_eq!(rated.body["status"], "rated");
        assert_eq!(
            rated.body["settled_hours"], "2.00",
            "2.4 h rounds down to 2 h"
        );
        let tx = app.get(
            &format!(
                "/api/v1/transactions/{}",
                rated.body["settlement_transaction_id"].as_str().unwrap()
            ),
            Some(&app.admin),
        );
        assert_eq!(tx.body["kind"], "earn_hours");
        assert_eq!(tx.body["external_id"], format!("service:{id}"));
        let b = app.balance(&v2);
        assert_eq!(
            (b["points"].as_str(), b["hours"].as_str()),
            (Some("2.00"), Some("2.00"))
        );
        let profile = app.get(&format!("/api/v1/volunteers/{v2}"), Some(&v2t));
        assert_eq!(
            (
                profile.body["rating_avg"].as_str(),
                profile.body["rating_count"].as_i64()
            ),
            (Some("5.00"), Some(1))
        );
        assert_eq!(
            app.get("/api/v1/me/requests", Some(&rt)).body["items"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            app.get("/api/v1/me/assignments", Some(&v2t)).body["items"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        app.get(&format!("/api/v1/service-requests/{id}"), Some(&v1t))
            .assert_error(403, "forbidden");
        let listed = app.get(
            &format!(
                "/api/v1/service-requests?community_id={}&status=rated",
                t.community_a
            ),
            Some(&app.admin),
        );
        assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
        app.get(
            &format!("/api/v1/service-requests?community_id={}", t.community_a),
            Some(&admin_b),
        )
        .assert_error(403, "forbidden");

        let report = app.get(
            &format!("/api/v1/reports/services?org_id={}", t.district),
            Some(&app.admin),
        );
        let row = &report.body["categories"][0];
        assert_eq!(
            (
                row["category"].as_str(),
                row["requests"].as_i64(),
                row["completion_rate"].as_str(),
                row["average_rating"].as_str()
            ),
            (Some("维修"), Some(1), Some("1.00"), Some("5.00"))
        );
        let _ = v1;
    });
}

#[test]
fn a_requester_paid_request_holds_pays_and_returns_points() {
    each_backend(|app| {
        let t = tree(app);
        let (rid, rt) = resident(app, "王大爷", "13400000001", &t.community_a);
        approve_resident(app, &rid);
        let (v, vt) = app.active_volunteer("陈姐", "13500000001", &t.community_a);
        // The resident gets 10 points from the pool, which a volunteer filled.
        let (donor, dt) = app.active_volunteer("捐赠人", "13500000002", &t.community_a);
        earn(app, &donor, &t.community_a, "50.00");
        assert_eq!(
            app.post(
                "/api/v1/gifts",
                Some(&dt),
                json!({ "to": "pool", "points": "50.00" })
            )
            .status,
            201
        );
        let grant = app.post(
            "/api/v1/pool/grants",
            Some(&app.admin),
            json!({ "volunteer_or_resident_id": rid, "points": "10.00", "reason": "困难帮扶" }),
        );
        assert_eq!(grant.status, 201, "{}", grant.body);
        let my_balance = |token: &str| {
            app.get("/api/v1/me/balance", Some(token)).body["points"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        assert_eq!(my_balance(&rt), "10.00");

        let id = request(app, &rt, &t.community_a, "requester", "3.00").body["id"]
            .as_str()
            .unwrap()
            .to_owned();
        act(
            app,
            &id,
            "dispatch",
            &app.admin,
            Some(json!({ "volunteer_id": v })),
        );
        let accepted = act(app, &id, "accept", &vt, None);
        assert_eq!(accepted.body["held_points"], "3.00", "{}", accepted.body);
        assert_eq!(my_balance(&rt), "7.00", "held on acceptance");
        act(app, &id, "complete", &vt, Some(json!({ "hours": "1.60" })));
        let rated = act(app, &id, "rate", &rt, Some(json!({ "stars": 4 })));
        assert_eq!(
            (
                rated.body["settled_hours"].as_str(),
                rated.body["settled_points"].as_str()
            ),
            (Some("1.50"), Some("1.50"))
        );
        let tx = app.get(
            &format!(
                "/api/v1/transactions/{}",
                rated.body["settlement_transaction_id"].as_str().unwrap()
            ),
            Some(&app.admin),
        );
        assert_eq!(tx.body["kind"], "service_payment");
        assert_eq!(my_balance(&rt), "8.50", "the unused hold came back");
        let b = app.balance(&v);
        assert_eq!(
            (
                b["points"].as_str(),
                b["lifetime_points"].as_str(),
                b["hours"].as_str()
            ),
            (Some("1.50"), Some("1.50"), Some("1.50"))
        );
        assert_eq!(
            app.get("/api/v1/me/balance", Some(&rt)).body["lifetime_points"],
            "0.00",
            "refunds and grants are not earnings"
        );

        // A hold is released on cancel.
        let second = request(app, &rt, &t.community_a, "requester", "2.00").body["id"]
            .as_str()
            .unwrap()
            .to_owned();
        act(
            app,
            &second,
            "dispatch",
            &app.admin,
            Some(json!({ "volunteer_id": v })),
        );
        act(app, &second, "accept", &vt, None);
        assert_eq!(my_balance(&rt), "6.50");
        act(app, &second, "cancel", &vt, Some(json!({ "reason": "x" })))
            .assert_error(403, "forbidden");
        let cancelled = act(
            app,
            &second,
            "cancel",
            &rt,
            Some(json!({ "reason": "家人已修好" })),
        );
        assert_eq!(cancelled.body["status"], "cancelled", "{}", cancelled.body);
        assert_eq!(my_balance(&rt), "8.50");
        act(app, &second, "cancel", &rt, None).assert_error(409, "invalid_state");

        // More than the requester holds: acceptance is refused and nothing moves.
        let big = request(app, &rt, &t.community_a, "requester", "20.00").body["id"]
            .as_str()
            .unwrap()
            .to_owned();
        act(
            app,
            &big,
            "dispatch",
            &app.admin,
            Some(json!({ "volunteer_id": v })),
        );
        act(app, &big, "accept", &vt, None).assert_error(422, "insufficient_points");
        assert_eq!(
            app.get(&format!("/api/v1/service-requests/{big}"), Some(&rt))
                .body["status"],
            "dispatched"
        );
        assert_eq!(my_balance(&rt), "8.50");
    });
}

#[test]
fn disputes_are_resolved_by_an_admin_and_silence_settles_after_72_hours() {
    each_backend(|app| {
        let t = tree(app);
        let (rid, rt) = resident(app, "赵阿姨", "13400000001", &t.community_a);
        approve_resident(app, &rid);
        let (v, vt) = app.active_volunteer("孙伟", "13500000001", &t.community_a);
        let run = |hours: &str| {
            let id = request(app, &rt, &t.community_a, "platform", "4.00").body["id"]
                .as_str()
                .unwrap()
                .to_owned();
            act(
                app,
                &id,
                "dispatch",
                &app.admin,
                Some(json!({ "volunteer_id": v })),
            );
            act(app, &id, "accept", &vt, None);
            act(app, &id, "complete", &vt, Some(json!({ "hours": hours })));
            id
        };
        let disputed = run("4.00");
        let d = act(
            app,
            &disputed,
            "rate",
            &rt,
            Some(json!({ "stars": 2, "comment": "只干了一个小时", "dispute": true })),
        );
        assert_eq!(d.body["status"], "disputed");
        assert!(d.body["settlement_transaction_id"].is_null());
        act(
            app,
            &disputed,
            "resolve",
            &vt,
            Some(json!({ "hours": "1.00" })),
        )
        .assert_error(403, "forbidden");
        let resolved = act(
            app,
            &disputed,
            "resolve",
            &app.admin,
            Some(json!({ "hours": "1.00" })),
        );
        assert_eq!(
            (
                resolved.body["status"].as_str(),
                resolved.body["settled_hours"].as_str()
            ),
            (Some("rated"), Some("1.00"))
        );

        let silent = run("3.00");
        let pool = app.db.pool(1).unwrap();
        let conn = &mut pool.get().unwrap();
        let now = timebank_store::now();
        assert!(
            timebank_services::requests::settle_unrated(conn, now, 100)
                .unwrap()
                .is_empty(),
            "not yet 72 hours"
        );
        let later = now + chrono::Duration::hours(73);
        assert_eq!(
            timebank_services::requests::settle_unrated(conn, later, 100).unwrap(),
            vec![silent.clone()]
        );
        assert!(
            timebank_services::requests::settle_unrated(conn, later, 100)
                .unwrap()
                .is_empty(),
            "nothing twice"
        );
        let s = app.get(&format!("/api/v1/service-requests/{silent}"), Some(&rt));
        assert_eq!(
            (s.body["status"].as_str(), s.body["settled_hours"].as_str()),
            (Some("settled"), Some("3.00"))
        );
        assert_eq!(app.balance(&v)["hours"], "4.00");
    });
}

#[test]
fn micro_wishes_and_the_dashboard_lists() {
    each_backend(|app| {
        let t = tree(app);
        let (rid, rt) = resident(app, "小明妈妈", "13400000001", &t.community_a);
        approve_resident(app, &rid);
        let (v, vt) = app.active_volunteer("志愿者甲", "13500000001", &t.community_a);
        let (_, other) = app.active_volunteer("志愿者乙", "13500000002", &t.community_a);
        let wish = |desc: &str| {
            let r = app.post(
                "/api/v1/wishes",
                Some(&rt),
                json!({ "description": desc, "budget": "50.00" }),
            );
            assert_eq!(r.status, 201, "{}", r.body);
            r.body["id"].as_str().unwrap().to_owned()
        };

        // Without a micro_wish rule the wish still completes, with no award.
        let first = wish("给孩子买一套课外书");
        app.send(
            "POST",
            &format!("/api/v1/wishes/{first}/claim"),
            Some(&rt),
            None,
            &[],
        )
        .assert_error(403, "not_a_volunteer");
        assert_eq!(
            app.send(
                "POST",
                &format!("/api/v1/wishes/{first}/claim"),
                Some(&vt),
                None,
                &[]
            )
            .body["status"],
            "claimed"
        );
        app.send(
            "POST",
            &format!("/api/v1/wishes/{first}/claim"),
            Some(&other),
            None,
            &[],
        )
        .assert_error(409, "invalid_state");
        app.post(
            &format!("/api/v1/wishes/{first}/fulfil"),
            Some(&other),
            json!({ "note": "x" }),
        )
        .assert_error(403, "not_claimer");
        assert_eq!(
            app.post(
                &format!("/api/v1/wishes/{first}/fulfil"),
                Some(&vt),
                json!({ "note": "已送到家" })
            )
            .body["status"],
            "fulfilled"
        );
        app.send(
            "POST",
            &format!("/api/v1/wishes/{first}/confirm"),
            Some(&vt),
            None,
            &[],
        )
        .assert_error(403, "not_requester");
        let confirmed = app.send(
            "POST",
            &format!("/api/v1/wishes/{first}/confirm"),
            Some(&rt),
            None,
            &[],
        );
        assert_eq!(
            (
                confirmed.body["status"].as_str(),
                confirmed.body["award_skipped"].as_str()
            ),
            (Some("confirmed"), Some("unknown_case_rule"))
        );

        // With the rule, confirmation awards the volunteer.
        let rule = json!({ "org_id": t.district, "code": "micro_wish", "name": "微心愿", "points": "3.00", "hours": "1.00", "effective_from": "2026-01-01T00:00:00Z" });
        assert_eq!(
            app.post("/api/v1/case-rules", Some(&app.admin), rule)
                .status,
            201
        );
        let second = wish("想要一辆儿童自行车");
        app.send(
            "POST",
            &format!("/api/v1/wishes/{second}/claim"),
            Some(&vt),
            None,
            &[],
        );
        app.post(
            &format!("/api/v1/wishes/{second}/fulfil"),
            Some(&vt),
            json!({ "note": "自行车已送达" }),
        );
        let awarded = app.send(
            "POST",
            &format!("/api/v1/wishes/{second}/confirm"),
            Some(&rt),
            None,
            &[],
        );
        assert!(awarded.body["award_id"].is_string(), "{}", awarded.body);
        assert!(awarded.body["award_skipped"].is_null());
        let b = app.balance(&v);
        assert_eq!(
            (b["points"].as_str(), b["hours"].as_str()),
            (Some("3.00"), Some("1.00"))
        );

        // A partner organisation claims through an admin: no personal award.
        let third = wish("修理家门口的路灯");
        let by_org = app.post(
            &format!("/api/v1/wishes/{third}/claim"),
            Some(&app.admin),
            json!({ "org_id": t.street_a }),
        );
        assert_eq!(by_org.body["claimed_by_org"], t.street_a.as_str());
        app.post(
            &format!("/api/v1/wishes/{third}/fulfil"),
            Some(&app.admin),
            json!({ "note": "街道已修好" }),
        );
        let done = app.send(
            "POST",
            &format!("/api/v1/wishes/{third}/confirm"),
            Some(&rt),
            None,
            &[],
        );
        assert_eq!(done.body["award_skipped"], "claimed_by_organisation");

        // The lists: one open wish and one open request under 维修 / 微心愿.
        wish("想学用智能手机");
        request(app, &rt, &t.community_a, "platform", "2.00");
        let needs = app.get(
            &format!("/api/v1/orgs/{}/needs", t.district),
            Some(&app.admin),
        );
        let cats: Vec<(String, i64, i64)> = needs.body["categories"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["category"].as_str().unwrap().to_owned(),
                    c["open_requests"].as_i64().unwrap(),
                    c["open_wishes"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            cats,
            vec![("微心愿".to_owned(), 0, 1), ("维修".to_owned(), 1, 0)]
        );
        app.get(&format!("/api/v1/orgs/{}/needs", t.district), Some(&vt))
            .assert_error(403, "forbidden");
        let resources = app.get(
            &format!("/api/v1/orgs/{}/resources", t.district),
            Some(&app.admin),
        );
        let skills = resources.body["volunteers_by_skill"].as_array().unwrap();
        assert_eq!(skills[0]["skill"], "维修");
        assert_eq!(skills[0]["active_volunteers"], 2);
    });
}
