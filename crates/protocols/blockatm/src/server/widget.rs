//! W: a verified cashier link becomes a payment and a 302 to polypay's hosted cashier page.
//!
//! The link was already authenticated by [`crate::inbound::parse`] (3.6). Then: a disabled
//! merchant → 1002; `orderNo` naming an open BlockATM order of the merchant → that order's page
//! (resumed); naming any other order → 1001. Otherwise a new order is created from the link.
//! polypay's hosted page takes fixed amounts only, so a link without `amount` → 1001 `amount`.
//! Chain and token: the locked value, else the preselected one, else TRON / USDT.

use super::payment::{OrderSpec, create_payment, money};
use super::{Inner, internal};
use crate::inbound::{
    ApiError, CashierPage, HTML_CONTENT_TYPE, HttpResponse, InboundError, WidgetError,
    WidgetErrorCode,
};
use polypay_core::{Merchant, Payment, Protocol};
use polypay_engine::EngineError;

const DEFAULT_CHAIN: &str = "TRON";
const DEFAULT_SYMBOL: &str = "USDT";

fn parameter(detail: &'static str) -> InboundError {
    WidgetError::new(WidgetErrorCode::Parameter, detail).into()
}

pub(super) async fn open(
    inner: &Inner,
    merchant: &Merchant,
    page: CashierPage,
) -> Result<HttpResponse, InboundError> {
    if !merchant.enabled {
        return Err(WidgetError::new(WidgetErrorCode::CashierNotFound, "cashier disabled").into());
    }
    let open_order = match &page.order_no {
        Some(order_no) => existing(inner, merchant, order_no).await?,
        None => None,
    };
    if let Some(existing) = open_order {
        return resume(inner, &existing);
    }
    let spec = order_spec(inner, &page)?;
    let payment = match create_payment(&inner.engine, merchant, spec).await {
        Ok(payment) => payment,
        // Another request opened the same order number first.
        Err(EngineError::DuplicatePayment(existing)) => return resume(inner, &existing),
        Err(error) => return Err(internal(&error, "create widget payment").into()),
    };
    Ok(redirect(
        &inner.platform.cashier_url(&payment.cashier_token),
    ))
}

async fn existing(
    inner: &Inner,
    merchant: &Merchant,
    order_no: &str,
) -> Result<Option<Payment>, ApiError> {
    match inner
        .engine
        .payment_by_order_no(&merchant.id, order_no)
        .await
    {
        Ok(payment) => Ok(Some(payment)),
        Err(EngineError::NotFound(_)) => Ok(None),
        Err(error) => Err(internal(&error, "payment lookup")),
    }
}

fn resume(inner: &Inner, payment: &Payment) -> Result<HttpResponse, InboundError> {
    if payment.protocol != Protocol::Blockatm || !payment.state.is_open() {
        return Err(parameter("orderNo"));
    }
    Ok(redirect(
        &inner.platform.cashier_url(&payment.cashier_token),
    ))
}

fn order_spec(inner: &Inner, page: &CashierPage) -> Result<OrderSpec, InboundError> {
    let amount = page.amount.ok_or_else(|| parameter("amount"))?;
    let chain = page
        .chain_id
        .as_deref()
        .or(page.default_chain_id.as_deref())
        .unwrap_or(DEFAULT_CHAIN);
    let network = inner
        .networks()
        .resolve(chain)
        .ok_or_else(|| parameter("chainId"))?;
    let symbol = page
        .currency
        .as_deref()
        .or(page.default_currency.as_deref())
        .unwrap_or(DEFAULT_SYMBOL);
    let token = network.token(symbol).ok_or_else(|| parameter("currency"))?;
    let money = money(&token.symbol, amount.micros()).ok_or_else(|| parameter("amount"))?;
    let merchant_order_no = match &page.order_no {
        Some(order_no) => order_no.clone(),
        // Order numbers are unique per merchant in the core; links without one get a private
        // number the merchant never sees (E2/webhooks omit `orderNo` for these orders).
        None => format!("blockatm-widget:{}", polypay_engine::random_hex(12)),
    };
    Ok(OrderSpec {
        merchant_order_no,
        order_no: page.order_no.clone(),
        amount: money,
        chain_id: network.chain_id.clone(),
        network: network.name.clone(),
        symbol: token.symbol.clone(),
        cust_no: Some(page.cust_no.clone()),
        return_url: page.redirect_url.clone(),
        ttl_seconds: i64::from(page.expire_period_minutes) * 60,
    })
}

fn redirect(location: &str) -> HttpResponse {
    HttpResponse {
        status: 302,
        headers: vec![
            ("Location".into(), location.to_owned()),
            ("Content-Type".into(), HTML_CONTENT_TYPE.into()),
        ],
        body: Vec::new(),
    }
}
