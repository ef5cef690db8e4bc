//! BlockATM (spec §3.2–3.5): the canonical string of the body (POST) or the raw query (GET)
//! plus `time=<BlockATM-Request-Time>`, HMAC-SHA256 with the Secret Key (V2) or ECDSA with the
//! registered P-256 key (V1), and the receive window.

use super::Pasted;
use super::report::{KeyUse, Masker, Report};
use polypay_blockatm::sign::canonical::utf16_cmp;
use polypay_blockatm::sign::window::{self, DEFAULT_SKEW_MS};
use polypay_blockatm::sign::{
    EcPublicKey, Json, PresentedSignature, Scheme, canonical_get, canonical_post, parse_body,
};
use polypay_blockatm::{
    HEADER_API_KEY, HEADER_REC_WINDOW, HEADER_RECV_WINDOW_ALT, HEADER_REQUEST_TIME, header,
};
use polypay_core::{Merchant, Protocol};

pub fn key_id(p: &Pasted) -> Option<String> {
    header(&p.headers, HEADER_API_KEY).map(str::to_string)
}

/// How a variant orders object members.
#[derive(Clone, Copy)]
enum Order {
    AsSent,
    CaseInsensitive,
}

/// The §3.2 flattening with another member order (the real one sorts by UTF-16 code units).
fn flatten(members: &[(String, Json)], order: Order, out: &mut Vec<String>) {
    let mut sorted: Vec<&(String, Json)> = members.iter().collect();
    if let Order::CaseInsensitive = order {
        sorted.sort_by(|a, b| utf16_cmp(&a.0.to_lowercase(), &b.0.to_lowercase()));
    }
    for (key, value) in sorted {
        match value {
            Json::Null => {}
            Json::Object(inner) => flatten(inner, order, out),
            Json::Array(items) => {
                for item in items {
                    match item {
                        Json::Null => {}
                        Json::Object(inner) => flatten(inner, order, out),
                        other => out.push(other.scalar_text().unwrap_or("").to_string()),
                    }
                }
            }
            scalar => out.push(format!("{key}={}", scalar.scalar_text().unwrap_or(""))),
        }
    }
}

fn with_time(params: &str, time: &str) -> String {
    if params.is_empty() {
        format!("time={time}")
    } else {
        format!("{params}&time={time}")
    }
}

fn post_variants(body: &Json, raw: &[u8], time: &str) -> Vec<(String, String)> {
    let members: Vec<(String, Json)> = match body {
        Json::Object(m) => m.iter().filter(|(k, _)| k != "sign").cloned().collect(),
        _ => Vec::new(),
    };
    let mut variants = Vec::new();
    for (how, order) in [
        ("members in the order sent, not sorted", Order::AsSent),
        ("members sorted case-insensitively", Order::CaseInsensitive),
    ] {
        let mut items = Vec::new();
        flatten(&members, order, &mut items);
        variants.push((how.to_string(), with_time(&items.join("&"), time)));
    }
    let text = String::from_utf8_lossy(raw).to_string();
    variants.push((
        "the raw JSON body, then &time=".into(),
        with_time(&text, time),
    ));
    variants.push(("the raw JSON body alone".into(), text));
    let sorted = canonical_post(body, time);
    let without = sorted
        .strip_suffix(&format!("time={time}"))
        .unwrap_or(&sorted)
        .trim_end_matches('&')
        .to_string();
    variants.push(("without the time parameter".into(), without));
    variants
}

fn get_variants(query: &str, time: &str) -> Vec<(String, String)> {
    let mut pairs: Vec<&str> = query.split('&').filter(|s| !s.is_empty()).collect();
    pairs.sort_unstable();
    let decoded = polypay_blockatm::sign::widget::form_decode(query);
    vec![
        (
            "query parameters sorted by name".into(),
            with_time(&pairs.join("&"), time),
        ),
        (
            "the query percent-decoded".into(),
            with_time(&decoded, time),
        ),
        ("without the time parameter".into(), query.to_string()),
        (
            "the query with its leading ?".into(),
            with_time(&format!("?{query}"), time),
        ),
    ]
}

fn window_verdict(p: &Pasted, time: &str) -> (bool, String) {
    let recv = header(&p.headers, HEADER_REC_WINDOW)
        .or_else(|| header(&p.headers, HEADER_RECV_WINDOW_ALT));
    let t = match window::parse_request_time(time) {
        Ok(t) => t,
        Err(e) => return (false, format!("{HEADER_REQUEST_TIME} {time:?}: {e}")),
    };
    let w = match window::parse_recv_window(recv) {
        Ok(w) => w,
        Err(e) => {
            return (
                false,
                format!("receive window {:?}: {e}", recv.unwrap_or("")),
            );
        }
    };
    let now = u64::try_from(p.now_ms).unwrap_or(0);
    let age = i128::from(now) - i128::from(t);
    let when = super::super::layout::time(polypay_core::Timestamp(i64::try_from(t).unwrap_or(0)));
    match window::check_window(t, now, w, DEFAULT_SKEW_MS) {
        Ok(()) => (
            true,
            format!("request time {when} is {age} ms old: within the {w} ms receive window"),
        ),
        Err(e) => (
            false,
            format!("request time {when} is {age} ms old against a {w} ms receive window: {e}"),
        ),
    }
}

/// Only the key's type prefix (`pk_payment_…`), as the BlockATM crate logs it: the summary of
/// a report goes to the log, and the API key is a credential.
fn redacted(api_key: &str) -> String {
    api_key
        .rsplit_once('_')
        .map_or("…".to_owned(), |(prefix, _)| format!("{prefix}_…"))
}

pub fn analyze(p: &Pasted, m: &Merchant) -> Report {
    let mut r = Report::new(Protocol::Blockatm, Some(m));
    let creds = &m.credentials.blockatm;
    let secret = creds.secret_key.expose();
    let Some(time) = header(&p.headers, HEADER_REQUEST_TIME) else {
        return r.unchecked(format!(
            "The request has no {HEADER_REQUEST_TIME} header; every signature covers it."
        ));
    };
    r.window = Some(window_verdict(p, time));
    let get = p.method.eq_ignore_ascii_case("GET");
    let (expected, variants) = if get {
        let q = p.query.as_deref().unwrap_or("");
        (
            canonical_get(p.query.as_deref(), time),
            get_variants(q, time),
        )
    } else {
        match parse_body(&p.body) {
            Ok(body) => (
                canonical_post(&body, time),
                post_variants(&body, &p.body, time),
            ),
            Err(e) => return r.unchecked(format!("The body is not a JSON object: {e}.")),
        }
    };
    r.expected = Some(expected.clone());
    let Some(presented) = PresentedSignature::from_headers(&p.headers) else {
        return r.unchecked("The request carries neither BlockATM-Signature-V2 nor -V1.");
    };
    let ec_key = creds
        .ec_public_key
        .as_deref()
        .and_then(|k| EcPublicKey::parse(k).ok());
    match presented.scheme {
        Scheme::V2Hmac => r.keys.push(KeyUse::new(
            format!("V2 secretKey of apiKey {}", redacted(&creds.api_key)),
            secret.as_bytes(),
        )),
        Scheme::V1Ecdsa => match &ec_key {
            Some(k) => r.keys.push(KeyUse::new(
                "V1 registered EC public key",
                k.to_base64().as_bytes(),
            )),
            None => return r.unchecked(
                "A V1 (ECDSA) signature was sent, but the merchant registered no EC public key.",
            ),
        },
    }
    let matches = |text: &str| presented.verify(text, secret, ec_key.as_ref());
    let ok = matches(&expected);
    r.conclude(
        ok,
        variants,
        matches,
        p.signed.as_deref(),
        &Masker::new(&[(secret, "secretKey")]),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_order_variants_differ_from_the_canonical_string() {
        let body = parse_body(br#"{"b":1,"a":"x","B":{"c":true}}"#).unwrap();
        assert_eq!(canonical_post(&body, "5"), "c=true&a=x&b=1&time=5");
        let v = post_variants(&body, br#"{"b":1}"#, "5");
        assert_eq!(v[0].1, "b=1&a=x&c=true&time=5");
        assert_eq!(v[1].1, "a=x&b=1&c=true&time=5");
        assert_eq!(v[4].1, "c=true&a=x&b=1");
    }
}
