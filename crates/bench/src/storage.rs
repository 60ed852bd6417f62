//! The storage engine's own limit, measured outside timebank on the same
//! machine in the same run: per transfer, one conditional balance update for
//! each of two accounts and two entry inserts (with the balance after), the
//! minimum a double-entry ledger must write.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;

diesel::table! {
    bench_accounts (id) {
        id -> BigInt,
        balance -> BigInt,
    }
}

diesel::table! {
    bench_entries (id) {
        id -> BigInt,
        account_id -> BigInt,
        amount -> BigInt,
        balance_after -> BigInt,
    }
}

const ACCOUNTS: i64 = 10_000;
const OPENING_BALANCE: i64 = 1_000_000_000;

/// Transfers per second of a single SQLite writer with timebank's own
/// connection settings (WAL, synchronous=FULL), `batch` transfers per
/// transaction, for about `duration`.
pub fn sqlite_rate(dir: &Path, batch: usize, duration: Duration) -> anyhow::Result<f64> {
    let path = dir.join(format!("storage-limit-{batch}.db"));
    crate::server::remove_sqlite(&path);
    let mut conn = SqliteConnection::establish(&path.to_string_lossy())?;
    conn.batch_execute(timebank_store::SQLITE_SETUP)?;
    conn.batch_execute(
        "CREATE TABLE bench_accounts (id INTEGER PRIMARY KEY, balance BIGINT NOT NULL);
         CREATE TABLE bench_entries (id INTEGER PRIMARY KEY, account_id BIGINT NOT NULL,
             amount BIGINT NOT NULL, balance_after BIGINT NOT NULL);
         CREATE INDEX bench_entries_account ON bench_entries (account_id, id);",
    )?;
    conn.transaction(|c| {
        for id in 0..ACCOUNTS {
            diesel::insert_into(bench_accounts::table)
                .values((
                    bench_accounts::id.eq(id),
                    bench_accounts::balance.eq(OPENING_BALANCE),
                ))
                .execute(c)?;
        }
        QueryResult::Ok(())
    })?;
    let started = Instant::now();
    let mut done = 0u64;
    while started.elapsed() < duration {
        conn.batch_execute("BEGIN IMMEDIATE")?;
        for _ in 0..batch {
            transfer(
                &mut conn,
                fastrand::i64(0..ACCOUNTS),
                fastrand::i64(0..ACCOUNTS),
            )?;
        }
        conn.batch_execute("COMMIT")?;
        done += batch as u64;
    }
    let rate = done as f64 / started.elapsed().as_secs_f64();
    drop(conn);
    crate::server::remove_sqlite(&path);
    Ok(rate)
}

fn transfer(conn: &mut SqliteConnection, from: i64, to: i64) -> anyhow::Result<()> {
    use bench_accounts::dsl as a;
    let amount = 1i64;
    let debited: Option<i64> = diesel::update(a::bench_accounts.find(from))
        .filter(a::balance.ge(amount))
        .set(a::balance.eq(a::balance - amount))
        .returning(a::balance)
        .get_result(conn)
        .optional()?;
    let Some(after_debit) = debited else {
        bail!("account {from} ran out");
    };
    let after_credit: i64 = diesel::update(a::bench_accounts.find(to))
        .set(a::balance.eq(a::balance + amount))
        .returning(a::balance)
        .get_result(conn)?;
    diesel::insert_into(bench_entries::table)
        .values(&[
            (
                bench_entries::account_id.eq(from),
                bench_entries::amount.eq(-amount),
                bench_entries::balance_after.eq(after_debit),
            ),
            (
                bench_entries::account_id.eq(to),
                bench_entries::amount.eq(amount),
                bench_entries::balance_after.eq(after_credit),
            ),
        ])
        .execute(conn)?;
    Ok(())
}

/// The same transfer as a pgbench script, `batch` transfers per transaction.
fn pgbench_script(batch: usize) -> String {
    let mut script = String::from("BEGIN;\n");
    for n in 0..batch {
        script.push_str(&format!(
            "\\set a{n} random(1, {ACCOUNTS})\n\\set b{n} random(1, {ACCOUNTS})\n\
             UPDATE bench_accounts SET balance = balance - 1 WHERE id = :a{n} AND balance >= 1;\n\
             UPDATE bench_accounts SET balance = balance + 1 WHERE id = :b{n};\n\
             INSERT INTO bench_entries (account_id, amount, balance_after) \
             SELECT :a{n}, -1, balance FROM bench_accounts WHERE id = :a{n};\n\
             INSERT INTO bench_entries (account_id, amount, balance_after) \
             SELECT :b{n}, 1, balance FROM bench_accounts WHERE id = :b{n};\n"
        ));
    }
    script.push_str("END;\n");
    script
}

/// Creates the pgbench tables in the database at `url`.
pub fn postgres_prepare(url: &str) -> anyhow::Result<()> {
    let mut conn = PgConnection::establish(url)?;
    conn.batch_execute(&format!(
        "DROP TABLE IF EXISTS bench_entries, bench_accounts;
         CREATE TABLE bench_accounts (id BIGINT PRIMARY KEY, balance BIGINT NOT NULL);
         CREATE TABLE bench_entries (id BIGSERIAL PRIMARY KEY, account_id BIGINT NOT NULL,
             amount BIGINT NOT NULL, balance_after BIGINT NOT NULL);
         CREATE INDEX bench_entries_account ON bench_entries (account_id, id);
         INSERT INTO bench_accounts SELECT g, {OPENING_BALANCE} FROM generate_series(1, {ACCOUNTS}) g;"
    ))?;
    Ok(())
}

/// Transfers per second from pgbench with `clients` connections.
pub fn pgbench_rate(
    pgbench: &Path,
    url: &str,
    dir: &Path,
    clients: usize,
    batch: usize,
    duration: Duration,
) -> anyhow::Result<f64> {
    let script = dir.join(format!("transfer-{batch}.sql"));
    std::fs::write(&script, pgbench_script(batch))?;
    let out = Command::new(pgbench)
        .args(["-n", "-M", "prepared", "-j", "2"])
        .arg("-c")
        .arg(clients.to_string())
        .arg("-T")
        .arg(duration.as_secs().max(1).to_string())
        .arg("-f")
        .arg(&script)
        .arg(url)
        .output()
        .with_context(|| format!("running {}", pgbench.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "pgbench failed: {}{}",
            text,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // "tps = 1234.5 (without initial connection time)"
    let tps = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("tps = "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse::<f64>().ok())
        .with_context(|| format!("no tps in pgbench output: {text}"))?;
    Ok(tps * batch as f64)
}

/// pgbench from PATH or the Debian PostgreSQL layout.
pub fn find_pgbench() -> Option<std::path::PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("pgbench"))
            .find(|p| p.is_file())
    });
    on_path.or_else(|| {
        let mut found: Vec<_> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .flatten()
            .map(|e| e.path().join("bin/pgbench"))
            .filter(|p| p.is_file())
            .collect();
        found.sort();
        found.pop()
    })
}
