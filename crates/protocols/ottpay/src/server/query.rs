//! The read-only actions: PREPAY_QUERY (spec §5.4), STATUS_QUERY (§5.5) and EX_RATE_QUERY (§5.7).

use super::attrs::{PaymentAttrs, RefundAttrs, bizpay_order_id, public_id, wire_time};
use super::{Call, internal};
use crate::envelope::{OttError, ResponseData};
use crate::inbound::{ExRateQuery, PrepayQuery, StatusQuery};
use crate::wire::{
    BizType, ExRateResponse, PaymentStatusResponse, PrepayQueryResponse, RefundStatusResponse,
    prepay_query_status, refund_status, status_query_status,
};
use polypay_core::{Payment, PaymentState, Refund};
use polypay_engine::EngineError;

/// The methods the sandbox PREPAY cashier offers (spec §5.4, §8).
const PAYMENT_METHODS: &str = "WECHATPAY,ALIPAY,UNIONPAY";

pub async fn prepay_query(call: &Call<'_>, req: PrepayQuery) -> Result<ResponseData, OttError> {
    let found = call
        .ctx
        .engine
        .payment_by_order_no(&call.merchant.id, &req.prepay_order_id)
        .await;
    let payment = found_or_not(found)?;
    let attrs = PaymentAttrs::of(&payment).ok_or(OttError::OrderNotFound)?;
    let Some(prepay) = attrs.prepay.clone().filter(|_| attrs.is_prepay()) else {
        return Err(OttError::OrderNotFound);
    };
    if req
        .order_id
        .as_ref()
        .is_some_and(|id| *id != attrs.order_id)
    {
        return Err(OttError::OrderNotFound);
    }
    let tz = &call.settings.time_zone;
    let shown_order_id = if payment.state == PaymentState::Created {
        String::new()
    } else {
        attrs.order_id.clone()
    };
    Ok(ResponseData::PrepayQuery(Box::new(PrepayQueryResponse {
        rsp_code: "SUCCESS".to_owned(),
        rsp_msg: "success".to_owned(),
        merchant_id: call.merchant.credentials.ottpay.merchant_id.clone(),
        merchant_name: call.merchant.name.clone(),
        amount: attrs.amount.to_string(),
        tip: "0".to_owned(),
        shop_id: attrs.shop_id.clone().unwrap_or_default(),
        operator_id: attrs.operator_id.clone(),
        status: prepay_query_status(payment.state).to_owned(),
        call_back_url: payment.notify_url.clone().unwrap_or_default(),
        redirect_url: prepay.redirect_url,
        biz_type: BizType::Prepay.as_str().to_owned(),
        prepay_order_id: prepay.prepay_order_id,
        order_id: shown_order_id,
        sale_num: prepay.sale_num,
        email: prepay.email.unwrap_or_default(),
        remarks: prepay.remarks.unwrap_or_default(),
        currency_type: payment.amount.currency.code().to_owned(),
        duration: prepay.duration.to_string(),
        create_time: wire_time(payment.created_at, tz),
        expire_time: wire_time(payment.expires_at, tz),
        payments_methods: PAYMENT_METHODS.to_owned(),
    })))
}

/// A payment by its OTT `order_id`, else a refund by its own `order_id` (spec §5.5).
pub async fn status_query(call: &Call<'_>, req: StatusQuery) -> Result<ResponseData, OttError> {
    let id = public_id(&call.merchant.id, &req.order_id);
    let engine = &call.ctx.engine;
    match engine.payment_by_public_id(&id).await {
        Ok(payment) => {
            if let Some(attrs) = PaymentAttrs::of(&payment) {
                return Ok(ResponseData::PaymentStatus(payment_status(
                    call, &payment, &attrs,
                )));
            }
        }
        Err(EngineError::NotFound(_)) => {}
        Err(err) => return Err(internal(err)),
    }
    let refund = found_or_not(engine.refund_by_public_id(&id).await)?;
    let attrs = RefundAttrs::of(&refund).ok_or(OttError::OrderNotFound)?;
    Ok(ResponseData::RefundStatus(refund_status_data(
        call, &refund, attrs,
    )))
}

fn payment_status(
    call: &Call<'_>,
    payment: &Payment,
    attrs: &PaymentAttrs,
) -> PaymentStatusResponse {
    let paid = payment.state.was_paid();
    let total = payment.amount.minor.to_string();
    let trade_time = match payment.finished_at {
        Some(finished) if paid => finished,
        _ => payment.created_at,
    };
    PaymentStatusResponse {
        order_id: attrs.order_id.clone(),
        merchant_id: call.merchant.credentials.ottpay.merchant_id.clone(),
        order_status: status_query_status(payment.state).to_owned(),
        trade_time: wire_time(trade_time, &call.settings.time_zone),
        receive_amount: total.clone(),
        pay_amount: if paid { total.clone() } else { "0".to_owned() },
        total_amount: total,
        tip: attrs.tip.to_string(),
        refund_amount: payment.refunded_minor.to_string(),
        currency_type: payment.amount.currency.code().to_owned(),
        biz_type: attrs.biz_type.clone(),
        bizpay_order_id: bizpay_order_id(payment, attrs),
        buyer_login_id: if paid {
            attrs.sub_open_id.clone()
        } else {
            String::new()
        },
    }
}

/// STATUS_QUERY's and REFUND's view of a refund's time: when it settled, else when it was made.
pub fn refund_trade_time(call: &Call<'_>, refund: &Refund) -> String {
    let at = refund.finished_at.unwrap_or(refund.created_at);
    wire_time(at, &call.settings.time_zone)
}

fn refund_status_data(
    call: &Call<'_>,
    refund: &Refund,
    attrs: RefundAttrs,
) -> RefundStatusResponse {
    RefundStatusResponse {
        order_id: attrs.order_id,
        ori_order_id: attrs.ori_order_id,
        merchant_id: call.merchant.credentials.ottpay.merchant_id.clone(),
        order_status: refund_status(refund.state).to_owned(),
        trade_time: refund_trade_time(call, refund),
        refund_amt: refund.amount.minor.to_string(),
        currency_type: refund.amount.currency.code().to_owned(),
    }
}

pub fn ex_rate(req: ExRateQuery) -> ResponseData {
    ResponseData::ExRate(ExRateResponse {
        fee_type: req.fee_type,
        rate: req.rate_e8.to_string(),
    })
}

/// NotFound is the spec's `order not found`; anything else is internal.
pub fn found_or_not<T>(found: Result<T, EngineError>) -> Result<T, OttError> {
    match found {
        Ok(found) => Ok(found),
        Err(EngineError::NotFound(_)) => Err(OttError::OrderNotFound),
        Err(err) => Err(internal(err)),
    }
}
