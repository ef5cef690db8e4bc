//! The three payment-creating actions (spec §5.1-§5.3): ACTIVEPAY, H5PAY and PREPAY_INIT.
//!
//! ACTIVEPAY/H5PAY use the OTT `order_id` (given or generated) as the merchant order number;
//! PREPAY_INIT uses `prepay_order_id` and generates the `order_id`. All three share the
//! merchant's payment order-number namespace, so a repeat of any of them is ORDER_USED.

use super::attrs::{PaymentAttrs, PrepayAttrs, public_id, wire_time};
use super::{Call, internal};
use crate::envelope::{OttError, ResponseData};
use crate::inbound::{ActivePay, H5Pay, PrepayInit};
use crate::wire::{
    Action, ActivePayResponse, BizType, Currency, H5PayResponse, PrepayInitResponse,
    generate_bizpay_order_id, generate_order_id, generate_sub_open_id,
};
use polypay_core::{Money, Payment, PaymentState};
use polypay_engine::{EngineError, NewPayment};

/// How often a generated order id is redrawn when it happens to be taken.
const GENERATE_ATTEMPTS: usize = 5;

pub async fn active_pay(call: &Call<'_>, req: ActivePay) -> Result<ResponseData, OttError> {
    let bizpay = req.biz_type.bizpay_prefix().map(bizpay_id);
    let attrs = PaymentAttrs {
        action: Action::ActivePay.as_str().to_owned(),
        biz_type: req.biz_type.as_str().to_owned(),
        amount: req.amount,
        tip: req.tip,
        operator_id: req.operator_id,
        shop_id: req.shop_id,
        terminal_no: req.terminal_no,
        bizpay_order_id: bizpay.clone(),
        sub_open_id: payer_id(call),
        ..PaymentAttrs::default()
    };
    let order = Order {
        given_order_id: req.order_id,
        prepay_order_id: None,
        total: req.amount.saturating_add(req.tip),
        currency: req.currency,
        notify_url: req.call_back_url,
        return_url: None,
        ttl_seconds: call.settings.payment_lifetime_secs,
    };
    let (payment, attrs) = create(call, order, attrs).await?;
    Ok(ResponseData::ActivePay(ActivePayResponse {
        order_id: attrs.order_id,
        bizpay_order_id: bizpay.unwrap_or_default(),
        code_url: call.ctx.platform.cashier_url(&payment.cashier_token),
    }))
}

pub async fn h5_pay(call: &Call<'_>, req: H5Pay) -> Result<ResponseData, OttError> {
    let biz_type = BizType::WechatPay;
    let attrs = PaymentAttrs {
        action: Action::H5Pay.as_str().to_owned(),
        biz_type: biz_type.as_str().to_owned(),
        amount: req.amount,
        tip: 0,
        operator_id: req.operator_id,
        shop_id: req.shop_id,
        bizpay_order_id: biz_type.bizpay_prefix().map(bizpay_id),
        sub_open_id: req.open_id.unwrap_or_else(|| payer_id(call)),
        ..PaymentAttrs::default()
    };
    let order = Order {
        given_order_id: req.order_id,
        prepay_order_id: None,
        total: req.amount,
        currency: req.currency,
        notify_url: req.call_back_url,
        return_url: None,
        ttl_seconds: call.settings.payment_lifetime_secs,
    };
    let (payment, attrs) = create(call, order, attrs).await?;
    Ok(ResponseData::H5Pay(H5PayResponse {
        order_id: attrs.order_id,
        merchant_id: call.merchant.credentials.ottpay.merchant_id.clone(),
        // The sandbox adds no convenience fee (spec §5.2).
        amount: req.amount.to_string(),
        payinfo: call.ctx.platform.cashier_url(&payment.cashier_token),
        time_zone_id: call.settings.time_zone_id.clone(),
    }))
}

pub async fn prepay_init(call: &Call<'_>, req: PrepayInit) -> Result<ResponseData, OttError> {
    let attrs = PaymentAttrs {
        action: Action::PrepayInit.as_str().to_owned(),
        biz_type: BizType::Prepay.as_str().to_owned(),
        amount: req.amount,
        tip: 0,
        operator_id: req.operator_id,
        shop_id: Some(req.shop_id),
        bizpay_order_id: None,
        sub_open_id: payer_id(call),
        prepay: Some(PrepayAttrs {
            prepay_order_id: req.prepay_order_id.clone(),
            sale_num: req.sale_num.clone(),
            email: req.email,
            remarks: req.remarks,
            duration: req.duration_secs,
            redirect_url: req.redirect_url.clone(),
        }),
        ..PaymentAttrs::default()
    };
    let order = Order {
        given_order_id: None,
        prepay_order_id: Some(req.prepay_order_id.clone()),
        total: req.amount,
        currency: req.currency,
        notify_url: req.call_back_url,
        return_url: Some(req.redirect_url),
        ttl_seconds: i64::from(req.duration_secs),
    };
    let (payment, _) = create(call, order, attrs).await?;
    let tz = &call.settings.time_zone;
    Ok(ResponseData::PrepayInit(PrepayInitResponse {
        prepay_order_id: req.prepay_order_id,
        sale_num: req.sale_num,
        amount: req.amount.to_string(),
        currency_type: req.currency.as_str().to_owned(),
        payinfo: call.ctx.platform.cashier_url(&payment.cashier_token),
        create_time: wire_time(payment.created_at, tz),
        expire_time: wire_time(payment.expires_at, tz),
    }))
}

/// The core side of a create request.
struct Order {
    /// The merchant's own `order_id`; `None`: generated.
    given_order_id: Option<String>,
    /// PREPAY's merchant order number.
    prepay_order_id: Option<String>,
    /// Cents charged: amount + tip.
    total: u64,
    currency: Currency,
    notify_url: String,
    return_url: Option<String>,
    ttl_seconds: i64,
}

/// Creates the payment, drawing a fresh `order_id` while a generated one is taken.
async fn create(
    call: &Call<'_>,
    order: Order,
    mut attrs: PaymentAttrs,
) -> Result<(Payment, PaymentAttrs), OttError> {
    let used = if order.prepay_order_id.is_some() {
        OttError::PrepayOrderUsed
    } else {
        OttError::OrderUsed
    };
    for _ in 0..GENERATE_ATTEMPTS {
        let generated = order.given_order_id.is_none();
        attrs.order_id = match &order.given_order_id {
            Some(given) => given.clone(),
            None => new_order_id(call),
        };
        // No read first: the insert refuses an order id that is taken, as a merchant order
        // number or as another payment's OTT order id (a PREPAY payment's generated one).
        match insert(call, &order, &attrs).await {
            Ok(payment) => return Ok((payment, attrs)),
            // A generated id that equals another order's: draw again.
            Err(EngineError::DuplicatePublicId) if generated => continue,
            Err(EngineError::DuplicatePayment(_))
                if generated && order.prepay_order_id.is_none() =>
            {
                continue;
            }
            Err(EngineError::DuplicatePayment(_) | EngineError::DuplicatePublicId) => {
                return Err(used);
            }
            Err(err) => return Err(internal(err)),
        }
    }
    tracing::error!("ottpay: could not draw a free order_id");
    Err(OttError::System)
}

async fn insert(
    call: &Call<'_>,
    order: &Order,
    attrs: &PaymentAttrs,
) -> Result<Payment, EngineError> {
    let currency = polypay_core::Currency::from_code(order.currency.as_str())
        .ok_or(EngineError::NotFound("currency"))?;
    let minor = i64::try_from(order.total).map_err(|_| EngineError::NotFound("amount"))?;
    let merchant_order_no = order
        .prepay_order_id
        .clone()
        .unwrap_or_else(|| attrs.order_id.clone());
    let new = NewPayment {
        merchant_id: call.merchant.id.clone(),
        protocol: polypay_core::Protocol::Ottpay,
        merchant_order_no,
        public_id: public_id(&call.merchant.id, &attrs.order_id),
        amount: Money::new(minor, currency),
        notify_url: Some(order.notify_url.clone()),
        return_url: order.return_url.clone(),
        ttl_seconds: order.ttl_seconds,
        initial_state: PaymentState::Created,
        attrs: attrs.to_value(),
    };
    call.ctx.engine.create_payment(new).await
}

// `ThreadRng` is not `Send`: it is only ever used inside these synchronous helpers.
fn bizpay_id(prefix: &str) -> String {
    generate_bizpay_order_id(prefix, &mut rand::thread_rng())
}

/// The payer's wallet id before one is known: the sandbox makes one up (spec §8); a gateway
/// leaves it empty until its rail reports the payer (the settlement report's `sub_openId`).
fn payer_id(call: &Call<'_>) -> String {
    match call.ctx.platform.sandbox {
        true => generate_sub_open_id(&mut rand::thread_rng()),
        false => String::new(),
    }
}

fn new_order_id(call: &Call<'_>) -> String {
    let now_ms = call.ctx.engine.clock().now().millis();
    generate_order_id(u64::try_from(now_ms).unwrap_or(0), &mut rand::thread_rng())
}
