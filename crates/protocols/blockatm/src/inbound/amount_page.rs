//! W: polypay's amount page, the answer to a link without `amount` (spec: "absent → customer
//! types it"). It shows the chain and token the link chose and a form with one amount input,
//! posting `link` (the link's raw query) and `amount` to `POST /cashier`.
//!
//! Plain server-rendered HTML in the hosted cashier's style, every dynamic value escaped, no
//! script. BlockATM's widget frames it, so it says nothing against framing; it is never cached
//! (it carries the signed link) and sends no referrer.

use super::envelope::{HTML_CONTENT_TYPE, HttpResponse};

/// The page's Content-Security-Policy: its inline style and nothing else loads, and no
/// `frame-ancestors` (the merchant's page frames it).
pub const AMOUNT_PAGE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'";

const STYLE: &str = "body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f4f5f7;color:#1c1e21}\
main{max-width:420px;margin:0 auto;padding:24px 16px}\
.card{background:#fff;border-radius:12px;padding:20px;box-shadow:0 1px 3px rgba(0,0,0,.12)}\
h1{font-size:1.1rem;margin:0 0 4px;overflow-wrap:anywhere}\
dl{display:grid;grid-template-columns:auto 1fr;gap:6px 12px;margin:16px 0;font-size:.9rem}dt{color:#65676b}dd{margin:0;word-break:break-all}\
label{display:block;font-size:.9rem;margin:8px 0 4px}\
input[type=text]{width:100%;box-sizing:border-box;font-size:1rem;padding:10px;border:1px solid #d0d7de;border-radius:8px}\
small{display:block;color:#65676b;font-size:.75rem;margin-top:2px}\
button{font-size:1rem;padding:12px 18px;border-radius:8px;border:0;margin:12px 0 0;cursor:pointer;background:#1a7f37;color:#fff}\
.error{background:#ffebe9;color:#82071e;padding:8px 12px;border-radius:8px}";

/// What the amount page shows.
#[derive(Debug, Clone, Copy)]
pub struct AmountPage<'a> {
    /// The merchant's name.
    pub merchant: &'a str,
    /// The link's raw query, posted back as `link`.
    pub link: &'a str,
    /// The chain's `network` name (`TRON`, `Ethereum`).
    pub network: &'a str,
    /// The token (`USDT`).
    pub symbol: &'a str,
    /// What the customer typed (a refused amount, shown again).
    pub typed: &'a str,
    /// Why the typed amount was refused.
    pub error: Option<&'a str>,
}

impl AmountPage<'_> {
    /// The page: HTTP 200, or 400 when it shows a refused amount.
    pub fn render(&self) -> HttpResponse {
        let error = self
            .error
            .map(|e| {
                format!(
                    "<p class=\"error\" id=\"error\" role=\"alert\">{}</p>",
                    escape(e)
                )
            })
            .unwrap_or_default();
        let invalid = if self.error.is_some() {
            " aria-invalid=\"true\""
        } else {
            ""
        };
        let (merchant, symbol) = (escape(self.merchant), escape(self.symbol));
        let body = format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
             <title>Pay {merchant}</title><style>{STYLE}</style></head><body><main>\
             <div class=\"card blockatm-amount\"><h1>Pay {merchant}</h1>\
             <dl><dt>Network</dt><dd id=\"network\">{}</dd><dt>Token</dt><dd id=\"token\">{symbol}</dd></dl>\
             {error}<form method=\"post\" action=\"/cashier\">\
             <input type=\"hidden\" name=\"link\" value=\"{}\">\
             <label for=\"amount\">Amount ({symbol})</label>\
             <input type=\"text\" id=\"amount\" name=\"amount\" value=\"{}\" inputmode=\"decimal\" \
             autocomplete=\"off\" required{invalid}><small>Up to 6 decimal places.</small>\
             <button type=\"submit\" id=\"continue\">Continue</button></form></div></main></body></html>",
            escape(self.network),
            escape(self.link),
            escape(self.typed),
        );
        let header = |name: &str, value: &str| (name.to_owned(), value.to_owned());
        HttpResponse {
            status: if self.error.is_some() { 400 } else { 200 },
            headers: vec![
                header("Content-Type", HTML_CONTENT_TYPE),
                header("Cache-Control", "no-store"),
                header("X-Content-Type-Options", "nosniff"),
                header("Referrer-Policy", "no-referrer"),
                header("Content-Security-Policy", AMOUNT_PAGE_CSP),
            ],
            body: body.into_bytes(),
        }
    }
}

pub use polypay_core::text::escape_html as escape;

#[cfg(test)]
mod tests {
    use super::*;

    fn page(error: Option<&str>) -> AmountPage<'_> {
        AmountPage {
            merchant: "Shop <&>",
            link: "apiKey=pk&custNo=C%201&redirectURL=https%3A%2F%2Fm.example%2F%3Fa%3D1%26b%3D2&signature=ab",
            network: "TRON",
            symbol: "USDT",
            typed: "\"><script>x</script>",
            error,
        }
    }

    #[test]
    fn the_page_carries_the_link_and_escapes_every_value() {
        let fresh = page(None).render();
        assert_eq!(fresh.status, 200);
        let html = String::from_utf8(fresh.body).unwrap();
        assert!(html.contains(
            "<input type=\"hidden\" name=\"link\" value=\"apiKey=pk&amp;custNo=C%201&amp;redirectURL=https%3A%2F%2Fm.example%2F%3Fa%3D1%26b%3D2&amp;signature=ab\">"
        ), "{html}");
        assert!(html.contains("<form method=\"post\" action=\"/cashier\">"));
        assert!(html.contains("<dd id=\"network\">TRON</dd>") && html.contains(">USDT</dd>"));
        assert!(html.contains("Pay Shop &lt;&amp;&gt;"));
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("value=\"&quot;&gt;&lt;script&gt;x&lt;/script&gt;\""));
        let has = |name: &str| fresh.headers.iter().any(|(n, _)| n == name);
        assert!(has("Cache-Control") && has("Content-Security-Policy"));
        assert!(!has("X-Frame-Options"), "the widget frames it");
        assert!(!AMOUNT_PAGE_CSP.contains("frame-ancestors"));

        let refused = page(Some("Enter an amount greater than 0.")).render();
        assert_eq!(refused.status, 400);
        let html = String::from_utf8(refused.body).unwrap();
        assert!(html.contains(">Enter an amount greater than 0.</p>"));
        assert!(html.contains("aria-invalid=\"true\""));
    }
}
