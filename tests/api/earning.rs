use serde_json::json;

use crate::helpers::*;

const PAST: &str = "2020-01-01T00:00:00Z";

#[test]
fn activity_review_attendance_and_settlement() {
    each_backend(|app| {
        let t = tree(app);
        let admin_a = app.admin_of(&t.community_a, "13600000001", &t.community_a);
        let admin_b = app.admin_of(&t.community_b, "13600000002", &t.community_b);
        let (v1, v1_token) = app.active_volunteer("王芳", "13500000001", &t.community_a);
        let (v2, _) = app.active_volunteer("李磊", "13500000002", &t.community_a);
        let (start, end) = (day_at(2, 1, 0), day_at(2, 4, 0));

        let create = |token: &str, body: serde_json::Value| {
            app.post("/api/v1/activities", Some(token), body)
        };
        let body = json!({ "org_id": t.community_a, "title": "敬老院陪伴", "category": "助老", "starts_at": start, "ends_at": end, "capacity": 20, "points_per_hour": "2.00" });
        create(&v1_token, body.clone()).assert_error(403, "forbidden");
        create(&admin_b, body.clone()).assert_error(403, "forbidden");
        let mut bad = body.clone();
        bad["ends_at"] = json!(start);
        create(&admin_a, bad).assert_error(422, "invalid_window");
        let mut bad = body.clone();
        bad["points_per_hour"] = json!("9.00");
        create(&admin_a, bad).assert_error(422, "points_per_hour_out_of_range");
        let mut bad = body.clone();
        bad["capacity"] = json!(0);
        create(&admin_a, bad).assert_error(422, "validation_failed");

        let created = create(&admin_a, body);
        assert_eq!(created.status, 201, "{}", created.body);
        assert_eq!(created.body["status"], "pending_review");
        let id = created.body["id"].as_str().unwrap().to_owned();
        app.get(&format!("/api/v1/activities/{id}"), Some(&v1_token))
            .assert_error(403, "forbidden");
        let listed = app.get(
            &format!(
                "/api/v1/activities?status=pending_review&org_id={}",
                t.community_a
            ),
            Some(&admin_a),
        );
        assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
        app.get(
            &format!(
                "/api/v1/activities?status=pending_review&org_id={}",
                t.community_a
            ),
            Some(&v1_token),
        )
        .assert_error(403, "forbidden");

        let review = format!("/api/v1/activities/{id}/review");
        app.post(&review, Some(&admin_b), json!({ "decision": "approve" }))
            .assert_error(403, "forbidden");
        app.post(&review, Some(&admin_a), json!({ "decision": "reject" }))
            .assert_error(422, "reason_required");
        app.post(&review, Some(&admin_a), json!({ "decision": "maybe" }))
            .assert_error(422, "validation_failed");
        let ok = app.post(&review, Some(&admin_a), json!({ "decision": "approve" }));
        assert_eq!(ok.body["status"], "published");
        app.post(&review, Some(&admin_a), json!({ "decision": "approve" }))
            .assert_error(409, "invalid_state");
        // It ended two days ago: the default list has no upcoming one, so
        // it starts with the past.
        let default = app.get(
            &format!("/api/v1/activities?community_id={}", t.community_a),
            Some(&v1_token),
        );
        assert_eq!(
            default.body["items"][0]["id"],
            id.as_str(),
            "{}",
            default.body
        );
        let visible = app.get(
            &format!(
                "/api/v1/activities?community_id={}&from={PAST}",
                t.community_a
            ),
            Some(&v1_token),
        );
        assert_eq!(visible.body["items"][0]["id"], id.as_str());
        let paged = app.get(
            &format!(
                "/api/v1/activities?community_id={}&limit=1&from={PAST}",
                t.community_a
            ),
            Some(&v1_token),
        );
        assert_eq!(paged.status, 200, "{}", paged.body);
        // One activity, one page: no cursor to a page that would be empty.
        assert_eq!(paged.body["items"].as_array().unwrap().len(), 1);
        assert_eq!(paged.body["next_cursor"], serde_json::Value::Null);
        let elsewhere = app.get(
            &format!("/api/v1/activities?community_id={}", t.community_b),
            Some(&v1_token),
        );
        assert_eq!(elsewhere.body["items"].as_array().unwrap().len(), 0);

        // v1 came 10 minutes late and stayed: 2 h 50 min → 2.5 h at 2 points an hour.
        let attended = app.attend(&id, &v1, &day_at(2, 1, 10), &day_at(2, 5, 0));
        assert_eq!(attended.status, 201, "{}", attended.body);
        // v2 stayed one hour: a third of the activity, below the 60 % minimum.
        assert_eq!(
            app.attend(&id, &v2, &day_at(2, 1, 0), &day_at(2, 2, 0))
                .status,
            201
        );
        // A correction before settlement replaces the times.
        assert_eq!(
            app.attend(&id, &v2, &day_at(2, 1, 0), &day_at(2, 2, 0))
                .status,
            200
        );
        app.attend(&id, &v2, &day_at(2, 2, 0), &day_at(2, 1, 0))
            .assert_error(422, "invalid_window");
        app.send(
            "POST",
            &format!("/api/v1/activities/{id}/settle"),
            Some(&admin_b),
            None,
            &[],
        )
        .assert_error(403, "forbidden");

        let first = app.settle(&id);
        assert_eq!(first.body["settled"], 1, "{}", first.body);
        assert_eq!(first.body["skipped"], 1);
        assert_eq!(first.body["transactions"][0]["hours"], "2.50");
        assert_eq!(first.body["transactions"][0]["points"], "5.00");
        assert_eq!(first.body["skipped_items"][0]["reason"], "below_coverage");
        let tx_id = first.body["transactions"][0]["transaction_id"]
            .as_str()
            .unwrap();
        let tx = app.get(&format!("/api/v1/transactions/{tx_id}"), Some(&app.admin));
        assert_eq!(tx.body["kind"], "earn_hours");
        assert_eq!(tx.body["rule_version"], "earning:default");
        assert!(
            tx.body["external_id"]
                .as_str()
                .unwrap()
                .starts_with("attendance:")
        );
        let balance = app.balance(&v1);
        assert_eq!(
            (balance["points"].as_str(), balance["hours"].as_str()),
            (Some("5.00"), Some("2.50"))
        );

        // Settling again posts nothing.
        let again = app.settle(&id);
        assert_eq!(again.body["settled"], 0);
        assert_eq!(again.body["skipped"], 2);
        assert!(
            again.body["skipped_items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|s| s["reason"] == "already_settled")
        );
        assert_eq!(app.balance(&v1)["points"], "5.00");
        app.attend(&id, &v1, &day_at(2, 1, 0), &day_at(2, 4, 0))
            .assert_error(409, "attendance_settled");

        // A newer policy at the district: whole hours, 50 % coverage.
        let policy = json!({
            "increment_hours": "1", "min_coverage_percent": 50, "max_hours_per_activity": null,
            "max_hours_per_day": "12", "points_per_hour": "1", "min_points_per_hour": "0.5",
            "max_points_per_hour": "5", "utc_offset_minutes": 480
        });
        let put = app.send(
            "PUT",
            &format!("/api/v1/policies/earning?org_id={}", t.district),
            Some(&app.admin),
            Some(policy),
            &[],
        );
        assert_eq!(put.status, 200, "{}", put.body);
        let second =
            app.published_activity(&t.community_a, &day_at(1, 1, 0), &day_at(1, 4, 0), 10, None);
        assert_eq!(
            app.attend(&second, &v2, &day_at(1, 1, 0), &day_at(1, 2, 40))
                .status,
            201
        );
        let settled = app.settle(&second);
        assert_eq!(
            settled.body["transactions"][0]["hours"], "1.00",
            "{}",
            settled.body
        );
        let tx_id = settled.body["transactions"][0]["transaction_id"]
            .as_str()
            .unwrap();
        let tx = app.get(&format!("/api/v1/transactions/{tx_id}"), Some(&app.admin));
        assert_eq!(
            tx.body["rule_version"],
            format!("earning:{}:v1", t.district)
        );

        // An activity that has not ended cannot be settled.
        let future = app.published_activity(
            &t.community_a,
            &minutes_from_now(60),
            &minutes_from_now(120),
            5,
            None,
        );
        app.send(
            "POST",
            &format!("/api/v1/activities/{future}/settle"),
            Some(&app.admin),
            None,
            &[],
        )
        .assert_error(409, "activity_not_finished");
        app.assert_verified();
    });
}

#[test]
fn sign_up_capacity_and_check_in_codes() {
    each_backend(|app| {
        let t = tree(app);
        let (v1, v1t) = app.active_volunteer("张伟", "13500000001", &t.community_a);
        let (_, v2t) = app.active_volunteer("刘洋", "13500000002", &t.community_a);
        let (_, v3t) = app.active_volunteer("陈静", "13500000003", &t.community_a);
        let (_, v4t) = app.active_volunteer("杨勇", "13500000004", &t.community_a);
        let pending = app.register("赵敏", "13500000005", &t.community_a);
        let _ = pending;
        let pending_token = app.login("13500000005", "volunteer-pass");
        let starts = chrono::Utc::now() + chrono::Duration::seconds(3);
        let ends = starts + chrono::Duration::seconds(3);
        let fmt = |t: chrono::DateTime<chrono::Utc>| {
            t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        };
        let id = app.published_activity(&t.community_a, &fmt(starts), &fmt(ends), 2, None);
        let signups = format!("/api/v1/activities/{id}/signups");

        assert_eq!(
            app.send("POST", &signups, Some(&v1t), None, &[]).status,
            201
        );
        let second = app.send("POST", &signups, Some(&v2t), None, &[]);
        assert_eq!(
            (second.status, second.body["signed_up"].as_i64()),
            (201, Some(2))
        );
        app.send("POST", &signups, Some(&v3t), None, &[])
            .assert_error(409, "activity_full");
        app.send("POST", &signups, Some(&v1t), None, &[])
            .assert_error(409, "already_signed_up");
        app.send("POST", &signups, Some(&pending_token), None, &[])
            .assert_error(403, "volunteer_not_active");
        app.send("POST", &signups, Some(&app.admin), None, &[])
            .assert_error(403, "not_a_volunteer");
        assert_eq!(
            app.send("DELETE", &signups, Some(&v2t), None, &[]).status,
            200
        );
        app.send("DELETE", &signups, Some(&v2t), None, &[])
            .assert_error(409, "not_signed_up");
        assert_eq!(
            app.send("POST", &signups, Some(&v3t), None, &[]).status,
            201
        );

        let code_path = format!("/api/v1/activities/{id}/code");
        app.get(&code_path, Some(&v1t))
            .assert_error(403, "forbidden");
        let code = app.get(&code_path, Some(&app.admin));
        let code = code.body["code"].as_str().unwrap().to_owned();
        assert_eq!(code.len(), 6);
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let check_in = format!("/api/v1/activities/{id}/check-in");
        app.post(&check_in, Some(&v1t), json!({ "code": wrong }))
            .assert_error(422, "wrong_code");
        app.post(&check_in, Some(&v1t), json!({ "code": "12" }))
            .assert_error(422, "validation_failed");
        let checked = app.post(&check_in, Some(&v1t), json!({ "code": code }));
        assert_eq!(checked.status, 201, "{}", checked.body);
        assert_eq!(checked.body["volunteer_id"], v1.as_str());
        app.post(&check_in, Some(&v1t), json!({ "code": code }))
            .assert_error(409, "already_checked_in");
        app.post(&check_in, Some(&v4t), json!({ "code": code }))
            .assert_error(409, "not_signed_up");
        assert_eq!(
            app.post(&check_in, Some(&v3t), json!({ "code": code }))
                .status,
            201
        );

        std::thread::sleep(std::time::Duration::from_millis(6500));
        app.send("DELETE", &signups, Some(&v3t), None, &[])
            .assert_error(409, "activity_started");
        let code = app.get(&code_path, Some(&app.admin)).body["code"]
            .as_str()
            .unwrap()
            .to_owned();
        let out = app.post(
            &format!("/api/v1/activities/{id}/check-out"),
            Some(&v1t),
            json!({ "code": code }),
        );
        assert_eq!(out.status, 200, "{}", out.body);
        assert!(out.body["check_out_at"].is_string());
        app.post(
            &format!("/api/v1/activities/{id}/check-out"),
            Some(&v1t),
            json!({ "code": code }),
        )
        .assert_error(409, "already_checked_out");

        // Seconds of service round down to nothing; v3 never checked out.
        let report = app.settle(&id);
        assert_eq!(report.body["settled"], 0, "{}", report.body);
        let mut reasons: Vec<String> = report.body["skipped_items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["reason"].as_str().unwrap().to_owned())
            .collect();
        reasons.sort();
        assert_eq!(reasons, ["below_increment", "no_check_out"]);
        let attendance = app.get(
            &format!("/api/v1/activities/{id}/attendance"),
            Some(&app.admin),
        );
        assert_eq!(attendance.body["items"].as_array().unwrap().len(), 2);
        app.assert_verified();
    });
}

#[test]
fn overlapping_time_counts_once_and_the_day_is_capped() {
    each_backend(|app| {
        let t = tree(app);
        let (v, _) = app.active_volunteer("孙丽", "13500000001", &t.community_a);
        // Same local day (UTC+8): 08:00–14:00, 10:00–18:00 and 18:00–23:00 local.
        let a = app.published_activity(&t.community_a, &day_at(3, 0, 0), &day_at(3, 6, 0), 5, None);
        let b = app.published_activity(&t.street_a, &day_at(3, 2, 0), &day_at(3, 10, 0), 5, None);
        let c = app.published_activity(&t.district, &day_at(3, 10, 0), &day_at(3, 15, 0), 5, None);
        app.attend(&a, &v, &day_at(3, 0, 0), &day_at(3, 6, 0));
        app.attend(&b, &v, &day_at(3, 2, 0), &day_at(3, 10, 0));
        app.attend(&c, &v, &day_at(3, 10, 0), &day_at(3, 15, 0));
        assert_eq!(app.settle(&a).body["transactions"][0]["hours"], "6.00");
        assert_eq!(
            app.settle(&b).body["transactions"][0]["hours"],
            "4.00",
            "10:00–14:00 was credited by A"
        );
        assert_eq!(
            app.settle(&c).body["transactions"][0]["hours"],
            "2.00",
            "12 h a day at most"
        );
        assert_eq!(app.balance(&v)["hours"], "12.00");
        app.assert_verified();
    });
}

#[test]
fn credited_times_are_stored_as_every_other_timestamp() {
    use diesel::prelude::*;
    use timebank_store::schema::attendances;
    each_backend(|app| {
        let t = tree(app);
        let (v, _) = app.active_volunteer("周敏", "13500000002", &t.community_a);
        let a = app.published_activity(&t.community_a, &day_at(3, 0, 0), &day_at(3, 6, 0), 5, None);
        app.attend(&a, &v, &day_at(3, 0, 0), &day_at(3, 6, 0));
        assert_eq!(app.settle(&a).body["transactions"][0]["hours"], "6.00");
        // Settlement writes many attendances with one statement of its own
        // making; its timestamps must compare, in SQL, with those written
        // by every other statement (on SQLite they compare as text).
        let pool = app.db.pool(1).unwrap();
        let conn = &mut pool.get().unwrap();
        let same: i64 = attendances::table
            .filter(attendances::activity_id.eq(&a))
            .filter(attendances::credited_from.eq(attendances::check_in_at.nullable()))
            .filter(attendances::credited_to.eq(attendances::check_out_at))
            .filter(attendances::settled_at.ge(attendances::check_out_at))
            .count()
            .get_result(conn)
            .unwrap();
        assert_eq!(same, 1);
    });
}

#[test]
fn policies_are_versioned_and_inherited() {
    each_backend(|app| {
        let t = tree(app);
        let (_, vt) = app.active_volunteer("周平", "13500000001", &t.community_a);
        let path = |org: &str| format!("/api/v1/policies/earning?org_id={org}");
        let default = app.get(&path(&t.community_a), Some(&vt));
        assert_eq!(default.status, 200, "{}", default.body);
        assert_eq!(default.body["version"], "earning:default");
        assert_eq!(default.body["policy"]["increment_hours"], "0.5");
        assert!(default.body["source_org_id"].is_null());
        let mut policy = default.body["policy"].clone();
        policy["min_coverage_percent"] = json!(80);
        app.send(
            "PUT",
            &path(&t.district),
            Some(&vt),
            Some(policy.clone()),
            &[],
        )
        .assert_error(403, "forbidden");
        let mut bad = policy.clone();
        bad["increment_hours"] = json!("0.3");
        app.send("PUT", &path(&t.district), Some(&app.admin), Some(bad), &[])
            .assert_error(422, "invalid_policy");
        let mut numbers = policy.clone();
        numbers["max_hours_per_day"] = json!(12);
        app.send(
            "PUT",
            &path(&t.district),
            Some(&app.admin),
            Some(numbers),
            &[],
        )
        .assert_error(422, "invalid_policy");
        let mut unknown = policy.clone();
        unknown["bonus"] = json!("1");
        app.send(
            "PUT",
            &path(&t.district),
            Some(&app.admin),
            Some(unknown),
            &[],
        )
        .assert_error(422, "invalid_policy");

        assert_eq!(
            app.send(
                "PUT",
                &path(&t.district),
                Some(&app.admin),
                Some(policy.clone()),
                &[]
            )
            .status,
            200
        );
        let inherited = app.get(&path(&t.community_a), Some(&vt));
        assert_eq!(inherited.body["source_org_id"], t.district.as_str());
        assert_eq!(
            inherited.body["version"],
            format!("earning:{}:v1", t.district)
        );
        policy["min_coverage_percent"] = json!(70);
        let v2 = app.send(
            "PUT",
            &path(&t.district),
            Some(&app.admin),
            Some(policy.clone()),
            &[],
        );
        assert_eq!(v2.body["version"], format!("earning:{}:v2", t.district));
        policy["min_coverage_percent"] = json!(10);
        assert_eq!(
            app.send(
                "PUT",
                &path(&t.community_a),
                Some(&app.admin),
                Some(policy),
                &[]
            )
            .status,
            200
        );
        assert_eq!(
            app.get(&path(&t.community_a), Some(&vt)).body["policy"]["min_coverage_percent"],
            10
        );
        assert_eq!(
            app.get(&path(&t.community_b), Some(&vt)).body["policy"]["min_coverage_percent"],
            70
        );

        let stars = app.get(
            &format!("/api/v1/policies/stars?org_id={}", t.community_a),
            Some(&vt),
        );
        assert_eq!(
            stars.body["policy"]["thresholds_hours"],
            json!(["100", "300", "600", "1000", "1500"])
        );
        app.get(
            &format!("/api/v1/policies/other?org_id={}", t.community_a),
            Some(&vt),
        )
        .assert_error(404, "not_found");
        let bad_stars = json!({ "thresholds_hours": ["10", "5"], "falsification_bar_days": 365 });
        app.send(
            "PUT",
            &format!("/api/v1/policies/stars?org_id={}", t.district),
            Some(&app.admin),
            Some(bad_stars),
            &[],
        )
        .assert_error(422, "invalid_policy");
    });
}

#[test]
fn case_rules_and_awards() {
    each_backend(|app| {
        let t = tree(app);
        let admin_b = app.admin_of(&t.community_b, "13600000002", &t.community_b);
        let (v, vt) = app.active_volunteer("何洁", "13500000001", &t.community_a);
        let (other, _) = app.active_volunteer("林涛", "13500000002", &t.community_a);
        let rule = json!({
            "org_id": t.district, "code": "blood_donation", "name": "无偿献血", "points": "10.00",
            "max_per_person_per_year": 2, "evidence_required": true, "effective_from": "2026-01-01T00:00:00Z"
        });
        app.post("/api/v1/case-rules", Some(&vt), rule.clone())
            .assert_error(403, "forbidden");
        let mut bad = rule.clone();
        bad["code"] = json!("Blood Donation");
        app.post("/api/v1/case-rules", Some(&app.admin), bad)
            .assert_error(422, "validation_failed");
        let mut bad = rule.clone();
        bad["points"] = json!("0");
        app.post("/api/v1/case-rules", Some(&app.admin), bad)
            .assert_error(422, "validation_failed");
        let published = app.post("/api/v1/case-rules", Some(&app.admin), rule);
        assert_eq!(published.status, 201, "{}", published.body);
        assert_eq!(published.body["version"], 1);
        // Without org_id (as in API.md) the rule belongs to the org the caller administers.
        let rootless = app.post(
            "/api/v1/case-rules",
            Some(&app.admin),
            json!({ "code": "act_of_bravery", "name": "见义勇为", "points": 100 }),
        );
        assert_eq!(rootless.status, 201, "{}", rootless.body);
        assert_eq!(rootless.body["org_id"], app.root_id.as_str());
        assert_eq!(
            rootless.body["points"], "100.00",
            "a whole JSON number is taken exactly"
        );
        let rules = app.get(
            &format!("/api/v1/case-rules?org_id={}", t.community_a),
            Some(&vt),
        );
        let codes: Vec<&str> = rules.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["code"].as_str().unwrap())
            .collect();
        assert_eq!(
            codes,
            ["act_of_bravery", "blood_donation"],
            "its own district's rule and the root's"
        );

        let file = |token: &str, who: &str, at: &str, evidence: Option<&str>| {
            let mut body =
                json!({ "volunteer_id": who, "rule_code": "blood_donation", "occurred_at": at });
            if let Some(e) = evidence {
                body["evidence"] = json!(e);
            }
            app.post("/api/v1/case-awards", Some(token), body)
        };
        file(&vt, &v, "2026-03-01T00:00:00Z", None).assert_error(422, "evidence_required");
        file(&vt, &other, "2026-03-01T00:00:00Z", Some("x")).assert_error(403, "forbidden");
        file(&vt, &v, "2099-03-01T00:00:00Z", Some("x")).assert_error(422, "occurred_in_future");
        file(&vt, &v, "2025-03-01T00:00:00Z", Some("x")).assert_error(422, "unknown_case_rule");
        let award = file(&vt, &v, "2026-03-01T00:00:00Z", Some("献血证 No.2026-0301"));
        assert_eq!(award.status, 201, "{}", award.body);
        assert_eq!(award.body["status"], "pending");
        let award_id = award.body["id"].as_str().unwrap().to_owned();
        let approve = format!("/api/v1/case-awards/{award_id}/approve");
        app.send("POST", &approve, Some(&admin_b), None, &[])
            .assert_error(403, "forbidden");
        app.send("POST", &approve, Some(&vt), None, &[])
            .assert_error(403, "forbidden");
        let approved = app.send(
            "POST",
            &approve,
            Some(&app.admin),
            None,
            &[("Idempotency-Key", "award-1")],
        );
        assert_eq!(approved.status, 200, "{}", approved.body);
        assert_eq!(approved.body["status"], "approved");
        assert_eq!(approved.body["transaction"]["kind"], "case_award");
        assert_eq!(
            approved.body["transaction"]["rule_version"],
            format!("case:{}:blood_donation:v1", t.district)
        );
        let replay = app.send(
            "POST",
            &approve,
            Some(&app.admin),
            None,
            &[("Idempotency-Key", "award-1")],
        );
        assert_eq!(replay.body, approved.body);
        app.send("POST", &approve, Some(&app.admin), None, &[])
            .assert_error(409, "invalid_state");
        assert_eq!(app.balance(&v)["points"], "10.00");
        assert_eq!(
            app.balance(&v)["hours"],
            "0.00",
            "blood donation credits no hours"
        );

        // Second claim of the year: fine. Third: over the limit.
        let second = file(
            &app.admin,
            &v,
            "2026-04-01T00:00:00Z",
            Some("献血证 No.2026-0401"),
        );
        let second_id = second.body["id"].as_str().unwrap().to_owned();
        let pending_third = file(&vt, &v, "2026-05-01T00:00:00Z", Some("献血证 No.2026-0501"));
        assert_eq!(
            pending_third.status, 201,
            "two approved claims are not yet reached"
        );
        assert_eq!(
            app.send(
                "POST",
                &format!("/api/v1/case-awards/{second_id}/approve"),
                Some(&app.admin),
                None,
                &[]
            )
            .status,
            200
        );
        let third_id = pending_third.body["id"].as_str().unwrap();
        app.send(
            "POST",
            &format!("/api/v1/case-awards/{third_id}/approve"),
            Some(&app.admin),
            None,
            &[],
        )
        .assert_error(422, "case_limit_reached");
        file(&vt, &v, "2026-06-01T00:00:00Z", Some("献血证"))
            .assert_error(422, "case_limit_reached");
        let rejected = app.post(
            &format!("/api/v1/case-awards/{third_id}/reject"),
            Some(&app.admin),
            json!({ "reason": "超过年度上限" }),
        );
        assert_eq!(rejected.body["status"], "rejected");
        assert_eq!(
            app.get(&format!("/api/v1/case-awards/{third_id}"), Some(&vt))
                .body["decision_reason"],
            "超过年度上限"
        );

        // A new version applies from its effective date on; earlier deeds keep the old one.
        for (points, from) in [
            ("5.00", "2026-01-01T00:00:00Z"),
            ("8.00", "2026-06-01T00:00:00Z"),
        ] {
            let r = app.post(
                "/api/v1/case-rules",
                Some(&app.admin),
                json!({ "org_id": t.district, "code": "charity_donation", "name": "爱心捐赠", "points": points, "hours": "1.50", "effective_from": from }),
            );
            assert_eq!(r.status, 201, "{}", r.body);
        }
        let mut earned = Vec::new();
        for at in ["2026-03-01T00:00:00Z", "2026-07-01T00:00:00Z"] {
            let filed = app.post(
                "/api/v1/case-awards",
                Some(&vt),
                json!({ "volunteer_id": v, "rule_code": "charity_donation", "occurred_at": at }),
            );
            let id = filed.body["id"].as_str().unwrap().to_owned();
            let done = app.send(
                "POST",
                &format!("/api/v1/case-awards/{id}/approve"),
                Some(&app.admin),
                None,
                &[],
            );
            earned.push(
                done.body["transaction"]["rule_version"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
        assert_eq!(
            earned,
            [
                format!("case:{}:charity_donation:v1", t.district),
                format!("case:{}:charity_donation:v2", t.district)
            ]
        );
        let b = app.balance(&v);
        assert_eq!(
            (b["points"].as_str(), b["hours"].as_str()),
            (Some("33.00"), Some("3.00"))
        );
        let all = app.get("/api/v1/case-rules?all_versions=true", Some(&vt));
        assert_eq!(all.body["items"].as_array().unwrap().len(), 4);
        app.assert_verified();
    });
}

#[test]
fn stars_rise_with_hours_and_violations_correct_them() {
    each_backend(|app| {
        let t = tree(app);
        let admin_b = app.admin_of(&t.community_b, "13600000002", &t.community_b);
        let stars_policy =
            json!({ "thresholds_hours": ["10", "20"], "falsification_bar_days": 365 });
        assert_eq!(
            app.send(
                "PUT",
                &format!("/api/v1/policies/stars?org_id={}", t.district),
                Some(&app.admin),
                Some(stars_policy),
                &[]
            )
            .status,
            200
        );
        let (v, vt) = app.active_volunteer("高峰", "13500000001", &t.community_a);
        let (w, _) = app.active_volunteer("罗静", "13500000002", &t.community_a);
        let a =
            app.published_activity(&t.community_a, &day_at(5, 0, 0), &day_at(5, 12, 0), 5, None);
        app.attend(&a, &v, &day_at(5, 0, 0), &day_at(5, 12, 0));
        app.attend(&a, &w, &day_at(5, 0, 0), &day_at(5, 12, 0));
        let settled = app.settle(&a);
        let v_tx = settled.body["transactions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["volunteer_id"] == v.as_str())
            .unwrap()["transaction_id"]
            .as_str()
            .unwrap()
            .to_owned();

        let stars = app.get(&format!("/api/v1/volunteers/{v}/stars"), Some(&vt));
        assert_eq!(stars.status, 200, "{}", stars.body);
        assert_eq!(stars.body["star_level"], 1);
        assert_eq!(stars.body["next_star_hours"], "8.00");
        assert_eq!(stars.body["history"][0]["to_level"], 1);
        assert_eq!(stars.body["history"][0]["hours"], "12.00");
        assert_eq!(app.balance(&v)["star_level"], 1);
        assert_eq!(
            app.get(&format!("/api/v1/volunteers/{v}"), Some(&vt)).body["star_level"],
            1
        );

        // Recorded before the violation, settled after it: held back, not lost.
        let pending_work =
            app.published_activity(&t.community_a, &day_at(6, 0, 0), &day_at(6, 4, 0), 5, None);
        assert_eq!(
            app.attend(&pending_work, &v, &day_at(6, 0, 0), &day_at(6, 4, 0))
                .status,
            201
        );

        // A falsification: reverse the earning, a penalty beyond the balance, a week's suspension.
        let violation = json!({ "volunteer_id": v, "transaction_ids": [v_tx, v_tx], "penalty_points": "100.00", "suspend_days": 7, "reason": "虚假签到", "kind": "falsification" });
        app.post("/api/v1/violations", Some(&admin_b), violation.clone())
            .assert_error(403, "forbidden");
        app.post("/api/v1/violations", Some(&vt), violation.clone())
            .assert_error(403, "forbidden");
        let mut foreign = violation.clone();
        foreign["volunteer_id"] = json!(w);
        app.post("/api/v1/violations", Some(&app.admin), foreign)
            .assert_error(422, "transaction_not_of_volunteer");
        let recorded = app.post("/api/v1/violations", Some(&app.admin), violation);
        assert_eq!(recorded.status, 201, "{}", recorded.body);
        assert_eq!(
            recorded.body["reversals"].as_array().unwrap().len(),
            1,
            "named twice, reversed once"
        );
        assert_eq!(recorded.body["penalty_requested"], "100.00");
        assert_eq!(recorded.body["penalty_applied"], "0.00");
        assert_eq!(recorded.body["penalty_capped"], true);
        assert!(recorded.body["suspended_until"].is_string());
        assert!(recorded.body["barred_until"].is_string());
        let b = app.balance(&v);
        assert_eq!(
            (
                b["points"].as_str(),
                b["hours"].as_str(),
                b["star_level"].as_i64()
            ),
            (Some("0.00"), Some("0.00"), Some(0))
        );
        let history = app
            .get(&format!("/api/v1/volunteers/{v}/stars"), Some(&vt))
            .body["history"]
            .clone();
        assert_eq!(history[1]["to_level"], 0, "the reversal lowered the level");
        assert_eq!(
            app.get(&format!("/api/v1/volunteers/{v}"), Some(&vt)).body["status"],
            "suspended"
        );
        let list = app.get(&format!("/api/v1/volunteers/{v}/violations"), Some(&vt));
        assert_eq!(list.body["items"][0]["kind"], "falsification");
        let later = app.published_activity(
            &t.community_a,
            &minutes_from_now(60),
            &minutes_from_now(120),
            5,
            None,
        );
        app.send(
            "POST",
            &format!("/api/v1/activities/{later}/signups"),
            Some(&vt),
            None,
            &[],
        )
        .assert_error(403, "volunteer_suspended");
        let held = app.settle(&pending_work);
        assert_eq!(
            held.body["skipped_items"][0]["reason"], "volunteer_suspended",
            "{}",
            held.body
        );
        app.attend(&pending_work, &v, &day_at(6, 0, 0), &day_at(6, 3, 0))
            .assert_error(403, "volunteer_suspended");
        // Naming it again reverses nothing more.
        let again = app.post(
            "/api/v1/violations",
            Some(&app.admin),
            json!({ "volunteer_id": v, "transaction_ids": [v_tx], "reason": "复核" }),
        );
        assert_eq!(again.body["reversals"][0]["already_reversed"], true);

        // A bar without suspension: w keeps 1★ but cannot reach 2★.
        let barred = app.post("/api/v1/violations", Some(&app.admin), json!({ "volunteer_id": w, "transaction_ids": [], "penalty_points": "2.00", "reason": "代签", "kind": "falsification" }));
        assert_eq!(barred.body["penalty_applied"], "2.00");
        assert_eq!(barred.body["penalty_capped"], false);
        let b2 =
            app.published_activity(&t.community_a, &day_at(4, 0, 0), &day_at(4, 12, 0), 5, None);
        app.attend(&b2, &w, &day_at(4, 0, 0), &day_at(4, 12, 0));
        app.settle(&b2);
        let w_balance = app.balance(&w);
        assert_eq!(
            (
                w_balance["hours"].as_str(),
                w_balance["star_level"].as_i64()
            ),
            (Some("24.00"), Some(1))
        );
        assert_eq!(w_balance["next_star_hours"], "0.00");
        app.assert_verified();
    });
}
