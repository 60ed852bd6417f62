//! The benchmark's table: figures, ratios to the storage limit, and the
//! performance goals, each marked met or not met.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::load::{LoadResult, Mix};
use crate::{Backend, Options};

pub struct Row {
    pub scenario: String,
    pub mix: Mix,
    pub concurrency: usize,
    pub result: LoadResult,
    pub rss_mib: f64,
    /// CPU steal on the machine while this load ran.
    pub steal_percent: f64,
    /// SQL statements the server sent per request answered (None when its
    /// `/metrics` is not on the public address).
    pub statements_per_request: Option<f64>,
}

pub struct Report {
    backend: Backend,
    volunteers: usize,
    sites: usize,
    seconds: u64,
    /// (label, transfers per second)
    pub storage: Vec<(String, f64)>,
    /// (clients, transfers per transaction) → transfers per second
    limits: BTreeMap<(usize, usize), f64>,
    service: Vec<(Row, Option<f64>)>,
    settle: Option<Settle>,
    scale: Option<Scale>,
    /// CPU time the hypervisor gave to other guests during the run.
    pub steal_percent: f64,
}

struct Settle {
    rows: usize,
    seconds: f64,
    ratio: Option<f64>,
}

struct Scale {
    concurrency: usize,
    small_postings: i64,
    small_rate: f64,
    large_postings: i64,
    large_rate: f64,
}

impl Report {
    pub fn new(opts: &Options) -> Self {
        Self {
            backend: opts.backend,
            volunteers: opts.volunteers,
            sites: opts.sites,
            seconds: opts.seconds,
            storage: Vec::new(),
            limits: BTreeMap::new(),
            service: Vec::new(),
            settle: None,
            scale: None,
            steal_percent: 0.0,
        }
    }

    pub fn set_limit(&mut self, clients: usize, batch: usize, rate: f64) {
        self.limits.insert((clients, batch), rate);
    }

    /// The storage engine's one-transfer-per-transaction rate at this
    /// concurrency. SQLite has one writer whatever the concurrency.
    fn single_tx_limit(&self, concurrency: usize) -> Option<f64> {
        match self.backend {
            Backend::Sqlite => self.limits.get(&(1, 1)).copied(),
            Backend::Postgres => self.limits.get(&(concurrency, 1)).copied(),
        }
    }

    fn batched_limit(&self) -> Option<f64> {
        match self.backend {
            Backend::Sqlite => self.limits.get(&(1, 1000)).copied(),
            Backend::Postgres => self.limits.get(&(1, 100)).copied(),
        }
    }

    pub fn push_service(&mut self, row: Row, _backend: Backend) {
        let ratio = match row.mix {
            Mix::Write => self
                .single_tx_limit(row.concurrency)
                .map(|l| row.result.throughput / l),
            Mix::Read | Mix::MeRead | Mix::Mixed => None,
        };
        self.service.push((row, ratio));
    }

    pub fn settle(&mut self, rows: usize, seconds: f64, _backend: Backend) {
        let ratio = self
            .batched_limit()
            .map(|l| rows as f64 / seconds.max(1e-9) / l);
        self.settle = Some(Settle {
            rows,
            seconds,
            ratio,
        });
    }

    pub fn scale(
        &mut self,
        concurrency: usize,
        small_postings: i64,
        small_rate: f64,
        large_postings: i64,
        large_rate: f64,
    ) {
        self.scale = Some(Scale {
            concurrency,
            small_postings,
            small_rate,
            large_postings,
            large_rate,
        });
    }

    /// (goal, measured, met)
    pub fn goals(&self) -> Vec<(String, String, bool)> {
        let mut goals = Vec::new();
        for (row, ratio) in &self.service {
            if row.mix == Mix::Write
                && !row.scenario.contains("scale")
                && let Some(ratio) = ratio
            {
                goals.push((
                    format!("write ×{} ≥ 1.0× storage single-tx rate", row.concurrency),
                    format!("{ratio:.2}×"),
                    *ratio >= 1.0,
                ));
            }
            if matches!(row.mix, Mix::Read | Mix::MeRead) {
                let (rate, p99) = match self.backend {
                    Backend::Sqlite => (20_000.0, Some(10.0)),
                    Backend::Postgres => (10_000.0, None),
                };
                goals.push((
                    format!(
                        "{} ×{} ≥ {rate:.0} req/s{}",
                        row.scenario,
                        row.concurrency,
                        p99.map(|p| format!(", p99 < {p:.0} ms"))
                            .unwrap_or_default()
                    ),
                    format!(
                        "{:.0} req/s, p99 {:.2} ms",
                        row.result.throughput, row.result.p99_ms
                    ),
                    row.result.throughput >= rate && p99.is_none_or(|p| row.result.p99_ms < p),
                ));
            }
            if row.mix == Mix::Mixed {
                goals.push((
                    "server RSS < 150 MB during mixed".to_owned(),
                    format!("{:.0} MiB", row.rss_mib),
                    row.rss_mib * 1.048_576 < 150.0,
                ));
            }
        }
        if let Some(s) = &self.settle
            && let Some(ratio) = s.ratio
        {
            goals.push((
                "settle ≥ 0.7× storage batched rate".to_owned(),
                format!("{ratio:.2}×"),
                ratio >= 0.7,
            ));
        }
        if let Some(s) = &self.scale {
            let ratio = s.large_rate / s.small_rate.max(1e-9);
            goals.push((
                format!(
                    "scale: write at {} postings ≥ 0.9× at {}",
                    s.large_postings, s.small_postings
                ),
                format!("{ratio:.2}×"),
                ratio >= 0.9,
            ));
        }
        goals
    }

    pub fn markdown(&self, machine: &str) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "### {} — {} volunteers, {} sites, {} s per load\n\n{machine} CPU steal during the run: {:.0} %.\n",
            self.backend.name(),
            self.volunteers,
            self.sites,
            self.seconds,
            self.steal_percent
        );
        let _ = writeln!(out, "| storage limit | transfers/s |\n|---|---:|");
        for (label, rate) in &self.storage {
            let _ = writeln!(out, "| {label} | {rate:.0} |");
        }
        let _ = writeln!(
            out,
            "\n| scenario | conns | req/s | p50 ms | p99 ms | p99.9 ms | SQL/req | peak RSS MiB | × storage | steal % |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for (row, ratio) in &self.service {
            let r = &row.result;
            let _ = writeln!(
                out,
                "| {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {:.0} | {} | {:.0} |",
                row.scenario,
                row.concurrency,
                r.throughput,
                r.p50_ms,
                r.p99_ms,
                r.p999_ms,
                row.statements_per_request
                    .map(|x| format!("{x:.1}"))
                    .unwrap_or_else(|| "—".into()),
                row.rss_mib,
                ratio
                    .map(|x| format!("{x:.2}"))
                    .unwrap_or_else(|| "—".into()),
                row.steal_percent
            );
        }
        if let Some(s) = &self.settle {
            let _ = writeln!(
                out,
                "| settle (CLI) | — | {:.0} rows/s ({} rows in {:.1} s) | | | | | | {} | |",
                s.rows as f64 / s.seconds.max(1e-9),
                s.rows,
                s.seconds,
                s.ratio
                    .map(|x| format!("{x:.2}"))
                    .unwrap_or_else(|| "—".into())
            );
        }
        if let Some(s) = &self.scale {
            let _ = writeln!(
                out,
                "\nScale (write ×{}): {:.0} req/s with {} postings, {:.0} req/s with {} postings.",
                s.concurrency, s.small_rate, s.small_postings, s.large_rate, s.large_postings
            );
        }
        let _ = writeln!(out, "\n| goal | measured | met |\n|---|---|---|");
        for (goal, measured, met) in self.goals() {
            let _ = writeln!(
                out,
                "| {goal} | {measured} | {} |",
                if met { "yes" } else { "**no**" }
            );
        }
        out
    }
}
