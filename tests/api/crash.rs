//! Crashes under write load: the server killed with SIGKILL mid-load and
//! restarted; on Postgres also the database stopped with `pg_ctl stop -m
//! immediate` mid-load and started again under the running server. Every
//! order answered 2xx must be in the ledger, nothing half-applied, every
//! interrupted request converges when retried with its key, verify clean.
//!
//! `CRASH_CYCLES` and `CRASH_SEED` size and replay it (`scripts/soak/run`).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::Value;
use timebank_store::testing::TestDb;

use crate::helpers::*;
use crate::oracle::{Answer, Shop, agent, assert_consistent, order};
use crate::pg_cluster::PgCluster;
use crate::seeded::{Rng, env_size, seed};

const CLIENTS: usize = 12;
const WALLETS: usize = 4;
const STOCK: i64 = 100_000;
const FUNDED: i64 = 100_000; // 1,000.00 points each, in hundredths

/// What a load run left: business answers, and requests whose fate the
/// client does not know (cut by the crash, or 503 while the database was
/// away), to be retried with their key.
#[derive(Default)]
struct Load {
    answers: Mutex<Vec<Answer>>,
    unknown: Mutex<Vec<(usize, String, Value)>>,
}

/// Clients order until `stop`; a client stops at its first transport error
/// (the server is gone).
fn write_load(url: &str, shop: &Shop, load: &Load, stop: &AtomicBool, cycle: usize, ctx: &str) {
    let http = agent(Duration::from_secs(10));
    std::thread::scope(|s| {
        for c in 0..CLIENTS {
            let http = &http;
            s.spawn(move || {
                for n in 0.. {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let wallet = (c + n) % shop.wallets.len();
                    let key = format!("crash-{cycle}-{c}-{n}");
                    let body = shop.order_body(1);
                    match order(http, url, &shop.wallets[wallet].1, &key, &body) {
                        Ok(a) if a.status == 503 => {
                            load.unknown.lock().unwrap().push((wallet, key, body));
                            std::thread::sleep(Duration::from_millis(50));
                        }
                        Ok(a) => {
                            assert!(
                                a.status < 300 || a.status == 422,
                                "{ctx}: unexpected answer {a:?}"
                            );
                            load.answers.lock().unwrap().push(a);
                        }
                        Err(_) => {
                            load.unknown.lock().unwrap().push((wallet, key, body));
                            break;
                        }
                    }
                }
            });
        }
    });
}

/// Retries every request whose fate is unknown until it gets a business
/// answer (the server may still be reconnecting).
fn settle_unknowns(url: &str, shop: &Shop, load: &Load, ctx: &str) -> usize {
    let http = agent(Duration::from_secs(30));
    let unknown = std::mem::take(&mut *load.unknown.lock().unwrap());
    for (wallet, key, body) in &unknown {
        let mut tries = 0;
        let answer = loop {
            match order(&http, url, &shop.wallets[*wallet].1, key, body) {
                Ok(a) if a.status != 503 => break a,
                other => {
                    tries += 1;
                    assert!(tries < 100, "{ctx}: {key} never converged: {other:?}");
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        };
        load.answers.lock().unwrap().push(answer);
    }
    unknown.len()
}

fn open_shop(app: &App) -> Shop {
    Shop::open(app, WALLETS, STOCK, FUNDED, "崩溃", "1340000")
}

/// Waits until the server answers `/readyz` (database reachable).
fn wait_ready(app: &App) {
    for _ in 0..300 {
        if app.get("/readyz", None).status == 200 {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the server never became ready again");
}

#[test]
fn server_killed_under_write_load() {
    let cycles = env_size("CRASH_CYCLES", 2);
    let seed = seed("CRASH_SEED");
    for db in TestDb::all() {
        let ctx = format!("CRASH_SEED={seed} on {:?}", db.backend());
        let mut app = spawn(db);
        let shop = open_shop(&app);
        let load = Load::default();
        let mut rng = Rng::new(seed);
        let mut interrupted = 0;
        for cycle in 0..cycles {
            let stop = AtomicBool::new(false);
            let url = app.url.clone();
            let delay = Duration::from_millis(150 + rng.below(500));
            std::thread::scope(|s| {
                s.spawn(|| write_load(&url, &shop, &load, &stop, cycle, &ctx));
                std::thread::sleep(delay);
                app.kill();
                stop.store(true, Ordering::Relaxed);
            });
            app.restart(&[]);
            interrupted += settle_unknowns(&app.url, &shop, &load, &ctx);
        }
        let answers = load.answers.into_inner().unwrap();
        let orders = assert_consistent(&app, &ctx, &shop, &answers);
        assert_verify_cli(&app);
        eprintln!(
            "kill -9 on {:?}: {cycles} kills, {} answers, {interrupted} interrupted requests retried, {orders} orders, 0 problems",
            app.db.backend(),
            answers.len()
        );
    }
}

/// `timebank verify` (ledger, stock, checkpoints) passes.
fn assert_verify_cli(app: &App) {
    let out = cli(&app.db, &["verify"]);
    assert!(
        out.status.success(),
        "verify: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn postgres_stopped_immediately_under_write_load() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let cycles = env_size("CRASH_CYCLES", 2);
    let seed = seed("CRASH_SEED");
    let ctx = format!("CRASH_SEED={seed} on a private Postgres");
    let app = spawn(TestDb::postgres_at(&cluster.url()));
    let shop = open_shop(&app);
    let load = Load::default();
    let mut rng = Rng::new(seed);
    let mut interrupted = 0;
    for cycle in 0..cycles {
        let stop = AtomicBool::new(false);
        let delay = Duration::from_millis(150 + rng.below(500));
        std::thread::scope(|s| {
            s.spawn(|| write_load(&app.url, &shop, &load, &stop, cycle, &ctx));
            std::thread::sleep(delay);
            cluster.pg_ctl(&["stop", "-m", "immediate"]);
            // The server stays up and answers 503 while its database is away.
            let r = app.get("/readyz", None);
            assert_eq!(r.status, 503, "{ctx}: {}", r.body);
            std::thread::sleep(Duration::from_millis(300));
            cluster.start_server();
            stop.store(true, Ordering::Relaxed);
        });
        wait_ready(&app);
        interrupted += settle_unknowns(&app.url, &shop, &load, &ctx);
    }
    let answers = load.answers.into_inner().unwrap();
    let orders = assert_consistent(&app, &ctx, &shop, &answers);
    assert_verify_cli(&app);
    eprintln!(
        "pg_ctl stop -m immediate: {cycles} stops, {} answers, {interrupted} interrupted requests retried, {orders} orders, 0 problems",
        answers.len()
    );
}
