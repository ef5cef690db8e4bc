//! Refund endpoints (spec 5.6, 5.7; upstream Jeepay). In the sandbox a refund completes in the
//! request that creates it (spec 8).

use super::attrs::{self, PaymentAttrs, RefundAttrs};
use super::payment::find_payment;
use super::{Call, internal, view};
use crate::envelope::{ApiError, HttpResponse};
use crate::inbound::RefundOrder;
use crate::wire::{RefundOrderData, RefundRef, refund_state_code};
use polypay_core::{CoreError, Money, Protocol};
use polypay_engine::{EngineError, NewRefund};

pub(super) async fn refund_order(
    call: &Call<'_>,
    o: &RefundOrder,
) -> Result<HttpResponse, ApiError> {
    let payment = find_payment(call, &o.payment).await?;
    let pay_attrs = PaymentAttrs::of(&payment.attrs);
    let pay_currency = match pay_attrs.currency.as_str() {
        "" => payment.amount.currency.code(),
        sent => sent,
    };
    if !o.currency_matches(pay_currency) {
        return Err(ApiError::Invalid("currency"));
    }
    let minor = o
        .refund_amount
        .checked_mul(pay_attrs.kind.scale())
        .ok_or(ApiError::Invalid("refundAmount"))?;
    let pay_amount = view::payment_wire_amount(&payment, &pay_attrs);
    let attrs = RefundAttrs {
        app_id: call.credentials().app_id.clone(),
        currency: o.currency.clone(),
        pay_order_id: payment.public_id.clone(),
        pay_amount,
        refund_amount: o.refund_amount,
        client_ip: o.client_ip.map(|ip| ip.to_string()),
        channel_extra: o.channel_extra.clone(),
        ext_param: o.ext_param.clone(),
    };
    let new = NewRefund {
        payment_id: payment.id.clone(),
        protocol: Protocol::Passtopay,
        merchant_refund_no: o.mch_refund_no.clone(),
        // `refundOrderId` = `R` + 19 digits (spec 5.6): a snowflake id, as Jeepay's.
        public_id: super::payment::snowflake_id(call, 'R').await?,
        amount: Money::new(minor, payment.amount.currency),
        reason: Some(o.refund_reason.clone()),
        notify_url: o.notify_url.clone(),
        // PassToPay refuses a refund while another of the same payment is in state 0–1.
        exclusive: true,
        fee_minor: 0,
        // Sandbox refunds succeed at once, in the commit that creates them.
        settle_after_ms: call.ctx.platform.sandbox.then_some(0),
        attrs: attrs::to_value(&attrs),
    };
    let (refund, _) = call
        .engine()
        .create_refund(new)
        .await
        .map_err(refund_error)?;
    let data = RefundOrderData {
        channel_order_no: refund.channel_order_no.clone(),
        err_code: refund.error_code.clone(),
        err_msg: refund.error_message.clone(),
        mch_refund_no: refund.merchant_refund_no.clone(),
        pay_amount,
        refund_amount: o.refund_amount,
        refund_order_id: refund.public_id.clone(),
        state: refund_state_code(refund.state),
    };
    call.ok(&data)
}

fn refund_error(e: EngineError) -> ApiError {
    match e {
        EngineError::DuplicateRefund(_) => ApiError::DuplicateMchRefundNo,
        EngineError::RefundInProgress => ApiError::RefundInProgress,
        EngineError::InsufficientBalance { .. } => ApiError::InsufficientBalance,
        EngineError::Rule(CoreError::RefundExceeds { .. }) => ApiError::RefundExceedsRefundable,
        EngineError::Rule(CoreError::Transition(_)) => ApiError::RefundNotAllowed,
        EngineError::Rule(CoreError::Money(_)) => ApiError::Invalid("currency"),
        EngineError::Rule(CoreError::NonPositiveAmount) => ApiError::Invalid("refundAmount"),
        EngineError::NotFound(_) => ApiError::OrderNotFound,
        other => internal(other, "create refund"),
    }
}

pub(super) async fn query(call: &Call<'_>, r: &RefundRef) -> Result<HttpResponse, ApiError> {
    let engine = call.engine();
    let found = match r {
        RefundRef::RefundOrderId(id) => engine.refund_by_public_id(id).await,
        RefundRef::MchRefundNo(no) => engine.refund_by_no(&call.merchant.id, no).await,
    };
    let refund = match found {
        Ok(r) if r.merchant_id == call.merchant.id && r.protocol == Protocol::Passtopay => r,
        Ok(_) | Err(EngineError::NotFound(_)) => return Err(ApiError::OrderNotFound),
        Err(e) => return Err(internal(e, "find refund")),
    };
    call.ok(&view::refund_query_data(&refund, call.merchant))
}
