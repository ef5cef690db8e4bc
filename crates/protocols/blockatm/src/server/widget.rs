//! W: a verified cashier link becomes a payment and a 302 to polypay's hosted cashier page.
//!
//! The link was already authenticated by [`crate::inbound::parse`] (3.6). Then: a disabled
//! merchant → 1002; `orderNo` naming an open BlockATM order of the merchant → that order's page
//! (resumed); naming any other order → 1001. Otherwise a new order is created from the link.
//! A link without `amount` (spec: "absent → customer types it") first answers polypay's amount
//! page ([`AmountPage`]); its form posts the link back with the amount typed ([`submit`]), and
//! the order is then made as a link with that `amount` would make it. polypay's bounds (the
//! spec names `minAmount`/`maxAmount` without defining them): any amount above 0 that 6
//! decimals write, up to what a payment holds ([`crate::inbound::typed_amount`]).
//! Chain and token: the locked value, else the preselected one, else TRON / USDT
//! ([`CashierPage::choice`]).

use super::payment::{OrderSpec, create_payment, money};
use super::{Inner, internal};
use crate::amount::Amount;
use crate::inbound::{
    AmountForm, AmountPage, AmountProblem, ApiError, CashierPage, HTML_CONTENT_TYPE, HttpResponse,
    InboundError, WidgetError, WidgetErrorCode,
};
use polypay_core::{Merchant, Payment, Protocol};
use polypay_engine::EngineError;

fn parameter(detail: &'static str) -> InboundError {
    WidgetError::new(WidgetErrorCode::Parameter, detail).into()
}

/// `GET /cashier`: resumes the link's open order, else creates the order (fixed amount) or
/// shows the amount page (no amount).
pub(super) async fn open(
    inner: &Inner,
    merchant: &Merchant,
    page: CashierPage,
) -> Result<HttpResponse, InboundError> {
    if let Some(resumed) = resumed(inner, merchant, &page).await? {
        return Ok(resumed);
    }
    match page.amount {
        Some(amount) => create(inner, merchant, &page, amount).await,
        None => amount_page(inner, merchant, &page, "", None),
    }
}

/// `POST /cashier` from the amount page: the link (re-verified, without `amount`) and the
/// typed amount. A refused amount shows the page again (400) with the reason and the text as
/// typed; a valid one continues as `GET /cashier` with that `amount` would.
pub(super) async fn submit(
    inner: &Inner,
    merchant: &Merchant,
    form: AmountForm,
) -> Result<HttpResponse, InboundError> {
    let page = &form.page;
    check_enabled(merchant)?;
    let refused = |problem: AmountProblem| {
        let (_, token) = page.choice(inner.networks())?;
        let message = problem.message(&token.symbol);
        amount_page(inner, merchant, page, &form.typed, Some(&message))
    };
    let amount = match form.amount {
        Ok(amount) => amount,
        Err(problem) => return refused(problem),
    };
    // What a payment holds, as `order_spec` converts it (`typed_amount` already keeps to
    // `i64` millionths; the tokens, USDT and USDC, are core currencies).
    let (_, token) = page.choice(inner.networks())?;
    if money(&token.symbol, amount.micros()).is_none() {
        return refused(AmountProblem::TooLarge);
    }
    if let Some(resumed) = resumed(inner, merchant, page).await? {
        return Ok(resumed);
    }
    create(inner, merchant, page, amount).await
}

fn check_enabled(merchant: &Merchant) -> Result<(), InboundError> {
    match merchant.enabled {
        true => Ok(()),
        false => Err(WidgetError::new(WidgetErrorCode::CashierNotFound, "cashier disabled").into()),
    }
}

/// The page of the open order the link's `orderNo` names, if any (1002 for a disabled
/// merchant; 1001 when the number names another order).
async fn resumed(
    inner: &Inner,
    merchant: &Merchant,
    page: &CashierPage,
) -> Result<Option<HttpResponse>, InboundError> {
    check_enabled(merchant)?;
    let open_order = match &page.order_no {
        Some(order_no) => existing(inner, merchant, order_no).await?,
        None => None,
    };
    open_order
        .map(|existing| resume(inner, &existing))
        .transpose()
}

/// A new order of `amount` from the link, and a 302 to its page.
async fn create(
    inner: &Inner,
    merchant: &Merchant,
    page: &CashierPage,
    amount: Amount,
) -> Result<HttpResponse, InboundError> {
    let spec = order_spec(inner, page, amount)?;
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

/// The amount page of an amount-less link: 200, or 400 with `error` and the customer's text.
fn amount_page(
    inner: &Inner,
    merchant: &Merchant,
    page: &CashierPage,
    typed: &str,
    error: Option<&str>,
) -> Result<HttpResponse, InboundError> {
    let (network, token) = page.choice(inner.networks())?;
    let view = AmountPage {
        merchant: &merchant.name,
        link: &page.link,
        network: &network.name,
        symbol: &token.symbol,
        typed,
        error,
    };
    Ok(view.render())
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

fn order_spec(
    inner: &Inner,
    page: &CashierPage,
    amount: Amount,
) -> Result<OrderSpec, InboundError> {
    let (network, token) = page.choice(inner.networks())?;
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
