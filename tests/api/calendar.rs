//! Local days follow the district's policy, not China's offset: a district
//! at UTC−05:00 settles "up to a day", exports a day and reports "today" in
//! its own days.

use serde_json::{Value, json};
use timebank_api::auth::TokenKeys;

use crate::helpers::*;

const NEW_YORK: i64 = -300;

fn set_offset(app: &App, org: &str, minutes: i64) {
    let path = format!("/api/v1/policies/earning?org_id={org}");
    let mut policy = app.get(&path, Some(&app.admin)).body["policy"].clone();
    policy["utc_offset_minutes"] = json!(minutes);
    let put = app.send("PUT", &path, Some(&app.admin), Some(policy), &[]);
    assert_eq!(put.status, 200, "{}", put.body);
}

/// The local date (YYYY-MM-DD) at `offset` minutes of the UTC day
/// `days_ago` at `hh`:00.
fn local_day(days_ago: i64, hh: u32, offset: i64) -> String {
    let utc = chrono::DateTime::parse_from_rfc3339(&day_at(days_ago, hh, 0)).unwrap();
    (utc.naive_utc() + chrono::Duration::minutes(offset))
        .date()
        .format("%Y-%m-%d")
        .to_string()
}

#[test]
fn a_district_west_of_utc_keeps_its_own_days() {
    each_backend(|app| {
        let t = tree(app);
        set_offset(app, &t.district, NEW_YORK);
        let (v, _) = app.active_volunteer("李明", "13500000001", &t.community_a);
        // 01:00–03:00 UTC two days ago: 20:00–22:00 the evening before there.
        let activity =
            app.published_activity(&t.community_a, &day_at(2, 1, 0), &day_at(2, 3, 0), 5, None);
        let r = app.attend(&activity, &v, &day_at(2, 1, 0), &day_at(2, 3, 0));
        assert_eq!(r.status, 201, "{}", r.body);
        let evening = local_day(2, 3, NEW_YORK);
        let before = local_day(3, 3, NEW_YORK);
        assert_ne!(
            evening,
            day_at(2, 3, 0)[..10],
            "the local day is the day before"
        );

        // settle --until the day before that evening: nothing is due yet.
        let settle = |day: &str| {
            let out = bin()
                .args(["settle", "--until", day])
                .env("DATABASE_URL", app.db.url())
                .env("JWT_SECRET", SECRET)
                .env("RUST_LOG", "warn")
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
            summary["summary"]["details"]["attendances_settled"]
                .as_u64()
                .unwrap()
        };
        assert_eq!(settle(&before), 0);
        // Up to the end of that evening's day (at UTC+08:00 it would have
        // ended hours before the activity did).
        assert_eq!(settle(&evening), 1);
        assert_eq!(app.balance(&v)["points"], "2.00");

        // The export of that local day holds the record; the UTC day's not.
        let system = TokenKeys::from_secret(SECRET.as_bytes())
            .issue("system", Some("system"), 600)
            .unwrap();
        let export = |from: &str, to: &str| {
            let r = app.post(
                "/api/v1/jobs/export",
                Some(&system),
                json!({ "org_id": t.district, "from": from, "to": to }),
            );
            assert_eq!(r.status, 200, "{}", r.body);
            r.body["data"]["service_records"].as_array().unwrap().len()
        };
        assert_eq!(export(&evening, &evening), 1);
        let utc_day = &day_at(2, 3, 0)[..10];
        assert_eq!(export(utc_day, utc_day), 0);

        // A report's default period ends with the district's today.
        let r = app.get(
            &format!("/api/v1/reports/summary?org_id={}", t.district),
            Some(&app.admin),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        let today = (chrono::Utc::now().naive_utc() + chrono::Duration::minutes(NEW_YORK)).date();
        let end = format!(
            "{}T05:00:00",
            (today + chrono::Duration::days(1)).format("%Y-%m-%d")
        );
        assert!(
            r.body["to"].as_str().unwrap().starts_with(&end),
            "{} vs {end}",
            r.body["to"]
        );
        assert_eq!(r.body["totals"]["hours"], "2.00", "{}", r.body);

        // HTTP settlement takes a day too.
        let r = app.post(
            "/api/v1/jobs/settle",
            Some(&system),
            json!({ "until": evening }),
        );
        assert_eq!(r.status, 200, "{}", r.body);
    });
}
