//! Spec 8's sandbox URLs: the PassToPay-shaped cashier link, a 302 to the platform's hosted
//! cashier page, and the QR images of that link (`codeImgUrl`: PNG, and SVG beside it).

use super::Ctx;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::Arc;

/// The cashier path (spec 8).
pub const CASHIER_PATH: &str = "/passtopay/cashier";
/// The QR image path prefix; `<token>.png` or `<token>.svg` follows.
pub const QR_PREFIX: &str = "/passtopay/qr/";

/// `{public_base}/passtopay/cashier?payOrderToken=<token>`.
pub fn cashier_url(base: &str, token: &str) -> String {
    format!("{base}{CASHIER_PATH}?payOrderToken={token}")
}

/// `{public_base}/passtopay/qr/<token>.png` (the `codeImgUrl`).
pub fn qr_png_url(base: &str, token: &str) -> String {
    format!("{base}{QR_PREFIX}{token}.png")
}

/// ALI_WAP's `form` payData: an auto-submitting GET form to the cashier.
pub fn wap_form(base: &str, token: &str) -> String {
    format!(
        concat!(
            r#"<form name="punchout_form" method="get" action="{base}{path}">"#,
            r#"<input type="hidden" name="payOrderToken" value="{token}"></form>"#,
            r#"<script>document.forms[0].submit();</script>"#
        ),
        base = base,
        path = CASHIER_PATH,
        token = token
    )
}

/// A payment's cashier token is 64 lower-case hex digits; anything else is not ours.
fn is_token(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Whether `token` is a PassToPay order's cashier token: a link or QR image is only ever
/// made for an order that exists (a well-formed made-up token is not one), so the gateway's
/// domain never shows a payment link to nothing.
async fn names_an_order(ctx: &Ctx, token: &str) -> Result<bool, Response> {
    if !is_token(token) {
        return Ok(false);
    }
    match ctx.engine.payment_by_cashier_token(token).await {
        Ok(p) => Ok(p.protocol == polypay_core::Protocol::Passtopay),
        Err(polypay_engine::EngineError::NotFound(_)) => Ok(false),
        Err(e) => {
            tracing::error!(error = %e, "passtopay: cashier token lookup failed");
            Err(StatusCode::SERVICE_UNAVAILABLE.into_response())
        }
    }
}

fn found(location: String) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

fn readable(method: &Method) -> bool {
    method == Method::GET || method == Method::HEAD
}

/// `GET /passtopay/cashier?payOrderToken=…` → 302 to the hosted cashier page.
pub(super) async fn cashier(
    State(ctx): State<Arc<Ctx>>,
    method: Method,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if !readable(&method) {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let token = query.get("payOrderToken").map_or("", String::as_str);
    match names_an_order(&ctx, token).await {
        Ok(true) => found(ctx.platform.cashier_url(token)),
        Ok(false) => StatusCode::NOT_FOUND.into_response(),
        Err(unavailable) => unavailable,
    }
}

/// `GET /passtopay/qr/<token>.png|.svg`: a QR image of the order's PassToPay cashier link, the
/// `codeUrl` it is shown beside (spec 8).
pub(super) async fn qr(
    State(ctx): State<Arc<Ctx>>,
    method: Method,
    Path(file): Path<String>,
) -> Response {
    if !readable(&method) {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let (token, png) = match (file.strip_suffix(".png"), file.strip_suffix(".svg")) {
        (Some(t), _) => (t, true),
        (_, Some(t)) => (t, false),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    match names_an_order(&ctx, token).await {
        Ok(true) => {}
        Ok(false) => return StatusCode::NOT_FOUND.into_response(),
        Err(unavailable) => return unavailable,
    }
    let link = cashier_url(&ctx.platform.public_base_url, token);
    let image = if png {
        polypay_engine::qr::png(&link).map(|b| ("image/png", b))
    } else {
        polypay_engine::qr::svg(&link).map(|s| ("image/svg+xml", s.into_bytes()))
    };
    match image {
        Some((kind, bytes)) => (
            [
                (header::CONTENT_TYPE, kind),
                (header::CACHE_CONTROL, "no-store"),
            ],
            bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_have_the_spec_shape() {
        let t = "ab".repeat(32);
        assert_eq!(
            cashier_url("https://p.example", &t),
            format!("https://p.example/passtopay/cashier?payOrderToken={t}")
        );
        assert_eq!(
            qr_png_url("https://p.example", &t),
            format!("https://p.example/passtopay/qr/{t}.png")
        );
        assert_eq!(
            wap_form("https://p.example", &t),
            format!(
                "<form name=\"punchout_form\" method=\"get\" action=\"https://p.example/passtopay/cashier\"><input type=\"hidden\" name=\"payOrderToken\" value=\"{t}\"></form><script>document.forms[0].submit();</script>"
            )
        );
        assert!(is_token(&t));
        assert!(!is_token(&t.to_uppercase()));
        assert!(!is_token("ab"));
    }
}
