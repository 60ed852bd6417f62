//! Ledger storage tests: each runs on SQLite and, with TEST_DATABASE_URL, on
//! Postgres in a schema of its own.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

use std::sync::Arc;

use diesel::RunQueryDsl;
use diesel::connection::SimpleConnection;
use proptest::prelude::*;
use timebank_ledger::*;
use timebank_store::testing::TestDb;
use timebank_store::{Backend, DbConnection, Pool};

struct Fixture {
    issuer: String,
    alice: String,
    bob: String,
    sink: String,
}

fn fixture(conn: &mut DbConnection) -> Fixture {
    let path = "/city/district/";
    Fixture {
        issuer: open_account(conn, AccountKind::OrgIssuance, "org-1", path)
            .unwrap()
            .id,
        alice: open_account(conn, AccountKind::VolunteerWallet, "alice", path)
            .unwrap()
            .id,
        bob: open_account(conn, AccountKind::VolunteerWallet, "bob", path)
            .unwrap()
            .id,
        sink: open_account(conn, AccountKind::SiteSink, "site-1", path)
            .unwrap()
            .id,
    }
}

fn amt(text: &str) -> Amount {
    Amount::parse(text).unwrap()
}

fn transfer(
    kind: TxKind,
    from: &str,
    to: &str,
    asset: Asset,
    amount: Amount,
    ext: Option<&str>,
) -> NewTransaction {
    NewTransaction {
        kind,
        actor_id: Some("tester".into()),
        reason: "test".into(),
        external_id: ext.map(str::to_owned),
        rule_version: None,
        request_id: None,
        postings: vec![
            NewPosting {
                account_id: from.into(),
                asset,
                amount: amount.checked_neg().unwrap(),
            },
            NewPosting {
                account_id: to.into(),
                asset,
                amount,
            },
        ],
    }
}

fn earn(f: &Fixture, to: &str, points: &str, ext: Option<&str>) -> NewTransaction {
    let mut tx = transfer(
        TxKind::EarnHours,
        &f.issuer,
        to,
        Asset::Point,
        amt(points),
        ext,
    );
    tx.postings.push(NewPosting {
        account_id: f.issuer.clone(),
        asset: Asset::Hour,
        amount: amt(points).checked_neg().unwrap(),
    });
    tx.postings.push(NewPosting {
        account_id: to.into(),
        asset: Asset::Hour,
        amount: amt(points),
    });
    tx
}

fn each_backend(test: impl Fn(&TestDb, &Pool)) {
    for db in TestDb::all() {
        let pool = db.pool(40).unwrap();
        eprintln!("backend {:?}", db.backend());
        test(&db, &pool);
    }
}

#[test]
fn posts_balances_and_verifies() {
    each_backend(|_, pool| {
        let conn = &mut pool.get().unwrap();
        let f = fixture(conn);
        let posted = post(conn, &earn(&f, &f.alice, "12.50", None)).unwrap();
        assert!(posted.created);
        assert_eq!(posted.transaction.postings.len(), 4);
        let b = read::balances_of(conn, &f.alice).unwrap();
        assert_eq!(
            (b.points, b.hours, b.lifetime_points),
            (amt("12.50"), amt("12.50"), amt("12.50"))
        );
        assert_eq!(
            read::balances_of(conn, &f.issuer).unwrap().points,
            amt("-12.50")
        );
        post(
            conn,
            &transfer(
                TxKind::Redeem,
                &f.alice,
                &f.sink,
                Asset::Point,
                amt("2.25"),
                None,
            ),
        )
        .unwrap();
        let b = read::balances_of(conn, &f.alice).unwrap();
        assert_eq!(
            (b.points, b.lifetime_points),
            (amt("10.25"), amt("12.50")),
            "spending keeps lifetime points"
        );
        let entries = read::entries(conn, &f.alice, None, 10).unwrap();
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[0].balance_after, amt("10.25"));
        let page2 = read::entries(conn, &f.alice, Some(entries[1].seq), 10).unwrap();
        assert_eq!(page2.len(), 1);
        let report = verify(conn).unwrap();
        assert!(report.ok, "{:?}", report.problems);
        assert_eq!(report.postings_checked, 6);
    });
}

#[test]
fn a_batch_posts_like_one_by_one_and_verifies() {
    each_backend(|_, pool| {
        let conn = &mut pool.get().unwrap();
        let f = fixture(conn);
        post(conn, &earn(&f, &f.alice, "1.00", Some("before"))).unwrap();
        let batch = vec![
            earn(&f, &f.alice, "2.00", Some("a")),
            earn(&f, &f.bob, "3.00", Some("b")),
            earn(&f, &f.alice, "4.00", Some("a")), // same id as the first: posted once
            earn(&f, &f.bob, "5.00", Some("before")), // posted earlier
            transfer(
                TxKind::Redeem,
                &f.alice,
                &f.sink,
                Asset::Point,
                amt("0.50"),
                None,
            ),
        ];
        let posted = timebank_store::write_tx(conn, |c| post_many_in(c, &batch)).unwrap();
        let created: Vec<bool> = posted.iter().map(|p| p.created).collect();
        assert_eq!(created, vec![true, true, false, false, true]);
        assert_eq!(posted[2].transaction.id, posted[0].transaction.id);
        // Each account's chain runs through the batch in order.
        let alice_seqs: Vec<i64> = posted
            .iter()
            .filter(|p| p.created)
            .flat_map(|p| p.transaction.postings.iter())
            .filter(|p| p.account_id == f.alice && p.asset == Asset::Point)
            .map(|p| p.seq)
            .collect();
        assert_eq!(alice_seqs, vec![3, 5]);
        let b = read::balances_of(conn, &f.alice).unwrap();
        assert_eq!((b.points, b.hours), (amt("2.50"), amt("3.00")));
        assert_eq!(read::balances_of(conn, &f.bob).unwrap().points, amt("3.00"));
        let report = verify(conn).unwrap();
        assert!(report.ok, "{:?}", report.problems);
    });
}

#[test]
fn a_refusal_in_a_batch_refuses_it_all() {
    each_backend(|_, pool| {
        let conn = &mut pool.get().unwrap();
        let f = fixture(conn);
        let batch = vec![
            earn(&f, &f.alice, "2.00", None),
            transfer(
                TxKind::Redeem,
                &f.bob,
                &f.sink,
                Asset::Point,
                amt("1.00"),
                None,
            ),
        ];
        let refused = timebank_store::write_tx(conn, |c| post_many_in(c, &batch));
        assert!(matches!(
            refused,
            Err(LedgerError::InsufficientBalance { .. })
        ));
        assert_eq!(
            read::balances_of(conn, &f.alice).unwrap().points,
            Amount::ZERO
        );
        assert!(verify(conn).unwrap().ok);
    });
}

#[test]
fn refuses_unbalanced_and_overdrawn() {
    each_backend(|_, pool| {
        let conn = &mut pool.get().unwrap();
        let f = fixture(conn);
        let mut bad = transfer(
            TxKind::Adjustment,
            &f.issuer,
            &f.alice,
            Asset::Point,
            amt("1"),
            None,
        );
        bad.postings[1].amount = amt("2");
        assert!(matches!(
            post(conn, &bad),
            Err(LedgerError::Unbalanced(Asset::Point))
        ));
        let mut single = bad.clone();
        single.postings.truncate(1);
        assert!(matches!(
            post(conn, &single),
            Err(LedgerError::TooFewPostings)
        ));
        post(conn, &earn(&f, &f.alice, "1.00", None)).unwrap();
        let over = transfer(
            TxKind::Redeem,
            &f.alice,
            &f.sink,
            Asset::Point,
            amt("1.01"),
            None,
        );
        match post(conn, &over) {
            Err(LedgerError::InsufficientBalance {
                available,
                required,
                asset,
                ..
            }) => {
                assert_eq!(
                    (available, required, asset),
                    (amt("1.00"), amt("1.01"), Asset::Point)
                );
            }
            other => panic!("expected refusal, got {other:?}"),
        }
        assert_eq!(
            read::balances_of(conn, &f.alice).unwrap().points,
            amt("1.00")
        );
        assert!(verify(conn).unwrap().ok);
    });
}

#[test]
fn external_id_posts_once() {
    each_backend(|_, pool| {
        let conn = &mut pool.get().unwrap();
        let f = fixture(conn);
        let first = post(conn, &earn(&f, &f.alice, "3", Some("attendance:1"))).unwrap();
        let again = post(conn, &earn(&f, &f.alice, "3", Some("attendance:1"))).unwrap();
        assert!(first.created && !again.created);
        assert_eq!(first.transaction.id, again.transaction.id);
        assert_eq!(read::balances_of(conn, &f.alice).unwrap().points, amt("3"));
    });
}

#[test]
fn reversal_negates_once_and_never_overdraws() {
    each_backend(|_, pool| {
        let conn = &mut pool.get().unwrap();
        let f = fixture(conn);
        let earned = post(conn, &earn(&f, &f.alice, "5", None))
            .unwrap()
            .transaction;
        let reversal = reverse(
            conn,
            &earned.id,
            Some("admin"),
            "wrong record",
            Some("req-1"),
        )
        .unwrap();
        assert_eq!(reversal.kind, TxKind::Reversal);
        assert_eq!(reversal.reverses_id.as_deref(), Some(earned.id.as_str()));
        for (orig, rev) in earned.postings.iter().zip(&reversal.postings) {
            assert_eq!(orig.amount.checked_neg().unwrap(), rev.amount);
        }
        let b = read::balances_of(conn, &f.alice).unwrap();
        assert_eq!(
            (b.points, b.hours, b.lifetime_points),
            (Amount::ZERO, Amount::ZERO, Amount::ZERO)
        );
        assert!(matches!(
            reverse(conn, &earned.id, None, "again", None),
            Err(LedgerError::AlreadyReversed { .. })
        ));
        assert!(matches!(
            reverse(conn, &reversal.id, None, "undo", None),
            Err(LedgerError::CannotReverseReversal)
        ));
        assert_eq!(
            read::transaction(conn, &earned.id)
                .unwrap()
                .reversed_by
                .as_deref(),
            Some(reversal.id.as_str())
        );

        // Points already spent: reversing the earning would overdraw.
        let earned = post(conn, &earn(&f, &f.alice, "4", None))
            .unwrap()
            .transaction;
        post(
            conn,
            &transfer(
                TxKind::Redeem,
                &f.alice,
                &f.sink,
                Asset::Point,
                amt("3"),
                None,
            ),
        )
        .unwrap();
        assert!(matches!(
            reverse(conn, &earned.id, None, "x", None),
            Err(LedgerError::InsufficientBalance { .. })
        ));
        assert!(matches!(
            reverse(conn, "missing", None, "x", None),
            Err(LedgerError::TransactionNotFound(_))
        ));
        assert!(verify(conn).unwrap().ok);
    });
}

#[test]
fn ledger_tables_are_append_only_in_the_database() {
    each_backend(|db, pool| {
        let conn = &mut pool.get().unwrap();
        let f = fixture(conn);
        post(conn, &earn(&f, &f.alice, "5", None)).unwrap();
        for sql in [
            "UPDATE postings SET amount = amount + 100",
            "DELETE FROM postings",
            "UPDATE transactions SET reason = 'edited'",
            "DELETE FROM transactions",
        ] {
            let err = diesel::sql_query(sql).execute(conn).expect_err(sql);
            assert!(err.to_string().contains("append-only"), "{sql}: {err}");
        }
        if db.backend() == Backend::Postgres {
            for sql in ["TRUNCATE postings", "TRUNCATE transactions CASCADE"] {
                assert!(conn.batch_execute(sql).is_err(), "{sql}");
            }
        }
        assert!(verify(conn).unwrap().ok);
    });
}

#[test]
fn verify_finds_rows_changed_behind_the_ledgers_back() {
    each_backend(|db, pool| {
        let conn = &mut pool.get().unwrap();
        let f = fixture(conn);
        post(conn, &earn(&f, &f.alice, "5", None)).unwrap();
        post(conn, &earn(&f, &f.bob, "7", None)).unwrap();
        assert!(verify(conn).unwrap().ok);
        let drop_trigger = match db.backend() {
            Backend::Sqlite => "DROP TRIGGER postings_no_update",
            Backend::Postgres => "ALTER TABLE postings DISABLE TRIGGER postings_append_only",
        };
        conn.batch_execute(drop_trigger).unwrap();
        diesel::sql_query(format!(
            "UPDATE postings SET amount = 90000, balance_after = 90000 WHERE account_id = '{}' AND asset = 'POINT'",
            f.alice
        ))
        .execute(conn)
        .unwrap();
        let report = verify(conn).unwrap();
        assert!(!report.ok);
        let codes: Vec<&str> = report.problems.iter().map(|p| p.code).collect();
        assert!(codes.contains(&"hash_mismatch"), "{codes:?}");
        assert!(codes.contains(&"balance_mismatch"), "{codes:?}");
        assert!(codes.contains(&"unbalanced_transaction"), "{codes:?}");
        assert!(
            report
                .problems
                .iter()
                .all(|p| p.account_id.as_deref() != Some(f.bob.as_str())),
            "bob untouched"
        );
    });
}

#[test]
fn verify_finds_a_stale_cached_balance() {
    each_backend(|_, pool| {
        let conn = &mut pool.get().unwrap();
        let f = fixture(conn);
        post(conn, &earn(&f, &f.alice, "5", None)).unwrap();
        diesel::sql_query(format!(
            "UPDATE balances SET amount = 100000 WHERE account_id = '{}' AND asset = 'POINT'",
            f.alice
        ))
        .execute(conn)
        .unwrap();
        let report = verify(conn).unwrap();
        assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
        assert_eq!(report.problems[0].code, "balance_mismatch");
    });
}

/// 32 threads hammer one wallet (spending from it, funding it, and moving
/// points both ways with a second wallet, so lock order matters).
#[test]
fn concurrent_posts_never_overdraw_or_deadlock() {
    each_backend(|_, pool| {
        let f = {
            let conn = &mut pool.get().unwrap();
            let f = fixture(conn);
            post(conn, &earn(&f, &f.alice, "20", None)).unwrap();
            post(conn, &earn(&f, &f.bob, "20", None)).unwrap();
            Arc::new(f)
        };
        let threads: Vec<_> = (0..32)
            .map(|t| {
                let pool = pool.clone();
                let f = Arc::clone(&f);
                std::thread::spawn(move || {
                    let conn = &mut pool.get().unwrap();
                    let mut refused = 0;
                    for i in 0..6 {
                        let tx = match (t + i) % 4 {
                            0 => transfer(
                                TxKind::Redeem,
                                &f.alice,
                                &f.sink,
                                Asset::Point,
                                amt("1.50"),
                                None,
                            ),
                            1 => transfer(
                                TxKind::Gift,
                                &f.alice,
                                &f.bob,
                                Asset::Point,
                                amt("2"),
                                None,
                            ),
                            2 => transfer(
                                TxKind::Gift,
                                &f.bob,
                                &f.alice,
                                Asset::Point,
                                amt("1"),
                                None,
                            ),
                            _ => earn(&f, &f.alice, "0.50", None),
                        };
                        match post(conn, &tx) {
                            Ok(_) => {}
                            Err(LedgerError::InsufficientBalance { .. }) => refused += 1,
                            Err(other) => panic!("thread {t}: unexpected error {other:?}"),
                        }
                    }
                    refused
                })
            })
            .collect();
        let refused: usize = threads.into_iter().map(|h| h.join().unwrap()).sum();
        let conn = &mut pool.get().unwrap();
        let report = verify(conn).unwrap();
        assert!(report.ok, "{:?}", report.problems);
        let alice = read::balances_of(conn, &f.alice).unwrap().points;
        let bob = read::balances_of(conn, &f.bob).unwrap().points;
        assert!(!alice.is_negative() && !bob.is_negative());
        eprintln!("alice {alice}, bob {bob}, refused {refused}");
    });
}

#[derive(Debug, Clone)]
enum Op {
    Earn(usize, i64),
    Spend(usize, i64),
    Gift(usize, i64),
    Reverse(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..2usize, 1..2_000i64).prop_map(|(w, a)| Op::Earn(w, a)),
        (0..2usize, 1..2_000i64).prop_map(|(w, a)| Op::Spend(w, a)),
        (0..2usize, 1..2_000i64).prop_map(|(w, a)| Op::Gift(w, a)),
        (0..64usize).prop_map(Op::Reverse),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// After any sequence of posts and reversals: every transaction sums to
    /// zero, every balance equals the sum of its postings, no wallet is
    /// negative, and the cached balances match a model kept here.
    #[test]
    fn invariants_hold_for_any_sequence(ops in proptest::collection::vec(op(), 1..30)) {
        let db = TestDb::sqlite();
        let pool = db.pool(2).unwrap();
        let conn = &mut pool.get().unwrap();
        let f = fixture(conn);
        let wallets = [f.alice.clone(), f.bob.clone()];
        let mut model = [0i64; 2];
        let mut posted: Vec<(String, Vec<(usize, i64)>)> = Vec::new();
        for op in ops {
            let (tx, effect) = match op {
                Op::Earn(w, a) => (earn(&f, &wallets[w], &Amount::from_units(a).to_string(), None), vec![(w, a)]),
                Op::Spend(w, a) => (transfer(TxKind::Redeem, &wallets[w], &f.sink, Asset::Point, Amount::from_units(a), None), vec![(w, -a)]),
                Op::Gift(w, a) => (transfer(TxKind::Gift, &wallets[w], &wallets[1 - w], Asset::Point, Amount::from_units(a), None), vec![(w, -a), (1 - w, a)]),
                Op::Reverse(i) => {
                    let Some((id, effect)) = posted.get(i % posted.len().max(1)).cloned() else { continue };
                    let would = effect.iter().all(|(w, a)| model[*w] - a >= 0);
                    match reverse(conn, &id, None, "prop", None) {
                        Ok(_) => {
                            prop_assert!(would);
                            for (w, a) in &effect { model[*w] -= a; }
                            posted.retain(|(p, _)| p != &id);
                        }
                        Err(LedgerError::InsufficientBalance { .. }) => prop_assert!(!would),
                        Err(e) => prop_assert!(false, "unexpected {e:?}"),
                    }
                    continue;
                }
            };
            let would = effect.iter().all(|(w, a)| model[*w] + a >= 0);
            match post(conn, &tx) {
                Ok(p) => {
                    prop_assert!(would);
                    for (w, a) in &effect { model[*w] += a; }
                    posted.push((p.transaction.id, effect));
                }
                Err(LedgerError::InsufficientBalance { .. }) => prop_assert!(!would),
                Err(e) => prop_assert!(false, "unexpected {e:?}"),
            }
            for (w, wallet) in wallets.iter().enumerate() {
                prop_assert_eq!(read::balances_of(conn, wallet).unwrap().points.units(), model[w]);
            }
        }
        let report = verify(conn).unwrap();
        prop_assert!(report.ok, "{:?}", report.problems);
    }
}
