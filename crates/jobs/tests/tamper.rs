//! Someone with write access to the database edits the ledger behind the
//! service's back, in every way we can think of; `verify` (postings, hash
//! chains, transactions, balances and checkpoints) must catch each one.
//! The append-only triggers refuse these edits first, so each case begins by
//! removing them, as a database owner could.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

use diesel::RunQueryDsl;
use diesel::connection::SimpleConnection;
use timebank_ledger::{AccountKind, Amount, Asset, NewPosting, NewTransaction, TxKind};
use timebank_store::testing::TestDb;
use timebank_store::{Backend, DbConnection};

struct Ledger {
    alice: String,
    sink: String,
}

fn transfer(kind: TxKind, from: &str, to: &str, amount: &str) -> NewTransaction {
    let amount = Amount::parse(amount).unwrap();
    NewTransaction {
        kind,
        actor_id: Some("tester".into()),
        reason: "test".into(),
        external_id: None,
        rule_version: None,
        request_id: None,
        postings: vec![
            NewPosting {
                account_id: from.into(),
                asset: Asset::Point,
                amount: amount.checked_neg().unwrap(),
            },
            NewPosting {
                account_id: to.into(),
                asset: Asset::Point,
                amount,
            },
        ],
    }
}

/// Alice earns 5 and 3, Bob earns 7, Alice spends 2 at a site; then a
/// checkpoint records every chain head. Verify is clean.
fn ledger(conn: &mut DbConnection) -> Ledger {
    let path = "/city/district/";
    let open = |conn: &mut DbConnection, kind, owner| {
        timebank_ledger::open_account(conn, kind, owner, path)
            .unwrap()
            .id
    };
    let issuer = open(conn, AccountKind::OrgIssuance, "org-1");
    let alice = open(conn, AccountKind::VolunteerWallet, "alice");
    let bob = open(conn, AccountKind::VolunteerWallet, "bob");
    let sink = open(conn, AccountKind::SiteSink, "site-1");
    for (to, points) in [(&alice, "5"), (&bob, "7"), (&alice, "3")] {
        timebank_ledger::post(conn, &transfer(TxKind::EarnHours, &issuer, to, points)).unwrap();
    }
    timebank_ledger::post(conn, &transfer(TxKind::Redeem, &alice, &sink, "2")).unwrap();
    timebank_jobs::write_checkpoint(conn).unwrap();
    assert!(timebank_jobs::verify(conn).unwrap().ok);
    Ledger { alice, sink }
}

fn drop_append_only_triggers(conn: &mut DbConnection, backend: Backend) {
    let sql = match backend {
        Backend::Sqlite => {
            "DROP TRIGGER postings_no_update; DROP TRIGGER postings_no_delete;
             DROP TRIGGER transactions_no_update; DROP TRIGGER transactions_no_delete;"
        }
        Backend::Postgres => {
            "ALTER TABLE postings DISABLE TRIGGER postings_append_only;
             ALTER TABLE transactions DISABLE TRIGGER transactions_append_only;"
        }
    };
    conn.batch_execute(sql).unwrap();
}

/// One way of tampering: what it does (SQL with `{alice}`/`{sink}` filled
/// in) and the problem codes verify must report (at least one of them).
struct Tamper {
    name: &'static str,
    sql: &'static str,
    caught_as: &'static [&'static str],
}

const TAMPERS: &[Tamper] = &[
    Tamper {
        name: "edit an amount",
        sql: "UPDATE postings SET amount = amount + 10000 WHERE account_id = '{alice}' AND seq = 1",
        caught_as: &["hash_mismatch", "balance_after_mismatch", "unbalanced_transaction"],
    },
    Tamper {
        name: "edit an amount and its balance_after",
        sql: "UPDATE postings SET amount = 50000, balance_after = 50000 WHERE account_id = '{alice}' AND seq = 1",
        caught_as: &["hash_mismatch", "unbalanced_transaction"],
    },
    Tamper {
        name: "edit a cached balance",
        sql: "UPDATE balances SET amount = 99900 WHERE account_id = '{alice}' AND asset = 'POINT'",
        caught_as: &["balance_mismatch"],
    },
    Tamper {
        name: "edit a transaction's reason",
        sql: "UPDATE transactions SET reason = 'edited' WHERE id IN (SELECT transaction_id FROM postings WHERE account_id = '{sink}')",
        caught_as: &["hash_mismatch"],
    },
    Tamper {
        name: "delete a posting",
        sql: "DELETE FROM postings WHERE account_id = '{alice}' AND seq = 2",
        caught_as: &["sequence_gap", "too_few_postings"],
    },
    Tamper {
        name: "delete a whole transaction (both postings and the row)",
        sql: "DELETE FROM postings WHERE transaction_id IN (SELECT transaction_id FROM postings WHERE account_id = '{sink}');
              DELETE FROM transactions WHERE id NOT IN (SELECT transaction_id FROM postings)",
        caught_as: &["head_mismatch", "balance_mismatch"],
    },
    Tamper {
        name: "insert a forged posting",
        sql: "INSERT INTO postings (id, transaction_id, account_id, seq, asset, amount, balance_after, prev_hash, hash, created_at)
              SELECT 'forged-1', transaction_id, account_id, 4, asset, 100000, 100600, hash, hash, created_at
              FROM postings WHERE account_id = '{alice}' AND seq = 3",
        caught_as: &["hash_mismatch", "head_mismatch", "unbalanced_transaction"],
    },
    Tamper {
        name: "reorder two postings",
        sql: "UPDATE postings SET seq = 100 WHERE account_id = '{alice}' AND seq = 1;
              UPDATE postings SET seq = 1 WHERE account_id = '{alice}' AND seq = 2;
              UPDATE postings SET seq = 2 WHERE account_id = '{alice}' AND seq = 100",
        caught_as: &["chain_broken", "hash_mismatch"],
    },
    // A careful forger removes Alice's last spending and rolls every account
    // it touched back to its previous head and balance: each chain is
    // consistent again, and only the checkpoint still remembers the heads.
    Tamper {
        name: "truncate a chain consistently (caught by the checkpoint)",
        sql: "DELETE FROM postings WHERE transaction_id IN (SELECT transaction_id FROM postings WHERE account_id = '{sink}');
              DELETE FROM transactions WHERE id NOT IN (SELECT transaction_id FROM postings);
              UPDATE accounts SET last_seq = 2, head_hash = (SELECT hash FROM postings WHERE account_id = '{alice}' AND seq = 2) WHERE id = '{alice}';
              UPDATE accounts SET last_seq = 0, head_hash = '{genesis}' WHERE id = '{sink}';
              UPDATE balances SET amount = 800 WHERE account_id = '{alice}' AND asset = 'POINT';
              UPDATE balances SET amount = 0 WHERE account_id = '{sink}' AND asset = 'POINT'",
        caught_as: &["checkpoint_not_extended"],
    },
    Tamper {
        name: "edit a checkpoint's recorded head",
        sql: "UPDATE checkpoint_heads SET seq = 2 WHERE account_id = '{alice}'",
        caught_as: &["checkpoint_altered"],
    },
];

#[test]
fn verify_catches_every_kind_of_tampering() {
    let mut caught = 0;
    for tamper in TAMPERS {
        for db in TestDb::all() {
            let pool = db.pool(1).unwrap();
            let conn = &mut pool.get().unwrap();
            let l = ledger(conn);
            drop_append_only_triggers(conn, db.backend());
            let sql = tamper
                .sql
                .replace("{alice}", &l.alice)
                .replace("{sink}", &l.sink)
                .replace("{genesis}", timebank_ledger::hash::GENESIS_HASH);
            conn.batch_execute(&sql)
                .unwrap_or_else(|e| panic!("{} on {:?}: {e}", tamper.name, db.backend()));
            let report = timebank_jobs::verify(conn).unwrap();
            let codes: Vec<&str> = report.problems.iter().map(|p| p.code).collect();
            assert!(
                !report.ok && codes.iter().any(|c| tamper.caught_as.contains(c)),
                "{} on {:?} was not caught as {:?}: {codes:?}",
                tamper.name,
                db.backend(),
                tamper.caught_as
            );
            if tamper.caught_as == ["checkpoint_not_extended"] {
                // The chains alone look fine: the checkpoint is what caught it.
                assert!(timebank_ledger::verify(conn).unwrap().ok, "{codes:?}");
            }
            caught += 1;
        }
    }
    eprintln!("tampering caught: {caught} of {caught} edits");
}

/// Without removing the triggers, none of those edits gets in at all.
#[test]
fn the_database_refuses_edits_to_the_ledger() {
    for db in TestDb::all() {
        let pool = db.pool(1).unwrap();
        let conn = &mut pool.get().unwrap();
        let l = ledger(conn);
        for sql in [
            "UPDATE postings SET amount = amount + 1",
            "DELETE FROM postings WHERE seq = 1",
            "UPDATE transactions SET reason = 'x'",
            "DELETE FROM transactions",
        ] {
            let err = diesel::sql_query(sql).execute(conn).expect_err(sql);
            assert!(err.to_string().contains("append-only"), "{sql}: {err}");
        }
        assert!(timebank_jobs::verify(conn).unwrap().ok);
        let _ = l;
    }
}
