//! Transfer endpoints (spec 5.8, 5.9): bank-card payouts, reserved at creation and moved to
//! `processing` at once; the sandbox payout processor completes them later.

use super::attrs::{self, TransferAttrs};
use super::{Call, internal, view};
use crate::envelope::{ApiError, HttpResponse};
use crate::inbound::{ENTRY_TYPE_BANK_CARD, TransferOrder};
use crate::wire::{TransferOrderData, TransferRef, payout_state_code};
use polypay_core::{Currency, Money, Protocol};
use polypay_engine::{EngineError, NewPayout};

pub(super) async fn transfer_order(
    call: &Call<'_>,
    o: &TransferOrder,
) -> Result<HttpResponse, ApiError> {
    let attrs = TransferAttrs {
        app_id: call.credentials().app_id.clone(),
        currency: o.currency.clone(),
        entry_type: ENTRY_TYPE_BANK_CARD.to_owned(),
        account_no: o.account_no.clone(),
        account_name: o.account_name.clone(),
        bank_name: o.bank_name.clone(),
        client_ip: o.client_ip.map(|ip| ip.to_string()),
        transfer_desc: o.transfer_desc.clone(),
        cust_no: o.cust_no.clone(),
        channel_extra: o.channel_extra.clone(),
        bank_code: o.channel_extra_fields.bank_code.clone(),
        extra_param: o.extra_param.clone(),
    };
    let new = NewPayout {
        merchant_id: call.merchant.id.clone(),
        protocol: Protocol::Passtopay,
        merchant_order_no: o.mch_order_no.clone(),
        // `transferId` = `T` + 19 digits (spec 5.8): a snowflake id, as Jeepay's.
        public_id: super::payment::snowflake_id(call, 'T').await?,
        amount: Money::new(o.amount, Currency::CNY),
        notify_url: o.notify_url.clone(),
        start_processing: true,
        attrs: attrs::to_value(&attrs),
    };
    let payout = match call.engine().create_payout(new).await {
        Ok(p) => p,
        Err(EngineError::DuplicatePayout(_)) => return Err(ApiError::DuplicateMchOrderNo),
        Err(EngineError::InsufficientBalance { .. }) => {
            return Err(ApiError::InsufficientBalance);
        }
        Err(EngineError::Rule(_)) => return Err(ApiError::Invalid("amount")),
        Err(e) => return Err(internal(e, "create transfer")),
    };
    let data = TransferOrderData {
        account_name: o.account_name.clone(),
        account_no: o.account_no.clone(),
        amount: o.amount,
        bank_name: o.bank_name.clone(),
        channel_order_no: payout.channel_order_no.clone(),
        err_code: payout.error_code.clone(),
        err_msg: payout.error_message.clone(),
        mch_order_no: payout.merchant_order_no.clone(),
        state: payout_state_code(payout.state),
        transfer_id: payout.public_id.clone(),
    };
    call.ok(&data)
}

pub(super) async fn query(call: &Call<'_>, r: &TransferRef) -> Result<HttpResponse, ApiError> {
    let engine = call.engine();
    let found = match r {
        TransferRef::TransferId(id) => engine.payout_by_public_id(id).await,
        TransferRef::MchOrderNo(no) => engine.payout_by_order_no(&call.merchant.id, no).await,
    };
    let payout = match found {
        Ok(p) if p.merchant_id == call.merchant.id && p.protocol == Protocol::Passtopay => p,
        Ok(_) | Err(EngineError::NotFound(_)) => return Err(ApiError::OrderNotFound),
        Err(e) => return Err(internal(e, "find transfer")),
    };
    call.ok(&view::transfer_query_data(&payout, call.merchant))
}
