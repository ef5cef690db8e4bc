//! Core objects as PassToPay `data`: the query responses of spec 5.4/5.7/5.9, which are also
//! the bodies of the notifications (spec 7.2) and the redirect (7.1).

use super::attrs::{PaymentAttrs, RefundAttrs, TransferAttrs};
use crate::wire::{
    PayOrderData, RefundQueryData, TransferQueryData, payment_state_code, payout_state_code,
    refund_state_code,
};
use polypay_core::{Merchant, Payment, Payout, PayoutState, Refund, RefundState};

/// `ifCode` of transfers [D].
const TRANSFER_IF_CODE: &str = "alipay";

/// The application id an object reports: the one that created it, else the merchant's.
fn app_id(stored: &str, merchant: &Merchant) -> String {
    if stored.is_empty() {
        merchant.credentials.passtopay.app_id.clone()
    } else {
        stored.to_owned()
    }
}

/// The currency as the merchant sent it, else the core code in lower case.
fn currency(stored: &str, core: &str) -> String {
    if stored.is_empty() {
        core.to_ascii_lowercase()
    } else {
        stored.to_owned()
    }
}

/// A payment's amount in wire units (crypto: ÷ 10 000, exact by construction).
pub fn payment_wire_amount(payment: &Payment, attrs: &PaymentAttrs) -> i64 {
    payment.amount.minor / attrs.kind.scale()
}

/// `/api/pay/query` data. `pay_url` is the cashier URL for cashier and crypto orders.
pub fn pay_order_data(
    payment: &Payment,
    merchant: &Merchant,
    pay_url: Option<String>,
) -> PayOrderData {
    let attrs = PaymentAttrs::of(&payment.attrs);
    let success_time = payment
        .state
        .was_paid()
        .then(|| payment.finished_at.map(|t| t.millis()))
        .flatten();
    PayOrderData {
        amount: payment_wire_amount(payment, &attrs),
        app_id: app_id(&attrs.app_id, merchant),
        body: attrs.body.clone(),
        channel_order_no: payment.channel_order_no.clone(),
        client_ip: attrs.client_ip.clone(),
        created_at: Some(payment.created_at.millis()),
        currency: currency(&attrs.currency, payment.amount.currency.code()),
        err_code: payment.error_code.clone(),
        err_msg: payment.error_message.clone(),
        ext_param: attrs.ext_param.clone(),
        if_code: Some(attrs.kind.if_code().to_owned()),
        mch_no: merchant.credentials.passtopay.mch_no.clone(),
        mch_order_no: payment.merchant_order_no.clone(),
        pay_order_id: payment.public_id.clone(),
        pay_url: pay_url.filter(|_| attrs.kind.has_pay_url()),
        state: payment_state_code(payment.state),
        subject: attrs.subject.clone(),
        success_time,
        way_code: Some(attrs.reported_way_code()),
    }
}

/// `/api/refund/query` data.
pub fn refund_query_data(refund: &Refund, merchant: &Merchant) -> RefundQueryData {
    let attrs = RefundAttrs::of(&refund.attrs);
    let success_time = (refund.state == RefundState::Succeeded)
        .then(|| refund.finished_at.map(|t| t.millis()))
        .flatten();
    RefundQueryData {
        app_id: app_id(&attrs.app_id, merchant),
        channel_order_no: refund.channel_order_no.clone(),
        created_at: Some(refund.created_at.millis()),
        currency: currency(&attrs.currency, refund.amount.currency.code()),
        err_code: refund.error_code.clone(),
        err_msg: refund.error_message.clone(),
        ext_param: attrs.ext_param.clone(),
        mch_no: merchant.credentials.passtopay.mch_no.clone(),
        mch_refund_no: refund.merchant_refund_no.clone(),
        pay_amount: attrs.pay_amount,
        pay_order_id: attrs.pay_order_id.clone(),
        refund_amount: attrs.refund_amount,
        refund_order_id: refund.public_id.clone(),
        state: refund_state_code(refund.state),
        success_time,
    }
}

/// `/api/transfer/query` data.
pub fn transfer_query_data(payout: &Payout, merchant: &Merchant) -> TransferQueryData {
    let attrs = TransferAttrs::of(&payout.attrs);
    let success_time = (payout.state == PayoutState::Succeeded)
        .then(|| payout.finished_at.map(|t| t.millis()))
        .flatten();
    let entry_type = Some(attrs.entry_type.clone()).filter(|e| !e.is_empty());
    TransferQueryData {
        account_name: attrs.account_name.clone(),
        account_no: attrs.account_no.clone(),
        amount: payout.amount.minor,
        app_id: app_id(&attrs.app_id, merchant),
        bank_name: attrs.bank_name.clone(),
        channel_order_no: payout.channel_order_no.clone(),
        created_at: Some(payout.created_at.millis()),
        currency: currency(&attrs.currency, payout.amount.currency.code()),
        entry_type,
        err_code: payout.error_code.clone(),
        err_msg: payout.error_message.clone(),
        extra_param: attrs.extra_param.clone(),
        if_code: Some(TRANSFER_IF_CODE.to_owned()),
        mch_no: merchant.credentials.passtopay.mch_no.clone(),
        mch_order_no: payout.merchant_order_no.clone(),
        state: payout_state_code(payout.state),
        success_time,
        transfer_desc: Some(attrs.transfer_desc.clone()).filter(|d| !d.is_empty()),
        transfer_id: payout.public_id.clone(),
    }
}
