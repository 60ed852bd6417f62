//! The HTTP load generator: `concurrency` keep-alive HTTP/1.1 connections,
//! each sending its next request as soon as the last one is answered, for a
//! fixed time. Latency is measured per request, from send to full body.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use tokio::net::TcpStream;

use crate::seed::Fixture;

/// What the clients send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Mix {
    /// Redemptions, each with its own `Idempotency-Key`.
    Write,
    /// `GET /volunteers/{id}/balance` by the volunteer.
    Read,
    /// `GET /me/balance`.
    MeRead,
    /// 90 % reads, 10 % writes.
    Mixed,
}

/// Bearer tokens, one per volunteer, minted with the server's secret.
pub struct Clients {
    pub fixture: Fixture,
    pub tokens: Vec<String>,
}

impl Clients {
    pub fn new(fixture: Fixture, jwt_secret: &str) -> anyhow::Result<Self> {
        let keys = timebank_directory::tokens::TokenKeys::from_secret(jwt_secret.as_bytes());
        let tokens = fixture
            .volunteer_ids
            .iter()
            .map(|id| keys.issue(id, None, 24 * 3600))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| anyhow::anyhow!("cannot sign a token: {e}"))?;
        Ok(Self { fixture, tokens })
    }

    fn request(&self, mix: Mix, write: bool) -> anyhow::Result<Request<Full<Bytes>>> {
        let v = fastrand::usize(0..self.tokens.len());
        let builder = Request::builder()
            .header(HOST, "localhost")
            .header(AUTHORIZATION, format!("Bearer {}", self.tokens[v]));
        let request = if write {
            let site = &self.fixture.site_ids[fastrand::usize(0..self.fixture.site_ids.len())];
            let body = serde_json::json!({
                "item_id": self.fixture.item_id,
                "site_id": site,
                "quantity": 1,
            });
            builder
                .method("POST")
                .uri("/api/v1/redemptions")
                .header(CONTENT_TYPE, "application/json")
                .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
                .body(Full::new(Bytes::from(body.to_string())))?
        } else if mix == Mix::MeRead {
            builder
                .method("GET")
                .uri("/api/v1/me/balance")
                .body(Full::new(Bytes::new()))?
        } else {
            builder
                .method("GET")
                .uri(format!(
                    "/api/v1/volunteers/{}/balance",
                    self.fixture.volunteer_ids[v]
                ))
                .body(Full::new(Bytes::new()))?
        };
        Ok(request)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct LoadResult {
    pub requests: u64,
    pub errors: u64,
    /// The first few error statuses and bodies, to tell what went wrong.
    pub error_samples: Vec<String>,
    pub seconds: f64,
    pub throughput: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
}

struct Worker {
    latencies_us: Vec<u32>,
    errors: u64,
    error_samples: Vec<String>,
}

/// The SQL statements the server has sent so far, from its `/metrics`.
pub fn statements_sent(addr: SocketAddr) -> anyhow::Result<u64> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr)?;
    stream.write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
    let mut text = String::new();
    stream.read_to_string(&mut text)?;
    text.lines()
        .find_map(|l| l.strip_prefix("timebank_sql_statements_total "))
        .and_then(|n| n.trim().parse().ok())
        .context("no timebank_sql_statements_total in /metrics")
}

pub fn run(
    addr: SocketAddr,
    clients: Arc<Clients>,
    mix: Mix,
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<LoadResult> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let deadline = Instant::now() + duration;
        let started = Instant::now();
        let mut handles = Vec::new();
        for n in 0..concurrency {
            let clients = clients.clone();
            handles.push(tokio::spawn(async move {
                connection(addr, &clients, mix, n, deadline).await
            }));
        }
        let mut latencies = Vec::new();
        let mut errors = 0;
        let mut error_samples = Vec::new();
        for handle in handles {
            let worker = handle.await??;
            latencies.extend(worker.latencies_us);
            errors += worker.errors;
            for s in worker.error_samples {
                if error_samples.len() < 5 {
                    error_samples.push(s);
                }
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        latencies.sort_unstable();
        let pct = |p: f64| -> f64 {
            if latencies.is_empty() {
                return 0.0;
            }
            let i = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
            f64::from(latencies[i]) / 1000.0
        };
        let requests = latencies.len() as u64;
        Ok(LoadResult {
            requests,
            errors,
            error_samples,
            seconds,
            throughput: requests as f64 / seconds,
            p50_ms: pct(0.50),
            p99_ms: pct(0.99),
            p999_ms: pct(0.999),
        })
    })
}

async fn connection(
    addr: SocketAddr,
    clients: &Clients,
    mix: Mix,
    n: usize,
    deadline: Instant,
) -> anyhow::Result<Worker> {
    let stream = TcpStream::connect(addr)
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    stream.set_nodelay(true)?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let mut worker = Worker {
        latencies_us: Vec::new(),
        errors: 0,
        error_samples: Vec::new(),
    };
    let mut i = n;
    while Instant::now() < deadline {
        let write = match mix {
            Mix::Write => true,
            Mix::Read | Mix::MeRead => false,
            Mix::Mixed => i.is_multiple_of(10),
        };
        i += 1;
        let request = clients.request(mix, write)?;
        let sent = Instant::now();
        let response = sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        let micros = u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX);
        worker.latencies_us.push(micros);
        if !status.is_success() {
            worker.errors += 1;
            if worker.error_samples.len() < 2 {
                worker
                    .error_samples
                    .push(format!("{status} {}", String::from_utf8_lossy(&body)));
            }
        }
    }
    Ok(worker)
}
