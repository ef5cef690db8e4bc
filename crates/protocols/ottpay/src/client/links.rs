//! Merchant-side URL helpers: reading the PREPAY redirect and decorating cashier links.

use super::ClientError;
use crate::notify::append_query;
use crate::wire::RedirectParams;

/// Reads the PREPAY synchronous redirect (spec §7.2). It is unsigned: confirm the outcome with
/// PREPAY_QUERY before acting on it.
pub fn parse_redirect(url: &str) -> Result<RedirectParams, ClientError> {
    let parsed = url::Url::parse(url).map_err(|_| ClientError::Malformed("redirect url"))?;
    let mut params = RedirectParams::default();
    for (name, value) in parsed.query_pairs() {
        let slot = match name.as_ref() {
            "total_fee" => &mut params.total_fee,
            "trade_no" => &mut params.trade_no,
            "out_trade_no" => &mut params.out_trade_no,
            "trade_status" => &mut params.trade_status,
            _ => continue,
        };
        *slot = value.into_owned();
    }
    if params.trade_status.is_empty() || params.out_trade_no.is_empty() {
        return Err(ClientError::Malformed("trade_status"));
    }
    Ok(params)
}

/// Adds the H5PAY return address to `payinfo` (spec §5.2).
pub fn with_redirect_url(payinfo: &str, redirect_url: &str) -> String {
    append_query(payinfo, &[("redirect_url", redirect_url)])
}

/// Preselects a payment method on a PREPAY checkout link (spec §5.3):
/// `NONE`, `WECHATPAY`, `ALIPAY`, `UNIONPAY` or `GP`.
pub fn with_selected_method(payinfo: &str, method: &str) -> String {
    append_query(payinfo, &[("selected", method)])
}
