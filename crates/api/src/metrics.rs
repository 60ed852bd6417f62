//! Prometheus metrics: requests and latency by route pattern, and the
//! ledger's own counters.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, web};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    order_passes: IntCounterVec,
    /// The ledger's posting count and when it was counted.
    postings: Mutex<Option<(Instant, i64)>>,
}

/// How long a posting count is served before it is counted again: a
/// scrape costs nothing in between, however often it comes.
const POSTINGS_FRESH_FOR: Duration = Duration::from_secs(10);

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "timebank_http_requests_total",
                "HTTP requests by route and status",
            ),
            &["method", "route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "timebank_http_request_duration_seconds",
                "HTTP request latency by route",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["method", "route"],
        )?;
        let order_passes = IntCounterVec::new(
            Opts::new(
                "timebank_order_passes_total",
                "Passes of orders placed together: written, redone order by order \
                 (their work failed), or answered with an error (their commit failed)",
            ),
            &["outcome"],
        )?;
        registry.register(Box::new(order_passes.clone()))?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        Ok(Self {
            registry,
            requests,
            latency,
            order_passes,
            postings: Mutex::new(None),
        })
    }

    /// The posting count if it was counted recently.
    pub fn recent_postings(&self) -> Option<i64> {
        let counted = *self.postings.lock().ok()?;
        counted
            .filter(|(at, _)| at.elapsed() < POSTINGS_FRESH_FOR)
            .map(|(_, n)| n)
    }

    pub fn counted_postings(&self, n: i64) {
        if let Ok(mut p) = self.postings.lock() {
            *p = Some((Instant::now(), n));
        }
    }

    /// One pass of orders ended: `written`, `redone` or `failed`.
    pub fn order_pass(&self, outcome: &str) {
        self.order_passes.with_label_values(&[outcome]).inc();
    }

    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .with_label_values(&[method, route, &status.to_string()])
            .inc();
        self.latency
            .with_label_values(&[method, route])
            .observe(seconds);
    }

    /// `postings` is the number of postings in the ledger (see
    /// `timebank_ledger::read::posting_count`), or None when the database
    /// did not answer.
    pub fn render(&self, postings: Option<i64>) -> String {
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::error!(error = %e, "metrics encoding");
        }
        let mut text = String::from_utf8(out).unwrap_or_default();
        text.push_str(&format!(
            "# HELP timebank_sql_statements_total SQL statements this process sent\n\
             # TYPE timebank_sql_statements_total counter\n\
             timebank_sql_statements_total {}\n",
            timebank_store::statements::sent()
        ));
        if let Some(postings) = postings {
            text.push_str(&format!(
                "# HELP timebank_ledger_postings Postings in the ledger\n\
                 # TYPE timebank_ledger_postings gauge\n\
                 timebank_ledger_postings {postings}\n"
            ));
        }
        text
    }
}

/// Middleware: counts every request under its route pattern (never the raw
/// path, so ids do not explode the label set).
pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let method = req.method().to_string();
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let res = next.call(req).await?;
    if let Some(metrics) = metrics {
        let route = match crate::telemetry::route_of(res.request()) {
            r if r == "default" => "unmatched".to_owned(),
            r => r,
        };
        metrics.observe(
            &method,
            &route,
            res.status().as_u16(),
            started.elapsed().as_secs_f64(),
        );
    }
    Ok(res)
}
