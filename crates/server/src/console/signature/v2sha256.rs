//! V2_SHA256 (spec §3.1–3.2): `appId\nappSecret\nMETHOD\nURL\ntimestamp\nnonce\nbody\n`, plain
//! SHA-256, for each of the three URL candidates; the ±5 minute timestamp window.

use super::Pasted;
use super::report::{KeyUse, Masker, Report};
use polypay_core::{Merchant, Protocol};
use polypay_v2sha256::inbound::{TIME_WINDOW_MS, request_target};
use polypay_v2sha256::settings::Settings;
use polypay_v2sha256::sign::{
    AuthorizationHeader, Credentials, is_valid_nonce, parse_timestamp, sha256_hex, signs_match,
    single_authorization,
};

fn authorization(p: &Pasted) -> Result<AuthorizationHeader, String> {
    let value =
        single_authorization(&p.headers).ok_or("there must be exactly one Authorization header")?;
    AuthorizationHeader::parse(value)
        .map_err(|rule| format!("the Authorization header is malformed ({rule})"))
}

pub fn key_id(p: &Pasted) -> Option<String> {
    authorization(p).ok().map(|h| h.app_id)
}

fn first_value<'a>(p: &'a Pasted, name: &str) -> Option<&'a str> {
    p.header(name)
        .and_then(|v| v.split(',').next())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The server's URL candidates (§3.2), labelled.
fn urls(p: &Pasted) -> Vec<(&'static str, String)> {
    let target = request_target(&p.path, p.query.as_deref());
    let mut out = vec![("the request target", target.clone())];
    let scheme = first_value(p, "x-forwarded-proto").unwrap_or("http");
    if let Some(host) = first_value(p, "x-forwarded-host").or_else(|| first_value(p, "host")) {
        out.push((
            "the absolute URL from the Host header",
            format!("{scheme}://{host}{target}"),
        ));
    }
    if !p.public_base_url.is_empty() {
        out.push((
            "the public base URL",
            format!("{}{target}", p.public_base_url.trim_end_matches('/')),
        ));
    }
    out
}

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Usual mistakes over one URL line.
fn variants_at(
    c: &Credentials,
    p: &Pasted,
    h: &AuthorizationHeader,
    url: &str,
) -> Vec<(String, String)> {
    let (ts, nonce) = (h.timestamp.as_str(), h.nonce.as_str());
    let method = p.method.to_ascii_uppercase();
    let content = |m: &str, u: &str, body: &[u8]| text(c.content(m, u, ts, nonce, body));
    let full = content(&method, url, &p.body);
    let crlf = String::from_utf8_lossy(&p.body).replace('\n', "\r\n");
    let body = String::from_utf8_lossy(&p.body);
    let no_secret = format!("{}\n{method}\n{url}\n{ts}\n{nonce}\n{body}\n", c.app_id);
    let mut out = vec![
        ("the request as is".to_string(), full.clone()),
        (
            "the method in lower case".to_string(),
            content(&method.to_ascii_lowercase(), url, &p.body),
        ),
        (
            "no newline after the body".to_string(),
            full.strip_suffix('\n').unwrap_or(&full).to_string(),
        ),
        (
            "the body with CRLF line endings".to_string(),
            content(&method, url, crlf.as_bytes()),
        ),
        ("an empty body".to_string(), content(&method, url, b"")),
        ("the appSecret line left out".to_string(), no_secret),
    ];
    if let Some((path, _)) = url.split_once('?') {
        out.push((
            "the URL without its query".into(),
            content(&method, path, &p.body),
        ));
    }
    out
}

/// The usual mistakes over every URL candidate, the request target's first.
fn variants(c: &Credentials, p: &Pasted, h: &AuthorizationHeader) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (i, (how, url)) in urls(p).into_iter().enumerate() {
        for (mistake, text) in variants_at(c, p, h, &url) {
            let label = match (i, mistake.as_str()) {
                (0, "the request as is") => continue,
                (0, _) => mistake,
                (_, "the request as is") => format!("the URL as {how}"),
                _ => format!("{mistake}, with the URL as {how}"),
            };
            out.push((label, text));
        }
    }
    out
}

fn window(h: &AuthorizationHeader, m: &Merchant, now_ms: i64) -> (bool, String) {
    let Some(ts) = parse_timestamp(&h.timestamp) else {
        return (
            false,
            format!(
                "timestamp {:?} is not 1-15 digits of milliseconds",
                h.timestamp
            ),
        );
    };
    let now = u64::try_from(now_ms).unwrap_or(0);
    let skew = now.abs_diff(ts);
    let within = skew <= TIME_WINDOW_MS;
    let when = super::super::layout::time(polypay_core::Timestamp(i64::try_from(ts).unwrap_or(0)));
    let checked = Settings::of(m).check_time_window;
    let verdict = if within { "within" } else { "outside" };
    let rule = if checked {
        "checked for this merchant"
    } else {
        "not checked for this merchant"
    };
    let sentence = format!(
        "timestamp {when} is {} s from now: {verdict} ±{} s ({rule})",
        skew / 1000,
        TIME_WINDOW_MS / 1000
    );
    (within || !checked, sentence)
}

pub fn analyze(p: &Pasted, m: &Merchant) -> Report {
    let mut r = Report::new(Protocol::V2sha256, Some(m));
    let creds = &m.credentials.v2sha256;
    let secret = creds.app_secret.expose();
    let mask = Masker::new(&[(secret, "appSecret")]);
    r.keys.push(KeyUse::new(
        format!("appSecret of appId {}", creds.app_id),
        secret.as_bytes(),
    ));
    let h = match authorization(p) {
        Ok(h) => h,
        Err(e) => return r.unchecked(format!("Cannot check: {e}.")),
    };
    if h.app_id != creds.app_id {
        r.note(format!(
            "appId {:?} is not this merchant's ({}).",
            h.app_id, creds.app_id
        ));
    }
    r.window = Some(window(&h, m, p.now_ms));
    if !is_valid_nonce(&h.nonce) {
        r.note("The nonce is not 16-64 printable characters without , or \": polypay refuses it. (Replays are not checked here.)");
    }
    let c = Credentials::new(creds.app_id.clone(), secret);
    let candidates = urls(p);
    let verified = candidates
        .iter()
        .find(|(_, url)| c.verify(&h, &p.method, url, &p.body));
    let url = verified.map_or(candidates[0].1.clone(), |(_, u)| u.clone());
    r.expected = Some(mask.mask(&text(c.content(
        &p.method,
        &url,
        &h.timestamp,
        &h.nonce,
        &p.body,
    ))));
    if let Some((how, _)) = verified.filter(|(_, u)| *u != candidates[0].1) {
        r.note(format!("The signature covers {how}."));
    }
    let matches = |t: &str| signs_match(&sha256_hex(t.as_bytes()), &h.sign);
    r.conclude(
        verified.is_some(),
        variants(&c, p, &h),
        matches,
        p.signed.as_deref(),
        &mask,
    );
    r
}
