//! Commit grouping seen from outside: a server killed inside a group has
//! answered nothing it did not commit, and clients retrying with their
//! `Idempotency-Key`s after the restart get exactly one order per key.

use serde_json::json;
use timebank_store::testing::TestDb;

use crate::helpers::*;

const REQUESTS: usize = 24;

#[test]
fn server_killed_inside_a_group_loses_nothing_answered_and_doubles_nothing() {
    for db in TestDb::all() {
        eprintln!("backend {:?}", db.backend());
        // Groups 1 and 2 commit; the server aborts before committing group 3.
        // Grouping is asked for: Postgres does not group by default.
        let mut app = spawn_with(
            db,
            &[
                ("TIMEBANK_FAILPOINT", "group:3"),
                ("TIMEBANK_GROUP_COMMIT", "on"),
            ],
        );
        let t = tree(&app);
        let (v, vt) = app.active_volunteer("组提交", "13500000031", &t.community_a);
        earn(&app, &v, &t.community_a, "100.00");
        let (site, item) = oil_shop(&app, &t, 100);
        let body = json!({ "item_id": item, "site_id": site, "quantity": 1 });
        let keys: Vec<String> = (0..REQUESTS).map(|i| format!("group-crash-{i}")).collect();
        let send = |app: &App, key: &str| {
            app.try_post(
                "/api/v1/redemptions",
                &vt,
                &body,
                &[("Idempotency-Key", key)],
            )
        };

        // Two alone (groups 1 and 2), then the rest at once: their group dies.
        let mut first = vec![send(&app, &keys[0]), send(&app, &keys[1])];
        let rest: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = keys[2..]
                .iter()
                .map(|k| {
                    let app = &app;
                    let send = &send;
                    s.spawn(move || send(app, k))
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        first.extend(rest);
        for answer in &first[..2] {
            let answer = answer.as_ref().unwrap();
            assert_eq!(answer.status, 201, "{}", answer.body);
        }
        assert!(
            first[2..].iter().all(|a| a.is_err()),
            "the aborted group must answer nobody: {:?}",
            first[2..]
                .iter()
                .map(|a| a.as_ref().map(|r| r.status))
                .collect::<Vec<_>>()
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert!(app.exited(), "the failpoint should have stopped the server");

        app.restart(&[("TIMEBANK_GROUP_COMMIT", "on")]);
        let second: Vec<Resp> = keys.iter().map(|k| send(&app, k).unwrap()).collect();
        for (i, r) in second.iter().enumerate() {
            assert_eq!(r.status, 201, "key {i}: {}", r.body);
        }
        // Answered before the crash: the same order, replayed.
        for i in 0..2 {
            let before = first[i].as_ref().unwrap();
            assert_eq!(second[i].body["id"], before.body["id"]);
            assert_eq!(second[i].header("Idempotent-Replayed"), Some("true"));
        }
        // Each key: one order, and retrying again changes nothing.
        let mut ids: Vec<String> = second
            .iter()
            .map(|r| r.body["id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), REQUESTS);
        let again = send(&app, &keys[REQUESTS - 1]).unwrap();
        assert_eq!(again.body["id"], second[REQUESTS - 1].body["id"]);
        let orders = app.get(&format!("/api/v1/volunteers/{v}/redemptions"), Some(&vt));
        assert_eq!(
            orders.body["items"].as_array().unwrap().len(),
            REQUESTS,
            "{}",
            orders.body
        );
        let balance = app.balance(&v);
        assert_eq!(balance["points"], json!("52.00"), "{balance}");
    }
}
