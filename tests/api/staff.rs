//! The staff side: work queues and searches scoped to a subtree, paging,
//! grants listed and revoked (refused on the very next request), the home
//! page's counts, the audit trail, batch runs and a subtree's verify.

use serde_json::{Value, json};
use timebank_api::auth::TokenKeys;

use crate::helpers::*;

fn ids(r: &Resp) -> Vec<String> {
    r.body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items: {}", r.body))
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Every page of a list, following `next_cursor`.
fn all_pages(app: &App, path: &str, token: &str, limit: usize) -> Vec<Value> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let url = match &cursor {
            Some(c) => format!("{path}{sep}limit={limit}&cursor={c}"),
            None => format!("{path}{sep}limit={limit}"),
        };
        let r = app.get(&url, Some(token));
        assert_eq!(r.status, 200, "{url}: {}", r.body);
        let page = r.body["items"].as_array().unwrap().clone();
        assert!(page.len() <= limit, "{url}: a page over its limit");
        items.extend(page);
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return items,
        }
    }
    panic!("{path}: the cursor never ends")
}

#[test]
fn people_queues_are_scoped_paged_newest_first_and_searchable() {
    each_backend(|app| {
        let t = tree(app);
        let c_a = app.admin_of(&t.community_a, "13200000011", &t.community_a);
        let c_b = app.admin_of(&t.community_b, "13200000012", &t.community_b);
        let pending_a: Vec<String> = (0..5)
            .map(|i| {
                app.register(
                    &format!("王{i}号"),
                    &format!("1330000000{i}"),
                    &t.community_a,
                )
            })
            .collect();
        let pending_b = app.register("李一", "13300000010", &t.community_b);
        let (active_a, _) = app.active_volunteer("赵六", "13300000020", &t.community_a);

        // Newest first, every page within its limit, nothing twice.
        let listed = all_pages(
            app,
            &format!("/api/v1/volunteers?org_id={}&status=pending", t.community_a),
            &c_a,
            2,
        );
        let listed_ids: Vec<&str> = listed.iter().map(|v| v["id"].as_str().unwrap()).collect();
        for id in &pending_a {
            assert!(listed_ids.contains(&id.as_str()), "{id} missing");
        }
        assert!(
            !listed_ids.contains(&pending_b.as_str()),
            "B's volunteer in A's queue"
        );
        assert!(
            !listed_ids.contains(&active_a.as_str()),
            "an active volunteer in the pending queue"
        );
        let mut dedup = listed_ids.clone();
        dedup.sort();
        dedup.dedup();
        assert_eq!(dedup.len(), listed_ids.len(), "a volunteer listed twice");
        let times: Vec<&str> = listed
            .iter()
            .map(|v| v["created_at"].as_str().unwrap())
            .collect();
        assert!(
            times.windows(2).all(|w| w[0] >= w[1]),
            "not newest first: {times:?}"
        );
        let newest = listed_ids
            .iter()
            .position(|id| *id == pending_a[4])
            .unwrap();
        let oldest = listed_ids
            .iter()
            .position(|id| *id == pending_a[0])
            .unwrap();
        assert!(newest < oldest);
        // The admins over the community see whole phones.
        assert!(listed.iter().any(|v| v["phone"] == "13300000004"));
        assert!(
            listed
                .iter()
                .all(|v| v["status"] == "pending" && v["community_name"] == "新塘社区")
        );

        // District-wide: each community's walk merged, newest first, paged.
        let district = all_pages(
            app,
            &format!("/api/v1/volunteers?org_id={}", t.district),
            &app.admin,
            3,
        );
        let district_ids: Vec<&str> = district.iter().map(|v| v["id"].as_str().unwrap()).collect();
        assert!(
            district_ids.contains(&pending_b.as_str()) && district_ids.contains(&active_a.as_str())
        );
        assert!(
            pending_a
                .iter()
                .all(|id| district_ids.contains(&id.as_str()))
        );
        let mut unique = district_ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), district_ids.len(), "a volunteer on two pages");
        let times: Vec<&str> = district
            .iter()
            .map(|v| v["created_at"].as_str().unwrap())
            .collect();
        assert!(
            times.windows(2).all(|w| w[0] >= w[1]),
            "not newest first: {times:?}"
        );

        // Without org_id the caller's own subtree; another community's is 403.
        let own = app.get("/api/v1/volunteers?status=pending", Some(&c_b));
        assert_eq!(own.status, 200, "{}", own.body);
        assert!(ids(&own).contains(&pending_b));
        assert!(pending_a.iter().all(|id| !ids(&own).contains(id)));
        app.get(
            &format!("/api/v1/volunteers?org_id={}", t.community_a),
            Some(&c_b),
        )
        .assert_error(403, "forbidden");

        // Search: a phone prefix, a name prefix.
        let by_phone = app.get(
            &format!("/api/v1/volunteers?org_id={}&q=1330000000", t.district),
            Some(&app.admin),
        );
        assert_eq!(ids(&by_phone).len(), 5, "{}", by_phone.body);
        let by_name = app.get(
            &format!("/api/v1/volunteers?org_id={}&q={}", t.district, "%E8%B5%B5"),
            Some(&app.admin),
        );
        assert_eq!(ids(&by_name), vec![active_a.clone()], "{}", by_name.body);
        let active = app.get(
            &format!("/api/v1/volunteers?org_id={}&status=active", t.community_a),
            Some(&c_a),
        );
        assert_eq!(ids(&active), vec![active_a.clone()]);

        // An auditor reads, with phones masked.
        let auditor = app.register("审计", "13200000031", &t.community_a);
        let r = app.post(
            &format!("/api/v1/orgs/{}/admins", t.district),
            Some(&app.admin),
            json!({ "user_id": auditor, "role": "auditor" }),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        let au = app.login("13200000031", "volunteer-pass");
        // 王4号 is 13300000004.
        let seen = app.get("/api/v1/volunteers?q=%E7%8E%8B4", Some(&au));
        assert_eq!(
            seen.body["items"][0]["phone"], "133****0004",
            "{}",
            seen.body
        );
        // Searching digit by digit would spell a masked phone out.
        app.get("/api/v1/volunteers?q=13300000004", Some(&au))
            .assert_error(403, "phone_search_not_allowed");
        assert_eq!(app.get("/api/v1/volunteers?q=133", Some(&au)).status, 200);

        // Bad input is a 400 naming the parameter.
        let long_q = format!("q={}", "x".repeat(51));
        for bad in [
            // base64 of "1|x", and of a jobs cursor: not this list's.
            "cursor=MXx4",
            "cursor=am9ic3wxNzk1MDAwMDAwMTIzNDU2fDAxYTIzMTAxLTY5NjAtNzAxOC05N2Q4LWUyOWQ3MzBhODlkMA",
            "status=gone",
            "limit=0",
            "limit=201",
            "cursor=bm9wZQ",
            long_q.as_str(),
        ] {
            let r = app.get(&format!("/api/v1/volunteers?{bad}"), Some(&c_a));
            assert_eq!(r.status, 400, "{bad}: {}", r.body);
        }

        // Residents: the same queue.
        let resident = app.post(
            "/api/v1/residents/register",
            None,
            json!({ "name": "居民甲", "phone": "13300000041", "password": "resident-pass", "community_id": t.community_a }),
        );
        assert_eq!(resident.status, 201, "{}", resident.body);
        let resident = resident.body["id"].as_str().unwrap().to_owned();
        let r = app.get("/api/v1/residents?status=pending", Some(&c_a));
        assert_eq!(ids(&r), vec![resident.clone()], "{}", r.body);
        let r = app.get("/api/v1/residents?status=pending", Some(&c_b));
        assert!(ids(&r).is_empty(), "{}", r.body);

        // The home page's counts equal the queues.
        let q = app.get(
            &format!("/api/v1/orgs/{}/queues", t.community_a),
            Some(&c_a),
        );
        assert_eq!(q.status, 200, "{}", q.body);
        let pending_now = all_pages(app, "/api/v1/volunteers?status=pending", &c_a, 200);
        assert_eq!(q.body["pending_volunteers"], json!(pending_now.len()));
        assert_eq!(q.body["pending_residents"], 1);
        let disputes = all_pages(app, "/api/v1/service-requests?status=disputed", &c_a, 2);
        assert_eq!(q.body["disputed_requests"], json!(disputes.len()));
        app.get("/api/v1/service-requests?status=lost", Some(&c_a))
            .assert_error(400, "invalid_query");
        let q = app.get(
            &format!("/api/v1/orgs/{}/queues", t.community_b),
            Some(&c_b),
        );
        assert_eq!(q.body["pending_residents"], 0);
        app.get(
            &format!("/api/v1/orgs/{}/queues", t.community_a),
            Some(&c_b),
        )
        .assert_error(403, "forbidden");
    });
}

#[test]
fn award_wish_order_and_audit_queues() {
    each_backend(|app| {
        let t = tree(app);
        let c_a = app.admin_of(&t.community_a, "13200000011", &t.community_a);
        let c_b = app.admin_of(&t.community_b, "13200000012", &t.community_b);
        let (vo, vo_token) = app.active_volunteer("本人", "13300000001", &t.community_a);
        let (_, vb_token) = app.active_volunteer("邻区", "13300000002", &t.community_b);
        let tx = earn(app, &vo, &t.community_a, "30.00");

        // Case awards: pending, then approved.
        let r = app.post(
            "/api/v1/case-rules",
            Some(&app.admin),
            json!({ "org_id": t.district, "code": "blood_donation", "name": "无偿献血", "points": "10.00", "effective_from": "2026-01-01T00:00:00Z" }),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        let award = app.post(
            "/api/v1/case-awards",
            Some(&c_a),
            json!({ "volunteer_id": vo, "rule_code": "blood_donation", "occurred_at": "2026-11-01T02:00:00Z" }),
        );
        assert_eq!(award.status, 201, "{}", award.body);
        let award = award.body["id"].as_str().unwrap().to_owned();
        let r = app.get("/api/v1/case-awards?status=pending", Some(&c_a));
        assert_eq!(ids(&r), vec![award.clone()]);
        let item = &r.body["items"][0];
        assert_eq!(item["volunteer_name"], "本人");
        assert_eq!(item["rule_name"], "无偿献血");
        assert_eq!(item["points"], "10.00");
        assert!(ids(&app.get("/api/v1/case-awards?status=pending", Some(&c_b))).is_empty());
        let r = app.post(
            &format!("/api/v1/case-awards/{award}/approve"),
            Some(&c_a),
            json!({}),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(ids(&app.get("/api/v1/case-awards?status=pending", Some(&c_a))).is_empty());
        assert_eq!(
            ids(&app.get("/api/v1/case-awards?status=approved", Some(&c_a))),
            vec![award]
        );

        // Wishes: a volunteer of the district sees the open ones, to claim.
        let wish = app.post(
            "/api/v1/wishes",
            Some(&vo_token),
            json!({ "description": "一个书包" }),
        );
        assert_eq!(wish.status, 201, "{}", wish.body);
        let wish = wish.body["id"].as_str().unwrap().to_owned();
        let seen = app.get("/api/v1/wishes", Some(&vb_token));
        assert_eq!(ids(&seen), vec![wish.clone()], "{}", seen.body);
        assert_eq!(seen.body["items"][0]["status"], "open");
        app.get("/api/v1/wishes?status=claimed", Some(&vb_token))
            .assert_error(403, "forbidden");
        let d2 = app.org("渌口区", "district", &app.root_id);
        let s2 = app.org("南洲镇", "street", &d2);
        let c2 = app.org("南洲社区", "community", &s2);
        let (_, far) = app.active_volunteer("外区", "13300000003", &c2);
        assert!(ids(&app.get("/api/v1/wishes", Some(&far))).is_empty());
        app.get(
            &format!("/api/v1/wishes?org_id={}", t.community_a),
            Some(&far),
        )
        .assert_error(403, "forbidden");
        let r = app.get(
            &format!("/api/v1/orgs/{}/queues", t.district),
            Some(&app.admin),
        );
        assert_eq!(r.body["open_wishes"], 1, "{}", r.body);

        // A site's hand-out queue, without pickup codes.
        let (site, item) = oil_shop(app, &t, 10);
        let order = app.post(
            "/api/v1/redemptions",
            Some(&vo_token),
            json!({ "item_id": item, "site_id": site, "quantity": 2 }),
        );
        assert_eq!(order.status, 201, "{}", order.body);
        let order_id = order.body["id"].as_str().unwrap().to_owned();
        let code = order.body["pickup_code"].as_str().unwrap().to_owned();
        let operator = app.register("店员", "13300000009", &t.community_a);
        let r = app.post(
            &format!("/api/v1/sites/{site}/operators"),
            Some(&app.admin),
            json!({ "user_id": operator }),
        );
        assert!(r.status < 300, "{}", r.body);
        let op = app.login("13300000009", "volunteer-pass");
        let q = app.get(
            &format!("/api/v1/sites/{site}/redemptions?status=reserved"),
            Some(&op),
        );
        assert_eq!(ids(&q), vec![order_id.clone()], "{}", q.body);
        let row = &q.body["items"][0];
        assert_eq!(row["pickup_code"], Value::Null);
        assert!(
            !q.body.to_string().contains(&code),
            "a pickup code in the site's queue"
        );
        assert_eq!(row["volunteer_name"], "本人");
        assert_eq!(row["volunteer_phone"], "133****0001");
        assert_eq!(row["item_name"], "油");
        assert_eq!(row["points"], "4.00");
        app.get(&format!("/api/v1/sites/{site}/redemptions"), Some(&c_b))
            .assert_error(403, "forbidden");
        let r = app.post(
            &format!("/api/v1/redemptions/{order_id}/fulfil"),
            Some(&op),
            json!({ "pickup_code": code }),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(
            ids(&app.get(
                &format!("/api/v1/sites/{site}/redemptions?status=reserved"),
                Some(&op)
            ))
            .is_empty()
        );
        let done = app.get(
            &format!("/api/v1/sites/{site}/redemptions?status=fulfilled"),
            Some(&op),
        );
        assert_eq!(ids(&done), vec![order_id]);

        // Violations and the audit trail of the subtree.
        let r = app.post(
            "/api/v1/violations",
            Some(&c_a),
            json!({ "volunteer_id": vo, "transaction_ids": [], "penalty_points": "1.00", "suspend_days": 3, "reason": "虚报签到" }),
        );
        assert!(r.status < 300, "{}", r.body);
        let v = app.get("/api/v1/violations", Some(&c_a));
        assert_eq!(v.body["items"].as_array().unwrap().len(), 1, "{}", v.body);
        assert_eq!(v.body["items"][0]["volunteer_name"], "本人");
        assert!(ids(&app.get("/api/v1/violations", Some(&c_b))).is_empty());
        let suspended = app.get("/api/v1/volunteers?status=suspended", Some(&c_a));
        assert_eq!(ids(&suspended), vec![vo.clone()], "{}", suspended.body);
        assert!(suspended.body["items"][0]["suspended_until"].is_string());

        let trail = app.get("/api/v1/transactions", Some(&c_a));
        assert_eq!(trail.status, 200, "{}", trail.body);
        let trail_ids = ids(&trail);
        assert!(trail_ids.contains(&tx), "the earning is in A's trail");
        let kinds: Vec<&str> = trail.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["kind"].as_str().unwrap())
            .collect();
        assert!(
            kinds.contains(&"redeem") && kinds.contains(&"penalty"),
            "{kinds:?}"
        );
        let penalty = trail.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["kind"] == "penalty")
            .unwrap();
        assert!(
            penalty["reason"].as_str().unwrap().contains("虚报签到"),
            "{penalty}"
        );
        assert!(penalty["request_id"].is_string(), "{penalty}");
        assert_eq!(penalty["actor_name"], "管理员");
        assert!(
            penalty["postings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["owner_name"] == "本人")
        );
        let only = app.get("/api/v1/transactions?kind=redeem", Some(&c_a));
        assert!(
            only.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|t| t["kind"] == "redeem")
        );
        assert_eq!(only.body["items"].as_array().unwrap().len(), 1);
        assert!(
            ids(&app.get("/api/v1/transactions", Some(&c_b))).is_empty(),
            "A's ledger in B's trail"
        );
        let later = app.get("/api/v1/transactions?from=2100-01-01T00:00:00Z", Some(&c_a));
        assert!(ids(&later).is_empty());
        let paged = all_pages(app, "/api/v1/transactions", &c_a, 1);
        assert_eq!(paged.len(), trail_ids.len());
        app.get("/api/v1/transactions?kind=nope", Some(&c_a))
            .assert_error(400, "invalid_query");

        // Batch runs: the platform's.
        let sy = TokenKeys::from_secret(SECRET.as_bytes())
            .issue("system", Some("system"), 600)
            .unwrap();
        let r = app.post("/api/v1/jobs/stars", Some(&sy), json!({}));
        assert_eq!(r.status, 200, "{}", r.body);
        let runs = app.get("/api/v1/jobs", Some(&app.admin));
        assert_eq!(runs.status, 200, "{}", runs.body);
        assert_eq!(runs.body["items"][0]["job"], "stars");
        assert_eq!(runs.body["items"][0]["status"], "finished");
        app.get("/api/v1/jobs", Some(&c_a))
            .assert_error(403, "forbidden");
    });
}

#[test]
fn published_activities_list_upcoming_first() {
    each_backend(|app| {
        let t = tree(app);
        let older =
            app.published_activity(&t.community_a, &day_at(9, 1, 0), &day_at(9, 3, 0), 5, None);
        let past =
            app.published_activity(&t.community_a, &day_at(3, 1, 0), &day_at(3, 3, 0), 5, None);
        let later = app.published_activity(
            &t.community_a,
            &minutes_from_now(60 * 48),
            &minutes_from_now(60 * 50),
            5,
            None,
        );
        let soon = app.published_activity(
            &t.community_a,
            &minutes_from_now(60),
            &minutes_from_now(120),
            5,
            None,
        );
        let (_, token) = app.active_volunteer("本人", "13300000001", &t.community_a);
        let list = format!("/api/v1/activities?community_id={}", t.community_a);
        // Upcoming soonest first, then the past latest first.
        let r = app.get(&list, Some(&token));
        let order = vec![soon.clone(), later.clone(), past.clone(), older.clone()];
        assert_eq!(ids(&r), order, "{}", r.body);
        // The same order page by page, across the turn from one to the other.
        for limit in [1, 2, 3] {
            let paged: Vec<String> = all_pages(app, &list, &token, limit)
                .iter()
                .map(|a| a["id"].as_str().unwrap().to_owned())
                .collect();
            assert_eq!(paged, order, "limit {limit}");
        }
        // A named period: soonest first within it.
        let r = app.get(&format!("{list}&from=2020-01-01T00:00:00Z"), Some(&token));
        assert_eq!(ids(&r), vec![older, past, soon, later]);
        // Another list's cursor is not this one's.
        let jobs = "am9ic3wxNzk1MDAwMDAwMTIzNDU2fDAxYTIzMTAxLTY5NjAtNzAxOC05N2Q4LWUyOWQ3MzBhODlkMA";
        app.get(&format!("{list}&cursor={jobs}"), Some(&token))
            .assert_error(400, "invalid_cursor");
        // The review queue defaults to the caller's own org.
        let r = app.post(
            "/api/v1/activities",
            Some(&app.admin),
            json!({ "org_id": t.community_a, "title": "待审", "category": "助老", "starts_at": minutes_from_now(600), "ends_at": minutes_from_now(700), "capacity": 5 }),
        );
        let pending = r.body["id"].as_str().unwrap().to_owned();
        let c_a = app.admin_of(&t.community_a, "13200000011", &t.community_a);
        let queue = app.get("/api/v1/activities?status=pending_review", Some(&c_a));
        assert_eq!(ids(&queue), vec![pending], "{}", queue.body);
        app.get("/api/v1/activities?status=pending_review", Some(&token))
            .assert_error(403, "forbidden");
    });
}

#[test]
fn revoked_grants_are_refused_on_the_next_request() {
    each_backend(|app| {
        let t = tree(app);
        let c_a = app.admin_of(&t.community_a, "13200000011", &t.community_a);
        let admin_id = app.get("/api/v1/me", Some(&c_a)).body["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let (site, _) = oil_shop(app, &t, 1);
        let operator = app.register("店员", "13300000009", &t.community_a);
        let r = app.post(
            &format!("/api/v1/sites/{site}/operators"),
            Some(&app.admin),
            json!({ "user_id": operator }),
        );
        assert!(r.status < 300, "{}", r.body);
        let op = app.login("13300000009", "volunteer-pass");

        // Listed with names, org and site; masked for those who only read.
        let grants = app.get(
            &format!("/api/v1/orgs/{}/admins", t.community_a),
            Some(&app.admin),
        );
        assert_eq!(grants.status, 200, "{}", grants.body);
        let items = grants.body["items"].as_array().unwrap();
        let admin_row = items
            .iter()
            .find(|g| g["user_id"] == admin_id.as_str())
            .unwrap();
        assert_eq!(admin_row["role"], "org_admin");
        assert_eq!(admin_row["org_name"], "新塘社区");
        assert_eq!(admin_row["phone"], "13200000011");
        let op_row = items
            .iter()
            .find(|g| g["user_id"] == operator.as_str())
            .unwrap();
        assert_eq!(op_row["role"], "site_operator");
        assert_eq!(op_row["site_id"], site.as_str());
        app.get(
            &format!("/api/v1/orgs/{}/admins", t.community_b),
            Some(&c_a),
        )
        .assert_error(403, "forbidden");

        // Nobody revokes their own grant; another admin does, at once.
        app.send(
            "DELETE",
            &format!("/api/v1/orgs/{}/admins/{admin_id}", t.community_a),
            Some(&c_a),
            None,
            &[],
        )
        .assert_error(422, "own_grant");
        assert_eq!(
            app.get(
                &format!("/api/v1/orgs/{}/queues", t.community_a),
                Some(&c_a)
            )
            .status,
            200
        );
        let r = app.send(
            "DELETE",
            &format!("/api/v1/orgs/{}/admins/{admin_id}", t.community_a),
            Some(&app.admin),
            None,
            &[],
        );
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["revoked"], json!(["org_admin"]));
        app.get(
            &format!("/api/v1/orgs/{}/queues", t.community_a),
            Some(&c_a),
        )
        .assert_error(403, "forbidden");
        let me = app.get("/api/v1/me", Some(&c_a));
        assert_eq!(me.body["scopes"], json!([]), "{}", me.body);
        let grants = app.get(
            &format!("/api/v1/orgs/{}/admins", t.community_a),
            Some(&app.admin),
        );
        assert!(
            grants.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|g| g["user_id"] != admin_id.as_str())
        );
        // Again: nothing left, still 200; an unknown user is 404.
        let r = app.send(
            "DELETE",
            &format!("/api/v1/orgs/{}/admins/{admin_id}", t.community_a),
            Some(&app.admin),
            None,
            &[],
        );
        assert_eq!(r.body["revoked"], json!([]), "{}", r.body);
        app.send(
            "DELETE",
            &format!("/api/v1/orgs/{}/admins/no-such-user", t.community_a),
            Some(&app.admin),
            None,
            &[],
        )
        .assert_error(404, "not_found");

        // The operator's queue closes as soon as the grant goes.
        assert_eq!(
            app.get(&format!("/api/v1/sites/{site}/redemptions"), Some(&op))
                .status,
            200
        );
        let r = app.send(
            "DELETE",
            &format!("/api/v1/sites/{site}/operators/{operator}"),
            Some(&app.admin),
            None,
            &[],
        );
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["revoked"], json!(["site_operator"]));
        app.get(&format!("/api/v1/sites/{site}/redemptions"), Some(&op))
            .assert_error(403, "forbidden");
        // A grant given again works again.
        let r = app.post(
            &format!("/api/v1/sites/{site}/operators"),
            Some(&app.admin),
            json!({ "user_id": operator }),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(
            app.get(&format!("/api/v1/sites/{site}/redemptions"), Some(&op))
                .status,
            200
        );
    });
}

#[test]
fn verify_covers_the_callers_subtree_and_the_platform_the_whole_ledger() {
    each_backend(|app| {
        let t = tree(app);
        let c_a = app.admin_of(&t.community_a, "13200000011", &t.community_a);
        let (vo, _) = app.active_volunteer("本人", "13300000001", &t.community_a);
        let (vb, _) = app.active_volunteer("邻区", "13300000002", &t.community_b);
        earn(app, &vo, &t.community_a, "5.00");
        earn(app, &vb, &t.community_b, "5.00");
        earn(app, &vb, &t.community_b, "6.00");
        let whole = app.get("/api/v1/ledger/verify", Some(&app.admin));
        assert_eq!(whole.body["scope"], "ledger", "{}", whole.body);
        assert_eq!(whole.body["ok"], true);
        let mine = app.get("/api/v1/ledger/verify", Some(&c_a));
        assert_eq!(mine.status, 200, "{}", mine.body);
        assert_eq!(mine.body["scope"], "subtree");
        assert_eq!(mine.body["ok"], true);
        assert_eq!(mine.body["org_id"], t.community_a.as_str());
        // A's wallets and issuance account: B's postings are not A's work.
        assert_eq!(mine.body["postings_checked"], 4, "{}", mine.body);
        assert_eq!(mine.body["transactions_checked"], 1);
        assert!(mine.body["accounts_checked"].as_u64() < whole.body["accounts_checked"].as_u64());
        app.get(
            &format!("/api/v1/ledger/verify?org_id={}", t.community_b),
            Some(&c_a),
        )
        .assert_error(403, "forbidden");
        // The platform sees the last checkpoint; a community none at all.
        assert_eq!(whole.body["last_checkpoint"], Value::Null, "{}", whole.body);
        let out = cli(&app.db, &["verify", "--checkpoint"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let whole = app.get("/api/v1/ledger/verify", Some(&app.admin));
        let checkpoint = &whole.body["last_checkpoint"];
        assert_eq!(
            checkpoint["postings"], whole.body["postings_checked"],
            "{}",
            whole.body
        );
        assert_eq!(checkpoint["digest"].as_str().map(str::len), Some(64));
        assert!(
            app.get("/api/v1/ledger/verify", Some(&c_a))
                .body
                .get("last_checkpoint")
                .is_none()
        );
        let district = app.get(
            &format!("/api/v1/ledger/verify?org_id={}", t.district),
            Some(&app.admin),
        );
        assert_eq!(district.body["postings_checked"], 12, "{}", district.body);
        assert_eq!(district.body["transactions_checked"], 3);
    });
}

#[test]
fn the_console_is_served_with_a_strict_policy_and_revalidated() {
    let app = spawn(timebank_store::testing::TestDb::sqlite());
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .build()
        .into();
    let r = agent.get(format!("{}/", app.url)).call().unwrap();
    assert_eq!(r.status(), 302);
    assert_eq!(r.headers().get("location").unwrap(), "/console/");
    let page = app.get("/console/", None);
    assert_eq!(page.status, 200);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    let csp = page.header("content-security-policy").unwrap();
    assert!(
        csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    let etag = page.header("etag").unwrap().to_owned();
    assert_eq!(page.header("cache-control"), Some("no-cache"));
    let again = app.send("GET", "/console", None, None, &[("If-None-Match", &etag)]);
    assert_eq!(again.status, 304);
    // Every module the page loads, and every module those import, is served.
    let html = page.body.as_str().unwrap().to_owned();
    assert!(
        !html.contains("<script>") && !html.contains("style="),
        "inline script or style"
    );
    let mut todo: Vec<String> = refs(&html, "/console/");
    let mut seen = std::collections::BTreeSet::new();
    while let Some(path) = todo.pop() {
        if !seen.insert(path.clone()) {
            continue;
        }
        let r = app.get(&path, None);
        assert_eq!(r.status, 200, "{path}");
        if path.ends_with(".js") {
            let text = r.body.as_str().unwrap_or("");
            assert!(!text.contains("innerHTML"), "{path} writes HTML");
            assert!(
                !text.contains("localStorage.setItem('timebank.refresh"),
                "{path}"
            );
            let dir = &path[..path.rfind('/').unwrap() + 1];
            todo.extend(refs(text, dir));
        }
    }
    assert!(seen.len() >= 5, "{seen:?}");
    for bad in [
        "/console/../Cargo.toml",
        "/console/%2e%2e/Cargo.toml",
        "/console/.hidden",
        "/console/nope.js",
    ] {
        assert_eq!(app.get(bad, None).status, 404, "{bad}");
    }
}

/// Paths a page or module loads: `src="…"`, `href="…"`, `from '…'`,
/// `import('…')`, resolved against `dir`.
fn refs(text: &str, dir: &str) -> Vec<String> {
    let mut out = Vec::new();
    for marker in [
        "src=\"",
        "href=\"",
        "from '",
        "from \"",
        "import('",
        "import(\"",
    ] {
        for part in text.split(marker).skip(1) {
            let end = part.find(['"', '\'']).unwrap_or(0);
            let target = &part[..end];
            if target.is_empty()
                || target.starts_with("http")
                || target.starts_with('#')
                || target.starts_with("data:")
            {
                continue;
            }
            let path = if target.starts_with('/') {
                target.to_owned()
            } else {
                normalise(&format!("{dir}{target}"))
            };
            if path.starts_with("/console/") {
                out.push(path);
            }
        }
    }
    out
}

fn normalise(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split('/') {
        match p {
            "." | "" => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    format!("/{}", parts.join("/"))
}

/// What the server keeps in memory of who a user is learns of a change made
/// by another process on the same database (another server, an operator's
/// SQL): nothing is believed for ever.
#[test]
fn a_grant_revoked_by_another_process_is_refused_soon_after() {
    use diesel::RunQueryDsl;
    each_backend(|app| {
        let t = tree(app);
        let c_a = app.admin_of(&t.community_a, "13200000021", &t.community_a);
        let admin_id = app.get("/api/v1/me", Some(&c_a)).body["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let queues = format!("/api/v1/orgs/{}/queues", t.community_a);
        assert_eq!(app.get(&queues, Some(&c_a)).status, 200);

        let pool = app.db.pool(1).unwrap();
        let mut conn = pool.get().unwrap();
        diesel::sql_query(format!(
            "UPDATE role_grants SET revoked_at = CURRENT_TIMESTAMP \
             WHERE user_id = '{admin_id}' AND revoked_at IS NULL"
        ))
        .execute(&mut conn)
        .unwrap();

        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let r = app.get(&queues, Some(&c_a));
            if r.status != 200 {
                r.assert_error(403, "forbidden");
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the grant revoked elsewhere still works 10 s later"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    });
}
