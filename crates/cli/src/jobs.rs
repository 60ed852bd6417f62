//! The batch commands: settle, expire, stars, orders expire, and the
//! checkpointing verify. Each records a run, reports progress and prints a
//! JSON summary.

use std::io::IsTerminal;

use chrono::NaiveDate;
use indicatif::{ProgressBar, ProgressStyle};
use timebank_jobs::{Job, Progress};
use timebank_store::Pool;

use crate::config::ConfigError;

/// A bar on a terminal; plain log lines (every 100 units) otherwise.
pub struct Bar {
    bar: Option<ProgressBar>,
    job: std::cell::RefCell<String>,
}

impl Bar {
    pub fn new() -> Self {
        Self {
            bar: None,
            job: Default::default(),
        }
    }
}

impl Progress for Bar {
    fn start(&self, job: &str, total: u64) {
        *self.job.borrow_mut() = job.to_owned();
        if let Some(bar) = &self.bar {
            bar.set_length(total);
            bar.set_message(job.to_owned());
        }
        tracing::info!(job, total, "started");
    }

    fn advance(&self, done: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(done);
        } else if done.is_multiple_of(100) {
            tracing::info!(job = %self.job.borrow(), done, "progress");
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

pub fn progress() -> Bar {
    let mut bar = Bar::new();
    if std::io::stderr().is_terminal() {
        let b = ProgressBar::new(0);
        if let Ok(style) = ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} {elapsed}") {
            b.set_style(style);
        }
        bar.bar = Some(b);
    }
    bar
}

pub fn parse_date(text: &str, flag: &str) -> Result<NaiveDate, ConfigError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| ConfigError(format!("{flag} {text:?}: use YYYY-MM-DD")))
}

pub fn run_cli(pool: &Pool, job: Job) -> anyhow::Result<()> {
    let mut conn = pool.get()?;
    let bar = progress();
    let done = timebank_jobs::run(&mut conn, &job, "system", &bar)?;
    println!("{}", serde_json::to_string_pretty(&done)?);
    Ok(())
}
