use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use timebank_bench::{Backend, Options};

/// Measures timebank against its storage engine's own limit; prints a
/// table and writes it to `<out>/<date>-<backend>.md`.
#[derive(Debug, Parser)]
#[command(name = "timebank-bench")]
struct Args {
    /// Only drive load at a server already running on this address, using
    /// the district the last run loaded (<work-dir>/fixture.json): for
    /// profiling one scenario.
    #[arg(long)]
    load_only: Option<std::net::SocketAddr>,
    /// With --load-only: write, read, read-me or mixed.
    #[arg(long, default_value = "write")]
    mix: String,
    /// With --load-only.
    #[arg(long, default_value_t = 1)]
    concurrency: usize,
    /// The `timebank` binary to run (build it with --release).
    #[arg(long, default_value = "target/release/timebank")]
    timebank: PathBuf,
    /// sqlite, or postgres (needs BENCH_DATABASE_URL).
    #[arg(long, default_value = "sqlite")]
    backend: String,
    /// A PostgreSQL server; the database `timebank_bench` on it is replaced.
    #[arg(long, env = "BENCH_DATABASE_URL")]
    postgres_url: Option<String>,
    /// Small sizes: checks every step runs, measures nothing worth keeping.
    #[arg(long)]
    quick: bool,
    /// Seconds per load.
    #[arg(long)]
    seconds: Option<u64>,
    #[arg(long)]
    volunteers: Option<usize>,
    #[arg(long)]
    attendances: Option<usize>,
    #[arg(long)]
    scale_postings: Option<i64>,
    /// Extra flag for `timebank serve` (repeatable).
    #[arg(long = "serve-arg", allow_hyphen_values = true)]
    serve_args: Vec<String>,
    #[arg(long, default_value = "target/bench")]
    work_dir: PathBuf,
    #[arg(long, default_value = "scripts/bench/results")]
    out: PathBuf,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    let backend = match args.backend.as_str() {
        "sqlite" => Backend::Sqlite,
        "postgres" => Backend::Postgres,
        other => anyhow::bail!("--backend {other:?}: use sqlite or postgres"),
    };
    if let Some(addr) = args.load_only {
        return load_only(addr, &args);
    }
    let mut opts = if args.quick {
        Options::quick(args.timebank, backend, args.work_dir)
    } else {
        Options::full(args.timebank, backend, args.work_dir)
    };
    opts.postgres_url = args.postgres_url;
    opts.serve_args = args.serve_args;
    if let Some(s) = args.seconds {
        opts.seconds = s;
    }
    if let Some(n) = args.volunteers {
        opts.volunteers = n.max(1);
    }
    if let Some(n) = args.attendances {
        opts.attendances = n;
    }
    if let Some(n) = args.scale_postings {
        opts.scale_postings = n;
    }
    let report = timebank_bench::run(&opts)?;
    let table = report.markdown(&timebank_bench::machine());
    println!("{table}");
    if !args.quick {
        std::fs::create_dir_all(&args.out)?;
        let file = args.out.join(format!(
            "{}-{}.md",
            chrono::Utc::now().format("%Y-%m-%d"),
            backend.name()
        ));
        std::fs::write(&file, &table)?;
        eprintln!("written to {}", file.display());
    }
    Ok(())
}

fn load_only(addr: std::net::SocketAddr, args: &Args) -> anyhow::Result<()> {
    use timebank_bench::load::{self, Clients, Mix};
    let mix = match args.mix.as_str() {
        "write" => Mix::Write,
        "read" => Mix::Read,
        "read-me" => Mix::MeRead,
        "mixed" => Mix::Mixed,
        other => anyhow::bail!("--mix {other:?}: use write, read, read-me or mixed"),
    };
    let fixture = serde_json::from_str(&std::fs::read_to_string(
        args.work_dir.join("fixture.json"),
    )?)?;
    let clients = std::sync::Arc::new(Clients::new(fixture, timebank_bench::JWT_SECRET)?);
    let result = load::run(
        addr,
        clients,
        mix,
        args.concurrency,
        std::time::Duration::from_secs(args.seconds.unwrap_or(5)),
    )?;
    println!("{}", serde_json::to_string_pretty(&result)?);
    Ok(())
}
