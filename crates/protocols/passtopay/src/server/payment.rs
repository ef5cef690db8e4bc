//! Payment endpoints (spec 5.1–5.5): the three creates, query, and the merchant close.

use super::attrs::{self, OrderKind, PaymentAttrs};
use super::{Call, cashier, internal, view};
use crate::envelope::{ApiError, HttpResponse};
use crate::inbound::{CashierOrder, CryptoOrder, PayerInfo, UnifiedOrder};
use crate::wire::{CloseData, CreateOrderData, PayDataType, PayOrderRef, payment_state_code};
use polypay_core::{Currency, Money, Payment, PaymentCommand, PaymentState, Protocol};
use polypay_engine::{EngineError, NewPayment};

/// `payOrderId` = `P` + a 19-digit snowflake id, as Jeepay numbers them (spec 5.1).
pub(super) async fn snowflake_id(call: &Call<'_>, prefix: char) -> Result<String, ApiError> {
    match call.engine().snowflake_id().await {
        Ok(id) => Ok(format!("{prefix}{id}")),
        Err(e) => Err(internal(e, "order id")),
    }
}

pub(super) async fn unified_order(
    call: &Call<'_>,
    o: &UnifiedOrder,
) -> Result<HttpResponse, ApiError> {
    let attrs = PaymentAttrs {
        kind: OrderKind::Unified,
        way_code: Some(o.way_code.as_str().to_owned()),
        pay_data_type: Some(o.pay_data_type.as_str().to_owned()),
        subject: Some(o.subject.clone()),
        body: Some(o.body.clone()),
        client_ip: o.client_ip.map(|ip| ip.to_string()),
        cust_no: o.cust_no.clone(),
        register_time: o.register_time,
        expired_time: Some(o.expired_secs),
        channel_extra: o.channel_extra.clone(),
        ext_param: o.ext_param.clone(),
        ..base_attrs(call, &o.currency, &o.payer)
    };
    let amount = Money::new(o.amount, Currency::CNY);
    // unifiedOrder orders are payable at once: created and moved to pending (spec 5.1).
    let new = new_payment(
        call,
        &o.mch_order_no,
        amount,
        &o.notify_url,
        &o.return_url,
        o.expired_secs,
    );
    let payment = create(
        call,
        NewPayment {
            initial_state: PaymentState::Pending,
            attrs: attrs::to_value(&attrs),
            ..new
        },
    )
    .await?;
    let base = call.base_url();
    let token = &payment.cashier_token;
    let pay_data = match o.pay_data_type {
        PayDataType::CodeImgUrl => cashier::qr_png_url(base, token),
        PayDataType::Form => cashier::wap_form(base, token),
        PayDataType::CodeUrl | PayDataType::PayUrl | PayDataType::CashierPayurl => {
            cashier::cashier_url(base, token)
        }
    };
    call.ok(&create_data(&payment, pay_data, o.pay_data_type))
}

pub(super) async fn cashier_order(
    call: &Call<'_>,
    o: &CashierOrder,
) -> Result<HttpResponse, ApiError> {
    let currency = Currency::from_code(&o.currency)
        .filter(|c| c.exponent() == 2)
        .ok_or(ApiError::NotSupported("currency"))?;
    let attrs = PaymentAttrs {
        kind: OrderKind::Cashier,
        way_code: o.way_code.map(|w| w.as_str().to_owned()),
        client_ip: o.client_ip.map(|ip| ip.to_string()),
        cust_no: o.cust_no.clone(),
        register_time: o.register_time,
        expired_time: Some(o.expired_secs),
        ext_param: o.ext_param.clone(),
        ..base_attrs(call, &o.currency, &o.payer)
    };
    let amount = Money::new(o.amount, currency);
    let new = new_payment(
        call,
        &o.mch_order_no,
        amount,
        &o.notify_url,
        &o.return_url,
        o.expired_secs,
    );
    let payment = create(
        call,
        NewPayment {
            attrs: attrs::to_value(&attrs),
            ..new
        },
    )
    .await?;
    let url = cashier::cashier_url(call.base_url(), &payment.cashier_token);
    call.ok(&create_data(&payment, url, PayDataType::CashierPayurl))
}

pub(super) async fn crypto_order(
    call: &Call<'_>,
    o: &CryptoOrder,
) -> Result<HttpResponse, ApiError> {
    let currency = Currency::from_code(&o.token).ok_or(ApiError::NotSupported("currency"))?;
    let attrs = PaymentAttrs {
        kind: OrderKind::Crypto,
        way_code: Some("CRYPTO_ADDRESS".to_owned()),
        subject: Some(o.subject.clone()),
        body: Some(o.body.clone()),
        client_ip: o.client_ip.map(|ip| ip.to_string()),
        cust_no: o.cust_no.clone(),
        register_time: o.register_time,
        expired_time: Some(o.expired_secs),
        ext_param: o.ext_param.clone(),
        chain: Some(o.chain.code().to_owned()),
        token: Some(o.token.clone()),
        ..base_attrs(call, &o.currency, &o.payer)
    };
    let amount = Money::new(o.minor_units(), currency);
    let new = new_payment(
        call,
        &o.mch_order_no,
        amount,
        &o.notify_url,
        &o.return_url,
        o.expired_secs,
    );
    let payment = create(
        call,
        NewPayment {
            attrs: attrs::to_value(&attrs),
            ..new
        },
    )
    .await?;
    let url = cashier::cashier_url(call.base_url(), &payment.cashier_token);
    call.ok(&create_data(&payment, url, PayDataType::CashierPayurl))
}

pub(super) async fn query(call: &Call<'_>, r: &PayOrderRef) -> Result<HttpResponse, ApiError> {
    let payment = find_payment(call, r).await?;
    let pay_url = cashier::cashier_url(call.base_url(), &payment.cashier_token);
    call.ok(&view::pay_order_data(
        &payment,
        call.merchant,
        Some(pay_url),
    ))
}

/// Closes an order in state 0/1 (→ 6). The `closedByMerchant` mark and the transition are one
/// write job, so the notifier never sees a merchant close without the mark.
pub(super) async fn close(call: &Call<'_>, r: &PayOrderRef) -> Result<HttpResponse, ApiError> {
    let payment = find_payment(call, r).await?;
    if !payment.state.is_open() {
        return Err(ApiError::OrderCannotBeClosed);
    }
    // The mark keeps any member we do not model (e.g. written by the cashier).
    let mark = serde_json::Map::from_iter([(
        "closedByMerchant".to_owned(),
        serde_json::Value::Bool(true),
    )]);
    let closed = call
        .engine()
        .transition_payment_marked(&payment.id, PaymentCommand::Cancel, mark)
        .await;
    match closed {
        Ok(_) => call.ok(&CloseData {}),
        Err(EngineError::Rule(_)) => Err(ApiError::OrderCannotBeClosed),
        Err(EngineError::NotFound(_)) => Err(ApiError::OrderNotFound),
        Err(e) => Err(internal(e, "close payment")),
    }
}

/// The payment a `payOrderId`/`mchOrderNo` names, scoped to the requesting merchant and to
/// PassToPay orders.
pub(super) async fn find_payment(call: &Call<'_>, r: &PayOrderRef) -> Result<Payment, ApiError> {
    let engine = call.engine();
    let found = match r {
        PayOrderRef::PayOrderId(id) => engine.payment_by_public_id(id).await,
        PayOrderRef::MchOrderNo(no) => engine.payment_by_order_no(&call.merchant.id, no).await,
    };
    match found {
        Ok(p) if p.merchant_id == call.merchant.id && p.protocol == Protocol::Passtopay => Ok(p),
        Ok(_) | Err(EngineError::NotFound(_)) => Err(ApiError::OrderNotFound),
        Err(e) => Err(internal(e, "find payment")),
    }
}

fn base_attrs(call: &Call<'_>, currency: &str, payer: &PayerInfo) -> PaymentAttrs {
    PaymentAttrs {
        app_id: call.credentials().app_id.clone(),
        currency: currency.to_owned(),
        user_name: payer.user_name.clone(),
        mbr_tel: payer.mbr_tel.clone(),
        id_no: payer.id_no.clone(),
        version: Some(call.inbound.common.version.clone()),
        ..PaymentAttrs::default()
    }
}

/// A `created` payment; unifiedOrder overrides the initial state.
fn new_payment(
    call: &Call<'_>,
    mch_order_no: &str,
    amount: Money,
    notify_url: &Option<String>,
    return_url: &Option<String>,
    ttl_seconds: i64,
) -> NewPayment {
    NewPayment {
        merchant_id: call.merchant.id.clone(),
        protocol: Protocol::Passtopay,
        merchant_order_no: mch_order_no.to_owned(),
        // Drawn in `create`.
        public_id: String::new(),
        amount,
        notify_url: notify_url.clone(),
        return_url: return_url.clone(),
        ttl_seconds,
        initial_state: PaymentState::Created,
        attrs: serde_json::json!({}),
    }
}

async fn create(call: &Call<'_>, new: NewPayment) -> Result<Payment, ApiError> {
    let new = NewPayment {
        public_id: snowflake_id(call, 'P').await?,
        ..new
    };
    match call.engine().create_payment(new).await {
        Ok(p) => Ok(p),
        Err(EngineError::DuplicatePayment(_)) => Err(ApiError::DuplicateMchOrderNo),
        Err(EngineError::Rule(_)) => Err(ApiError::Invalid("amount")),
        Err(e) => Err(internal(e, "create payment")),
    }
}

/// The create response; `payData` only while the order can still be paid, `errCode`/`errMsg`
/// only when it already failed (a sandbox rule's decline).
fn create_data(payment: &Payment, pay_data: String, kind: PayDataType) -> CreateOrderData {
    let open = payment.state.is_open();
    CreateOrderData {
        err_code: payment.error_code.clone(),
        err_msg: payment.error_message.clone(),
        mch_order_no: payment.merchant_order_no.clone(),
        order_state: payment_state_code(payment.state),
        pay_data: open.then_some(pay_data),
        pay_data_type: open.then(|| kind.as_str().to_owned()),
        pay_order_id: payment.public_id.clone(),
    }
}
