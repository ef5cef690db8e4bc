//! E1 create collection order, E2 payment detail, E3 payment list.

use super::{Inner, internal};
use crate::inbound::{ApiError, CreateOrder, PaymentListQuery, ResponseData};
use crate::orders::{ORDER_TYPE_QR, PaymentAttrs, pay_order};
use crate::wire::{CreateOrderData, PaymentStatus, payment_code};
use polypay_core::{Currency, Merchant, Money, Payment, PaymentState, Protocol};
use polypay_engine::{Engine, EngineError, NewPayment};

/// Sequence of platform order ids (section 8).
pub(super) const ORDER_ID_SEQUENCE: &str = "blockatm.pay_order_id";
pub(super) const ORDER_ID_START: i64 = 8_210_000_001;
/// E1 orders expire 15 minutes after creation.
const ORDER_TTL_SECONDS: i64 = 15 * 60;

/// What both E1 and the cashier link create.
pub(super) struct OrderSpec {
    pub merchant_order_no: String,
    pub order_no: Option<String>,
    pub amount: Money,
    pub chain_id: String,
    pub network: String,
    pub symbol: String,
    pub cust_no: Option<String>,
    pub return_url: Option<String>,
    pub ttl_seconds: i64,
}

/// Creates a BlockATM payment (`created`) with the next platform order id.
pub(super) async fn create_payment(
    engine: &Engine,
    merchant: &Merchant,
    spec: OrderSpec,
) -> Result<Payment, EngineError> {
    let attrs = PaymentAttrs {
        id: 0,
        cashier_id: crate::merchant::Numbers::of(merchant).cashier_id,
        chain_id: spec.chain_id,
        network: spec.network,
        symbol: spec.symbol,
        cust_no: spec.cust_no,
        order_no: spec.order_no,
        order_type: ORDER_TYPE_QR,
    };
    let new = NewPayment {
        merchant_id: merchant.id.clone(),
        protocol: Protocol::Blockatm,
        merchant_order_no: spec.merchant_order_no,
        public_id: String::new(),
        amount: spec.amount,
        notify_url: None,
        return_url: spec.return_url,
        ttl_seconds: spec.ttl_seconds,
        initial_state: PaymentState::Created,
        attrs: serde_json::Value::Null,
    };
    // The platform order id is drawn in the insert's own write job.
    engine
        .create_numbered_payment(
            new,
            ORDER_ID_SEQUENCE,
            ORDER_ID_START,
            move |id, p| {
                let attrs = PaymentAttrs {
                    id,
                    ..attrs.clone()
                };
                p.public_id = id.to_string();
                p.attrs = attrs.to_json();
                Ok(())
            },
            None,
        )
        .await
}

/// A token amount as core money; `None` when the symbol is not a core currency or it overflows.
pub(super) fn money(symbol: &str, micros: u64) -> Option<Money> {
    let currency = Currency::from_code(symbol)?;
    Some(Money::new(i64::try_from(micros).ok()?, currency))
}

pub(super) async fn create(
    inner: &Inner,
    merchant: &Merchant,
    order: CreateOrder,
) -> Result<ResponseData, ApiError> {
    if !merchant.enabled {
        return Err(ApiError::wrong_status());
    }
    let amount = money(&order.symbol, order.amount.micros())
        .ok_or_else(|| ApiError::illegal_parameter("amount"))?;
    // A retried create is refused by the insert itself (DuplicatePayment below); on SQLite it
    // consumes no platform order id (the id is drawn in the insert's job, rolled back with it).
    let spec = OrderSpec {
        merchant_order_no: order.order_no.clone(),
        order_no: Some(order.order_no),
        amount,
        chain_id: order.chain_id,
        network: order.network,
        symbol: order.symbol,
        cust_no: order.cust_no,
        return_url: order.redirect_url,
        ttl_seconds: ORDER_TTL_SECONDS,
    };
    let payment = match create_payment(&inner.engine, merchant, spec).await {
        Ok(payment) => payment,
        Err(EngineError::DuplicatePayment(_)) => return Err(ApiError::duplicate()),
        Err(error) => return Err(internal(&error, "create payment")),
    };
    let pay_url = inner.platform.cashier_url(&payment.cashier_token);
    let qr_code = polypay_engine::qr::png_data_uri(&pay_url).ok_or_else(ApiError::system_error)?;
    Ok(ResponseData::CreateOrder(CreateOrderData {
        expire_time: payment.expires_at.millis(),
        order_no: payment.merchant_order_no,
        pay_url,
        qr_code,
    }))
}

/// The merchant's BlockATM payment with this order number (other protocols' payments of the
/// same merchant are not visible here).
async fn find(
    engine: &Engine,
    merchant: &Merchant,
    order_no: &str,
) -> Result<Option<Payment>, ApiError> {
    match engine.payment_by_order_no(&merchant.id, order_no).await {
        Ok(p) if p.protocol == Protocol::Blockatm => Ok(Some(p)),
        Ok(_) | Err(EngineError::NotFound(_)) => Ok(None),
        Err(error) => Err(internal(&error, "payment lookup")),
    }
}

pub(super) async fn detail(
    inner: &Inner,
    merchant: &Merchant,
    order_no: &str,
) -> Result<ResponseData, ApiError> {
    let payment = find(&inner.engine, merchant, order_no)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let status = PaymentStatus::from_state(payment.state);
    Ok(ResponseData::PaymentDetail(pay_order(
        &payment,
        status,
        inner.networks(),
    )))
}

pub(super) async fn list(
    inner: &Inner,
    merchant: &Merchant,
    query: &PaymentListQuery,
) -> Result<ResponseData, ApiError> {
    let found = find(&inner.engine, merchant, &query.order_no).await?;
    let items = found
        .into_iter()
        .map(|p| pay_order(&p, payment_code(p.state), inner.networks()))
        .filter(|o| {
            query
                .chain_id
                .as_deref()
                .is_none_or(|c| o.chain_id.as_str() == c)
                && query.symbol.as_deref().is_none_or(|s| o.symbol == s)
                && query
                    .cust_no
                    .as_deref()
                    .is_none_or(|c| o.cust_no.as_deref() == Some(c))
        })
        .collect();
    Ok(ResponseData::PaymentList(items))
}
