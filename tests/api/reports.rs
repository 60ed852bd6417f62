use serde_json::json;

use crate::helpers::*;

#[test]
fn summary_and_csv_export_for_a_subtree() {
    each_backend(|app| {
        let t = tree(app);
        let admin_b = app.admin_of(&t.community_b, "13600000002", &t.community_b);
        let (a, at) = app.active_volunteer("甲", "13500000001", &t.community_a);
        let (b, _) = app.active_volunteer("乙", "13500000002", &t.community_b);
        earn(app, &a, &t.community_a, "40.00");
        earn(app, &b, &t.community_b, "5.50");
        // 30 of a's points are spent at a site of street B.
        let site = app.post(
            "/api/v1/sites",
            Some(&app.admin),
            json!({ "org_id": t.community_b, "name": "站点", "address": "x" }),
        );
        let site = site.body["id"].as_str().unwrap().to_owned();
        let rice = app.post(
            "/api/v1/catalog/items",
            Some(&app.admin),
            json!({ "org_id": t.district, "name": "大米", "points_price": "30.00" }),
        );
        let rice = rice.body["id"].as_str().unwrap().to_owned();
        app.post(
            &format!("/api/v1/sites/{site}/stock"),
            Some(&app.admin),
            json!({ "item_id": rice, "delta": 5, "reason": "入库" }),
        );
        assert_eq!(
            app.post(
                "/api/v1/redemptions",
                Some(&at),
                json!({ "item_id": rice, "site_id": site, "quantity": 1 })
            )
            .status,
            201
        );

        let today = chrono::Utc::now().date_naive();
        let period = format!(
            "org_id={}&from={}&to={}",
            t.district,
            today - chrono::Duration::days(30),
            today + chrono::Duration::days(1)
        );
        let r = app.get(
            &format!("/api/v1/reports/summary?{period}"),
            Some(&app.admin),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        let totals = &r.body["totals"];
        assert_eq!(totals["hours"], "45.50");
        assert_eq!(totals["points_issued"], "45.50");
        assert_eq!(totals["points_redeemed"], "30.00");
        assert_eq!(totals["points_expired"], "0.00");
        assert_eq!(totals["active_volunteers"], 2);
        assert!(totals["new_registrations"].as_i64().unwrap() >= 2);
        let street_a = r.body["children"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["org_id"] == t.street_a.as_str())
            .unwrap();
        assert_eq!(
            (
                street_a["hours"].as_str(),
                street_a["points_redeemed"].as_str()
            ),
            (Some("40.00"), Some("0.00"))
        );
        let street_b = r.body["children"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["org_id"] != t.street_a.as_str())
            .unwrap();
        assert_eq!(
            (
                street_b["hours"].as_str(),
                street_b["points_redeemed"].as_str()
            ),
            (Some("5.50"), Some("30.00"))
        );
        let months = r.body["months"].as_object().unwrap();
        assert_eq!(months.len(), 1, "{months:?}");

        // An admin of community B sees only their own subtree.
        app.get(&format!("/api/v1/reports/summary?{period}"), Some(&admin_b))
            .assert_error(403, "forbidden");
        let own = format!(
            "org_id={}&from={}&to={}",
            t.community_b,
            today - chrono::Duration::days(30),
            today + chrono::Duration::days(1)
        );
        assert_eq!(
            app.get(&format!("/api/v1/reports/summary?{own}"), Some(&admin_b))
                .body["totals"]["hours"],
            "5.50"
        );
        app.get(
            &format!(
                "/api/v1/reports/summary?org_id={}&from=2026-12-01&to=2026-01-01",
                t.district
            ),
            Some(&app.admin),
        )
        .assert_error(400, "invalid_query");
        app.get(
            &format!(
                "/api/v1/reports/summary?org_id={}&from=yesterday&to=2026-01-01",
                t.district
            ),
            Some(&app.admin),
        )
        .assert_error(400, "invalid_query");

        let rfc = format!(
            "org_id={}&from={}T00:00:00Z&to={}T00:00:00Z",
            t.district,
            today - chrono::Duration::days(30),
            today + chrono::Duration::days(1)
        );
        assert_eq!(
            app.get(&format!("/api/v1/reports/summary?{rfc}"), Some(&app.admin))
                .body["totals"]["hours"],
            "45.50"
        );
        let defaults = app.get(
            &format!("/api/v1/reports/summary?org_id={}", t.district),
            Some(&app.admin),
        );
        assert_eq!(
            defaults.body["totals"]["hours"], "45.50",
            "the default period is the last 30 days"
        );
        let csv = app.get(
            &format!("/api/v1/reports/export?{period}&format=csv"),
            Some(&app.admin),
        );
        assert_eq!(csv.status, 200);
        let text = csv.body.as_str().unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "header, two streets, total: {text}");
        assert!(lines[0].starts_with("org_id,org_name,hours,points_issued"));
        assert!(
            lines[3].contains("45.50,45.50,30.00,0.00,2"),
            "{}",
            lines[3]
        );
        app.get(
            &format!("/api/v1/reports/export?{period}&format=xlsx"),
            Some(&app.admin),
        )
        .assert_error(400, "invalid_query");
    });
}
