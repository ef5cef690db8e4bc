//! One HTTP attempt: send a callback under a deadline, read a bounded prefix of the answer.
//!
//! Redirects are never followed (a redirect is just a response that is not an
//! acknowledgement), proxies from the environment are ignored (they would resolve names the
//! SSRF guard never sees), and errors never carry the URL (its query may hold tokens).

use crate::protocol::CallbackRequest;
use crate::ssrf::{self, GuardedResolver, Refused};
use reqwest::header::{HeaderName, HeaderValue};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How much of a response body the attempt log keeps.
pub const RECORDED_BODY_LIMIT: usize = 4 * 1024;
/// How much of a response body is read for the acknowledgement rule; the rest is ignored.
const ACK_BODY_LIMIT: usize = 64 * 1024;

/// The merchant's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// At most the first 64 KiB.
    pub body: Vec<u8>,
}

/// What one attempt produced: an answer or an error text, and how long it took.
#[derive(Debug, Clone)]
pub struct Sent {
    pub result: Result<Answer, String>,
    pub latency: Duration,
}

/// The HTTP client callbacks go out with. Without `allow_private`, every name is resolved by
/// the SSRF-guarding resolver.
pub fn client(allow_private: bool) -> Result<reqwest::Client, reqwest::Error> {
    let builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .user_agent(concat!("polypay-notifier/", env!("CARGO_PKG_VERSION")));
    let builder = if allow_private {
        builder
    } else {
        builder.dns_resolver(Arc::new(GuardedResolver))
    };
    builder.build()
}

/// Sends `req` and reads the answer, all within `timeout`.
pub async fn send(
    client: &reqwest::Client,
    req: &CallbackRequest,
    allow_private: bool,
    timeout: Duration,
) -> Sent {
    let started = Instant::now();
    let result = match build(client, req, allow_private) {
        Ok(request) => match tokio::time::timeout(timeout, exchange(client, request)).await {
            Ok(r) => r,
            Err(_) => Err(format!("timed out after {} ms", timeout.as_millis())),
        },
        Err(e) => Err(e),
    };
    Sent {
        result,
        latency: started.elapsed(),
    }
}

fn build(
    client: &reqwest::Client,
    req: &CallbackRequest,
    allow_private: bool,
) -> Result<reqwest::Request, String> {
    let url = reqwest::Url::parse(&req.url).map_err(|e| format!("invalid callback URL: {e}"))?;
    if !allow_private {
        ssrf::check_url(&url).map_err(|e| e.to_string())?;
    } else if !matches!(url.scheme(), "http" | "https") {
        return Err(Refused::Scheme.to_string());
    }
    let method = reqwest::Method::from_bytes(req.method.as_bytes())
        .map_err(|_| "invalid HTTP method".to_string())?;
    let mut builder = client.request(method, url);
    for (name, value) in &req.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| "invalid header name".to_string())?;
        let value =
            HeaderValue::from_str(value).map_err(|_| format!("invalid value of header {name}"))?;
        builder = builder.header(name, value);
    }
    builder
        .body(req.body.clone())
        .build()
        .map_err(|e| describe(&e.without_url()))
}

async fn exchange(client: &reqwest::Client, request: reqwest::Request) -> Result<Answer, String> {
    let mut response = client
        .execute(request)
        .await
        .map_err(|e| describe(&e.without_url()))?;
    let status = response.status().as_u16();
    let mut body = Vec::new();
    while body.len() < ACK_BODY_LIMIT {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = ACK_BODY_LIMIT - body.len();
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Ok(None) => break,
            Err(e) => return Err(describe(&e.without_url())),
        }
    }
    Ok(Answer { status, body })
}

/// The error and its causes in one line; an SSRF refusal deep in the chain is named as such.
fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        if let Some(refused) = s.downcast_ref::<Refused>() {
            return refused.to_string();
        }
        parts.push(s.to_string());
        source = s.source();
    }
    parts.dedup();
    parts.join(": ")
}

/// The first [`RECORDED_BODY_LIMIT`] bytes of a body, as text.
pub fn recorded_prefix(body: &[u8]) -> String {
    String::from_utf8_lossy(&body[..body.len().min(RECORDED_BODY_LIMIT)]).into_owned()
}
