//! REFUND (spec §5.6): a partial or full refund of a paid payment, debited from the merchant's
//! balance on acceptance. In the sandbox with refund delay 0 (the default) it succeeds at once.

use super::attrs::{PaymentAttrs, RefundAttrs, public_id};
use super::query::{found_or_not, refund_trade_time};
use super::{Call, internal};
use crate::envelope::{OttError, ResponseData};
use crate::inbound::Refund as RefundRequest;
use crate::wire::{RefundResponse, generate_order_id, refund_status};
use polypay_core::{CoreError, Money, Protocol};
use polypay_engine::{EngineError, NewRefund};

/// How often a generated refund order id is redrawn when it happens to be taken.
const GENERATE_ATTEMPTS: usize = 5;

pub async fn refund(call: &Call<'_>, req: RefundRequest) -> Result<ResponseData, OttError> {
    // Row 14 (a used refund number) is checked before row 15 (an unknown payment).
    if let Some(given) = &req.order_id
        && refund_no_taken(call, given).await?
    {
        return Err(OttError::OrderUsed);
    }
    let id = public_id(&call.merchant.id, &req.ori_order_id);
    let payment = found_or_not(call.ctx.engine.payment_by_public_id(&id).await)?;
    PaymentAttrs::of(&payment).ok_or(OttError::OrderNotFound)?;
    let amount = i64::try_from(req.refund_amt).map_err(|_| OttError::invalid("refund_amt"))?;
    let mut refund = None;
    for _ in 0..GENERATE_ATTEMPTS {
        let order_id = match &req.order_id {
            Some(given) => given.clone(),
            None => new_order_id(call),
        };
        let new = NewRefund {
            payment_id: payment.id.clone(),
            protocol: Protocol::Ottpay,
            merchant_refund_no: order_id.clone(),
            public_id: public_id(&call.merchant.id, &order_id),
            amount: Money::new(amount, payment.amount.currency),
            reason: None,
            notify_url: None,
            // Spec §4 row 16: not while another refund of the payment is pending.
            exclusive: true,
            fee_minor: 0,
            // Spec §8: in the sandbox it succeeds within the request (delay 0, in the commit
            // that creates it), or the sweeper settles it the delay later.
            settle_after_ms: call
                .ctx
                .platform
                .sandbox
                .then(|| call.settings.refund_delay_secs.saturating_mul(1000)),
            attrs: serde_json::to_value(RefundAttrs {
                order_id,
                ori_order_id: req.ori_order_id.clone(),
            })
            .unwrap_or_default(),
        };
        match call.ctx.engine.create_refund(new).await {
            Ok((created, _)) => {
                refund = Some(created);
                break;
            }
            Err(EngineError::DuplicateRefund(_)) if req.order_id.is_none() => continue,
            Err(err) => return Err(refund_error(err)),
        }
    }
    let Some(refund) = refund else {
        tracing::error!("ottpay: could not draw a free refund order_id");
        return Err(OttError::System);
    };
    let attrs = RefundAttrs::of(&refund).unwrap_or_default();
    Ok(ResponseData::Refund(RefundResponse {
        order_id: attrs.order_id,
        ori_order_id: attrs.ori_order_id,
        refund_amt: refund.amount.minor.to_string(),
        order_status: refund_status(refund.state).to_owned(),
        currency_type: refund.amount.currency.code().to_owned(),
        trade_time: refund_trade_time(call, &refund),
    }))
}

/// Maps the engine's refusals onto spec §4 rows 14-18.
fn refund_error(err: EngineError) -> OttError {
    match err {
        EngineError::DuplicateRefund(_) => OttError::OrderUsed,
        EngineError::RefundInProgress => OttError::NotRefundable,
        EngineError::Rule(CoreError::Transition(_)) => OttError::NotRefundable,
        EngineError::Rule(CoreError::RefundExceeds { .. }) => OttError::invalid("refund_amt"),
        EngineError::InsufficientBalance { .. } => OttError::InsufficientBalance,
        EngineError::NotFound(_) => OttError::OrderNotFound,
        other => internal(other),
    }
}

async fn refund_no_taken(call: &Call<'_>, order_id: &str) -> Result<bool, OttError> {
    match call
        .ctx
        .engine
        .refund_by_no(&call.merchant.id, order_id)
        .await
    {
        Ok(_) => Ok(true),
        Err(EngineError::NotFound(_)) => Ok(false),
        Err(err) => Err(internal(err)),
    }
}

fn new_order_id(call: &Call<'_>) -> String {
    let now_ms = call.ctx.engine.clock().now().millis();
    generate_order_id(u64::try_from(now_ms).unwrap_or(0), &mut rand::thread_rng())
}
