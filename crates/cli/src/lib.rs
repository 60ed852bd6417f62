//! The `timebank` command line: serve, migrate, demo, verify, admin, token.
//! Exit codes: 0 success, 1 failure (or ledger problems from `verify`),
//! 2 bad usage or configuration.

mod admin;
mod config;
mod demo;
mod jobs;
mod transfer;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use config::{Config, ConfigError};

#[derive(Debug, Parser)]
#[command(
    name = "timebank",
    version,
    about = "Volunteer time bank (爱心时间银行) ledger service"
)]
struct Cli {
    #[command(flatten)]
    config: config::Args,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP API.
    Serve {
        #[arg(long, env = "TIMEBANK_BIND", default_value = "127.0.0.1:8080")]
        bind: String,
        /// HTTP worker threads (default: one per core).
        #[arg(long, env = "TIMEBANK_WORKERS")]
        workers: Option<usize>,
        /// Serve /metrics on this address only (an internal one), not on
        /// --bind.
        #[arg(long, env = "TIMEBANK_METRICS_BIND")]
        metrics_bind: Option<String>,
        /// Origins whose pages may call the API from a browser (CORS),
        /// comma-separated, e.g. https://dashboard.example.org; none by
        /// default.
        #[arg(long, env = "TIMEBANK_CORS_ORIGINS", default_value = "")]
        cors_origins: String,
        #[command(flatten)]
        group: GroupArgs,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Recompute every balance and hash chain from the postings; exit 1 on any problem.
    Verify {
        /// Also record a checkpoint of every account's chain head (printed,
        /// to keep outside the database); later verifies check the ledger
        /// still extends it.
        #[arg(long)]
        checkpoint: bool,
    },
    /// Settle finished activities and service requests past their rating window.
    Settle {
        /// Settle what ended by the end of this local day (default: now).
        #[arg(long)]
        until: Option<String>,
        /// Only this organisation's subtree: its id, or its name path
        /// (株洲市/荷塘区).
        #[arg(long = "org")]
        org_id: Option<String>,
    },
    /// Apply the earning policy's point expiry as of a date.
    Expire {
        #[arg(long = "as-of")]
        as_of: String,
    },
    /// Recompute star levels and record changes.
    Stars,
    /// Export volunteers, service records and transactions of an org subtree
    /// for the city platform (数据共享).
    Export {
        /// The org: its id, or its name path as the export writes it
        /// (株洲市/荷塘区).
        #[arg(long = "org")]
        org_id: String,
        /// First local day, YYYY-MM-DD.
        #[arg(long)]
        from: String,
        /// Last local day, YYYY-MM-DD (inclusive).
        #[arg(long)]
        to: String,
        /// csv (three files into the --out directory) or jsonl (one record a line).
        #[arg(long, default_value = "jsonl")]
        format: String,
        /// A directory for csv; a file for jsonl (default: standard output).
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// Import volunteers or paper records of hours from a CSV file.
    Import {
        #[command(subcommand)]
        what: ImportCommand,
    },
    /// Order jobs.
    Orders {
        #[command(subcommand)]
        command: OrdersCommand,
    },
    /// Manage administrators.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Print an access token for batch scripts.
    Token {
        #[arg(long)]
        role: String,
        /// Lifetime such as 30m, 1h, 7d.
        #[arg(long, default_value = "1h")]
        ttl: String,
    },
    /// Load a small demo district into ./data/demo.db (once) and serve it.
    Demo {
        #[arg(long, env = "TIMEBANK_BIND", default_value = "127.0.0.1:8080")]
        bind: String,
        #[arg(long, default_value = "./data/demo.db")]
        db: String,
    },
}

/// Commit grouping: concurrent writes share one transaction and one fsync.
#[derive(Debug, Clone, clap::Args)]
struct GroupArgs {
    /// on: writes that move points are committed in groups; off: each write
    /// commits on its own; auto: on for SQLite, off for Postgres (where one
    /// grouping writer is slower than concurrent writers, as measured by
    /// `scripts/bench/run`).
    #[arg(long, env = "TIMEBANK_GROUP_COMMIT", default_value = "auto", value_parser = ["auto", "on", "off"])]
    group_commit: String,
    /// Microseconds a writer waits for more writes before committing a group
    /// (0: group only what is already waiting).
    #[arg(long, env = "TIMEBANK_GROUP_WINDOW_US", default_value_t = 0)]
    group_window_us: u64,
    /// Writer threads (Postgres may use several; SQLite has one writer).
    #[arg(long, env = "TIMEBANK_GROUP_WRITERS", default_value_t = 1)]
    group_writers: usize,
}

impl Default for GroupArgs {
    fn default() -> Self {
        Self {
            group_commit: "auto".to_owned(),
            group_window_us: 0,
            group_writers: 1,
        }
    }
}

#[derive(Debug, Subcommand)]
enum ImportCommand {
    /// Columns: phone,name,community,status,skills,registered_at (as exported).
    Volunteers { file: String },
    /// Columns: record_id,phone,title,category,organiser,started_at,ended_at,hours,points,points_per_hour.
    Hours { file: String },
}

#[derive(Debug, Subcommand)]
enum OrdersCommand {
    /// Cancel reserved orders past their pickup window (refund, release stock).
    Expire,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create a platform admin over the root organisation (created on first use).
    Create {
        #[arg(long)]
        phone: String,
        #[arg(long)]
        password: String,
        #[arg(long)]
        org_name: String,
        /// Kind of the root organisation when it is created.
        #[arg(long, default_value = "city")]
        kind: String,
        #[arg(long, default_value = "平台管理员")]
        name: String,
    },
}

pub fn main() -> ExitCode {
    // A file-size limit or a full disk must fail the write (SQLite reports
    // an I/O error, answered 503) rather than kill the process.
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to "ignore" before any thread
    // starts; no handler runs.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    let cli = Cli::parse();
    let log_level = cli.config.log.clone();
    // A request never waits on the terminal or the pipe behind stderr: a
    // thread writes the lines. Not lossy: a full buffer slows requests
    // rather than drop operators' lines. Flushed when `_log` drops.
    let (stderr, _log) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .finish(std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&log_level)
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        // One line per finished request span: method, route, status, latency.
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .init();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            if err.downcast_ref::<ConfigError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve {
            bind,
            workers,
            metrics_bind,
            cors_origins,
            group,
        } => {
            let config = Config::load(&cli.config, None)?;
            let pool = config.connect()?;
            let listen = Listen {
                bind: &bind,
                workers,
                metrics_bind: metrics_bind.as_deref(),
                cors_origins: &cors_origins,
            };
            serve(config, pool, &listen, &group, None)
        }
        Command::Migrate => {
            let config = Config::load(&cli.config, None)?;
            let pool = config.connect()?;
            drop(pool);
            println!("migrations applied to {}", config.database.redacted());
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify { checkpoint } => {
            let config = Config::load(&cli.config, None)?;
            let pool = config.connect_existing()?;
            let mut conn = pool.get()?;
            let report = timebank_jobs::verify(&mut conn)?;
            let mut out = serde_json::to_value(&report)?;
            if report.accounts_checked == 0 {
                out["empty"] = true.into();
                eprintln!(
                    "the ledger of {} is empty: nothing was checked",
                    config.database.redacted()
                );
            }
            if report.ok && checkpoint {
                out["checkpoint"] =
                    serde_json::to_value(timebank_jobs::write_checkpoint(&mut conn)?)?;
            }
            // One JSON document, whatever was asked.
            println!("{}", serde_json::to_string_pretty(&out)?);
            Ok(if report.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Settle { until, org_id } => {
            let until = match until {
                Some(day) => {
                    timebank_jobs::Until::EndOfLocalDay(jobs::parse_date(&day, "--until")?)
                }
                None => timebank_jobs::Until::At(timebank_store::now()),
            };
            let pool = Config::load(&cli.config, None)?.connect()?;
            jobs::run_cli(&pool, timebank_jobs::Job::Settle { until, org_id })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Expire { as_of } => {
            let as_of = jobs::parse_date(&as_of, "--as-of")?;
            let pool = Config::load(&cli.config, None)?.connect()?;
            jobs::run_cli(&pool, timebank_jobs::Job::Expire { as_of })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Stars => {
            let pool = Config::load(&cli.config, None)?.connect()?;
            jobs::run_cli(&pool, timebank_jobs::Job::Stars)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Export {
            org_id,
            from,
            to,
            format,
            out,
        } => {
            let pool = Config::load(&cli.config, None)?.connect_existing()?;
            transfer::export(&pool, &org_id, &from, &to, &format, out.as_deref())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Import { what } => {
            let pool = Config::load(&cli.config, None)?.connect()?;
            let clean = match what {
                ImportCommand::Volunteers { file } => transfer::import(&pool, &file, false)?,
                ImportCommand::Hours { file } => transfer::import(&pool, &file, true)?,
            };
            Ok(if clean {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Orders {
            command: OrdersCommand::Expire,
        } => {
            let pool = Config::load(&cli.config, None)?.connect()?;
            jobs::run_cli(&pool, timebank_jobs::Job::OrdersExpire)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Admin {
            command:
                AdminCommand::Create {
                    phone,
                    password,
                    org_name,
                    kind,
                    name,
                },
        } => {
            let config = Config::load(&cli.config, None)?;
            let pool = config.connect()?;
            let mut conn = pool.get()?;
            let created = admin::create_platform_admin(
                &mut conn, &name, &phone, &password, &org_name, &kind,
            )?;
            println!(
                "{}",
                serde_json::json!({ "user_id": created.0, "org_id": created.1 })
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Token { role, ttl } => {
            if role != "system" {
                return Err(ConfigError(format!("--role {role:?}: only `system` tokens are issued here; people sign in with /auth/login")).into());
            }
            let ttl = config::parse_ttl(&ttl)?;
            let config = Config::load(&cli.config, None)?;
            let keys = config.token_keys();
            let token = keys
                .issue(
                    timebank_directory::tokens::SYSTEM_SUBJECT,
                    Some("system"),
                    ttl,
                )
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{token}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo { bind, db } => {
            let config = Config::load(&cli.config, Some(&db))?;
            let pool = config.connect()?;
            let summary = demo::load(&pool)?;
            let marks = demo::landmarks(&pool)?;
            let listen = Listen {
                bind: &bind,
                workers: None,
                metrics_bind: None,
                cors_origins: "",
            };
            serve(
                config,
                pool,
                &listen,
                &GroupArgs::default(),
                Some((summary, marks)),
            )
        }
    }
}

/// Where the server listens.
struct Listen<'a> {
    bind: &'a str,
    workers: Option<usize>,
    metrics_bind: Option<&'a str>,
    cors_origins: &'a str,
}

fn serve(
    config: Config,
    pool: timebank_store::Pool,
    listen: &Listen<'_>,
    group: &GroupArgs,
    demo: Option<(demo::Summary, demo::Landmarks)>,
) -> anyhow::Result<ExitCode> {
    let bind = listen.bind;
    let limits = timebank_api::limits::RateLimits::parse(&config.rate_limits)
        .map_err(|e| ConfigError(format!("--rate-limits: {e}")))?;
    let mut state = timebank_api::app_state(pool, config.token_keys(), limits)?;
    let grouped = match group.group_commit.as_str() {
        "on" => true,
        "off" => false,
        _ => config.database.backend() == timebank_store::Backend::Sqlite,
    };
    if grouped {
        if group.group_writers == 0 {
            return Err(ConfigError("--group-writers must be at least 1".into()).into());
        }
        let writers = match config.database.backend() {
            timebank_store::Backend::Sqlite => 1,
            timebank_store::Backend::Postgres => group.group_writers,
        };
        state.writer = Some(timebank_store::GroupWriter::start(
            &config.database,
            timebank_store::GroupConfig {
                writers,
                window: std::time::Duration::from_micros(group.group_window_us),
            },
        )?);
    }
    state.metrics_elsewhere = listen.metrics_bind.is_some();
    state.cors = timebank_api::headers::AllowedOrigins::parse(listen.cors_origins)
        .map_err(|e| ConfigError(format!("--cors-origins: {e}")))?;
    timebank_store::memo::enable();
    timebank_store::watch::start(&config.database)?;
    let system = actix_web::rt::System::new();
    system.block_on(async move {
        if let Some(at) = listen.metrics_bind {
            let (metrics, addrs) = timebank_api::bind_metrics(&state, at)
                .map_err(|e| ConfigError(format!("cannot listen on {at}: {e}")))?;
            for a in addrs {
                println!("metrics on http://{a}/metrics");
            }
            actix_web::rt::spawn(metrics);
        }
        let (server, addrs) = timebank_api::bind(state, bind, listen.workers)
            .map_err(|e| ConfigError(format!("cannot listen on {bind}: {e}")))?;
        let url = addrs
            .first()
            .map(|a| format!("http://{a}"))
            .unwrap_or_else(|| format!("http://{bind}"));
        if let Some((summary, marks)) = demo {
            demo::print_welcome(&url, &summary, &marks, &config);
        }
        // Tests and scripts wait for this line; keep its form.
        println!(
            "timebank listening on {url} (database {})",
            config.database.redacted()
        );
        use std::io::Write;
        std::io::stdout().flush().ok();
        server.await?;
        Ok(ExitCode::SUCCESS)
    })
}
