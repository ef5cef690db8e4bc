//! Cross-cutting request handling: request ids, HTTP metrics, and the layer stack.

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use std::time::Instant;
use tower_http::request_id::{MakeRequestId, RequestId};

pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Request ids: 16 random bytes as hex, unless the client sent one.
#[derive(Clone, Copy, Default)]
pub struct RandomRequestId;

impl MakeRequestId for RandomRequestId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&polypay_engine::random_hex(16))
            .ok()
            .map(RequestId::new)
    }
}

/// Counts requests and records their latency by route template (never by raw path: ids
/// in paths would explode the label set).
pub async fn record_metrics(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = method_label(req.method());
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("polypay_http_requests_total", "method" => method, "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("polypay_http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// The `method` label: the methods HTTP defines, and `other` for any other token a client
/// sends (the protocols' routes take any method and answer in their envelopes; a label per
/// made-up method would grow the metrics without bound).
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

/// The operator's routes (admin, callbacks, sandbox, console): a path or query holding an
/// encoded NUL (`%00`) is answered here, 404 for a path (nothing is stored under a name holding
/// one) and 400 for a query, before any lookup. PostgreSQL's text cannot hold U+0000, so such a
/// lookup failed there as an internal error where SQLite found nothing. The protocols' routes
/// check their own fields and answer in their own envelopes.
pub async fn refuse_nul(req: Request, next: Next) -> Response {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    let has_nul = |s: &str| s.contains("%00");
    let uri = req.uri();
    let refused = if has_nul(uri.path()) {
        Some((StatusCode::NOT_FOUND, "not found"))
    } else if uri.query().is_some_and(has_nul) {
        Some((
            StatusCode::BAD_REQUEST,
            "query parameters must not contain a NUL character",
        ))
    } else {
        None
    };
    match refused {
        Some((status, message)) => {
            (status, axum::Json(serde_json::json!({ "error": message }))).into_response()
        }
        None => next.run(req).await,
    }
}

/// The headers of an operator's or customer's HTML page: `nosniff`, `referrer` as given, and,
/// with `framing` false, no frame on any site may show it (`X-Frame-Options` for older
/// browsers, CSP `frame-ancestors` for the rest).
pub fn page_headers(h: &mut axum::http::HeaderMap, referrer: &'static str, framing: bool) {
    use axum::http::header;
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static(referrer));
    if !framing {
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        let csp = HeaderValue::from_static("frame-ancestors 'none'");
        h.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
}

#[cfg(test)]
mod tests {
    use super::method_label;
    use axum::http::Method;

    #[test]
    fn made_up_methods_share_one_label() {
        assert_eq!(method_label(&Method::POST), "POST");
        for token in ["RANDOM123", "post", "X-ANYTHING"] {
            let method = Method::from_bytes(token.as_bytes()).expect("a token");
            assert_eq!(method_label(&method), "other", "{token}");
        }
    }
}
