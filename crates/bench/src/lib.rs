//! The benchmark behind `scripts/bench/run`: the storage engine's own limit
//! and timebank over HTTP, measured side by side in one run, reported as
//! ratios (figures move from run to run; ratios in one run do not).

pub mod load;
pub mod report;
pub mod seed;
pub mod server;
pub mod storage;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use timebank_store::DatabaseUrl;

use crate::load::{Clients, Mix};
use crate::report::{Report, Row};
use crate::server::{Launch, RssPeak};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    pub timebank: PathBuf,
    pub backend: Backend,
    /// A Postgres server URL (its database is replaced by `timebank_bench`).
    pub postgres_url: Option<String>,
    pub work_dir: PathBuf,
    pub volunteers: usize,
    pub sites: usize,
    pub seconds: u64,
    pub concurrency: Vec<usize>,
    pub attendances: usize,
    pub scale_postings: i64,
    /// Extra flags for `timebank serve`.
    pub serve_args: Vec<String>,
}

impl Options {
    /// The sizes the performance goals are stated for.
    pub fn full(timebank: PathBuf, backend: Backend, work_dir: PathBuf) -> Self {
        Self {
            timebank,
            backend,
            postgres_url: None,
            work_dir,
            volunteers: 10_000,
            sites: 100,
            seconds: 10,
            concurrency: vec![1, 16, 64],
            attendances: 1_000_000,
            scale_postings: 5_000_000,
            serve_args: Vec::new(),
        }
    }

    /// Small enough for a test: proves every step runs, measures nothing.
    pub fn quick(timebank: PathBuf, backend: Backend, work_dir: PathBuf) -> Self {
        Self {
            volunteers: 200,
            sites: 5,
            seconds: 1,
            concurrency: vec![1, 4],
            attendances: 1_000,
            scale_postings: 30_000,
            ..Self::full(timebank, backend, work_dir)
        }
    }
}

pub const JWT_SECRET: &str = "bench-secret-not-for-production";

fn progress(label: &str) -> impl Fn(i64) + '_ {
    let last = std::cell::Cell::new(Instant::now());
    move |n| {
        if last.get().elapsed() > Duration::from_secs(5) {
            eprintln!("  {label}: {n}");
            last.set(Instant::now());
        }
    }
}

/// (steal, total) CPU ticks of the whole machine so far, from /proc/stat:
/// on a shared VM, time the hypervisor gave to others.
fn cpu_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let fields: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    (fields.get(7).copied().unwrap_or(0), fields.iter().sum())
}

/// Runs every measurement and returns the report.
pub fn run(opts: &Options) -> anyhow::Result<Report> {
    std::fs::create_dir_all(&opts.work_dir)?;
    let mut report = Report::new(opts);
    let ticks_at_start = cpu_ticks();
    let duration = Duration::from_secs(opts.seconds);

    eprintln!("storage limit…");
    let database_url = match opts.backend {
        Backend::Sqlite => {
            for batch in [1, 100, 1000] {
                let rate = storage::sqlite_rate(&opts.work_dir, batch, duration)?;
                report
                    .storage
                    .push((format!("SQLite, 1 writer, {batch}/tx"), rate));
                report.set_limit(1, batch, rate);
            }
            let path = opts.work_dir.join("timebank-bench.db");
            server::remove_sqlite(&path);
            format!("sqlite://{}", path.display())
        }
        Backend::Postgres => {
            let server_url = opts
                .postgres_url
                .clone()
                .context("the postgres backend needs BENCH_DATABASE_URL")?;
            let url = fresh_postgres_database(&server_url, "timebank_bench")?;
            let pgbench = storage::find_pgbench().context("pgbench not found")?;
            storage::postgres_prepare(&url)?;
            for clients in [1, 16, 64] {
                let rate =
                    storage::pgbench_rate(&pgbench, &url, &opts.work_dir, clients, 1, duration)?;
                let noun = if clients == 1 { "client" } else { "clients" };
                report
                    .storage
                    .push((format!("pgbench, {clients} {noun}, 1/tx"), rate));
                report.set_limit(clients, 1, rate);
            }
            // One client: concurrent batches of random transfers would
            // deadlock each other, which measures the script, not Postgres.
            let rate = storage::pgbench_rate(&pgbench, &url, &opts.work_dir, 1, 100, duration)?;
            report
                .storage
                .push(("pgbench, 1 client, 100/tx".to_owned(), rate));
            report.set_limit(1, 100, rate);
            url
        }
    };

    let launch = Launch {
        binary: opts.timebank.clone(),
        database_url: database_url.clone(),
        jwt_secret: JWT_SECRET.to_owned(),
        log_file: opts.work_dir.join("server.log"),
        extra: opts.serve_args.clone(),
    };
    launch.command(&["migrate"])?;
    let url = DatabaseUrl::parse(&database_url).map_err(|e| anyhow::anyhow!("{e}"))?;
    let pool = timebank_store::connect_and_migrate(&url, 2)?;
    eprintln!(
        "loading {} volunteers and {} sites…",
        opts.volunteers, opts.sites
    );
    let fixture = {
        let mut conn = pool.get()?;
        seed::district(&mut conn, opts.volunteers, opts.sites)?
    };
    std::fs::write(
        opts.work_dir.join("fixture.json"),
        serde_json::to_string(&fixture)?,
    )?;
    let clients = Arc::new(Clients::new(fixture.clone(), JWT_SECRET)?);

    analyze(&mut *pool.get()?)?;
    let server = launch.start()?;
    let small_postings = seed::posting_count(&mut *pool.get()?)?;
    let mut small_write = None;
    for &c in &opts.concurrency {
        let row = measure(&server, &clients, Mix::Write, c, duration, "write")?;
        if c == scale_concurrency(opts) {
            small_write = Some(row.result.throughput);
        }
        report.push_service(row, opts.backend);
    }
    let top = *opts.concurrency.iter().max().context("no concurrency")?;
    report.push_service(
        measure(&server, &clients, Mix::Read, top, duration, "read")?,
        opts.backend,
    );
    report.push_service(
        measure(&server, &clients, Mix::MeRead, top, duration, "read /me")?,
        opts.backend,
    );
    report.push_service(
        measure(&server, &clients, Mix::Mixed, top, duration, "mixed")?,
        opts.backend,
    );
    server.stop()?;

    eprintln!("settle: loading {} attendance rows…", opts.attendances);
    {
        let mut conn = pool.get()?;
        let report_rows = progress("attendance rows");
        seed::attendances(&mut conn, &fixture, opts.attendances, &|n| {
            report_rows(n as i64)
        })?;
    }
    let started = Instant::now();
    launch.command(&["settle"])?;
    let seconds = started.elapsed().as_secs_f64();
    report.settle(opts.attendances, seconds, opts.backend);

    eprintln!(
        "scale: growing the ledger to {} postings…",
        opts.scale_postings
    );
    {
        let mut conn = pool.get()?;
        seed::grow_ledger(
            &mut conn,
            &fixture,
            opts.scale_postings,
            &progress("postings"),
        )?;
    }
    let large_postings = seed::posting_count(&mut *pool.get()?)?;
    analyze(&mut *pool.get()?)?;
    let server = launch.start()?;
    let c = scale_concurrency(opts);
    let large = measure(&server, &clients, Mix::Write, c, duration, "write (scale)")?;
    server.stop()?;
    report.scale(
        c,
        small_postings,
        small_write.context("no small-ledger write rate")?,
        large_postings,
        large.result.throughput,
    );
    report.push_service(large, opts.backend);

    eprintln!("verify…");
    let verified = launch.command(&["verify"])?;
    let ok: serde_json::Value = serde_json::from_str(&verified)?;
    if ok["ok"] != serde_json::Value::Bool(true) {
        bail!("verify found problems after the run: {verified}");
    }
    let ticks = cpu_ticks();
    let total = ticks.1.saturating_sub(ticks_at_start.1).max(1);
    report.steal_percent = 100.0 * ticks.0.saturating_sub(ticks_at_start.0) as f64 / total as f64;
    Ok(report)
}

/// Fresh planner statistics after a bulk load (Postgres), as an operator
/// would have them; SQLite plans without statistics.
fn analyze(conn: &mut timebank_store::DbConnection) -> anyhow::Result<()> {
    use diesel::connection::SimpleConnection;
    if let timebank_store::DbConnection::Pg(pg) = conn {
        pg.batch_execute("VACUUM ANALYZE")?;
    }
    Ok(())
}

/// The write concurrency compared at both ledger sizes.
fn scale_concurrency(opts: &Options) -> usize {
    if opts.concurrency.contains(&16) {
        16
    } else {
        opts.concurrency.iter().copied().max().unwrap_or(1)
    }
}

fn measure(
    server: &server::Server,
    clients: &Arc<Clients>,
    mix: Mix,
    concurrency: usize,
    duration: Duration,
    label: &str,
) -> anyhow::Result<Row> {
    eprintln!(
        "{label}: {concurrency} connections for {} s…",
        duration.as_secs()
    );
    let rss = RssPeak::watch(server.pid());
    let ticks = cpu_ticks();
    // None when /metrics is not on the public address (--metrics-bind).
    let statements_before = load::statements_sent(server.addr).ok();
    let result = load::run(server.addr, clients.clone(), mix, concurrency, duration)?;
    let statements = statements_before.and_then(|before| {
        Some(
            load::statements_sent(server.addr)
                .ok()?
                .saturating_sub(before),
        )
    });
    let peak = rss.finish();
    let after = cpu_ticks();
    let steal_percent = 100.0 * after.0.saturating_sub(ticks.0) as f64
        / after.1.saturating_sub(ticks.1).max(1) as f64;
    if result.errors > 0 {
        bail!(
            "{label}: {} of {} requests failed, e.g. {:?}",
            result.errors,
            result.requests,
            result.error_samples
        );
    }
    let statements_per_request = statements.map(|n| n as f64 / result.requests.max(1) as f64);
    Ok(Row {
        scenario: label.to_owned(),
        mix,
        concurrency,
        result,
        rss_mib: peak,
        steal_percent,
        statements_per_request,
    })
}

/// Drops and creates `name` on the server at `server_url`; returns its URL.
fn fresh_postgres_database(server_url: &str, name: &str) -> anyhow::Result<String> {
    use diesel::Connection;
    use diesel::connection::SimpleConnection;
    let mut conn = diesel::PgConnection::establish(server_url)?;
    conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
    conn.batch_execute(&format!("CREATE DATABASE {name}"))?;
    Ok(with_database(server_url, name))
}

/// `url` with its database name replaced by (or set to) `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let after_scheme = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_end = base[after_scheme..]
        .find('/')
        .map(|i| after_scheme + i)
        .unwrap_or(base.len());
    format!("{}/{name}{query}", &base[..host_end])
}

/// One line naming the machine: CPU model, cores, memory, kernel.
pub fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0 / 1024.0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "Machine: {model}, {cores} cores, {mem_gib:.0} GiB, Linux {}; measured {}.",
        kernel.trim(),
        chrono::Utc::now().format("%Y-%m-%d")
    )
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_name_is_replaced_or_added() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/test", "b"),
            "postgres://postgres@127.0.0.1:5432/b"
        );
        assert_eq!(
            with_database("postgres://h:5432?sslmode=disable", "b"),
            "postgres://h:5432/b?sslmode=disable"
        );
    }
}
