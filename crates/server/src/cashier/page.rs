//! The cashier's HTML: plain server-rendered pages, minimal inline CSS, no external assets,
//! readable on a phone. Every dynamic value is HTML-escaped.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use polypay_core::{Payment, PaymentState, Protocol, Timestamp};

pub struct View<'a> {
    pub payment: &'a Payment,
    pub merchant: &'a str,
    pub now: Timestamp,
    pub sandbox: bool,
    pub cashier_url: String,
    pub csrf: &'a str,
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f4f5f7;color:#1c1e21}\
main{max-width:420px;margin:0 auto;padding:24px 16px}\
.card{background:#fff;border-radius:12px;padding:20px;box-shadow:0 1px 3px rgba(0,0,0,.12)}\
h1{font-size:1.1rem;margin:0 0 4px}.amount{font-size:2rem;font-weight:700;margin:12px 0}\
dl{display:grid;grid-template-columns:auto 1fr;gap:6px 12px;margin:16px 0;font-size:.9rem}dt{color:#65676b}dd{margin:0;word-break:break-all}\
.qr{display:flex;justify-content:center;margin:16px 0}.qr svg{width:200px;height:200px}\
form{display:inline}button{font-size:1rem;padding:12px 18px;border-radius:8px;border:0;margin:4px 4px 0 0;cursor:pointer}\
.pay{background:#1a7f37;color:#fff}.fail{background:#cf222e;color:#fff}.cancel{background:#d0d7de}\
.note{font-size:.8rem;color:#65676b;margin-top:16px}.badge{display:inline-block;padding:2px 8px;border-radius:10px;background:#fff8c5;font-size:.75rem}";

pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn document(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>",
        escape(title)
    )
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

/// A QR code of `content` as an SVG document.
pub fn qr_svg(content: &str) -> String {
    match qrcode::QrCode::new(content.as_bytes()) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build(),
        Err(_) => String::from("<svg xmlns=\"http://www.w3.org/2000/svg\"/>"),
    }
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

fn amount(p: &Payment) -> String {
    format!(
        "{} {}",
        p.amount.to_short_decimal_string(),
        p.amount.currency
    )
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
    format!(
        "<dl><dt>Merchant</dt><dd>{}</dd><dt>Order</dt><dd>{}</dd><dt>Method</dt><dd>{}</dd></dl>",
        escape(v.merchant),
        escape(&p.merchant_order_no),
        escape(&method_label(p))
    )
}

fn actions(v: &View<'_>) -> String {
    if !v.sandbox {
        return "<p class=\"note\">Scan the code with your payment app to pay.</p>".into();
    }
    let token = &v.payment.cashier_token;
    let button = |action: &str, label: &str| {
        format!(
            "<form method=\"post\" action=\"/cashier/{token}/{action}\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <button class=\"{action}\" type=\"submit\" id=\"{action}\">{label}</button></form>",
            escape(v.csrf)
        )
    };
    format!(
        "{}{}{}<p class=\"note\"><span class=\"badge\">sandbox</span> No money moves: choose the outcome.</p>",
        button("pay", "Pay"),
        button("fail", "Fail"),
        button("cancel", "Cancel")
    )
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
        PaymentState::Created | PaymentState::Pending if p.expires_at <= v.now => {
            outcome("Order expired", "This order can no longer be paid.")
        }
        PaymentState::Created | PaymentState::Pending => format!(
            "<div class=\"card\"><h1>Pay {}</h1><div class=\"amount\" id=\"amount\">{}</div>\
             <div class=\"qr\">{}</div>{}<p>Time left: <strong id=\"time-left\">{}</strong></p>{}</div>",
            escape(v.merchant),
            escape(&amount(p)),
            qr_svg(&v.cashier_url),
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
    Html(document("Cashier", &body))
}

#[cfg(test)]
mod tests {
    use super::*;

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
