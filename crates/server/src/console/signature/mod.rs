//! The signature debugger: paste a request a merchant sent (method, target, headers, body),
//! choose the protocol, and polypay shows the string it expected to be signed, the one the
//! request implies, where they differ, the time-window verdict and the key it used (by
//! fingerprint, never the secret). The same explanation, in short, goes to the debug log,
//! and [`explain`] gives it for live requests a protocol front door refused (see
//! `crate::signature_log`).
//!
//! Each protocol module uses that protocol crate's own signing functions, so the debugger can
//! never disagree with the front door about what is expected.

mod blockatm;
mod diff;
mod fintech33;
mod ottpay;
mod passtopay;
mod report;
mod v2sha256;

use super::Console;
use super::layout::{self, csrf_field, escape};
use super::session::Session;
use axum::Extension;
use axum::extract::{Form, State};
use axum::response::Response;
use polypay_core::{Merchant, MerchantId, Protocol};
use polypay_engine::Engine;
use report::Report;
use serde::Deserialize;

/// A pasted request, normalised.
pub struct Pasted {
    pub method: String,
    /// The raw path, not percent-decoded.
    pub path: String,
    pub query: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The string the merchant's code says it signed, if pasted.
    pub signed: Option<String>,
    /// The merchant's clock (`Clock::wall`), which timestamp windows are judged by.
    pub now_ms: i64,
    pub public_base_url: String,
}

impl Pasted {
    /// A header by name, case-insensitively; the first occurrence wins.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The debugger form, as posted.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DebugForm {
    protocol: String,
    merchant: String,
    method: String,
    target: String,
    headers: String,
    body: String,
    signed: String,
}

/// Browsers send textarea line breaks as CRLF; requests are almost always LF.
fn lf(text: &str) -> String {
    text.replace("\r\n", "\n")
}

/// `Name: value` lines; a pasted request line or status line is skipped.
fn parse_headers(text: &str) -> Vec<(String, String)> {
    lf(text)
        .lines()
        .filter_map(|line| line.split_once(':'))
        .filter(|(name, _)| !name.is_empty() && !name.contains(' '))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// The target as path and query; a full URL's host becomes the `Host` header if none was given.
fn split_target(target: &str, headers: &mut Vec<(String, String)>) -> (String, Option<String>) {
    let target = target.trim();
    let rest = target
        .strip_prefix("http://")
        .or_else(|| target.strip_prefix("https://"));
    let path_and_query = match rest {
        Some(rest) => {
            let (host, path) = rest
                .find('/')
                .map_or((rest, "/"), |i| (&rest[..i], &rest[i..]));
            if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
                headers.push(("Host".into(), host.to_string()));
            }
            path.to_string()
        }
        None => target.to_string(),
    };
    match path_and_query.split_once('?') {
        Some((p, q)) => (p.to_string(), Some(q.to_string())),
        None => (path_and_query, None),
    }
}

fn pasted(c: &Console, f: &DebugForm) -> Pasted {
    let mut headers = parse_headers(&f.headers);
    let (path, query) = split_target(&f.target, &mut headers);
    let method = Some(f.method.trim().to_ascii_uppercase()).filter(|m| !m.is_empty());
    Pasted {
        method: method.unwrap_or_else(|| "POST".into()),
        path: if path.is_empty() { "/".into() } else { path },
        query,
        headers,
        body: lf(&f.body).into_bytes(),
        signed: Some(lf(&f.signed)).filter(|s| !s.is_empty()),
        now_ms: c.app.engine().clock().wall().0,
        public_base_url: c.app.inner.platform.public_base_url.clone(),
    }
}

/// The merchant the request names (or the one chosen in the form), with a note when they differ.
async fn merchant(
    engine: &Engine,
    protocol: Protocol,
    p: &Pasted,
    chosen: &str,
) -> (Option<Merchant>, Option<String>) {
    let named = match protocol {
        Protocol::Passtopay => passtopay::key_id(p),
        Protocol::Blockatm => blockatm::key_id(p),
        Protocol::Ottpay => ottpay::key_id(p),
        Protocol::V2sha256 => v2sha256::key_id(p),
        Protocol::Fintech33 => None,
    };
    let found = match (protocol, named) {
        (Protocol::Fintech33, _) => match fintech33::token_owner(engine, p).await {
            Some(owner) => engine.merchant(&owner.merchant_id).await.ok(),
            None => None,
        },
        (_, Some(key)) => engine.merchant_by_key(protocol, &key).await.ok(),
        (_, None) => None,
    };
    let chosen = Some(chosen.trim()).filter(|m| !m.is_empty());
    match (found, chosen) {
        (Some(m), Some(id)) if m.id.as_str() != id => {
            let note = format!(
                "The request names merchant {} ({}), not the one chosen; using the chosen one.",
                m.name, m.id
            );
            (
                engine.merchant(&MerchantId(id.to_string())).await.ok(),
                Some(note),
            )
        }
        (Some(m), _) => (Some(m), None),
        (None, Some(id)) => (
            engine.merchant(&MerchantId(id.to_string())).await.ok(),
            None,
        ),
        (None, None) => (None, None),
    }
}

async fn analyze(engine: &Engine, protocol: Protocol, p: &Pasted, chosen: &str) -> Report {
    let (merchant, note) = merchant(engine, protocol, p, chosen).await;
    let Some(m) = merchant else {
        return Report::new(protocol, None).unchecked(
            "No merchant found: the request does not name a known merchant for this protocol. Choose one in the form.",
        );
    };
    let mut report = match protocol {
        Protocol::Passtopay => passtopay::analyze(p, &m),
        Protocol::Blockatm => blockatm::analyze(p, &m),
        Protocol::Ottpay => ottpay::analyze(p, &m),
        Protocol::V2sha256 => v2sha256::analyze(p, &m),
        Protocol::Fintech33 => {
            let owner = fintech33::token_owner(engine, p).await;
            fintech33::analyze(p, &m, owner.as_ref())
        }
    };
    report.notes.extend(note);
    report
}

/// The short explanation (as logged by the debugger) of a request received live, checked
/// against the merchant it names: no secrets, keys by fingerprint only.
pub(crate) async fn explain(engine: &Engine, protocol: Protocol, p: &Pasted) -> String {
    analyze(engine, protocol, p, "").await.summary()
}

fn form(s: &Session, f: &DebugForm, merchants: &[Merchant]) -> String {
    let option = |value: &str, label: &str, current: &str| {
        let sel = if value == current { " selected" } else { "" };
        format!(
            "<option value=\"{}\"{sel}>{}</option>",
            escape(value),
            escape(label)
        )
    };
    let protocols: String = Protocol::ALL
        .iter()
        .map(|p| option(p.as_str(), p.as_str(), &f.protocol))
        .collect();
    let merchant_options: String =
        std::iter::once(option("", "as named in the request", &f.merchant))
            .chain(merchants.iter().map(|m| {
                option(
                    m.id.as_str(),
                    &format!("{} ({})", m.name, m.id),
                    &f.merchant,
                )
            }))
            .collect();
    let method = if f.method.is_empty() {
        "POST"
    } else {
        f.method.as_str()
    };
    format!(
        "<form class=\"card\" method=\"post\" action=\"/console/signature\">{}<div class=\"filters\">\
         <label>Protocol<select name=\"protocol\" id=\"sig-protocol\">{protocols}</select></label>\
         <label>Merchant<select name=\"merchant\" id=\"sig-merchant\">{merchant_options}</select></label>\
         <label>Method<input name=\"method\" id=\"sig-method\" value=\"{}\" size=\"6\"></label>\
         <label style=\"flex:1\">Path and query (or full URL)<input name=\"target\" id=\"sig-target\" value=\"{}\" placeholder=\"/api/pay/unifiedOrder\"></label></div>\
         <label>Headers, one per line (Name: value)<textarea name=\"headers\" id=\"sig-headers\" rows=\"5\">{}</textarea></label>\
         <label>Body, exactly as sent<textarea name=\"body\" id=\"sig-body\" rows=\"8\">{}</textarea></label>\
         <label>Optional: the string your code signed<textarea name=\"signed\" id=\"sig-signed\" rows=\"3\">{}</textarea></label>\
         <p><button class=\"primary\" type=\"submit\" id=\"sig-check\">Explain the signature</button> \
         <span class=\"muted\">Line breaks are taken as LF. Nothing is stored; no nonce is claimed.</span></p></form>",
        csrf_field(s),
        escape(method),
        escape(&f.target),
        escape(&f.headers),
        escape(&f.body),
        escape(&f.signed),
    )
}

fn verdict_class(ok: Option<bool>) -> (&'static str, &'static str) {
    match ok {
        Some(true) => ("ok", "valid"),
        Some(false) => ("bad", "does not match"),
        None => ("wait", "not checked"),
    }
}

/// Shows line ends, which matter for some protocols and are invisible otherwise.
fn visible(text: &str) -> String {
    escape(text).replace('\n', "↵\n")
}

fn render(r: &Report) -> String {
    let (class, word) = verdict_class(r.signature_ok);
    let merchant = r.merchant.as_ref().map_or("—".to_string(), |(id, name)| {
        format!("{} ({})", escape(name), escape(id))
    });
    let keys: String = r
        .keys
        .iter()
        .map(|k| {
            format!(
                "<dd>{} — fingerprint <code class=\"fp\">{}</code></dd>",
                escape(&k.label),
                k.fingerprint
            )
        })
        .collect();
    let window = match &r.window {
        Some((ok, text)) => format!(
            "<span class=\"badge {}\" id=\"sig-window\">{}</span> {}",
            if *ok { "ok" } else { "bad" },
            if *ok { "ok" } else { "refused" },
            escape(text)
        ),
        None => "this protocol has no time window".into(),
    };
    let mut out = format!(
        "<div class=\"card\" id=\"sig-report\"><dl><dt>Signature</dt><dd><span class=\"badge {class}\" id=\"sig-verdict\">{word}</span> {}</dd>\
         <dt>Time window</dt><dd>{window}</dd><dt>Merchant</dt><dd>{merchant}</dd><dt>Keys</dt>{keys}</dl></div>",
        escape(&r.verdict),
    );
    if let Some(e) = &r.expected {
        out.push_str(&format!(
            "<h2>Expected string to sign</h2><pre id=\"sig-expected\">{}</pre>",
            visible(e)
        ));
    }
    if let Some(i) = &r.implied {
        out.push_str(&format!(
            "<h2>Implied by the request</h2><p class=\"muted\">{}</p><pre id=\"sig-implied\">{}</pre>",
            escape(&i.how),
            visible(&i.text)
        ));
        if let Some(e) = &r.expected {
            let segments = diff::diff(e, &i.text);
            let summary = match diff::first_difference(e, &i.text) {
                Some(at) => format!(
                    "They first differ at character {at}. <del>struck</del>: only expected; <ins>marked</ins>: only in the request's string."
                ),
                None => {
                    "They are identical: the difference is in the key or the hash, not the string."
                        .into()
                }
            };
            out.push_str(&format!("<h2>Where they differ</h2><p class=\"muted\">{summary}</p><pre id=\"sig-diff\">{}</pre>", diff::render(&segments).replace('\n', "↵\n")));
        }
    }
    if !r.notes.is_empty() {
        let items: String = r
            .notes
            .iter()
            .map(|n| format!("<li>{}</li>", escape(n)))
            .collect();
        out.push_str(&format!(
            "<h2>Notes</h2><div class=\"card\"><ul id=\"sig-notes\">{items}</ul></div>"
        ));
    }
    out
}

/// `GET /console/signature`.
pub async fn page(State(c): State<Console>, Extension(s): Extension<Session>) -> Response {
    let merchants = c.merchants().await;
    let body = form(&s, &DebugForm::default(), &merchants);
    layout::page(
        &c.frame(&s, "/console/signature"),
        "Signature debugger",
        &body,
    )
}

/// `POST /console/signature`: explains the pasted request's signature.
pub async fn debug(
    State(c): State<Console>,
    Extension(s): Extension<Session>,
    Form(f): Form<DebugForm>,
) -> Response {
    let merchants = c.merchants().await;
    let mut shown = f.clone();
    let result = match Protocol::parse(f.protocol.trim()) {
        Some(protocol) => {
            let p = pasted(&c, &f);
            let report = analyze(c.app.engine(), protocol, &p, &f.merchant).await;
            tracing::debug!(
                target: crate::signature_log::TARGET,
                explanation = %report.summary(),
                "signature debugger"
            );
            // A pasted string may hold the real secret: it is shown back only masked.
            shown.signed = report.pasted.clone().unwrap_or_default();
            render(&report)
        }
        None => "<div class=\"notice warn\">Choose a protocol.</div>".into(),
    };
    let body = format!("{result}<h2>Request</h2>{}", form(&s, &shown, &merchants));
    layout::page(
        &c.frame(&s, "/console/signature"),
        "Signature debugger",
        &body,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pasted_headers_and_targets_are_normalised() {
        let h = parse_headers(
            "POST /x HTTP/1.1\r\nHost: a.example\r\nBlockATM-Request-Time: 5\r\n\r\n",
        );
        assert_eq!(
            h,
            vec![
                ("Host".to_string(), "a.example".to_string()),
                ("BlockATM-Request-Time".to_string(), "5".to_string())
            ]
        );
        let mut headers = Vec::new();
        let (path, query) =
            split_target("https://pay.example/pg/v2/payment/create?x=1", &mut headers);
        assert_eq!(
            (path.as_str(), query.as_deref()),
            ("/pg/v2/payment/create", Some("x=1"))
        );
        assert_eq!(
            headers,
            vec![("Host".to_string(), "pay.example".to_string())]
        );
    }
}
