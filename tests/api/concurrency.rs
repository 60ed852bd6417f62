use serde_json::json;
use timebank_ledger::{AccountKind, Amount, find_account, read};

use crate::helpers::*;

#[test]
fn concurrent_registrations_all_succeed() {
    each_backend(|app| {
        let t = tree(app);
        let statuses: Vec<u16> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..20)
                .map(|i| {
                    let community = t.community_a.clone();
                    s.spawn(move || {
                        app.post(
                            "/api/v1/volunteers/register",
                            None,
                            json!({ "name": format!("志愿者{i}"), "phone": format!("135000001{i:02}"), "password": "volunteer-pass", "community_id": community }),
                        )
                        .status
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");
    });
}

#[test]
fn one_key_sent_sixteen_times_at_once_reverses_once() {
    each_backend(|app| {
        let t = tree(app);
        let v = app.register("周杰", "13500000001", &t.community_a);
        let keep = earn(app, &v, &t.community_a, "7.00");
        let target = earn(app, &v, &t.community_a, "3.00");
        let _ = keep;
        let path = format!("/api/v1/transactions/{target}/reverse");
        let answers: Vec<(u16, serde_json::Value)> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..16)
                .map(|_| {
                    let path = path.clone();
                    s.spawn(move || {
                        let r = app.send(
                            "POST",
                            &path,
                            Some(&app.admin),
                            Some(json!({ "reason": "并发" })),
                            &[("Idempotency-Key", "same-key")],
                        );
                        (r.status, r.body)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (status, body) in &answers {
            assert_eq!(*status, 201, "{body}");
            assert_eq!(
                body["id"], answers[0].1["id"],
                "every answer names the one reversal"
            );
        }
        let pool = app.db.pool(1).unwrap();
        let conn = &mut pool.get().unwrap();
        let wallet = find_account(conn, AccountKind::VolunteerWallet, &v)
            .unwrap()
            .unwrap();
        assert_eq!(
            read::balances_of(conn, &wallet.id).unwrap().points,
            Amount::parse("7.00").unwrap()
        );
        assert!(timebank_ledger::verify(conn).unwrap().ok);
    });
}

#[test]
fn racing_reversals_of_one_transaction_post_one() {
    each_backend(|app| {
        let t = tree(app);
        let v = app.register("吴娟", "13500000001", &t.community_a);
        let target = earn(app, &v, &t.community_a, "5.00");
        let path = format!("/api/v1/transactions/{target}/reverse");
        let statuses: Vec<(u16, String)> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..16)
                .map(|i| {
                    let path = path.clone();
                    s.spawn(move || {
                        let r = app.post(
                            &path,
                            Some(&app.admin),
                            json!({ "reason": format!("race {i}") }),
                        );
                        (r.status, r.code().to_owned())
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(
            statuses.iter().filter(|(s, _)| *s == 201).count(),
            1,
            "{statuses:?}"
        );
        assert!(
            statuses
                .iter()
                .all(|(s, c)| *s == 201 || (*s == 409 && c == "already_reversed")),
            "{statuses:?}"
        );
    });
}

/// Reversals of a volunteer's earnings race their redemptions and the
/// star refresh that reversals cause: only business answers, never a
/// deadlock surfacing as a 5xx, and the ledger stays whole.
#[test]
fn reversals_race_redemptions_of_the_same_volunteer() {
    each_backend(|app| {
        let t = tree(app);
        let policy = json!({ "thresholds_hours": ["5"], "falsification_bar_days": 365 });
        app.send(
            "PUT",
            &format!("/api/v1/policies/stars?org_id={}", t.district),
            Some(&app.admin),
            Some(policy),
            &[],
        );
        let (v, vt) = app.active_volunteer("并发者", "13500000001", &t.community_a);
        let earnings: Vec<String> = (0..8)
            .map(|_| earn(app, &v, &t.community_a, "3.00"))
            .collect();
        let (site, item) = oil_shop(app, &t, 50);
        let statuses: Vec<(u16, String)> = std::thread::scope(|s| {
            let mut handles = Vec::new();
            for tx in &earnings {
                let path = format!("/api/v1/transactions/{tx}/reverse");
                handles.push(s.spawn(move || {
                    let r = app.post(&path, Some(&app.admin), json!({ "reason": "并发冲正" }));
                    (r.status, r.code().to_owned())
                }));
            }
            for _ in 0..8 {
                let (vt, item, site) = (vt.clone(), item.clone(), site.clone());
                handles.push(s.spawn(move || {
                    let r = app.post(
                        "/api/v1/redemptions",
                        Some(&vt),
                        json!({ "item_id": item, "site_id": site, "quantity": 1 }),
                    );
                    (r.status, r.code().to_owned())
                }));
            }
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(statuses.iter().all(|(s, _)| *s < 500), "{statuses:?}");
        assert!(
            statuses
                .iter()
                .all(|(s, c)| *s == 201 || c == "insufficient_points"),
            "{statuses:?}"
        );
        let b = app.balance(&v);
        assert!(!b["points"].as_str().unwrap().starts_with('-'), "{b}");
    });
}
