//! createOrder / queryOrder / refundOrder (§5.2–§5.4) on the engine's payments and refunds.

use polypay_core::{
    Currency, Merchant, Money, Payment, PaymentState, Protocol, Refund, RefundState,
};
use polypay_engine::{EngineError, NewPayment, NewRefund};
use polypay_store::StoreError;

use super::{Ctx, Failure, payer};
use crate::notify::{FIRST_REQUEST_ID, platform_order_sn};
use crate::order_record::{OrderAttrs, OrderFacts, RefundAttrs, timestamp, uuid_v4};
use crate::settings::MerchantSettings;
use crate::validate::ErrorCode;
use crate::wire::{
    CreateOrder, CreateOrderData, OrderRef, OrderStatus, QueryOrderData, RefundOrderData,
    ResponseData, order_status,
};

/// Unpaid links expire 15 minutes after creation (§5.2, §8).
pub const LINK_TTL_SECS: i64 = 15 * 60;
/// The per-instance `requestID` sequence (§7).
const REQUEST_SEQUENCE: &str = "fintech33:request";

type Outcome<T> = Result<T, Failure>;

pub(super) async fn create(
    ctx: &Ctx,
    merchant: &Merchant,
    o: CreateOrder,
) -> Outcome<ResponseData> {
    let Some(payer) = payer::by_id(ctx, merchant, o.payer_id).await? else {
        return Err(ErrorCode::PayerNotFound.into());
    };
    let region = MerchantSettings::of(merchant)?.region;
    let link_id = uuid_v4()?;
    let received = timestamp(ctx.engine.clock().now().millis());
    let template = OrderAttrs {
        platform_order_sn: String::new(),
        request_id: 0,
        region,
        payer_id: payer.payer_id,
        payer_email: payer.payer.email,
        description: o.description,
        purpose_of_transaction: o.purpose_of_transaction,
        skip3ds: o.skip3ds,
        domain: o.domain,
        product: o.product,
    };
    let cents = i64::try_from(o.amount.cents()).map_err(|_| Failure::System("amount".into()))?;
    let new = NewPayment {
        merchant_id: merchant.id.clone(),
        protocol: Protocol::Fintech33,
        merchant_order_no: o.order_sn,
        public_id: link_id,
        amount: Money::new(cents, Currency::USD),
        // Webhooks go to the merchant's registered URL, never a per-order one (§7).
        notify_url: None,
        return_url: None,
        ttl_seconds: LINK_TTL_SECS,
        initial_state: PaymentState::Created,
        attrs: serde_json::Value::Null,
    };
    // The requestID is drawn in the insert's own write job (one group commit).
    let numbered = ctx.engine.create_numbered_payment(
        new,
        REQUEST_SEQUENCE,
        FIRST_REQUEST_ID as i64,
        move |request_id, p| {
            let request_id = u64::try_from(request_id)
                .map_err(|_| EngineError::Store(StoreError::Corrupt("request sequence".into())))?;
            let attrs = OrderAttrs {
                // The 5-digit part follows the requestID, so it needs no sequence of its own.
                platform_order_sn: platform_order_sn(received, (request_id % 100_000) as u32),
                request_id,
                ..template.clone()
            };
            p.attrs = serde_json::to_value(&attrs).map_err(|e| {
                EngineError::Store(StoreError::Corrupt(format!("order attrs: {e}")))
            })?;
            Ok(())
        },
        None,
    );
    let payment = match numbered.await {
        Ok(p) => p,
        Err(EngineError::DuplicatePayment(_)) => return Err(ErrorCode::DuplicateOrder.into()),
        Err(e) => return Err(e.into()),
    };
    Ok(ResponseData::CreateOrder(CreateOrderData {
        link_id: payment.public_id.clone(),
        payment_link: ctx.platform.cashier_url(&payment.cashier_token),
        link_expiry: timestamp(payment.expires_at.millis()),
        // New, unless a sandbox amount rule already declined it at creation.
        status: order_status(payment.state, None).unwrap_or(OrderStatus::New),
    }))
}

pub(super) async fn query(ctx: &Ctx, merchant: &Merchant, r: &OrderRef) -> Outcome<ResponseData> {
    let payment = resolve(ctx, merchant, r).await?;
    let refunds = refunds_of(ctx, &payment).await?;
    let outcome = status(&payment, &refunds)?;
    Ok(ResponseData::QueryOrder(QueryOrderData { outcome }))
}

/// How many refund numbers a refund tries before it gives up (each taken by a refund of
/// another protocol the merchant numbered so).
const MAX_NUMBER_TRIES: u32 = 8;

/// Full refund of a `Paid` or `RefundFailed` order, number `<order_sn>#<n>`; the balance must
/// cover the amount and the merchant's `refund_fee` (both debited, both credited back if the
/// refund fails). In the sandbox it completes within the call (RefundRequest then
/// RefundCompleted, §8), or with the merchant's `refund_delay_ms` stays RefundRequest that long
/// (the sweeper completes it; the control API can complete or fail it first).
pub(super) async fn refund(ctx: &Ctx, merchant: &Merchant, r: &OrderRef) -> Outcome<ResponseData> {
    let payment = resolve(ctx, merchant, r).await?;
    let refunds = refunds_of(ctx, &payment).await?;
    if !matches!(
        status(&payment, &refunds)?,
        OrderStatus::Paid | OrderStatus::RefundFailed
    ) {
        return Err(ErrorCode::OrderStatusError.into());
    }
    let n = u32::try_from(refunds.len() + 1).map_err(|_| Failure::System("refund count".into()))?;
    let settings = MerchantSettings::of(merchant)?;
    let delay_ms = i64::from(settings.refund_delay_ms);
    let attrs = RefundAttrs {
        n,
        order: OrderFacts::of_payment(&payment)?,
    };
    // The refund's number is polypay's, `<order_sn>#<n>`; merchant numbers are unique across
    // the merchant's protocols (the design's invariant), so a PassToPay or V2_SHA256 refund the
    // merchant numbered so may hold it: then `<order_sn>#<n>.<k>`, the next free one.
    let first = format!("{}#{n}", payment.merchant_order_no);
    let template = NewRefund {
        payment_id: payment.id.clone(),
        protocol: Protocol::Fintech33,
        merchant_refund_no: first.clone(),
        public_id: format!("{}#{n}", payment.public_id),
        amount: payment.amount,
        reason: None,
        notify_url: None,
        exclusive: true,
        fee_minor: settings.refund_fee_minor()?,
        // In the sandbox it succeeds the delay later (the sweeper), or with none in the commit
        // that creates it.
        settle_after_ms: ctx.platform.sandbox.then_some(delay_ms),
        attrs: serde_json::to_value(&attrs).map_err(crate::Error::from)?,
    };
    let mut refund = None;
    for k in 1..=MAX_NUMBER_TRIES {
        let new = NewRefund {
            merchant_refund_no: match k {
                1 => first.clone(),
                _ => format!("{first}.{k}"),
            },
            ..template.clone()
        };
        match ctx.engine.create_refund(new).await {
            Ok((created, _)) => {
                refund = Some(created);
                break;
            }
            // Another protocol's refund has the number: the next one.
            Err(EngineError::DuplicateRefund(taken)) if taken.payment_id != payment.id => {}
            Err(EngineError::InsufficientBalance { .. }) => {
                return Err(ErrorCode::InsufficientBalance.into());
            }
            // A concurrent refund of the same order won the race (same `#n`, or already
            // pending), or the order moved on meanwhile.
            Err(
                EngineError::DuplicateRefund(_)
                | EngineError::RefundInProgress
                | EngineError::Rule(_),
            ) => {
                return Err(ErrorCode::OrderStatusError.into());
            }
            Err(EngineError::NotFound(_)) => return Err(ErrorCode::OrderNotFound.into()),
            Err(e) => return Err(e.into()),
        }
    }
    if refund.is_none() {
        return Err(Failure::System("no free refund number".into()));
    }
    Ok(ResponseData::RefundOrder(RefundOrderData::submitted()))
}

/// The merchant's 33 Fintech order named by `order_sn` and/or `linkID` (both must agree).
async fn resolve(ctx: &Ctx, merchant: &Merchant, r: &OrderRef) -> Outcome<Payment> {
    let by_sn = match &r.order_sn {
        Some(sn) => Some(found(
            ctx.engine.payment_by_order_no(&merchant.id, sn).await,
        )?),
        None => None,
    };
    let by_link = match &r.link_id {
        Some(link) => Some(found(ctx.engine.payment_by_public_id(link).await)?),
        None => None,
    };
    let payment = match (by_sn, by_link) {
        (Some(a), Some(b)) if a.id != b.id => return Err(ErrorCode::OrderNotFound.into()),
        (Some(p), _) | (None, Some(p)) => p,
        (None, None) => return Err(ErrorCode::OrderNotFound.into()),
    };
    if payment.merchant_id != merchant.id || payment.protocol != Protocol::Fintech33 {
        return Err(ErrorCode::OrderNotFound.into());
    }
    Ok(payment)
}

fn found(result: Result<Payment, EngineError>) -> Outcome<Payment> {
    match result {
        Ok(p) => Ok(p),
        Err(EngineError::NotFound(_)) => Err(ErrorCode::OrderNotFound.into()),
        Err(e) => Err(e.into()),
    }
}

/// The refunds of a paid order (none can exist before it was paid).
async fn refunds_of(ctx: &Ctx, payment: &Payment) -> Outcome<Vec<Refund>> {
    if !payment.state.was_paid() {
        return Ok(Vec::new());
    }
    Ok(ctx.engine.refunds_of_payment(&payment.id).await?)
}

/// §6: the payment's state and its latest refund (a pending one if any, else the highest `#n`).
fn status(payment: &Payment, refunds: &[Refund]) -> Outcome<OrderStatus> {
    let latest = refunds
        .iter()
        .find(|r| r.state == RefundState::Pending)
        .or_else(|| {
            refunds
                .iter()
                .max_by_key(|r| (RefundAttrs::of(r).map(|a| a.n).unwrap_or(0), r.created_at))
        });
    order_status(payment.state, latest.map(|r| r.state))
        .ok_or_else(|| Failure::System(format!("order {} is partially refunded", payment.id)))
}
