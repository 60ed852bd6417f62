//! Teams, partner units and 双报到, the three lists with two-way claiming,
//! and projects, end to end on both backends.

use serde_json::{Value, json};

use crate::helpers::{App, Tree, day_at, each_backend, tree};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

fn delete(app: &App, path: &str, token: &str) -> crate::helpers::Resp {
    app.send("DELETE", path, Some(token), None, &[])
}

fn post_empty(app: &App, path: &str, token: &str) -> crate::helpers::Resp {
    app.send("POST", path, Some(token), None, &[])
}

/// A published activity of the team, yesterday 09:00–11:00, created by
/// `token` and approved by the platform admin.
fn team_activity(app: &App, team: &str, token: &str) -> String {
    let r = app.post(
        "/api/v1/activities",
        Some(token),
        json!({ "team_id": team, "title": "义诊", "category": "医疗卫生", "starts_at": day_at(1, 9, 0), "ends_at": day_at(1, 11, 0), "capacity": 10 }),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["team_id"], team);
    assert_eq!(r.body["status"], "pending_review");
    let activity = id(&r.body);
    let r = app.post(
        &format!("/api/v1/activities/{activity}/review"),
        Some(&app.admin),
        json!({ "decision": "approve" }),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    activity
}

#[test]
fn a_team_is_applied_for_approved_and_runs_its_own_activities() {
    each_backend(|app| {
        let t: Tree = tree(app);
        let admin_a = app.admin_of(&t.community_a, "13900000001", &t.community_a);
        let admin_b = app.admin_of(&t.community_b, "13900000002", &t.community_b);
        let (leader, leader_token) = app.active_volunteer("队长", "13800000001", &t.community_a);
        let (member, member_token) = app.active_volunteer("队员", "13800000002", &t.community_a);
        let (outsider, _) = app.active_volunteer("外人", "13800000003", &t.community_b);

        // A volunteer applies for a team only as its leader.
        let r = app.post(
            "/api/v1/teams",
            Some(&member_token),
            json!({ "org_id": t.community_a, "name": "新塘义诊队", "category": "医疗卫生", "leader_id": leader }),
        );
        r.assert_error(403, "forbidden");
        let r = app.post(
            "/api/v1/teams",
            Some(&leader_token),
            json!({ "org_id": t.community_a, "name": "新塘义诊队", "category": "医疗卫生", "leader_id": leader, "description": "每月义诊" }),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.body["status"], "pending");
        let team = id(&r.body);
        let me = app.get("/api/v1/me", Some(&leader_token));
        assert_eq!(
            me.body["team_leader_of"][0]["id"],
            team.as_str(),
            "{}",
            me.body
        );
        assert_eq!(me.body["unit_admin_of"], json!([]));
        // The same name twice in one org is refused while the first stands.
        let r = app.post(
            "/api/v1/teams",
            Some(&admin_a),
            json!({ "org_id": t.community_a, "name": "新塘义诊队", "category": "医疗卫生", "leader_id": member }),
        );
        r.assert_error(409, "conflict");

        // Pending: the leader cannot run it yet; others cannot see it.
        let r = app.post(
            &format!("/api/v1/teams/{team}/members"),
            Some(&leader_token),
            json!({ "volunteer_id": member }),
        );
        r.assert_error(409, "invalid_state");
        app.get(&format!("/api/v1/teams/{team}"), Some(&member_token))
            .assert_error(403, "forbidden");
        assert_eq!(
            app.get(&format!("/api/v1/teams/{team}"), Some(&leader_token))
                .status,
            200
        );

        // Only an admin over the org decides; a rejection needs a reason.
        post_empty(app, &format!("/api/v1/teams/{team}/approve"), &admin_b)
            .assert_error(403, "forbidden");
        post_empty(app, &format!("/api/v1/teams/{team}/approve"), &leader_token)
            .assert_error(403, "forbidden");
        post_empty(app, &format!("/api/v1/teams/{team}/reject"), &admin_a)
            .assert_error(422, "reason_required");
        let r = post_empty(app, &format!("/api/v1/teams/{team}/approve"), &admin_a);
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["status"], "active");
        let r = post_empty(app, &format!("/api/v1/teams/{team}/approve"), &admin_a);
        r.assert_error(409, "invalid_state");
        assert_eq!(r.body["error"]["details"]["status"], "active");

        // Members: the leader adds them, once; only from the org's subtree.
        let add = |token: &str, v: &str| {
            app.post(
                &format!("/api/v1/teams/{team}/members"),
                Some(token),
                json!({ "volunteer_id": v }),
            )
        };
        assert_eq!(add(&leader_token, &member).status, 201);
        assert_eq!(add(&leader_token, &member).status, 200);
        add(&leader_token, &outsider).assert_error(422, "volunteer_outside_org");
        add(&member_token, &member).assert_error(403, "forbidden");
        add(&admin_b, &member).assert_error(403, "forbidden");

        // Anyone signed in finds it by org, category and part of its name.
        let r = app.get(
            &format!(
                "/api/v1/teams?org_id={}&category=%E5%8C%BB%E7%96%97%E5%8D%AB%E7%94%9F&q=%E4%B9%89%E8%AF%8A",
                t.district
            ),
            Some(&member_token),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        let items = r.body["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{}", r.body);
        assert_eq!(items[0]["leader_name"], "队长");
        let r = app.get("/api/v1/teams?q=%E6%B2%A1%E6%9C%89", Some(&member_token));
        assert_eq!(r.body["items"].as_array().unwrap().len(), 0);
        // Pending applications: staff see all of them, a volunteer their own.
        let pending = |token: &str| {
            app.get(
                &format!("/api/v1/teams?org_id={}&status=pending", t.community_a),
                Some(token),
            )
            .body["items"]
                .as_array()
                .unwrap()
                .len()
        };
        let other = app.post(
            "/api/v1/teams",
            Some(&member_token),
            json!({ "org_id": t.community_a, "name": "新塘巡逻队", "category": "平安", "leader_id": member }),
        );
        assert_eq!(other.status, 201, "{}", other.body);
        assert_eq!(pending(&member_token), 1);
        assert_eq!(pending(&admin_a), 1);
        assert_eq!(pending(&app.admin), 1);
        app.post(
            &format!("/api/v1/teams/{}/reject", id(&other.body)),
            Some(&admin_a),
            json!({ "reason": "与义诊队重复" }),
        );
        assert_eq!(pending(&member_token), 0);

        // The leader runs the team's activities without being an admin.
        let r = app.post(
            "/api/v1/activities",
            Some(&member_token),
            json!({ "team_id": team, "title": "义诊", "category": "医疗卫生", "starts_at": day_at(1, 9, 0), "ends_at": day_at(1, 11, 0), "capacity": 10 }),
        );
        r.assert_error(403, "forbidden");
        let r = app.post(
            "/api/v1/activities",
            Some(&leader_token),
            json!({ "team_id": team, "org_id": t.community_b, "title": "义诊", "category": "医疗卫生", "starts_at": day_at(1, 9, 0), "ends_at": day_at(1, 11, 0), "capacity": 10 }),
        );
        r.assert_error(422, "validation_failed");
        let activity = team_activity(app, &team, &leader_token);
        let record = |token: &str| {
            app.post(
                &format!("/api/v1/activities/{activity}/attendance"),
                Some(token),
                json!({ "volunteer_id": member, "check_in_at": day_at(1, 9, 0), "check_out_at": day_at(1, 11, 0) }),
            )
        };
        record(&member_token).assert_error(403, "forbidden");
        assert_eq!(record(&leader_token).status, 201);
        let r = app.get(
            &format!("/api/v1/activities/{activity}/attendance"),
            Some(&leader_token),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
        assert_eq!(
            app.get(
                &format!("/api/v1/activities/{activity}/code"),
                Some(&leader_token)
            )
            .status,
            200
        );
        app.settle(&activity);
        // The hours go to the member's own wallet.
        assert_eq!(app.balance(&member)["hours"], "2.00");

        let r = app.get(&format!("/api/v1/teams/{team}"), Some(&member_token));
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["member_count"], 2);
        assert_eq!(r.body["totals"]["hours"], "2.00", "{}", r.body);
        assert_eq!(r.body["totals"]["volunteers"], 1);
        assert_eq!(r.body["totals"]["activities"], 1);
        assert_eq!(r.body["activities"][0]["id"], activity.as_str());
        let yesterday = chrono::Utc::now() - chrono::Duration::days(1);
        if chrono::Datelike::year(&yesterday) == chrono::Datelike::year(&chrono::Utc::now()) {
            assert_eq!(r.body["this_year"]["hours"], "2.00", "{}", r.body);
        }

        // The summary report and its CSV list the team with its figures.
        let r = app.get(
            &format!("/api/v1/reports/summary?org_id={}", t.district),
            Some(&app.admin),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        let line = r.body["teams"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["team_id"] == team.as_str())
            .cloned()
            .unwrap();
        assert_eq!(line["hours"], "2.00", "{line}");
        assert_eq!(line["members"], 2);
        assert_eq!(line["activities"], 1);
        let csv = app.send(
            "GET",
            &format!("/api/v1/reports/export?org_id={}&rows=teams", t.district),
            Some(&app.admin),
            None,
            &[],
        );
        assert_eq!(csv.status, 200);
        let text = csv.body.as_str().unwrap_or_default().to_owned();
        assert!(text.starts_with("team_id,team_name,"), "{text}");
        assert!(
            text.contains("新塘义诊队,") && text.contains(",2,1,1,2.00,2.00"),
            "{text}"
        );
        app.get(
            &format!("/api/v1/reports/export?org_id={}&rows=people", t.district),
            Some(&app.admin),
        )
        .assert_error(400, "invalid_query");

        // The profile shows the team to the volunteer themselves.
        let r = app.get(&format!("/api/v1/volunteers/{member}"), Some(&member_token));
        assert_eq!(r.body["teams"][0]["id"], team.as_str(), "{}", r.body);
        assert_eq!(r.body["teams"][0]["leader"], false);

        // The leader hands over before leaving; a member may leave.
        delete(
            app,
            &format!("/api/v1/teams/{team}/members/{leader}"),
            &leader_token,
        )
        .assert_error(422, "leader_cannot_leave");
        let r = app.post(
            &format!("/api/v1/teams/{team}/leader"),
            Some(&leader_token),
            json!({ "volunteer_id": member }),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["leader_id"], member.as_str());
        assert_eq!(
            delete(
                app,
                &format!("/api/v1/teams/{team}/members/{leader}"),
                &leader_token
            )
            .status,
            204
        );
        delete(
            app,
            &format!("/api/v1/teams/{team}/members/{leader}"),
            &member_token,
        )
        .assert_error(404, "not_found");

        // A dissolved team organises nothing more.
        let r = post_empty(app, &format!("/api/v1/teams/{team}/dissolve"), &admin_a);
        assert_eq!(r.body["status"], "dissolved", "{}", r.body);
        let r = app.post(
            "/api/v1/activities",
            Some(&admin_a),
            json!({ "team_id": team, "title": "义诊", "category": "医疗卫生", "starts_at": day_at(1, 9, 0), "ends_at": day_at(1, 11, 0), "capacity": 10 }),
        );
        r.assert_error(422, "team_not_active");
        app.assert_verified();
    });
}

#[test]
fn a_unit_reports_its_people_and_sees_their_hours_but_nothing_private() {
    each_backend(|app| {
        let t = tree(app);
        let admin_a = app.admin_of(&t.community_a, "13900000011", &t.community_a);
        let (worker, worker_token) = app.active_volunteer("职工", "13800000011", &t.community_b);
        let (other, other_token) = app.active_volunteer("邻居", "13800000012", &t.community_a);
        // Someone of the unit registers it; it waits for the street's approval.
        let rep = app.register("单位联络人", "13700000011", &t.community_a);
        let rep_token = app.login("13700000011", "volunteer-pass");
        let r = app.post(
            "/api/v1/units",
            Some(&rep_token),
            json!({ "name": "市第一医院", "kind": "hospital", "org_id": t.street_a, "contact": "张主任 0731-1234" }),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.body["status"], "pending");
        let unit = id(&r.body);
        let r = app.post(
            "/api/v1/units",
            Some(&rep_token),
            json!({ "name": "某单位", "kind": "bank", "org_id": t.street_a }),
        );
        r.assert_error(422, "validation_failed");
        // An admin of a community below the street does not approve it.
        post_empty(app, &format!("/api/v1/units/{unit}/approve"), &admin_a)
            .assert_error(403, "forbidden");
        post_empty(app, &format!("/api/v1/units/{unit}/approve"), &rep_token)
            .assert_error(403, "forbidden");
        let r = post_empty(app, &format!("/api/v1/units/{unit}/approve"), &app.admin);
        assert_eq!(r.body["status"], "active", "{}", r.body);

        // Its admin records who reports from it (双报到), from any community;
        // the unit reads their hours once the volunteer confirms.
        let join = |token: &str, v: &str| {
            app.post(
                &format!("/api/v1/units/{unit}/members"),
                Some(token),
                json!({ "volunteer_id": v }),
            )
        };
        let r = join(&rep_token, &worker);
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.body["confirmed"], false);
        crate::helpers::earn(app, &worker, &t.community_b, "3.50");
        let r = app.get(&format!("/api/v1/units/{unit}"), Some(&rep_token));
        assert_eq!(r.body["members"][0]["confirmed"], false, "{}", r.body);
        assert!(
            r.body["members"][0]["service_hours"].is_null(),
            "{}",
            r.body
        );
        let r = app.get(&format!("/api/v1/volunteers/{worker}"), Some(&worker_token));
        assert_eq!(r.body["units"][0]["confirmed"], false, "{}", r.body);
        let r = join(&worker_token, &worker);
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["confirmed"], true);
        assert_eq!(join(&rep_token, &worker).body["confirmed"], true);
        // Nobody else adds people to it; a volunteer may report from it.
        join(&other_token, &worker).assert_error(403, "forbidden");
        let r = join(&other_token, &other);
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.body["confirmed"], true);
        assert_eq!(
            app.send(
                "DELETE",
                &format!("/api/v1/units/{unit}/members/{other}"),
                Some(&rep_token),
                None,
                &[]
            )
            .status,
            204
        );

        // Its admin finds it on their own account.
        let me = app.get("/api/v1/me", Some(&rep_token));
        assert_eq!(
            me.body["unit_admin_of"][0]["id"],
            unit.as_str(),
            "{}",
            me.body
        );
        assert_eq!(me.body["unit_admin_of"][0]["status"], "active");

        // Its admin reads the members' hours, the contact and the admins.
        let r = app.get(&format!("/api/v1/units/{unit}"), Some(&rep_token));
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["contact"], "张主任 0731-1234");
        assert_eq!(r.body["members"][0]["volunteer_id"], worker.as_str());
        assert_eq!(r.body["members"][0]["service_hours"], "3.50");
        assert_eq!(r.body["admins"][0]["user_id"], rep.as_str());
        assert_eq!(r.body["admins"][0]["name"], "单位联络人");
        // Anyone else sees the unit, not its people or contact.
        let r = app.get(&format!("/api/v1/units/{unit}"), Some(&other_token));
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.body.get("members").is_none(), "{}", r.body);
        assert!(r.body.get("contact").is_none(), "{}", r.body);
        assert_eq!(r.body["member_count"], 1);
        let r = app.get(
            &format!("/api/v1/units?org_id={}&q=%E5%8C%BB%E9%99%A2", t.district),
            Some(&other_token),
        );
        assert_eq!(r.body["items"][0]["id"], unit.as_str(), "{}", r.body);
        assert!(r.body["items"][0].get("contact").is_none());
        // Nor may a unit admin read the member's private profile.
        app.get(&format!("/api/v1/volunteers/{worker}"), Some(&rep_token))
            .assert_error(403, "forbidden");

        // Party membership is set by staff over the community and shown to
        // staff only.
        let r = app.post(
            &format!("/api/v1/volunteers/{worker}/party-member"),
            Some(&admin_a),
            json!({ "party_member": true }),
        );
        r.assert_error(403, "forbidden");
        let r = app.post(
            &format!("/api/v1/volunteers/{worker}/party-member"),
            Some(&app.admin),
            json!({ "party_member": true }),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        let r = app.get(&format!("/api/v1/volunteers/{worker}"), Some(&app.admin));
        assert_eq!(r.body["party_member"], true, "{}", r.body);
        assert_eq!(r.body["units"][0]["id"], unit.as_str());
        let r = app.get(&format!("/api/v1/volunteers/{worker}"), Some(&worker_token));
        assert!(r.body.get("party_member").is_none(), "{}", r.body);
        app.assert_verified();
    });
}

#[test]
fn needs_and_resources_are_claimed_both_ways_and_become_projects() {
    each_backend(|app| {
        let t = tree(app);
        let admin_a = app.admin_of(&t.community_a, "13900000021", &t.community_a);
        let admin_b = app.admin_of(&t.community_b, "13900000022", &t.community_b);
        let rep = app.register("联络人", "13700000021", &t.community_a);
        let rep_token = app.login("13700000021", "volunteer-pass");
        let unit = app.post(
            "/api/v1/units",
            Some(&app.admin),
            json!({ "name": "湘江学校", "kind": "school", "org_id": t.district }),
        );
        assert_eq!(unit.body["status"], "active", "{}", unit.body);
        let unit = id(&unit.body);
        let r = app.post(
            &format!("/api/v1/units/{unit}/admins"),
            Some(&app.admin),
            json!({ "user_id": rep }),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        let (leader, leader_token) = app.active_volunteer("队长", "13800000021", &t.community_a);
        let team = app.post(
            "/api/v1/teams",
            Some(&admin_a),
            json!({ "org_id": t.community_a, "name": "四点半课堂队", "category": "文化教育", "leader_id": leader }),
        );
        assert_eq!(team.body["status"], "active", "{}", team.body);
        let team = id(&team.body);

        // A community publishes a need; a unit may not publish needs.
        let need = app.post(
            "/api/v1/list-items",
            Some(&admin_a),
            json!({ "list": "need", "org_id": t.community_a, "category": "助学", "title": "四点半课堂辅导", "description": "每周三下午，需要两名老师", "quantity": 2 }),
        );
        assert_eq!(need.status, 201, "{}", need.body);
        assert_eq!(need.body["status"], "open");
        let need = id(&need.body);
        app.post(
            "/api/v1/list-items",
            Some(&rep_token),
            json!({ "list": "need", "unit_id": unit, "category": "助学", "title": "x", "description": "y" }),
        )
        .assert_error(422, "validation_failed");
        app.post(
            "/api/v1/list-items",
            Some(&admin_b),
            json!({ "list": "need", "org_id": t.community_a, "category": "助学", "title": "x", "description": "y" }),
        )
        .assert_error(403, "forbidden");
        app.post(
            "/api/v1/list-items",
            Some(&admin_a),
            json!({ "list": "need", "org_id": t.community_a, "unit_id": unit, "category": "助学", "title": "x", "description": "y" }),
        )
        .assert_error(422, "validation_failed");

        // A resident's wish becomes a need of their community, once.
        let wish = app.post(
            "/api/v1/wishes",
            Some(&leader_token),
            json!({ "category": "助老", "description": "楼下张奶奶想有人陪她去医院复查" }),
        );
        assert_eq!(wish.status, 201, "{}", wish.body);
        let from_wish =
            |token: &str, body: Value| app.post("/api/v1/list-items", Some(token), body);
        let body = json!({ "list": "need", "from_wish_id": wish.body["id"] });
        from_wish(&admin_b, body.clone()).assert_error(403, "forbidden");
        from_wish(
            &admin_a,
            json!({ "list": "resource", "from_wish_id": wish.body["id"] }),
        )
        .assert_error(422, "validation_failed");
        from_wish(
            &admin_a,
            json!({ "list": "need", "from_wish_id": "no-such-wish" }),
        )
        .assert_error(422, "validation_failed");
        app.post(
            "/api/v1/list-items",
            Some(&admin_a),
            json!({ "list": "need", "org_id": t.community_a }),
        )
        .assert_error(422, "validation_failed");
        let r = from_wish(&admin_a, body.clone());
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.body["org_id"], t.community_a.as_str());
        assert_eq!(r.body["category"], "助老");
        assert_eq!(
            r.body["source"],
            format!("wish:{}", wish.body["id"].as_str().unwrap())
        );
        assert!(
            r.body["title"].as_str().unwrap().starts_with("楼下张奶奶"),
            "{}",
            r.body
        );
        from_wish(&admin_a, body).assert_error(409, "conflict");

        // A unit publishes a resource.
        let resource = app.post(
            "/api/v1/list-items",
            Some(&rep_token),
            json!({ "list": "resource", "unit_id": unit, "category": "场地", "title": "学校礼堂", "description": "周末开放" }),
        );
        assert_eq!(resource.status, 201, "{}", resource.body);
        assert_eq!(resource.body["org_id"], t.district.as_str());
        let resource = id(&resource.body);

        // The three lists of the district, by list and status.
        let r = app.get(
            &format!("/api/v1/list-items?list=need&org_id={}", t.district),
            Some(&leader_token),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        let ids: Vec<&str> = r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids.len(), 2, "{}", r.body);
        assert_eq!(ids[1], need.as_str());
        app.get("/api/v1/list-items?list=wish", Some(&leader_token))
            .assert_error(400, "invalid_query");

        // The unit claims the need; who does not act for it cannot.
        let claim = |token: &str, body: Value| {
            app.post(
                &format!("/api/v1/list-items/{need}/claim"),
                Some(token),
                body,
            )
        };
        claim(&leader_token, json!({ "by_unit_id": unit })).assert_error(403, "forbidden");
        claim(&rep_token, json!({})).assert_error(422, "validation_failed");
        claim(
            &rep_token,
            json!({ "by_unit_id": unit, "by_team_id": team }),
        )
        .assert_error(422, "validation_failed");
        claim(&admin_a, json!({ "by_org_id": t.community_a })).assert_error(422, "own_item");
        let r = claim(
            &rep_token,
            json!({ "by_unit_id": unit, "note": "两位老师" }),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["status"], "claimed");
        assert_eq!(r.body["claim"]["by_unit_name"], "湘江学校");
        claim(&leader_token, json!({ "by_team_id": team })).assert_error(409, "invalid_state");
        // The claimant may take its claim back; nobody else may.
        let unclaim = |token: &str| {
            app.send(
                "POST",
                &format!("/api/v1/list-items/{need}/unclaim"),
                Some(token),
                None,
                &[],
            )
        };
        unclaim(&leader_token).assert_error(403, "forbidden");
        unclaim(&admin_a).assert_error(403, "forbidden");
        let r = unclaim(&rep_token);
        assert_eq!(r.body["status"], "open", "{}", r.body);
        unclaim(&rep_token).assert_error(409, "invalid_state");
        let r = claim(
            &rep_token,
            json!({ "by_unit_id": unit, "note": "两位老师" }),
        );
        assert_eq!(r.body["status"], "claimed", "{}", r.body);

        // The community declines; the team claims; the community confirms.
        post_empty(
            app,
            &format!("/api/v1/list-items/{need}/decline"),
            &rep_token,
        )
        .assert_error(403, "forbidden");
        let r = app.post(
            &format!("/api/v1/list-items/{need}/decline"),
            Some(&admin_a),
            json!({ "reason": "时间不合适" }),
        );
        assert_eq!(r.body["status"], "open", "{}", r.body);
        let r = claim(&leader_token, json!({ "by_team_id": team }));
        assert_eq!(r.status, 200, "{}", r.body);
        let r = post_empty(app, &format!("/api/v1/list-items/{need}/confirm"), &admin_a);
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["status"], "matched");
        assert_eq!(r.body["project"]["status"], "planned");
        assert_eq!(r.body["project"]["lead"]["team_id"], team.as_str());
        assert_eq!(r.body["project"]["need_id"], need.as_str());
        let project = r.body["project"]["id"].as_str().unwrap().to_owned();
        let r = app.get(&format!("/api/v1/list-items/{need}"), Some(&leader_token));
        let outcomes: Vec<&str> = r.body["claims"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["outcome"].as_str().unwrap())
            .collect();
        assert_eq!(
            outcomes,
            vec!["withdrawn", "declined", "confirmed"],
            "{}",
            r.body
        );
        post_empty(
            app,
            &format!("/api/v1/list-items/{need}/withdraw"),
            &admin_a,
        )
        .assert_error(409, "invalid_state");

        // A community claims the unit's resource; the unit confirms.
        let r = app.post(
            &format!("/api/v1/list-items/{resource}/claim"),
            Some(&admin_b),
            json!({ "by_org_id": t.community_b }),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        post_empty(
            app,
            &format!("/api/v1/list-items/{resource}/confirm"),
            &admin_b,
        )
        .assert_error(403, "forbidden");
        let r = post_empty(
            app,
            &format!("/api/v1/list-items/{resource}/confirm"),
            &rep_token,
        );
        assert_eq!(
            r.body["project"]["lead"]["org_id"],
            t.community_b.as_str(),
            "{}",
            r.body
        );
        assert_eq!(r.body["project"]["owner_unit_id"], unit.as_str());
        let other_project = r.body["project"]["id"].as_str().unwrap().to_owned();

        // The lead runs the project; the community assesses it.
        let step = |token: &str, verb: &str| {
            post_empty(app, &format!("/api/v1/projects/{project}/{verb}"), token)
        };
        step(&rep_token, "start").assert_error(403, "forbidden");
        step(&leader_token, "assess").assert_error(409, "invalid_state");
        assert_eq!(step(&leader_token, "start").body["status"], "running");
        let r = app.post(
            "/api/v1/activities",
            Some(&leader_token),
            json!({ "project_id": project, "team_id": team, "title": "辅导", "category": "文化教育", "starts_at": day_at(1, 15, 0), "ends_at": day_at(1, 17, 0), "capacity": 5 }),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.body["project_id"], project.as_str());
        let activity = id(&r.body);
        app.post(
            &format!("/api/v1/activities/{activity}/review"),
            Some(&admin_a),
            json!({ "decision": "approve" }),
        );
        let r = app.post(
            &format!("/api/v1/activities/{activity}/attendance"),
            Some(&leader_token),
            json!({ "volunteer_id": leader, "check_in_at": day_at(1, 15, 0), "check_out_at": day_at(1, 17, 0) }),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        app.settle(&activity);
        assert_eq!(step(&leader_token, "assess").body["status"], "assessing");
        let close = |token: &str, body: Value| {
            app.post(
                &format!("/api/v1/projects/{project}/close"),
                Some(token),
                body,
            )
        };
        close(&leader_token, json!({ "result": "完成", "rating": 5 }))
            .assert_error(403, "forbidden");
        close(&admin_a, json!({ "result": "完成", "rating": 6 }))
            .assert_error(422, "validation_failed");
        let r = close(
            &admin_a,
            json!({ "result": "辅导 8 次，家长满意", "rating": 5 }),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["status"], "closed");
        assert_eq!(r.body["rating"], 5);
        close(&admin_a, json!({ "result": "再来", "rating": 4 }))
            .assert_error(409, "invalid_state");
        let r = app.get(&format!("/api/v1/projects/{project}"), Some(&rep_token));
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["totals"]["hours"], "2.00", "{}", r.body);
        assert_eq!(r.body["activities"][0]["id"], activity.as_str());
        assert_eq!(r.body["lead"]["name"], "四点半课堂队");
        // A closed project takes no more activities.
        app.post(
            "/api/v1/activities",
            Some(&admin_a),
            json!({ "project_id": project, "title": "辅导", "category": "文化教育", "starts_at": day_at(1, 15, 0), "ends_at": day_at(1, 17, 0), "capacity": 5 }),
        )
        .assert_error(409, "invalid_state");

        // Lists of projects: by unit (lead or owner) and by status.
        let r = app.get(
            &format!("/api/v1/projects?unit_id={unit}"),
            Some(&leader_token),
        );
        let ids: Vec<&str> = r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, vec![other_project.as_str()], "{}", r.body);
        let r = app.get(
            &format!("/api/v1/projects?org_id={}&status=closed", t.district),
            Some(&leader_token),
        );
        assert_eq!(r.body["items"].as_array().unwrap().len(), 1, "{}", r.body);
        // The other one is cancelled by the org whose list it was on.
        post_empty(
            app,
            &format!("/api/v1/projects/{other_project}/cancel"),
            &admin_b,
        )
        .assert_error(403, "forbidden");
        let r = app.post(
            &format!("/api/v1/projects/{other_project}/cancel"),
            Some(&app.admin),
            json!({ "reason": "场地维修" }),
        );
        assert_eq!(r.body["status"], "cancelled", "{}", r.body);
        assert_eq!(r.body["result"], "场地维修");
        app.assert_verified();
    });
}

#[test]
fn a_team_honour_goes_to_the_team_account_and_leaves_it_only_for_the_pool_or_members() {
    each_backend(|app| {
        let t = tree(app);
        let admin_a = app.admin_of(&t.community_a, "13900000031", &t.community_a);
        let (leader, leader_token) = app.active_volunteer("队长", "13800000031", &t.community_a);
        let (member, _) = app.active_volunteer("队员", "13800000032", &t.community_a);
        let (stranger, _) = app.active_volunteer("路人", "13800000033", &t.community_a);
        let team = app.post(
            "/api/v1/teams",
            Some(&admin_a),
            json!({ "org_id": t.community_a, "name": "环保队", "category": "环保", "leader_id": leader }),
        );
        let team = id(&team.body);
        app.post(
            &format!("/api/v1/teams/{team}/members"),
            Some(&leader_token),
            json!({ "volunteer_id": member }),
        );
        let r = app.post(
            "/api/v1/case-rules",
            Some(&app.admin),
            json!({ "org_id": t.district, "code": "team_star", "name": "优秀志愿服务队", "points": "30.00", "hours": "5.00", "max_per_person_per_year": 1, "for_teams": true, "effective_from": "2026-01-01T00:00:00Z" }),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.body["for_teams"], true);
        let occurred = day_at(3, 2, 0);

        // A team rule is not one a volunteer can claim.
        let r = app.post(
            "/api/v1/case-awards",
            Some(&app.admin),
            json!({ "volunteer_id": member, "rule_code": "team_star", "occurred_at": occurred }),
        );
        r.assert_error(422, "unknown_case_rule");

        // Only an admin over the team's org awards it, once a year here.
        let honour = |token: &str, key: &str| {
            app.send(
                "POST",
                &format!("/api/v1/teams/{team}/honours"),
                Some(token),
                Some(json!({ "rule_code": "team_star", "occurred_at": occurred })),
                &[("Idempotency-Key", key)],
            )
        };
        honour(&leader_token, "h1").assert_error(403, "forbidden");
        let r = honour(&admin_a, "h1");
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.body["transaction"]["kind"], "case_award");
        let replay = honour(&admin_a, "h1");
        assert_eq!(replay.status, 201);
        assert_eq!(replay.header("Idempotent-Replayed"), Some("true"));
        assert_eq!(replay.body["id"], r.body["id"]);
        let limited = honour(&admin_a, "h2");
        limited.assert_error(422, "case_limit_reached");
        assert!(
            limited.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("team"),
            "{}",
            limited.body
        );
        let account = |app: &App| {
            app.get(&format!("/api/v1/teams/{team}"), Some(&leader_token))
                .body["account"]
                .clone()
        };
        assert_eq!(account(app), json!({ "points": "30.00", "hours": "5.00" }));

        // A reversed honour is marked so and no longer counts.
        let tx = r.body["transaction"]["id"].as_str().unwrap();
        let reversed = app.post(
            &format!("/api/v1/transactions/{tx}/reverse"),
            Some(&app.admin),
            json!({ "reason": "表彰文件撤销" }),
        );
        assert_eq!(reversed.status, 201, "{}", reversed.body);
        let page = app.get(&format!("/api/v1/teams/{team}"), Some(&leader_token));
        assert_eq!(page.body["honours"][0]["reversed"], true, "{}", page.body);
        assert_eq!(account(app), json!({ "points": "0.00", "hours": "0.00" }));
        assert_eq!(honour(&admin_a, "h3").status, 201);
        assert_eq!(account(app), json!({ "points": "30.00", "hours": "5.00" }));

        // Points leave only to members (by an admin) or to the pool.
        let grant = |token: &str, to: &str, points: &str| {
            app.post(
                &format!("/api/v1/teams/{team}/grant"),
                Some(token),
                json!({ "volunteer_id": to, "points": points, "reason": "年度表彰" }),
            )
        };
        grant(&leader_token, &member, "10.00").assert_error(403, "forbidden");
        grant(&admin_a, &stranger, "10.00").assert_error(422, "not_a_team_member");
        grant(&admin_a, &member, "0.00").assert_error(422, "validation_failed");
        let r = grant(&admin_a, &member, "10.00");
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.body["kind"], "team_grant");
        assert_eq!(app.balance(&member)["points"], "10.00");
        let donate = |points: &str| {
            app.post(
                &format!("/api/v1/teams/{team}/donate"),
                Some(&admin_a),
                json!({ "points": points }),
            )
        };
        donate("25.00").assert_error(422, "insufficient_balance");
        let r = donate("15.00");
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.body["kind"], "gift");
        // What a dissolved team still holds can be given on, not added to.
        let r = app.send(
            "POST",
            &format!("/api/v1/teams/{team}/dissolve"),
            Some(&admin_a),
            None,
            &[],
        );
        assert_eq!(r.body["status"], "dissolved", "{}", r.body);
        honour(&admin_a, "h4").assert_error(422, "team_not_active");
        assert_eq!(donate("5.00").status, 201);
        assert_eq!(account(app), json!({ "points": "0.00", "hours": "5.00" }));
        let r = app.get(
            &format!("/api/v1/pool?district_id={}", t.district),
            Some(&app.admin),
        );
        assert_eq!(r.body["points"], "20.00", "{}", r.body);
        app.assert_verified();
    });
}

#[test]
fn what_leaves_or_ends_takes_its_powers_and_offers_with_it() {
    each_backend(|app| {
        let t = tree(app);
        let admin_a = app.admin_of(&t.community_a, "13900000041", &t.community_a);
        let (leader, leader_token) = app.active_volunteer("队长", "13800000041", &t.community_a);
        let (other, other_token) = app.active_volunteer("邻居", "13800000042", &t.community_a);
        let pending = app.register("待审", "13800000043", &t.community_a);

        // Named people are checked as facts of the request (422), blanks
        // are refused, and units register with a district, street or
        // community only.
        let team = |body: Value| app.post("/api/v1/teams", Some(&admin_a), body);
        team(json!({ "org_id": t.community_a, "name": "队", "category": "助老", "leader_id": pending }))
            .assert_error(422, "volunteer_unavailable");
        team(json!({ "org_id": t.community_a, "name": "   ", "category": "助老", "leader_id": leader }))
            .assert_error(422, "validation_failed");
        app.post(
            "/api/v1/units",
            Some(&app.admin),
            json!({ "name": "市级单位", "kind": "agency", "org_id": app.root_id }),
        )
        .assert_error(422, "invalid_org_kind");
        let r = team(
            json!({ "org_id": t.community_a, "name": "助老队", "category": "助老", "leader_id": leader }),
        );
        let team_id = id(&r.body);

        // An activity under review shows on the team's page to who runs it only.
        let r = app.post(
            "/api/v1/activities",
            Some(&leader_token),
            json!({ "team_id": team_id, "title": "陪诊", "category": "助老", "starts_at": "2027-03-01T01:00:00Z", "ends_at": "2027-03-01T03:00:00Z", "capacity": 5 }),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        let page = |token: &str| {
            app.get(&format!("/api/v1/teams/{team_id}"), Some(token))
                .body
        };
        assert_eq!(
            page(&leader_token)["activities"].as_array().unwrap().len(),
            1
        );
        assert_eq!(
            page(&other_token)["activities"].as_array().unwrap().len(),
            0
        );

        // Deadlines: none in the past, and no claim after one.
        let item = |body: Value| app.post("/api/v1/list-items", Some(&admin_a), body);
        item(json!({ "list": "need", "org_id": t.community_a, "category": "助老", "title": "x", "description": "y", "until": "2020-01-01T00:00:00Z" }))
            .assert_error(422, "validation_failed");
        let soon = (chrono::Utc::now() + chrono::Duration::seconds(2))
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string();
        let closing = item(
            json!({ "list": "need", "org_id": t.community_a, "category": "助老", "title": "x", "description": "y", "until": soon }),
        );
        assert_eq!(closing.status, 201, "{}", closing.body);
        std::thread::sleep(std::time::Duration::from_millis(2500));
        app.post(
            &format!("/api/v1/list-items/{}/claim", id(&closing.body)),
            Some(&leader_token),
            json!({ "by_team_id": team_id }),
        )
        .assert_error(409, "item_expired");

        // A unit that withdraws takes its offers off the lists; its admins
        // hold nothing more.
        let rep = app.register("联络人", "13700000041", &t.community_a);
        let rep_token = app.login("13700000041", "volunteer-pass");
        let unit = app.post(
            "/api/v1/units",
            Some(&app.admin),
            json!({ "name": "超市", "kind": "enterprise", "org_id": t.community_a }),
        );
        let unit = id(&unit.body);
        app.post(
            &format!("/api/v1/units/{unit}/admins"),
            Some(&app.admin),
            json!({ "user_id": rep }),
        );
        let offer = app.post(
            "/api/v1/list-items",
            Some(&rep_token),
            json!({ "list": "resource", "unit_id": unit, "category": "物资", "title": "米面", "description": "每月一次" }),
        );
        let offer = id(&offer.body);
        let r = app.post(
            &format!("/api/v1/list-items/{offer}/claim"),
            Some(&admin_a),
            json!({ "by_org_id": t.community_a }),
        );
        assert_eq!(r.body["status"], "claimed", "{}", r.body);
        let r = app.send(
            "POST",
            &format!("/api/v1/units/{unit}/withdraw"),
            Some(&rep_token),
            None,
            &[],
        );
        assert_eq!(r.body["status"], "withdrawn", "{}", r.body);
        let r = app.get(&format!("/api/v1/list-items/{offer}"), Some(&admin_a));
        assert_eq!(r.body["status"], "withdrawn", "{}", r.body);
        assert_eq!(r.body["claims"][0]["outcome"], "withdrawn");
        app.get(&format!("/api/v1/units/{unit}"), Some(&rep_token))
            .assert_error(403, "forbidden");
        app.post(
            &format!("/api/v1/units/{unit}/members"),
            Some(&rep_token),
            json!({ "volunteer_id": other }),
        )
        .assert_error(403, "forbidden");

        // A dissolved team's leader leads nothing any more.
        let need = item(
            json!({ "list": "need", "org_id": t.community_a, "category": "助老", "title": "助餐", "description": "每日送餐" }),
        );
        let need = id(&need.body);
        app.post(
            &format!("/api/v1/list-items/{need}/claim"),
            Some(&leader_token),
            json!({ "by_team_id": team_id }),
        );
        let r = app.send(
            "POST",
            &format!("/api/v1/list-items/{need}/confirm"),
            Some(&admin_a),
            None,
            &[],
        );
        let project = r.body["project"]["id"].as_str().unwrap().to_owned();
        app.send(
            "POST",
            &format!("/api/v1/teams/{team_id}/dissolve"),
            Some(&admin_a),
            None,
            &[],
        );
        app.send(
            "POST",
            &format!("/api/v1/projects/{project}/start"),
            Some(&leader_token),
            None,
            &[],
        )
        .assert_error(403, "forbidden");
        let r = app.send(
            "POST",
            &format!("/api/v1/projects/{project}/start"),
            Some(&admin_a),
            None,
            &[],
        );
        assert_eq!(r.body["status"], "running", "{}", r.body);
        app.assert_verified();
    });
}
