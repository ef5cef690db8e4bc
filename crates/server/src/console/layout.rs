//! The console's HTML shell and the small formatters every page shares: escaping, amounts with
//! their currency, local times with their offset, state badges, CSRF fields and pagers.
//!
//! Pages are plain server-rendered HTML with one inline stylesheet and no scripts or external
//! assets; tables scroll sideways on a phone instead of squeezing.

use super::session::Session;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use polypay_core::{Money, Timestamp};

const STYLE: &str = "*{box-sizing:border-box}body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f4f5f7;color:#1c1e21;font-size:15px}\
header{background:#1f2937;color:#fff;padding:8px 12px;display:flex;flex-wrap:wrap;gap:4px 12px;align-items:center}\
header a{color:#e5e7eb;text-decoration:none;padding:6px 4px}header a.on{color:#fff;border-bottom:2px solid #60a5fa}\
header .brand{font-weight:700;color:#fff;margin-right:8px}header form{margin-left:auto}\
main{max-width:1200px;margin:0 auto;padding:16px 12px}h1{font-size:1.3rem;margin:4px 0 12px}h2{font-size:1.05rem;margin:20px 0 8px}\
.card{background:#fff;border-radius:10px;padding:14px;box-shadow:0 1px 3px rgba(0,0,0,.1);margin-bottom:14px}\
.scroll{overflow-x:auto}table{border-collapse:collapse;width:100%;background:#fff}th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e5e7eb;vertical-align:top;white-space:nowrap}\
th{font-size:.8rem;color:#4b5563;background:#f9fafb}td.wrap{white-space:normal;word-break:break-all}.num{text-align:right;font-variant-numeric:tabular-nums}\
dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 14px;margin:0}dt{color:#6b7280}dd{margin:0;word-break:break-all}\
.filters{display:flex;flex-wrap:wrap;gap:8px;align-items:flex-end}label{display:flex;flex-direction:column;font-size:.8rem;color:#4b5563;gap:2px}\
input,select,textarea{font:inherit;padding:6px 8px;border:1px solid #d1d5db;border-radius:6px;background:#fff;max-width:100%}textarea{width:100%;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85rem}\
button{font:inherit;padding:7px 12px;border-radius:6px;border:1px solid #9ca3af;background:#fff;cursor:pointer}button.primary{background:#2563eb;border-color:#2563eb;color:#fff}\
button.danger{background:#b91c1c;border-color:#b91c1c;color:#fff}form.inline{display:inline-block;margin:2px}form.settle{display:flex;flex-wrap:wrap;gap:8px;align-items:end;margin:6px 0}form.settle label{display:flex;flex-direction:column;font-size:.85em}\
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:.8rem;background:#e5e7eb}.ok{background:#dcfce7;color:#166534}.bad{background:#fee2e2;color:#991b1b}.wait{background:#fef9c3;color:#854d0e}\
pre{background:#111827;color:#e5e7eb;padding:10px;border-radius:8px;overflow-x:auto;font-size:.82rem;white-space:pre-wrap;word-break:break-all;margin:6px 0}\
ins{background:#bbf7d0;color:#14532d;text-decoration:none}del{background:#fecaca;color:#7f1d1d;text-decoration:none}\
.notice{padding:10px 12px;border-radius:8px;background:#eff6ff;border:1px solid #bfdbfe;margin-bottom:12px}.warn{background:#fff7ed;border-color:#fed7aa}\
.pager{display:flex;gap:12px;margin:10px 0}.muted{color:#6b7280;font-size:.85rem}ol.timeline{list-style:none;padding:0;margin:0}\
ol.timeline li{border-left:3px solid #d1d5db;padding:4px 0 10px 12px;margin-left:6px}ol.timeline li.ledger{border-color:#60a5fa}ol.timeline li.callback{border-color:#f59e0b}ol.timeline li.state{border-color:#10b981}\
details summary{cursor:pointer;color:#2563eb}.card>h2:first-child{margin-top:0}ol.timeline table{width:auto;min-width:260px}\
@media(min-width:900px){dl.wide{grid-template-columns:max-content 1fr max-content 1fr}}.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(220px,1fr));gap:12px}";

/// Navigation entries: path, label.
const NAV: [(&str, &str); 9] = [
    ("/console", "Overview"),
    ("/console/merchants", "Merchants"),
    ("/console/payments", "Payments"),
    ("/console/payouts", "Payouts"),
    ("/console/refunds", "Refunds"),
    ("/console/callbacks", "Callbacks"),
    ("/console/balances", "Balances"),
    ("/console/audit", "Audit log"),
    ("/console/signature", "Signature debugger"),
];

pub use polypay_core::text::escape_html as escape;

/// Percent-encodes a query value (everything but unreserved characters).
pub fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn document(title: &str, header: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{} · polypay console</title><style>{STYLE}</style></head><body>{header}<main>{body}</main></body></html>",
        escape(title)
    )
}

/// Where a page sits in the navigation (for highlighting) and what a page needs from the session.
pub struct Frame<'a> {
    pub session: &'a Session,
    pub active: &'a str,
    pub sandbox: bool,
}

fn navigation(f: &Frame<'_>) -> String {
    let mut links = String::from("<span class=\"brand\">polypay</span>");
    let sandbox = [("/console/sandbox", "Sandbox")];
    let extra: &[(&str, &str)] = if f.sandbox { &sandbox } else { &[] };
    for (path, label) in NAV.iter().chain(extra) {
        let on = if *path == f.active {
            " class=\"on\""
        } else {
            ""
        };
        links.push_str(&format!("<a href=\"{path}\"{on}>{label}</a>"));
    }
    links.push_str(&format!(
        "<form method=\"post\" action=\"/console/logout\">{}<button type=\"submit\" id=\"logout\">Sign out</button></form>",
        csrf_field(f.session)
    ));
    format!("<header>{links}</header>")
}

/// A signed-in page: navigation, title, body. Never cached (it may show one-time secrets).
pub fn page(f: &Frame<'_>, title: &str, body: &str) -> Response {
    let html = document(
        title,
        &navigation(f),
        &format!("<h1>{}</h1>{body}", escape(title)),
    );
    ([(header::CACHE_CONTROL, "no-store")], Html(html)).into_response()
}

/// A page outside a session (sign-in, errors before sign-in).
pub fn bare(status: StatusCode, title: &str, body: &str) -> Response {
    let html = document(
        title,
        "<header><span class=\"brand\">polypay</span></header>",
        &format!("<h1>{}</h1>{body}", escape(title)),
    );
    (status, [(header::CACHE_CONTROL, "no-store")], Html(html)).into_response()
}

/// A page that says one thing, with a status.
pub fn message(status: StatusCode, title: &str, text: &str) -> Response {
    bare(
        status,
        title,
        &format!(
            "<div class=\"card\"><p>{}</p><p><a href=\"/console\">Back to the console</a></p></div>",
            escape(text)
        ),
    )
}

/// The hidden CSRF input every state-changing form carries.
pub fn csrf_field(s: &Session) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        escape(&s.csrf)
    )
}

/// A one-button POST form (sandbox actions, re-send, …).
pub fn action_button(s: &Session, action: &str, label: &str, id: &str, class: &str) -> String {
    format!(
        "<form class=\"inline\" method=\"post\" action=\"{}\">{}<button type=\"submit\" class=\"{class}\" id=\"{}\">{}</button></form>",
        escape(action),
        csrf_field(s),
        escape(id),
        escape(label)
    )
}

/// An amount for people: major units with the currency's decimals, then the code (`25.00 CNY`).
pub fn money(m: &Money) -> String {
    format!("{} {}", m.to_decimal_string(), m.currency.code())
}

/// A time for people: the server's local time with its offset (`2025-05-26 14:03:07 +08:00`).
pub fn time(t: Timestamp) -> String {
    match jiff::Timestamp::from_millisecond(t.0) {
        Ok(ts) => ts
            .to_zoned(jiff::tz::TimeZone::system())
            .strftime("%Y-%m-%d %H:%M:%S %:z")
            .to_string(),
        Err(_) => t.0.to_string(),
    }
}

pub fn opt_time(t: Option<Timestamp>) -> String {
    t.map(time).unwrap_or_else(|| "—".into())
}

/// A state name in a coloured badge (green done, red failed, yellow waiting).
pub fn badge(state: &str) -> String {
    let class = match state {
        "succeeded" | "acknowledged" | "refunded" | "partially_refunded" => "ok",
        "failed" | "dead" | "expired" | "cancelled" | "failing" | "rejected" | "error"
        | "interrupted" => "bad",
        "created" | "pending" | "processing" => "wait",
        _ => "",
    };
    format!(
        "<span class=\"badge {class}\" data-state=\"{0}\">{0}</span>",
        escape(state)
    )
}

/// A table with a header row; `rows` are already-rendered `<tr>` elements.
pub fn table(headers: &[&str], rows: &[String], empty: &str) -> String {
    if rows.is_empty() {
        return format!("<p class=\"muted\">{}</p>", escape(empty));
    }
    let head: String = headers
        .iter()
        .map(|h| format!("<th>{}</th>", escape(h)))
        .collect();
    format!(
        "<div class=\"scroll card\" style=\"padding:0\"><table><thead><tr>{head}</tr></thead><tbody>{}</tbody></table></div>",
        rows.concat()
    )
}

/// Previous / next links for offset paging; `query` is the current filter without `page`.
pub fn pager(path: &str, query: &str, page: i64, has_more: bool) -> String {
    let link = |p: i64, label: &str, id: &str| {
        let sep = if query.is_empty() { "" } else { "&" };
        format!("<a id=\"{id}\" href=\"{path}?{query}{sep}page={p}\">{label}</a>")
    };
    let mut out = String::from("<div class=\"pager\">");
    if page > 0 {
        out.push_str(&link(page - 1, "← newer", "newer"));
    }
    out.push_str(&format!("<span class=\"muted\">page {}</span>", page + 1));
    if has_more {
        out.push_str(&link(page + 1, "older →", "older"));
    }
    out.push_str("</div>");
    out
}

/// A JSON value, pretty-printed and escaped, in a `<pre>`.
pub fn json_block(v: &serde_json::Value) -> String {
    let text = serde_json::to_string_pretty(v).unwrap_or_default();
    format!("<pre>{}</pre>", escape(&text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_encodes_queries() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(url_encode("a b&c=é"), "a%20b%26c%3D%C3%A9");
    }

    #[test]
    fn times_carry_an_offset_and_amounts_a_currency() {
        let t = time(Timestamp(1_622_016_579_000));
        assert_eq!(t.len(), 26, "{t}");
        assert!(matches!(&t[19..21], " +" | " -"), "{t}");
        let m = Money::new(2500, polypay_core::Currency::CNY);
        assert_eq!(money(&m), "25.00 CNY");
    }
}
