use serde_json::{Value, json};

use crate::helpers::*;

struct Shop {
    site: String,
    operator: String,
    rice: String,
}

/// A site in street B (so a volunteer of street A redeems across streets:
/// 通存通兑), an operator, and rice at 30 points with 10 in stock.
fn shop(app: &App, t: &Tree) -> Shop {
    let site = app.post(
        "/api/v1/sites",
        Some(&app.admin),
        json!({ "org_id": t.community_b, "name": "合泰社区兑换点", "address": "合泰路 8 号" }),
    );
    assert_eq!(site.status, 201, "{}", site.body);
    let site = site.body["id"].as_str().unwrap().to_owned();
    let operator_id = app.register("兑换点值班员", "13700000009", &t.community_b);
    let grant = app.post(
        &format!("/api/v1/sites/{site}/operators"),
        Some(&app.admin),
        json!({ "user_id": operator_id }),
    );
    assert_eq!(grant.status, 201, "{}", grant.body);
    let operator = app.login("13700000009", "volunteer-pass");
    let rice = item(app, &t.district, "大米 5kg", "30.00", json!({}));
    stock(app, &site, &operator, &rice, 10);
    Shop {
        site,
        operator,
        rice,
    }
}

fn item(app: &App, org: &str, name: &str, price: &str, extra: Value) -> String {
    let mut body = json!({ "org_id": org, "name": name, "points_price": price });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let r = app.post("/api/v1/catalog/items", Some(&app.admin), body);
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

fn stock(app: &App, site: &str, token: &str, item: &str, delta: i64) -> Resp {
    app.post(
        &format!("/api/v1/sites/{site}/stock"),
        Some(token),
        json!({ "item_id": item, "delta": delta, "reason": "入库" }),
    )
}

fn order(app: &App, token: &str, item: &str, site: &str, quantity: i64) -> Resp {
    app.post(
        "/api/v1/redemptions",
        Some(token),
        json!({ "item_id": item, "site_id": site, "quantity": quantity }),
    )
}

fn level(app: &App, site: &str, item: &str) -> (i64, i64) {
    let c = app.get(&format!("/api/v1/catalog?site_id={site}"), Some(&app.admin));
    let row = c.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == item)
        .cloned()
        .unwrap();
    (
        row["stock"].as_i64().unwrap(),
        row["reserved"].as_i64().unwrap(),
    )
}

#[test]
fn sites_catalog_and_stock() {
    each_backend(|app| {
        let t = tree(app);
        let (_, vt) = app.active_volunteer("王磊", "13500000001", &t.community_a);
        app.post(
            "/api/v1/sites",
            Some(&vt),
            json!({ "org_id": t.community_b, "name": "x", "address": "y" }),
        )
        .assert_error(403, "forbidden");
        let s = shop(app, &t);
        assert_eq!(level(app, &s.site, &s.rice), (10, 0));
        let r = stock(app, &s.site, &s.operator, &s.rice, -4);
        assert_eq!(
            (r.status, r.body["quantity"].as_i64()),
            (200, Some(6)),
            "{}",
            r.body
        );
        stock(app, &s.site, &s.operator, &s.rice, -7).assert_error(422, "out_of_stock");
        stock(app, &s.site, &s.operator, &s.rice, 0).assert_error(422, "validation_failed");
        stock(app, &s.site, &vt, &s.rice, 5).assert_error(403, "forbidden");
        // Another site's operator cannot touch this one.
        let other = app.post(
            "/api/v1/sites",
            Some(&app.admin),
            json!({ "org_id": t.community_a, "name": "新塘兑换点", "address": "新塘路 1 号" }),
        );
        let other = other.body["id"].as_str().unwrap().to_owned();
        let op2 = app.register("值班员二", "13700000008", &t.community_a);
        app.post(
            &format!("/api/v1/sites/{other}/operators"),
            Some(&app.admin),
            json!({ "user_id": op2 }),
        );
        let op2t = app.login("13700000008", "volunteer-pass");
        stock(app, &s.site, &op2t, &s.rice, 5).assert_error(403, "forbidden");
        // An item of community A is not offered at a site of community B.
        let local = item(app, &t.community_a, "社区理发券", "10.00", json!({}));
        stock(app, &s.site, &s.operator, &local, 5).assert_error(422, "item_not_available_here");
        assert_eq!(stock(app, &other, &op2t, &local, 5).status, 200);
        let retire = app.send(
            "POST",
            &format!("/api/v1/catalog/items/{local}/retire"),
            Some(&app.admin),
            None,
            &[],
        );
        assert_eq!(retire.body["status"], "retired");
        let offered = app.get(&format!("/api/v1/catalog?site_id={other}"), Some(&vt));
        assert!(
            offered.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|i| i["id"] != local.as_str())
        );
        let sites = app.get(&format!("/api/v1/sites?org_id={}", t.district), Some(&vt));
        assert_eq!(sites.body["items"].as_array().unwrap().len(), 2);
        app.post(
            "/api/v1/catalog/items",
            Some(&app.admin),
            json!({ "org_id": t.district, "name": "x", "points_price": "0" }),
        )
        .assert_error(422, "validation_failed");
    });
}

#[test]
fn orders_refusals_fulfilment_and_cancel() {
    each_backend(|app| {
        let t = tree(app);
        let s = shop(app, &t);
        let (v, vt) = app.active_volunteer("陈芳", "13500000001", &t.community_a);
        earn(app, &v, &t.community_a, "100.00");
        let oil = item(
            app,
            &t.district,
            "食用油 5L",
            "20.00",
            json!({ "min_star_level": 2 }),
        );
        let haircut = item(
            app,
            &t.district,
            "理发券",
            "5.00",
            json!({ "limit_per_person_per_quarter": 1 }),
        );
        for it in [&oil, &haircut] {
            assert_eq!(stock(app, &s.site, &s.operator, it, 5).status, 200);
        }

        let placed = order(app, &vt, &s.rice, &s.site, 1);
        assert_eq!(placed.status, 201, "{}", placed.body);
        assert_eq!(placed.body["status"], "reserved");
        assert_eq!(placed.body["points"], "30.00");
        let code = placed.body["pickup_code"].as_str().unwrap().to_owned();
        assert_eq!(code.len(), 6);
        let id = placed.body["id"].as_str().unwrap().to_owned();
        assert_eq!(app.balance(&v)["points"], "70.00");
        assert_eq!(level(app, &s.site, &s.rice), (9, 1));

        order(app, &vt, &s.rice, &s.site, 3).assert_error(422, "insufficient_points");
        assert_eq!(
            level(app, &s.site, &s.rice),
            (9, 1),
            "a refused order reserves nothing"
        );
        assert_eq!(app.balance(&v)["points"], "70.00");
        let r = order(app, &vt, &s.rice, &s.site, 10);
        assert_eq!(r.code(), "out_of_stock", "{}", r.body);
        let r = order(app, &vt, &oil, &s.site, 1);
        r.assert_error(422, "star_level_too_low");
        assert_eq!(r.body["error"]["details"]["required"], 2);
        assert_eq!(order(app, &vt, &haircut, &s.site, 1).status, 201);
        order(app, &vt, &haircut, &s.site, 1).assert_error(422, "limit_reached");
        order(app, &app.admin, &s.rice, &s.site, 1).assert_error(403, "not_a_volunteer");
        order(app, &vt, &s.rice, &s.site, 0).assert_error(422, "validation_failed");
        order(app, &vt, "nope", &s.site, 1).assert_error(404, "not_found");

        // Another district's site refuses: points are spendable in one's own district.
        let other_district = app.org("芦淞区", "district", &app.root_id);
        let other_site = app.post(
            "/api/v1/sites",
            Some(&app.admin),
            json!({ "org_id": other_district, "name": "芦淞兑换点", "address": "x" }),
        );
        let other_site = other_site.body["id"].as_str().unwrap().to_owned();
        let city_item = item(app, &app.root_id, "公交卡充值 50 元", "50.00", json!({}));
        assert_eq!(
            stock(app, &other_site, &app.admin, &city_item, 5).status,
            200
        );
        let r = order(app, &vt, &city_item, &other_site, 1);
        r.assert_error(422, "item_not_available_here");
        assert_eq!(r.body["error"]["details"]["reason"], "other_district");

        // Fulfilment at the site, with the code.
        let fulfil = format!("/api/v1/redemptions/{id}/fulfil");
        let wrong = if code == "000000" { "111111" } else { "000000" };
        app.post(&fulfil, Some(&vt), json!({ "pickup_code": code }))
            .assert_error(403, "forbidden");
        let miss = app.post(&fulfil, Some(&s.operator), json!({ "pickup_code": wrong }));
        miss.assert_error(422, "wrong_pickup_code");
        assert_eq!(miss.body["error"]["details"]["attempts_left"], 4);
        let done = app.post(&fulfil, Some(&s.operator), json!({ "pickup_code": code }));
        assert_eq!(done.status, 200, "{}", done.body);
        assert_eq!(done.body["status"], "fulfilled");
        assert!(
            done.body["pickup_code"].is_null(),
            "the operator never sees codes"
        );
        app.post(&fulfil, Some(&s.operator), json!({ "pickup_code": code }))
            .assert_error(409, "invalid_state");
        assert_eq!(level(app, &s.site, &s.rice), (9, 0));

        // Five wrong codes lock the order for an hour.
        let locked = order(app, &vt, &s.rice, &s.site, 1);
        let locked_id = locked.body["id"].as_str().unwrap().to_owned();
        let locked_code = locked.body["pickup_code"].as_str().unwrap().to_owned();
        let wrong = if locked_code == "000000" {
            "111111"
        } else {
            "000000"
        };
        let mut last = Value::Null;
        for _ in 0..5 {
            last = app
                .post(
                    &format!("/api/v1/redemptions/{locked_id}/fulfil"),
                    Some(&s.operator),
                    json!({ "pickup_code": wrong }),
                )
                .body;
        }
        assert_eq!(last["error"]["details"]["locked"], true, "{last}");
        app.post(
            &format!("/api/v1/redemptions/{locked_id}/fulfil"),
            Some(&s.operator),
            json!({ "pickup_code": locked_code }),
        )
        .assert_error(409, "order_locked");

        // Cancel refunds and releases.
        let before = app.balance(&v)["points"].clone();
        let cancel = app.send(
            "POST",
            &format!("/api/v1/redemptions/{locked_id}/cancel"),
            Some(&vt),
            None,
            &[],
        );
        assert_eq!(cancel.status, 200, "{}", cancel.body);
        assert_eq!(cancel.body["status"], "cancelled");
        assert!(cancel.body["refund_transaction_id"].is_string());
        assert_ne!(app.balance(&v)["points"], before);
        assert_eq!(app.balance(&v)["points"], "65.00");
        assert_eq!(level(app, &s.site, &s.rice), (9, 0));
        app.send(
            "POST",
            &format!("/api/v1/redemptions/{locked_id}/cancel"),
            Some(&vt),
            None,
            &[],
        )
        .assert_error(409, "invalid_state");

        // The volunteer sees their codes; staff do not.
        let mine = app.get(&format!("/api/v1/volunteers/{v}/redemptions"), Some(&vt));
        assert_eq!(mine.body["items"].as_array().unwrap().len(), 3);
        assert!(mine.body["items"][0]["pickup_code"].is_string());
        let staff = app.get(
            &format!("/api/v1/volunteers/{v}/redemptions"),
            Some(&app.admin),
        );
        assert!(staff.body["items"][0]["pickup_code"].is_null());

        // Idempotency: the same key and body is the same order; another body is refused.
        let key = [("Idempotency-Key", "order-42")];
        let body = json!({ "item_id": s.rice, "site_id": s.site, "quantity": 1 });
        let first = app.send(
            "POST",
            "/api/v1/redemptions",
            Some(&vt),
            Some(body.clone()),
            &key,
        );
        let again = app.send("POST", "/api/v1/redemptions", Some(&vt), Some(body), &key);
        assert_eq!((first.status, again.status), (201, 201));
        assert_eq!(first.body["id"], again.body["id"]);
        app.send(
            "POST",
            "/api/v1/redemptions",
            Some(&vt),
            Some(json!({ "item_id": s.rice, "site_id": s.site, "quantity": 2 })),
            &key,
        )
        .assert_error(422, "idempotency_key_reused");

        // A suspended volunteer cannot redeem.
        app.post("/api/v1/violations", Some(&app.admin), json!({ "volunteer_id": v, "transaction_ids": [], "suspend_days": 3, "reason": "违规" }));
        order(app, &vt, &s.rice, &s.site, 1).assert_error(403, "volunteer_suspended");
    });
}

#[test]
fn reserved_orders_expire_with_a_refund() {
    each_backend(|app| {
        let t = tree(app);
        let s = shop(app, &t);
        let (v, vt) = app.active_volunteer("黄敏", "13500000001", &t.community_a);
        earn(app, &v, &t.community_a, "30.00");
        let placed = order(app, &vt, &s.rice, &s.site, 1);
        let id = placed.body["id"].as_str().unwrap().to_owned();
        let pool = app.db.pool(1).unwrap();
        let conn = &mut pool.get().unwrap();
        let now = timebank_store::now();
        assert!(
            timebank_redemption::orders::expire_due(conn, now, 100)
                .unwrap()
                .is_empty(),
            "not due yet"
        );
        let later = now + chrono::Duration::days(8);
        assert_eq!(
            timebank_redemption::orders::expire_due(conn, later, 100).unwrap(),
            vec![id.clone()]
        );
        assert!(
            timebank_redemption::orders::expire_due(conn, later, 100)
                .unwrap()
                .is_empty(),
            "a re-run expires nothing twice"
        );
        assert_eq!(
            app.get(&format!("/api/v1/redemptions/{id}"), Some(&vt))
                .body["status"],
            "expired"
        );
        assert_eq!(app.balance(&v)["points"], "30.00");
        assert_eq!(level(app, &s.site, &s.rice), (10, 0));
    });
}

#[test]
fn gifts_between_family_and_the_public_pool() {
    each_backend(|app| {
        let t = tree(app);
        let (parent, pt) = app.active_volunteer("张建国", "13500000001", &t.community_a);
        let (child, ct) = app.active_volunteer("张子涵", "13500000002", &t.community_b);
        let (stranger, st) = app.active_volunteer("路人", "13500000003", &t.community_a);
        let street_admin = app.admin_of(&t.street_a, "13600000001", &t.community_a);
        earn(app, &parent, &t.community_a, "500.00");

        let gift = |token: &str, body: Value| app.post("/api/v1/gifts", Some(token), body);
        gift(&pt, json!({ "to_user_id": child, "points": "10.00" }))
            .assert_error(422, "not_family");
        let link = app.post(
            "/api/v1/family-links",
            Some(&pt),
            json!({ "user_id": child, "relation": "父子" }),
        );
        assert_eq!(link.status, 201, "{}", link.body);
        let link_id = link.body["id"].as_str().unwrap().to_owned();
        app.post(
            "/api/v1/family-links",
            Some(&ct),
            json!({ "user_id": parent, "relation": "parent" }),
        )
        .assert_error(409, "link_exists");
        app.post(
            "/api/v1/family-links",
            Some(&pt),
            json!({ "user_id": parent, "relation": "child" }),
        )
        .assert_error(422, "invalid_family_link");
        app.post(
            "/api/v1/family-links",
            Some(&pt),
            json!({ "user_id": stranger, "relation": "" }),
        )
        .assert_error(422, "validation_failed");
        gift(&pt, json!({ "to_user_id": child, "points": "10.00" }))
            .assert_error(422, "not_family");
        app.send(
            "POST",
            &format!("/api/v1/family-links/{link_id}/confirm"),
            Some(&pt),
            None,
            &[],
        )
        .assert_error(403, "forbidden");
        app.send(
            "POST",
            &format!("/api/v1/family-links/{link_id}/confirm"),
            Some(&st),
            None,
            &[],
        )
        .assert_error(403, "forbidden");
        let confirmed = app.send(
            "POST",
            &format!("/api/v1/family-links/{link_id}/confirm"),
            Some(&ct),
            None,
            &[],
        );
        assert_eq!(confirmed.body["status"], "confirmed");
        assert_eq!(
            app.get("/api/v1/family-links", Some(&ct)).body["items"]
                .as_array()
                .unwrap()
                .len(),
            1
        );

        let given = gift(
            &pt,
            json!({ "to_user_id": child, "points": "40.00", "note": "生日快乐" }),
        );
        assert_eq!(given.status, 201, "{}", given.body);
        assert_eq!(given.body["transaction"]["kind"], "gift");
        assert_eq!(app.balance(&child)["points"], "40.00");
        assert_eq!(
            app.balance(&child)["lifetime_points"],
            "0.00",
            "a gift is not earned"
        );
        gift(&pt, json!({ "to_user_id": child, "points": "100.01" }))
            .assert_error(422, "gift_limit_reached");
        gift(&ct, json!({ "to_user_id": parent, "points": "41.00" }))
            .assert_error(422, "insufficient_points");
        gift(&pt, json!({ "points": "1.00" })).assert_error(422, "validation_failed");
        gift(&pt, json!({ "to_user_id": child, "points": "-5.00" }))
            .assert_error(422, "validation_failed");

        // To the district's public pool, and out again to someone in need.
        let pooled = gift(&pt, json!({ "to": "pool", "points": "60.00" }));
        assert_eq!(pooled.status, 201, "{}", pooled.body);
        assert_eq!(pooled.body["to_pool"], true);
        let pool = app.get(
            &format!("/api/v1/pool?district_id={}", t.district),
            Some(&app.admin),
        );
        assert_eq!(pool.body["points"], "60.00");
        let grant = |token: &str, points: &str| {
            app.post("/api/v1/pool/grants", Some(token), json!({ "volunteer_or_resident_id": stranger, "points": points, "reason": "困难帮扶" }))
        };
        grant(&street_admin, "5.00").assert_error(403, "forbidden");
        grant(&st, "5.00").assert_error(403, "forbidden");
        let granted = grant(&app.admin, "50.00");
        assert_eq!(granted.status, 201, "{}", granted.body);
        assert_eq!(granted.body["kind"], "pool_grant");
        grant(&app.admin, "10.01").assert_error(422, "insufficient_pool");
        assert_eq!(app.balance(&stranger)["points"], "50.00");
        assert_eq!(
            app.get(
                &format!("/api/v1/pool?district_id={}", t.district),
                Some(&app.admin)
            )
            .body["points"],
            "10.00"
        );

        // The yearly gift limit of the spending policy.
        let policy = json!({ "order_pickup_days": 7, "max_points_per_gift": "100", "max_gift_points_per_year": "120" });
        assert_eq!(
            app.send(
                "PUT",
                &format!("/api/v1/policies/spending?org_id={}", t.district),
                Some(&app.admin),
                Some(policy),
                &[]
            )
            .status,
            200
        );
        let r = gift(&pt, json!({ "to_user_id": child, "points": "30.00" }));
        r.assert_error(422, "gift_limit_reached");
        assert_eq!(r.body["error"]["details"]["given_this_year"], "100.00");
    });
}

#[test]
fn a_balance_cap_sends_the_excess_to_the_pool() {
    each_backend(|app| {
        let t = tree(app);
        let policy = json!({ "order_pickup_days": 7, "max_points_per_gift": "100", "max_gift_points_per_year": "1000", "balance_cap": "10.00" });
        assert_eq!(
            app.send(
                "PUT",
                &format!("/api/v1/policies/spending?org_id={}", t.district),
                Some(&app.admin),
                Some(policy),
                &[]
            )
            .status,
            200
        );
        let (v, _) = app.active_volunteer("罗平", "13500000001", &t.community_a);
        let a =
            app.published_activity(&t.community_a, &day_at(2, 0, 0), &day_at(2, 12, 0), 5, None);
        app.attend(&a, &v, &day_at(2, 0, 0), &day_at(2, 12, 0));
        let settled = app.settle(&a);
        assert_eq!(settled.body["transactions"][0]["points"], "12.00");
        assert_eq!(settled.body["transactions"][0]["to_pool"], "2.00");
        let b = app.balance(&v);
        assert_eq!(
            (b["points"].as_str(), b["hours"].as_str()),
            (Some("10.00"), Some("12.00")),
            "hours are never capped"
        );
        assert_eq!(
            app.get(
                &format!("/api/v1/pool?district_id={}", t.district),
                Some(&app.admin)
            )
            .body["points"],
            "2.00"
        );
    });
}

#[test]
fn a_hundred_concurrent_redemptions_and_one_key_sent_twenty_times() {
    each_backend(|app| {
        let t = tree(app);
        let s = shop(app, &t);
        stock(app, &s.site, &s.operator, &s.rice, 50); // 60 in all
        let (v, vt) = app.active_volunteer("吴勇", "13500000001", &t.community_a);
        earn(app, &v, &t.community_a, "1200.00"); // exactly 40 × 30
        let statuses: Vec<(u16, String)> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..100)
                .map(|_| {
                    let (vt, rice, site) = (vt.clone(), s.rice.clone(), s.site.clone());
                    scope.spawn(move || {
                        let r = order(app, &vt, &rice, &site, 1);
                        (r.status, r.code().to_owned())
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let ok = statuses.iter().filter(|(s, _)| *s == 201).count();
        assert_eq!(ok, 40, "{statuses:?}");
        assert!(
            statuses
                .iter()
                .all(|(s, c)| *s == 201 || c == "insufficient_points"),
            "{statuses:?}"
        );
        assert_eq!(app.balance(&v)["points"], "0.00");
        assert_eq!(level(app, &s.site, &s.rice), (20, 40));

        let (w, wt) = app.active_volunteer("郑洁", "13500000002", &t.community_a);
        earn(app, &w, &t.community_a, "90.00");
        let ids: Vec<(u16, Value)> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..20)
                .map(|_| {
                    let (wt, rice, site) = (wt.clone(), s.rice.clone(), s.site.clone());
                    scope.spawn(move || {
                        let r = app.send(
                            "POST",
                            "/api/v1/redemptions",
                            Some(&wt),
                            Some(json!({ "item_id": rice, "site_id": site, "quantity": 1 })),
                            &[("Idempotency-Key", "same-order")],
                        );
                        (r.status, r.body["id"].clone())
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(
            ids.iter().all(|(s, id)| *s == 201 && *id == ids[0].1),
            "{ids:?}"
        );
        assert_eq!(
            app.balance(&w)["points"],
            "60.00",
            "one order, charged once"
        );
        assert_eq!(level(app, &s.site, &s.rice), (19, 41));
    });
}

#[test]
fn verify_finds_stock_changed_behind_its_back() {
    each_backend(|app| {
        let t = tree(app);
        let s = shop(app, &t);
        app.assert_verified();
        app.tampered
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let pool = app.db.pool(1).unwrap();
        let conn = &mut pool.get().unwrap();
        use diesel::RunQueryDsl;
        diesel::sql_query("UPDATE stock_levels SET available = available + 5")
            .execute(conn)
            .unwrap();
        let report = app.get("/api/v1/ledger/verify", Some(&app.admin));
        assert_eq!(report.body["ok"], false);
        assert_eq!(
            report.body["problems"][0]["code"], "stock_mismatch",
            "{}",
            report.body
        );
        let _ = s.rice;
    });
}

/// Orders read the site, its org and the item from memory: an item retired
/// is refused by the very next order.
#[test]
fn a_retired_item_is_refused_by_the_next_order() {
    each_backend(|app| {
        let t = tree(app);
        let (site, item) = oil_shop(app, &t, 10);
        let (v, vt) = app.active_volunteer("申领", "13700000031", &t.community_a);
        earn(app, &v, &t.community_a, "10.00");
        let order = || {
            app.post(
                "/api/v1/redemptions",
                Some(&vt),
                json!({ "item_id": item, "site_id": site, "quantity": 1 }),
            )
        };
        assert_eq!(order().status, 201);
        assert_eq!(order().status, 201);
        let retired = app.send(
            "POST",
            &format!("/api/v1/catalog/items/{item}/retire"),
            Some(&app.admin),
            None,
            &[],
        );
        assert_eq!(retired.body["status"], "retired", "{}", retired.body);
        let refused = order();
        refused.assert_error(422, "item_not_available_here");
        assert_eq!(refused.body["error"]["details"]["reason"], "retired");
    });
}

/// What an order's placing answered, without what differs between two runs
/// (ids, pickup codes).
fn answered(
    r: &Result<timebank_redemption::orders::OrderRow, timebank_kernel::DomainError>,
) -> String {
    use timebank_kernel::DomainError;
    match r {
        Ok(o) => format!("placed {} ×{} for {}", o.volunteer_id, o.quantity, o.points),
        Err(DomainError::Refused { code, details, .. }) => format!("{code:?} {details:?}"),
        Err(other) => format!("{other}"),
    }
}

#[test]
fn orders_placed_together_answer_as_if_placed_one_after_another() {
    use diesel::Connection;
    use timebank_kernel::DomainError;
    use timebank_redemption::orders::{self, OrderRequest};

    each_backend(|app| {
        let t = tree(app);
        let s = shop(app, &t); // rice at 30.00, 10 in stock
        let oil = item(
            app,
            &t.district,
            "油",
            "2.00",
            json!({ "limit_per_person_per_quarter": 2 }),
        );
        stock(app, &s.site, &s.operator, &oil, 3);
        let (a, _) = app.active_volunteer("甲", "13500000011", &t.community_a);
        let (b, _) = app.active_volunteer("乙", "13500000012", &t.community_a);
        earn(app, &a, &t.community_a, "64.00");
        earn(app, &b, &t.community_a, "5.00");
        let order = |v: &str, item: &str, site: &str, quantity: i32| OrderRequest {
            volunteer_id: v.to_owned(),
            item_id: item.to_owned(),
            site_id: site.to_owned(),
            quantity,
        };
        let requests = vec![
            order(&a, &oil, &s.site, 1),
            order(&a, &oil, &s.site, 1),
            order(&a, &oil, &s.site, 1), // past the limit of 2 a quarter
            order(&b, &oil, &s.site, 2), // one left in stock
            order(&b, &oil, &s.site, 1),
            order(&b, &s.rice, &s.site, 1), // 3.00 left, rice costs 30.00
            order(&a, &s.rice, &s.site, 2),
            order(&a, &s.rice, &s.site, 1), // nothing left
            order("no-such-volunteer", &s.rice, &s.site, 1),
            order(&b, &s.rice, "no-such-site", 1),
        ];
        let pool = app.db.pool(1).unwrap();
        let conn = &mut pool.get().unwrap();
        let state = |c: &mut timebank_store::DbConnection| {
            let wallets = timebank_ledger::read::wallets_of_owners(c, &[&a, &b]).unwrap();
            let points: Vec<_> = [&a, &b].iter().map(|v| wallets[*v].1.points).collect();
            let oil_level = timebank_redemption::stock::level(c, &s.site, &oil).unwrap();
            let rice_level = timebank_redemption::stock::level(c, &s.site, &s.rice).unwrap();
            format!("{points:?} {oil_level:?} {rice_level:?}")
        };
        // Each alone in its own savepoint, then all rolled back.
        let mut one_by_one = (Vec::new(), String::new());
        let _ = conn.transaction(|c| {
            for r in &requests {
                let placed = c.transaction(|c| {
                    let now = timebank_store::now();
                    orders::place(c, &r.volunteer_id, &r.item_id, &r.site_id, r.quantity, now)
                });
                one_by_one.0.push(answered(&placed));
            }
            one_by_one.1 = state(c);
            Err::<(), _>(DomainError::Internal("roll back".into()))
        });
        let together = conn
            .transaction(|c| {
                let placed = orders::place_many(c, &requests, timebank_store::now())?;
                let answers: Vec<String> = placed.iter().map(answered).collect();
                Ok::<_, DomainError>((answers, state(c)))
            })
            .unwrap();
        assert_eq!(together, one_by_one);
        let codes: Vec<&str> = together
            .0
            .iter()
            .map(|a| a.split(' ').next().unwrap())
            .collect();
        assert_eq!(
            codes,
            [
                "placed",
                "placed",
                "LimitReached",
                "OutOfStock",
                "placed",
                "InsufficientPoints",
                "placed",
                "InsufficientPoints",
                "volunteer",
                "site",
            ]
        );
        // What the pass wrote is what the API and the ledger check see.
        assert_eq!(app.balance(&a)["points"], "0.00");
        assert_eq!(app.balance(&b)["points"], "3.00");
        assert_eq!(level(app, &s.site, &oil), (0, 3));
        assert_eq!(level(app, &s.site, &s.rice), (8, 2));
        let verified = cli(&app.db, &["verify"]);
        assert!(verified.status.success(), "{verified:?}");
    });
}

/// Eight active volunteers of community A with 300.00 points each (ten
/// orders of rice), phones `<prefix>0` to `<prefix>7`: (id, token).
fn funded_volunteers(app: &App, t: &Tree, prefix: &str) -> Vec<(String, String)> {
    (0..8)
        .map(|i| {
            let phone = format!("{prefix}{i}");
            let (v, token) = app.active_volunteer("志愿者", &phone, &t.community_a);
            earn(app, &v, &t.community_a, "300.00");
            (v, token)
        })
        .collect()
}

#[test]
fn a_pass_of_orders_that_fails_is_placed_again_order_by_order() {
    use diesel::RunQueryDsl;
    each_backend(|app| {
        let t = tree(app);
        let s = shop(app, &t);
        stock(app, &s.site, &s.operator, &s.rice, 90); // 100 in all
        // The database refuses any two orders written by one statement:
        // every pass of more than one order fails as a whole.
        let pool = app.db.pool(1).unwrap();
        let mut conn = pool.get().unwrap();
        let refuse = match app.db.backend() {
            timebank_store::Backend::Sqlite => vec![
                "CREATE TRIGGER refuse_order_passes BEFORE INSERT ON orders \
                 WHEN EXISTS (SELECT 1 FROM orders WHERE created_at = NEW.created_at) \
                 BEGIN SELECT RAISE(ABORT, 'orders written together are refused'); END",
            ],
            timebank_store::Backend::Postgres => vec![
                "CREATE FUNCTION refuse_order_passes() RETURNS trigger AS $$ BEGIN \
                 IF EXISTS (SELECT 1 FROM orders WHERE created_at = NEW.created_at \
                 AND id <> NEW.id) THEN \
                 RAISE EXCEPTION 'orders written together are refused'; END IF; \
                 RETURN NULL; END $$ LANGUAGE plpgsql",
                "CREATE TRIGGER refuse_order_passes AFTER INSERT ON orders \
                 FOR EACH ROW EXECUTE FUNCTION refuse_order_passes()",
            ],
        };
        for sql in refuse {
            diesel::sql_query(sql).execute(&mut conn).unwrap();
        }
        let volunteers = funded_volunteers(app, &t, "1350000010");
        let answers: Vec<(u16, Value, String)> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..40)
                .map(|n| {
                    let (_, token) = volunteers[n % volunteers.len()].clone();
                    let (rice, site) = (s.rice.clone(), s.site.clone());
                    scope.spawn(move || {
                        let key = format!("order-{n}");
                        let r = app.send(
                            "POST",
                            "/api/v1/redemptions",
                            Some(&token),
                            Some(json!({ "item_id": rice, "site_id": site, "quantity": 1 })),
                            &[("Idempotency-Key", &key)],
                        );
                        (r.status, r.body["id"].clone(), key)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(answers.iter().all(|(s, ..)| *s == 201), "{answers:?}");
        assert!(
            app.log_lines()
                .iter()
                .any(|l| l.contains("an order pass failed; placing each alone")),
            "no pass of several orders was tried"
        );
        let metrics = app.get("/metrics", None);
        assert!(
            metrics
                .body
                .as_str()
                .unwrap()
                .contains("timebank_order_passes_total{outcome=\"redone\"}"),
            "redone passes are counted"
        );
        assert_eq!(level(app, &s.site, &s.rice), (60, 40));
        for (v, _) in &volunteers {
            assert_eq!(
                app.balance(v)["points"],
                "150.00",
                "five orders, each charged once"
            );
        }
        // Each key kept the answer it was given.
        let (status, id, key) = &answers[7];
        let again = app.send(
            "POST",
            "/api/v1/redemptions",
            Some(&volunteers[7].1),
            Some(json!({ "item_id": s.rice, "site_id": s.site, "quantity": 1 })),
            &[("Idempotency-Key", key)],
        );
        assert_eq!((again.status, &again.body["id"]), (*status, id));
        let verified = cli(&app.db, &["verify"]);
        assert!(verified.status.success(), "{verified:?}");
    });
}

#[test]
fn a_pass_of_orders_whose_commit_fails_is_not_placed_again() {
    use diesel::RunQueryDsl;
    // A commit that fails may, seen from the server, have gone through:
    // re-placing its orders could charge one sent without a key twice.
    let Some(db) = timebank_store::testing::TestDb::postgres() else {
        return;
    };
    let app = spawn(db);
    let t = tree(&app);
    let s = shop(&app, &t);
    stock(&app, &s.site, &s.operator, &s.rice, 90);
    // Checked at commit: two orders written together fail their commit,
    // an order alone commits.
    let pool = app.db.pool(1).unwrap();
    let mut conn = pool.get().unwrap();
    for sql in [
        "CREATE FUNCTION refuse_order_passes() RETURNS trigger AS $$ BEGIN \
         IF EXISTS (SELECT 1 FROM orders WHERE created_at = NEW.created_at \
         AND id <> NEW.id) THEN \
         RAISE EXCEPTION 'orders written together are refused'; END IF; \
         RETURN NULL; END $$ LANGUAGE plpgsql",
        "CREATE CONSTRAINT TRIGGER refuse_order_passes AFTER INSERT ON orders \
         DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_order_passes()",
    ] {
        diesel::sql_query(sql).execute(&mut conn).unwrap();
    }
    let volunteers = funded_volunteers(&app, &t, "1350000020");
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..40)
            .map(|n| {
                let (_, token) = volunteers[n % volunteers.len()].clone();
                let (rice, site) = (s.rice.clone(), s.site.clone());
                let app = &app;
                scope.spawn(move || order(app, &token, &rice, &site, 1).status)
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let placed = statuses.iter().filter(|s| **s == 201).count();
    assert!(
        statuses.iter().any(|s| *s >= 500),
        "no pass of several orders failed its commit: {statuses:?}"
    );
    let metrics = app.get("/metrics", None);
    assert!(
        metrics
            .body
            .as_str()
            .unwrap()
            .contains("timebank_order_passes_total{outcome=\"failed\"}"),
        "failed commits are counted"
    );
    assert!(
        statuses.iter().all(|s| *s == 201 || *s >= 500),
        "{statuses:?}"
    );
    // Only the answered orders exist, each charged once.
    let (available, reserved) = level(&app, &s.site, &s.rice);
    assert_eq!((available, reserved), (100 - placed as i64, placed as i64));
    let left: i64 = volunteers
        .iter()
        .map(|(v, _)| {
            let points = app.balance(v)["points"].as_str().unwrap().to_owned();
            timebank_ledger::Amount::parse(&points).unwrap().units()
        })
        .sum();
    assert_eq!(
        8 * 30_000 - left,
        3_000 * placed as i64,
        "each placed order charged once"
    );
    let verified = cli(&app.db, &["verify"]);
    assert!(verified.status.success(), "{verified:?}");
}
