//! The cashier's HTML: plain server-rendered pages, minimal inline CSS, no external assets,
//! readable on a phone. Every dynamic value is HTML-escaped.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use polypay_core::{Payment, PaymentState, Protocol, Timestamp};
use polypay_notify::{CashierField, CashierForm, CashierInput};

pub struct View<'a> {
    pub payment: &'a Payment,
    pub merchant: &'a str,
    pub now: Timestamp,
    pub sandbox: bool,
    pub cashier_url: String,
    pub csrf: &'a str,
    /// The protocol's details, inputs and verification step for this payment.
    pub form: &'a CashierForm,
    /// What the customer entered (a re-shown page); fields absent here show their defaults.
    pub values: CashierInput<'a>,
    /// Why the last action was refused, for the customer.
    pub error: Option<&'a str>,
    pub stage: Stage,
}

/// Which step of an open payment the page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The inputs, then the outcome buttons (or Continue, when a verification step follows).
    Inputs,
    /// The verification step, the inputs carried hidden.
    Challenge,
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f4f5f7;color:#1c1e21}\
main{max-width:420px;margin:0 auto;padding:24px 16px}\
.card{background:#fff;border-radius:12px;padding:20px;box-shadow:0 1px 3px rgba(0,0,0,.12)}\
h1{font-size:1.1rem;margin:0 0 4px;overflow-wrap:anywhere}.amount{font-size:2rem;font-weight:700;margin:12px 0}\
dl{display:grid;grid-template-columns:auto 1fr;gap:6px 12px;margin:16px 0;font-size:.9rem}dt{color:#65676b}dd{margin:0;word-break:break-all}\
.qr{display:flex;justify-content:center;margin:16px 0}.qr svg{width:200px;height:200px}\
form{display:block}h2{font-size:1rem;margin:16px 0 4px}button{font-size:1rem;padding:12px 18px;border-radius:8px;border:0;margin:4px 4px 0 0;cursor:pointer}\
.pay{background:#1a7f37;color:#fff}.fail{background:#cf222e;color:#fff}.cancel{background:#d0d7de}\
.note{font-size:.8rem;color:#65676b;margin-top:16px}.error{background:#ffebe9;color:#82071e;padding:8px 12px;border-radius:8px}\
fieldset{border:0;padding:0;margin:12px 0}legend,label{display:block;font-size:.9rem;margin:8px 0 4px}\
input[type=text]{width:100%;box-sizing:border-box;font-size:1rem;padding:10px;border:1px solid #d0d7de;border-radius:8px}\
fieldset label{display:inline-block;margin-right:16px}small{display:block;color:#65676b;font-size:.75rem;margin-top:2px}.badge{display:inline-block;padding:2px 8px;border-radius:10px;background:#fff8c5;font-size:.75rem}";

pub use polypay_core::text::escape_html as escape;

fn document(title: &str, body: &str) -> String {
    document_with(title, "", body)
}

/// A page with extra `<head>` markup (already escaped).
fn document_with(title: &str, head: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">{head}\
         <title>{}</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>",
        escape(title)
    )
}

/// Where a page may send the browser by script or link: an absolute http(s) URL or a path of
/// this host (never `javascript:` or another scheme).
pub fn navigable(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    lower.starts_with("https://")
        || lower.starts_with("http://")
        || (url.starts_with('/') && !url.starts_with("//"))
}

/// The finished page of a framed BlockATM widget: posts `message` to the merchant's page, then
/// goes to `to` (the return URL, or the outcome page; anything not [`navigable`] is not
/// followed). Without script, a link does.
pub fn hand_off(message: &serde_json::Value, to: &str) -> Response {
    let to = if navigable(to) { to } else { "/" };
    // JSON inside a script element: `<` escaped so no value can close the element.
    let message = message.to_string().replace('<', "\\u003c");
    let target = serde_json::Value::String(to.to_owned())
        .to_string()
        .replace('<', "\\u003c");
    let body = format!(
        "<div class=\"card\"><h1>Done</h1><p><a href=\"{}\">Continue</a></p></div>\
         <script>if (window.parent !== window) {{ window.parent.postMessage({message}, \"*\"); }}\
         window.location.replace({target});</script>",
        escape(to)
    );
    Html(document("Done", &body)).into_response()
}

/// A page that says one thing (unknown order, expired, error).
pub fn message(status: StatusCode, title: &str, text: &str) -> Response {
    let body = format!(
        "<div class=\"card\"><h1>{}</h1><p>{}</p></div>",
        escape(title),
        escape(text)
    );
    (status, Html(document(title, &body))).into_response()
}

/// A QR code of `content` as an SVG document (an empty one if it is too long to encode).
pub fn qr_svg(content: &str) -> String {
    polypay_engine::qr::svg(content)
        .unwrap_or_else(|| String::from("<svg xmlns=\"http://www.w3.org/2000/svg\"/>"))
}

/// How the order asked to be paid, for people ("Alipay QR", "USDT on TRON", ...).
pub fn method_label(p: &Payment) -> String {
    let a = &p.attrs;
    let s = |k: &str| a.get(k).and_then(|v| v.as_str()).map(str::to_string);
    if let Some(way) = s("wayCode") {
        return match way.as_str() {
            "ALI_QR" => "Alipay QR".into(),
            "ALI_WAP" => "Alipay (mobile)".into(),
            other => other.to_string(),
        };
    }
    if let (Some(symbol), Some(network)) = (
        s("symbol").or_else(|| Some(p.amount.currency.code().into())),
        s("network").or_else(|| s("chainName")),
    ) {
        return format!("{symbol} on {network}");
    }
    if let Some(t) = a
        .get("payMethod")
        .and_then(|m| m.get("type"))
        .and_then(|v| v.as_str())
    {
        return t.to_string();
    }
    if let Some(t) = s("pay_type").or_else(|| s("biz_type")) {
        return t;
    }
    match p.protocol {
        Protocol::Passtopay => "Alipay".into(),
        Protocol::Blockatm => format!("{} transfer", p.amount.currency),
        Protocol::Ottpay => "WeChat Pay / Alipay / UnionPay".into(),
        Protocol::V2sha256 => "UPI".into(),
        Protocol::Fintech33 => "Card".into(),
    }
}

/// The amount as a price: the currency's decimals (`22.00 CNY`), and for currencies with more
/// than two (stablecoins' six) trailing zeros dropped down to two (`12.50 USDT`).
fn amount(p: &Payment) -> String {
    let mut text = p.amount.to_decimal_string();
    if let Some(point) = text.find('.') {
        while text.len() > point + 3 && text.ends_with('0') {
            text.pop();
        }
    }
    format!("{text} {}", p.amount.currency)
}

fn time_left(p: &Payment, now: Timestamp) -> String {
    let secs = (p.expires_at.0 - now.0).max(0) / 1000;
    match secs {
        s if s >= 3600 => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
        s => format!("{}m {:02}s", s / 60, s % 60),
    }
}

fn details(v: &View<'_>) -> String {
    let p = v.payment;
    let extra: String = v
        .form
        .details
        .iter()
        .map(|(label, value)| format!("<dt>{}</dt><dd>{}</dd>", escape(label), escape(value)))
        .collect();
    format!(
        "<dl><dt>Merchant</dt><dd>{}</dd><dt>Order</dt><dd>{}</dd><dt>Method</dt><dd>{}</dd>{extra}</dl>",
        escape(v.merchant),
        escape(&p.merchant_order_no),
        escape(&method_label(p))
    )
}

fn hidden(name: &str, value: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
        escape(name),
        escape(value)
    )
}

/// One input, showing what the customer entered or else its default.
fn field(f: &CashierField, values: CashierInput<'_>) -> String {
    let current = values.get(f.name()).or(f.default_value());
    match f {
        CashierField::Choice {
            name,
            label,
            options,
            ..
        } => {
            let radios: String = options
                .iter()
                .map(|(value, text)| {
                    let checked = if current == Some(value.as_str()) { " checked" } else { "" };
                    format!(
                        "<label><input type=\"radio\" name=\"{name}\" id=\"{name}-{}\" value=\"{}\" required{checked}> {}</label>",
                        escape(value),
                        escape(value),
                        escape(text)
                    )
                })
                .collect();
            format!(
                "<fieldset><legend>{}</legend>{radios}</fieldset>",
                escape(label)
            )
        }
        CashierField::Text {
            name,
            label,
            hint,
            autocomplete,
            ..
        } => {
            let hint = if hint.is_empty() {
                String::new()
            } else {
                format!("<small>{}</small>", escape(hint))
            };
            format!(
                "<label for=\"{name}\">{}</label><input type=\"text\" id=\"{name}\" name=\"{name}\" value=\"{}\" autocomplete=\"{autocomplete}\" required>{hint}",
                escape(label),
                escape(current.unwrap_or(""))
            )
        }
    }
}

fn actions(v: &View<'_>) -> String {
    if let Some(text) = &v.form.waiting {
        return format!("<p class=\"note\" id=\"waiting\">{}</p>", escape(text));
    }
    if !v.sandbox {
        return "<p class=\"note\">Scan the code with your payment app to pay.</p>".into();
    }
    let token = &v.payment.cashier_token;
    let button = |action: &str, label: &str, extra: &str| {
        format!(
            "<button class=\"{}\" type=\"submit\" id=\"{action}\" formaction=\"/cashier/{token}/{action}\"{extra}>{label}</button>",
            if action == "continue" { "pay" } else { action }
        )
    };
    let error = v
        .error
        .map(|e| format!("<p class=\"error\" id=\"error\">{}</p>", escape(e)))
        .unwrap_or_default();
    let carried: String = v.form.carried.iter().map(|(k, x)| hidden(k, x)).collect();
    let challenge = v.form.challenge.as_ref();
    let (inputs, buttons) = match (v.stage, challenge) {
        (Stage::Challenge, Some(c)) => {
            let kept: String = v
                .form
                .fields
                .iter()
                .filter_map(|f| {
                    let value = v.values.get(f.name()).or(f.default_value())?;
                    Some(hidden(f.name(), value))
                })
                .collect();
            let step = format!(
                "<h2>{}</h2><p>{}</p>{}",
                escape(c.title),
                escape(c.text),
                field(&c.field, CashierInput(&[]))
            );
            let buttons = [
                button("pay", "Pay", ""),
                button("fail", "Fail", " formnovalidate"),
                button("cancel", "Cancel", " formnovalidate"),
            ];
            (kept + &step, buttons.concat())
        }
        (_, Some(_)) => {
            let buttons = [
                button("continue", "Continue", ""),
                button("cancel", "Cancel", " formnovalidate"),
            ];
            (fields(v), buttons.concat())
        }
        (_, None) => {
            let buttons = [
                button("pay", "Pay", ""),
                button("fail", "Fail", ""),
                button("cancel", "Cancel", " formnovalidate"),
            ];
            (fields(v), buttons.concat())
        }
    };
    format!(
        "{error}<form method=\"post\" action=\"/cashier/{token}/pay\">{}{carried}{inputs}<div>{buttons}</div></form>\
         <p class=\"note\"><span class=\"badge\">sandbox</span> No money moves: choose the outcome.</p>",
        hidden("csrf", v.csrf)
    )
}

fn fields(v: &View<'_>) -> String {
    v.form.fields.iter().map(|f| field(f, v.values)).collect()
}

/// The cashier page for a payment in any state.
pub fn cashier(v: &View<'_>) -> Html<String> {
    let p = v.payment;
    let outcome = |title: &str, text: &str| {
        format!(
            "<div class=\"card\"><h1>{}</h1><div class=\"amount\">{}</div><p>{}</p>{}</div>",
            escape(title),
            escape(&amount(p)),
            escape(text),
            details(v)
        )
    };
    let body = match p.state {
        PaymentState::Created | PaymentState::Pending
            if p.expires_at <= v.now && v.form.waiting.is_none() =>
        {
            outcome("Order expired", "This order can no longer be paid.")
        }
        PaymentState::Created | PaymentState::Pending => format!(
            "<div class=\"card\"><h1>Pay {}</h1><div class=\"amount\" id=\"amount\">{}</div>\
             <div class=\"qr\">{}</div>{}<p>Time left: <strong id=\"time-left\">{}</strong></p>{}</div>",
            escape(v.merchant),
            escape(&amount(p)),
            if v.stage == Stage::Inputs {
                qr_svg(&v.cashier_url)
            } else {
                String::new()
            },
            details(v),
            time_left(p, v.now),
            actions(v)
        ),
        PaymentState::Succeeded | PaymentState::PartiallyRefunded | PaymentState::Refunded => {
            outcome("Paid", "This order has been paid. You can close this page.")
        }
        PaymentState::Failed => outcome("Payment failed", "The payment did not go through."),
        PaymentState::Expired => outcome("Order expired", "This order can no longer be paid."),
        PaymentState::Cancelled => outcome("Order cancelled", "This order was cancelled."),
    };
    // An open order reloads itself a second after its time is up, through the route that
    // expires it and sends the browser back to the merchant (with the parameters the link
    // carried: OTT Pay's `redirect_url` is where an H5PAY customer goes).
    let carried = serde_urlencoded::to_string(&v.form.carried).unwrap_or_default();
    let returning = match carried.as_str() {
        "" => format!("/cashier/{}/return", p.cashier_token),
        query => format!("/cashier/{}/return?{query}", p.cashier_token),
    };
    let refresh = match p.state {
        PaymentState::Created | PaymentState::Pending if v.form.waiting.is_some() => format!(
            "<meta http-equiv=\"refresh\" content=\"3;url={}\">",
            escape(&returning)
        ),
        PaymentState::Created | PaymentState::Pending if p.expires_at > v.now => format!(
            "<meta http-equiv=\"refresh\" content=\"{};url={}\">",
            (p.expires_at.0 - v.now.0) / 1000 + 1,
            escape(&returning)
        ),
        _ => String::new(),
    };
    // Back from the merchant's page may restore this page from the back/forward cache as it
    // was (no-store does not keep every browser from it): such a page loads the order afresh,
    // by its own address when it was the link's (its query carries OTT Pay's `redirect_url`
    // and `selected`). A page that answered a form (the verification step, a refused input)
    // gives its history entry the link (its path, and the parameters the form carried), so
    // Back there loads the order instead of asking to send the form again.
    // JSON strings inside a script element: `<` escaped so no value can close the element.
    let js = |text: String| {
        serde_json::Value::String(text)
            .to_string()
            .replace('<', "\\u003c")
    };
    let path = format!("/cashier/{}", p.cashier_token);
    let link = match carried.as_str() {
        "" => path.clone(),
        query => format!("{path}?{query}"),
    };
    let (path, link) = (js(path), js(link));
    let restored = format!(
        "<script>if(location.pathname!=={path})history.replaceState(null,\"\",{link});\
         addEventListener(\"pageshow\",function(e){{if(e.persisted)location.replace(\
         location.pathname==={path}?location.href:{link})}});</script>"
    );
    Html(document_with("Cashier", &(refresh + &restored), &body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_urls_and_own_paths_are_followed() {
        for ok in ["https://m.example/r?a=1", "HTTP://m.example", "/cashier/ab"] {
            assert!(navigable(ok), "{ok}");
        }
        for refused in [
            "javascript:alert(1)",
            "JaVaScRiPt:x",
            "data:text/html,x",
            "//evil.example",
            "",
            "m.example",
        ] {
            assert!(!navigable(refused), "{refused}");
        }
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn qr_is_svg() {
        let svg = qr_svg("http://127.0.0.1/cashier/ab");
        assert!(svg.contains("<svg") && svg.contains("</svg>"), "{svg}");
        assert!(svg.len() > 1000, "a real code, not the empty fallback");
    }
}
