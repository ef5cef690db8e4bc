//! E4 create payout and E5 payout detail.

use super::payment::money;
use super::{Inner, internal};
use crate::inbound::{ApiError, CreatePayout, ResponseData};
use crate::merchant::{Numbers, Settings};
use crate::orders::{PayoutAttrs, payout_detail};
use polypay_core::{Merchant, Protocol};
use polypay_engine::{EngineError, NewPayout};

/// Sequence of `platOrderNo` values (section 8).
const PLAT_ORDER_SEQUENCE: &str = "blockatm.plat_order_no";
const PLAT_ORDER_START: i64 = 8_310_000_001;

pub(super) async fn create(
    inner: &Inner,
    merchant: &Merchant,
    order: CreatePayout,
) -> Result<ResponseData, ApiError> {
    if !merchant.enabled {
        return Err(ApiError::wrong_status());
    }
    let amount = money(&order.symbol, order.amount.micros())
        .ok_or_else(|| ApiError::illegal_parameter("amount"))?;
    let engine = &inner.engine;
    // A retried create answers without consuming a platOrderNo.
    match engine
        .payout_by_order_no(&merchant.id, &order.biz_order_no)
        .await
    {
        Ok(_) => return Err(ApiError::duplicate()),
        Err(EngineError::NotFound(_)) => {}
        Err(error) => return Err(internal(&error, "payout lookup")),
    }
    // Likewise a payout the balance cannot cover (the engine's debit still decides races).
    let available = engine
        .balances(&merchant.id)
        .await
        .map_err(|e| internal(&e, "balance lookup"))?
        .into_iter()
        .find(|b| b.currency == amount.currency)
        .map_or(0, |b| b.minor);
    if available < amount.minor {
        return Err(ApiError::insufficient_balance());
    }
    let plat_order_no = engine
        .next_sequence(PLAT_ORDER_SEQUENCE, PLAT_ORDER_START)
        .await
        .map_err(|e| internal(&e, "payout sequence"))?;
    let settings = Settings::of(merchant);
    let attrs = PayoutAttrs {
        chain_id: order.chain_id,
        network: order.network,
        symbol: order.symbol,
        to_address: order.to_address,
        cust_no: order.cust_no,
        remark: order.remark,
        contract_id: Numbers::of(merchant).contract_id,
        fee: settings.payout_fee,
        gas_amount: settings.payout_gas_amount,
    };
    let created = engine
        .create_payout(NewPayout {
            merchant_id: merchant.id.clone(),
            protocol: Protocol::Blockatm,
            merchant_order_no: order.biz_order_no,
            public_id: plat_order_no.to_string(),
            amount,
            notify_url: None,
            start_processing: false,
            attrs: attrs.to_json(),
        })
        .await;
    match created {
        Ok(_) => Ok(ResponseData::CreatePayout),
        Err(EngineError::DuplicatePayout(_)) => Err(ApiError::duplicate()),
        Err(EngineError::InsufficientBalance { .. }) => Err(ApiError::insufficient_balance()),
        Err(error) => Err(internal(&error, "create payout")),
    }
}

pub(super) async fn detail(
    inner: &Inner,
    merchant: &Merchant,
    biz_order_no: &str,
) -> Result<ResponseData, ApiError> {
    let payout = match inner
        .engine
        .payout_by_order_no(&merchant.id, biz_order_no)
        .await
    {
        Ok(p) if p.protocol == Protocol::Blockatm => p,
        Ok(_) | Err(EngineError::NotFound(_)) => return Err(ApiError::not_found()),
        Err(error) => return Err(internal(&error, "payout lookup")),
    };
    Ok(ResponseData::PayoutDetail(payout_detail(&payout)))
}
