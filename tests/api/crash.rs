//! Crashes under write load: the server killed with SIGKILL mid-load and
//! restarted; on Postgres also the database stopped with `pg_ctl stop -m
//! immediate` mid-load and started again under the running server. Every
//! order answered 2xx must be in the ledger, nothing half-applied, every
//! interrupted request converges when retried with its key, verify clean.
//!
//! `CRASH_CYCLES` and `CRASH_SEED` size and replay it (`scripts/soak/run`).

use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use timebank_store::testing::TestDb;

use crate::helpers::*;
use crate::storm::{Answer, Rng, Start, agent, assert_consistent, env_size, order, seed};

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

struct Shop<'a> {
    url: String,
    site: &'a str,
    item: &'a str,
    wallets: &'a [(String, String)],
}

/// Clients order until `stop`; a client stops at its first transport error
/// (the server is gone).
fn write_load(shop: &Shop, load: &Load, stop: &AtomicBool, cycle: usize, ctx: &str) {
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
                    let body = json!({ "item_id": shop.item, "site_id": shop.site, "quantity": 1 });
                    match order(http, &shop.url, &shop.wallets[wallet].1, &key, &body) {
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
fn settle_unknowns(shop: &Shop, load: &Load, ctx: &str) -> usize {
    let http = agent(Duration::from_secs(30));
    let unknown = std::mem::take(&mut *load.unknown.lock().unwrap());
    for (wallet, key, body) in &unknown {
        let mut tries = 0;
        let answer = loop {
            match order(&http, &shop.url, &shop.wallets[*wallet].1, key, body) {
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

fn setup(app: &App) -> (Tree, String, String, Vec<(String, String)>) {
    let t = tree(app);
    let (site, item) = oil_shop(app, &t, STOCK);
    let wallets = (0..WALLETS)
        .map(|i| {
            let (id, token) = app.active_volunteer(
                &format!("崩溃{i}"),
                &format!("1340000{i:04}"),
                &t.community_a,
            );
            earn(app, &id, &t.community_a, &format!("{}.00", FUNDED / 100));
            (id, token)
        })
        .collect();
    (t, site, item, wallets)
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
        let (t, site, item, wallets) = setup(&app);
        let load = Load::default();
        let mut rng = Rng::new(seed);
        let (mut interrupted, mut answered) = (0, 0);
        for cycle in 0..cycles {
            let stop = AtomicBool::new(false);
            let shop = Shop {
                url: app.url.clone(),
                site: &site,
                item: &item,
                wallets: &wallets,
            };
            let delay = Duration::from_millis(150 + rng.below(500));
            std::thread::scope(|s| {
                s.spawn(|| write_load(&shop, &load, &stop, cycle, &ctx));
                std::thread::sleep(delay);
                app.kill();
                stop.store(true, Ordering::Relaxed);
            });
            app.restart(&[]);
            let shop = Shop {
                url: app.url.clone(),
                ..shop
            };
            interrupted += settle_unknowns(&shop, &load, &ctx);
        }
        let answers = load.answers.into_inner().unwrap();
        answered += answers.len();
        let orders = assert_consistent(
            &app,
            &ctx,
            &t,
            &site,
            &wallets,
            &answers,
            Start {
                stock: STOCK,
                funded: FUNDED,
            },
        );
        assert_verify_cli(&app);
        eprintln!(
            "kill -9 on {:?}: {cycles} kills, {answered} answers, {interrupted} interrupted requests retried, {orders} orders, 0 problems",
            app.db.backend()
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
    let (t, site, item, wallets) = setup(&app);
    let load = Load::default();
    let mut rng = Rng::new(seed);
    let mut interrupted = 0;
    let shop = Shop {
        url: app.url.clone(),
        site: &site,
        item: &item,
        wallets: &wallets,
    };
    for cycle in 0..cycles {
        let stop = AtomicBool::new(false);
        let delay = Duration::from_millis(150 + rng.below(500));
        std::thread::scope(|s| {
            s.spawn(|| write_load(&shop, &load, &stop, cycle, &ctx));
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
        interrupted += settle_unknowns(&shop, &load, &ctx);
    }
    let answers = load.answers.into_inner().unwrap();
    let orders = assert_consistent(
        &app,
        &ctx,
        &t,
        &site,
        &wallets,
        &answers,
        Start {
            stock: STOCK,
            funded: FUNDED,
        },
    );
    assert_verify_cli(&app);
    eprintln!(
        "pg_ctl stop -m immediate: {cycles} stops, {} answers, {interrupted} interrupted requests retried, {orders} orders, 0 problems",
        answers.len()
    );
}

/// A throwaway Postgres cluster this test may stop and start, under the
/// system temp dir, run as the `postgres` user when we are root.
pub struct PgCluster {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
}

impl PgCluster {
    pub fn start() -> Option<Self> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .and_then(|dirs| {
                dirs.filter_map(Result::ok)
                    .map(|d| d.path().join("bin"))
                    .filter(|b| b.join("pg_ctl").exists())
                    .max()
            });
        let Some(bin) = bin else {
            // Same rule as TestDb: under CI a missing Postgres is a failure.
            assert!(
                std::env::var("CI").is_err(),
                "CI=true but no Postgres server binaries to start a private cluster"
            );
            eprintln!("postgres: skipped (no PostgreSQL server binaries for a private cluster)");
            return None;
        };
        let uid = Command::new("id").arg("-u").output().unwrap();
        let as_postgres = String::from_utf8_lossy(&uid.stdout).trim() == "0";
        let dir = std::env::temp_dir().join(format!("timebank-pg-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        if as_postgres {
            let status = Command::new("chown")
                .args(["postgres", dir.to_str().unwrap()])
                .status()
                .unwrap();
            assert!(status.success());
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cluster = Self {
            dir,
            bin,
            port,
            as_postgres,
        };
        let data = cluster.dir.join("data");
        cluster.run(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                "postgres",
                "--auth=trust",
            ],
        );
        cluster.start_server();
        Some(cluster)
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let exe = self.bin.join(tool);
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let out = command.args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{tool} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Sets the soft file-size limit of the postmaster and every backend
    /// (new backends inherit the postmaster's): with `0`, every write to a
    /// data or WAL file fails as on a full disk. Run as the server's user.
    pub fn limit_file_size(&self, limit: &str) {
        let pid_file =
            std::fs::read_to_string(self.dir.join("data/postmaster.pid")).unwrap_or_default();
        let Some(postmaster) = pid_file
            .lines()
            .next()
            .map(str::trim)
            .filter(|p| !p.is_empty())
        else {
            return; // not running: nothing to limit
        };
        let children = Command::new("pgrep")
            .args(["-P", postmaster])
            .output()
            .unwrap();
        let children = String::from_utf8_lossy(&children.stdout).to_string();
        for pid in std::iter::once(postmaster).chain(children.split_whitespace()) {
            let mut command = if self.as_postgres {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--", "prlimit"]);
                c
            } else {
                Command::new("prlimit")
            };
            // A backend may have ended meanwhile: its error does not matter.
            let _ = command
                .args(["--pid", pid, &format!("--fsize={limit}:")])
                .output();
        }
    }

    /// Starts the server again if it has shut itself down (as Postgres does
    /// when it cannot write its WAL).
    pub fn ensure_running(&self) {
        let data = self.dir.join("data");
        let running = Command::new(self.bin.join("pg_ctl"))
            .args(["-D", data.to_str().unwrap(), "status"])
            .status()
            .is_ok_and(|s| s.success());
        if !running {
            eprintln!("postgres had shut itself down; starting it again");
            self.start_server();
        }
    }

    fn pg_ctl(&self, args: &[&str]) {
        let data = self.dir.join("data");
        let mut all = vec!["-D", data.to_str().unwrap(), "-w"];
        all.extend_from_slice(args);
        self.run("pg_ctl", &all);
    }

    fn start_server(&self) {
        let log = self.dir.join("log");
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.dir.display()
        );
        self.pg_ctl(&["-l", log.to_str().unwrap(), "-o", &options, "start"]);
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let _ = Command::new(self.bin.join("pg_ctl"))
            .args(["-D", data.to_str().unwrap(), "stop", "-m", "immediate"])
            .output();
        if self.as_postgres {
            let _ = Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(self.bin.join("pg_ctl"))
                .args(["-D", data.to_str().unwrap(), "stop", "-m", "immediate"])
                .output();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
