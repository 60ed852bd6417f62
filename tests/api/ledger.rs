use serde_json::json;
use timebank_ledger::{
    AccountKind, Amount, Asset, NewPosting, NewTransaction, TxKind, find_account, open_account,
};

use crate::helpers::*;

fn spend(app: &App, volunteer: &str, amount: &str) {
    let pool = app.db.pool(1).unwrap();
    let conn = &mut pool.get().unwrap();
    let wallet = find_account(conn, AccountKind::VolunteerWallet, volunteer)
        .unwrap()
        .unwrap();
    let sink = open_account(conn, AccountKind::SiteSink, "site-1", &wallet.org_path).unwrap();
    let a = Amount::parse(amount).unwrap();
    let tx = NewTransaction {
        kind: TxKind::Redeem,
        actor_id: None,
        reason: "兑换大米".into(),
        external_id: None,
        rule_version: None,
        request_id: None,
        postings: vec![
            NewPosting {
                account_id: wallet.id,
                asset: Asset::Point,
                amount: a.checked_neg().unwrap(),
            },
            NewPosting {
                account_id: sink.id,
                asset: Asset::Point,
                amount: a,
            },
        ],
    };
    timebank_ledger::post(conn, &tx).unwrap();
}

#[test]
fn balances_entries_and_transactions_are_scoped() {
    each_backend(|app| {
        let t = tree(app);
        let v = app.register("张伟", "13500000001", &t.community_a);
        let other = app.register("刘芳", "13500000002", &t.community_a);
        let admin_a = app.admin_of(&t.community_a, "13600000001", &t.community_a);
        let admin_b = app.admin_of(&t.community_b, "13600000002", &t.community_b);
        let tok = app.login("13500000001", "volunteer-pass");
        let other_tok = app.login("13500000002", "volunteer-pass");
        let _ = other;

        let mut txs = Vec::new();
        for amount in ["60.00", "45.50", "0.25"] {
            txs.push(earn(app, &v, &t.community_a, amount));
        }
        spend(app, &v, "5.75");

        let bal = app.get(&format!("/api/v1/volunteers/{v}/balance"), Some(&tok));
        assert_eq!(bal.status, 200, "{}", bal.body);
        assert_eq!(
            bal.body,
            json!({
                "points": "100.00", "lifetime_points": "105.75", "hours": "105.75",
                "star_level": 1, "next_star_hours": "194.25",
            })
        );
        app.get(&format!("/api/v1/volunteers/{v}/balance"), Some(&other_tok))
            .assert_error(403, "forbidden");
        app.get(&format!("/api/v1/volunteers/{v}/balance"), Some(&admin_b))
            .assert_error(403, "forbidden");
        assert_eq!(
            app.get(&format!("/api/v1/volunteers/{v}/balance"), Some(&admin_a))
                .status,
            200
        );
        app.get("/api/v1/volunteers/nobody/balance", Some(&app.admin))
            .assert_error(404, "not_found");

        // Entries: 7 postings on the wallet, walked two at a time.
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/api/v1/volunteers/{v}/entries?limit=2&cursor={c}"),
                None => format!("/api/v1/volunteers/{v}/entries?limit=2"),
            };
            let page = app.get(&path, Some(&tok));
            assert_eq!(page.status, 200, "{}", page.body);
            seen.extend(page.body["items"].as_array().unwrap().clone());
            match page.body["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        assert_eq!(seen.len(), 7);
        assert_eq!(seen[0]["kind"], "redeem");
        assert_eq!(seen[0]["amount"], "-5.75");
        assert_eq!(seen[0]["balance_after"], "100.00");
        assert_eq!(seen[6]["amount"], "60.00");
        for key in [
            "transaction_id",
            "kind",
            "asset",
            "amount",
            "balance_after",
            "created_at",
            "reason",
        ] {
            assert!(seen[0].get(key).is_some(), "{key}");
        }
        app.get(&format!("/api/v1/volunteers/{v}/entries"), Some(&other_tok))
            .assert_error(403, "forbidden");
        app.get(
            &format!("/api/v1/volunteers/{v}/entries?cursor=zzz"),
            Some(&tok),
        )
        .assert_error(400, "invalid_cursor");

        let tx = app.get(&format!("/api/v1/transactions/{}", txs[0]), Some(&tok));
        assert_eq!(tx.status, 200, "{}", tx.body);
        assert_eq!(tx.body["kind"], "earn_hours");
        assert_eq!(tx.body["postings"].as_array().unwrap().len(), 4);
        app.get(
            &format!("/api/v1/transactions/{}", txs[0]),
            Some(&other_tok),
        )
        .assert_error(403, "forbidden");
        app.get(&format!("/api/v1/transactions/{}", txs[0]), Some(&admin_b))
            .assert_error(403, "forbidden");
        assert_eq!(
            app.get(&format!("/api/v1/transactions/{}", txs[0]), Some(&admin_a))
                .status,
            200
        );
        app.get("/api/v1/transactions/missing", Some(&app.admin))
            .assert_error(404, "not_found");
    });
}

#[test]
fn reversal_with_idempotency_and_refusals() {
    each_backend(|app| {
        let t = tree(app);
        let v = app.register("陈静", "13500000001", &t.community_a);
        let admin_a = app.admin_of(&t.community_a, "13600000001", &t.community_a);
        let admin_b = app.admin_of(&t.community_b, "13600000002", &t.community_b);
        let tok = app.login("13500000001", "volunteer-pass");
        let small = earn(app, &v, &t.community_a, "3.00");
        let big = earn(app, &v, &t.community_a, "10.00");

        let path = format!("/api/v1/transactions/{small}/reverse");
        app.post(&path, Some(&tok), json!({ "reason": "x" }))
            .assert_error(403, "forbidden");
        app.post(&path, Some(&admin_b), json!({ "reason": "x" }))
            .assert_error(403, "forbidden");
        app.post(&path, Some(&admin_a), json!({ "reason": "" }))
            .assert_error(422, "validation_failed");
        app.post(
            "/api/v1/transactions/missing/reverse",
            Some(&admin_a),
            json!({ "reason": "x" }),
        )
        .assert_error(404, "not_found");

        let key = [("Idempotency-Key", "rev-1")];
        let first = app.send(
            "POST",
            &path,
            Some(&admin_a),
            Some(json!({ "reason": "重复登记" })),
            &key,
        );
        assert_eq!(first.status, 201, "{}", first.body);
        assert_eq!(first.body["kind"], "reversal");
        assert_eq!(first.body["reverses_id"], small.as_str());
        assert!(first.body["request_id"].is_string());
        assert_eq!(
            first.header("x-request-id"),
            first.body["request_id"].as_str(),
            "the header names the request the ledger recorded"
        );
        let replay = app.send(
            "POST",
            &path,
            Some(&admin_a),
            Some(json!({ "reason": "重复登记" })),
            &key,
        );
        assert_eq!(replay.status, 201);
        assert_eq!(replay.body, first.body);
        assert_eq!(replay.header("Idempotent-Replayed"), Some("true"));
        app.send(
            "POST",
            &path,
            Some(&admin_a),
            Some(json!({ "reason": "another" })),
            &key,
        )
        .assert_error(422, "idempotency_key_reused");
        app.post(&path, Some(&admin_a), json!({ "reason": "again" }))
            .assert_error(409, "already_reversed");
        let reversal_id = first.body["id"].as_str().unwrap();
        app.post(
            &format!("/api/v1/transactions/{reversal_id}/reverse"),
            Some(&admin_a),
            json!({ "reason": "x" }),
        )
        .assert_error(422, "cannot_reverse_reversal");

        let bal = app.get(&format!("/api/v1/volunteers/{v}/balance"), Some(&tok));
        assert_eq!(bal.body["points"], "10.00");
        assert_eq!(bal.body["lifetime_points"], "10.00");

        // The points of `big` are partly spent: reversing it would overdraw.
        spend(app, &v, "4.00");
        let r = app.post(
            &format!("/api/v1/transactions/{big}/reverse"),
            Some(&admin_a),
            json!({ "reason": "x" }),
        );
        r.assert_error(422, "insufficient_points");
        assert_eq!(r.body["error"]["details"]["available"], "6.00");
        assert_eq!(r.body["error"]["details"]["required"], "10.00");
        assert_eq!(
            app.get(&format!("/api/v1/volunteers/{v}/balance"), Some(&tok))
                .body["points"],
            "6.00"
        );

        let report = app.get("/api/v1/ledger/verify", Some(&app.admin));
        assert_eq!(report.status, 200);
        assert_eq!(report.body["ok"], true, "{}", report.body);
        app.get("/api/v1/ledger/verify", Some(&tok))
            .assert_error(403, "forbidden");

        let metrics = app.get("/metrics", None);
        let text = metrics.body.as_str().unwrap();
        assert!(
            text.contains(r#"route="/api/v1/transactions/{id}/reverse""#),
            "{text}"
        );
        let postings = report.body["postings_checked"].as_u64().unwrap();
        assert!(
            text.contains(&format!(
                "timebank_ledger_postings {postings}
"
            )),
            "{text}"
        );
    });
}

/// Balance reads keep the star policy in memory: a policy published is the
/// one the very next read applies, and a grant revoked is refused at once.
#[test]
fn what_reads_keep_in_memory_changes_with_the_next_write() {
    each_backend(|app| {
        let t = tree(app);
        let (v, vt) = app.active_volunteer("周敏", "13500000071", &t.community_a);
        let mine = app.get(&format!("/api/v1/volunteers/{v}/balance"), Some(&vt));
        assert_eq!(mine.status, 200, "{}", mine.body);
        assert_eq!(mine.body["next_star_hours"], "100.00", "{}", mine.body);
        let r = app.send(
            "PUT",
            &format!("/api/v1/policies/stars?org_id={}", t.district),
            Some(&app.admin),
            Some(json!({ "thresholds_hours": ["10", "20"], "falsification_bar_days": 365 })),
            &[],
        );
        assert_eq!(r.status, 200, "{}", r.body);
        let mine = app.get(&format!("/api/v1/volunteers/{v}/balance"), Some(&vt));
        assert_eq!(mine.body["next_star_hours"], "10.00", "{}", mine.body);

        // An auditor reads the balance until the grant goes, then not.
        let auditor = app.register("审计", "13500000072", &t.community_a);
        let r = app.post(
            &format!("/api/v1/orgs/{}/admins", t.community_a),
            Some(&app.admin),
            json!({ "user_id": auditor, "role": "auditor" }),
        );
        assert!(r.status < 300, "{}", r.body);
        let at = app.login("13500000072", "volunteer-pass");
        let path = format!("/api/v1/volunteers/{v}/balance");
        assert_eq!(app.get(&path, Some(&at)).status, 200);
        let r = app.send(
            "DELETE",
            &format!("/api/v1/orgs/{}/admins/{auditor}", t.community_a),
            Some(&app.admin),
            None,
            &[],
        );
        assert_eq!(r.body["revoked"], json!(["auditor"]), "{}", r.body);
        app.get(&path, Some(&at)).assert_error(403, "forbidden");
    });
}
