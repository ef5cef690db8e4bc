//! The load generator: C keep-alive HTTP/1.1 connections, each sending pre-built requests back
//! to back for a fixed duration, recording every latency. Nothing is signed on this path.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// One request, fully built (signature included).
#[derive(Debug, Clone)]
pub struct Prepared {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

/// Decides from the status and body whether a response is the protocol's success.
pub type SuccessCheck = Arc<dyn Fn(u16, &[u8]) -> bool + Send + Sync>;

/// What one run measured.
#[derive(Debug, Clone, Default)]
pub struct Measured {
    pub requests: u64,
    pub errors: u64,
    pub elapsed: Duration,
    /// Sorted latencies in microseconds.
    pub latencies_us: Vec<u32>,
    pub first_error: Option<String>,
}

impl Measured {
    pub fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The q-quantile latency in milliseconds.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        let i = ((self.latencies_us.len() - 1) as f64 * q).round() as usize;
        f64::from(self.latencies_us[i]) / 1000.0
    }
}

/// Drives `requests` (each used at most once, in order) over `connections` connections for
/// `duration` or until the requests run out, whichever comes first.
pub async fn run(
    addr: SocketAddr,
    host: &str,
    requests: Arc<Vec<Prepared>>,
    connections: usize,
    duration: Duration,
    ok: SuccessCheck,
) -> anyhow::Result<Measured> {
    let next = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + duration;
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(connections);
    for _ in 0..connections {
        let (requests, next, ok, host) =
            (requests.clone(), next.clone(), ok.clone(), host.to_string());
        tasks.push(tokio::spawn(async move {
            connection(addr, &host, requests, next, deadline, ok).await
        }));
    }
    let mut total = Measured::default();
    for t in tasks {
        let m = t.await??;
        total.requests += m.requests;
        total.errors += m.errors;
        total.latencies_us.extend(m.latencies_us);
        total.first_error = total.first_error.or(m.first_error);
    }
    total.elapsed = started.elapsed();
    total.latencies_us.sort_unstable();
    Ok(total)
}

async fn connection(
    addr: SocketAddr,
    host: &str,
    requests: Arc<Vec<Prepared>>,
    next: Arc<AtomicUsize>,
    deadline: Instant,
    ok: SuccessCheck,
) -> anyhow::Result<Measured> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (mut sender, conn) = http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let mut m = Measured::default();
    while Instant::now() < deadline {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(p) = requests.get(i) else { break };
        let mut builder = hyper::Request::builder()
            .method(p.method.as_str())
            .uri(p.path.as_str())
            .header("host", host);
        for (k, v) in &p.headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        let req = builder.body(Full::new(p.body.clone()))?;
        let sent = Instant::now();
        sender.ready().await?;
        let resp = sender.send_request(req).await?;
        let status = resp.status().as_u16();
        let body = resp.into_body().collect().await?.to_bytes();
        m.latencies_us
            .push(sent.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
        m.requests += 1;
        if !ok(status, &body) {
            m.errors += 1;
            if m.first_error.is_none() {
                m.first_error = Some(format!(
                    "HTTP {status}: {}",
                    String::from_utf8_lossy(&body[..body.len().min(300)])
                ));
            }
        }
    }
    Ok(m)
}
