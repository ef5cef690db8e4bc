//! BlockATM's view of core payments and payouts: the `attrs` the front door stores, the sandbox
//! chain data, and the E2/E3/E5 records and webhook bodies rendered from them.
//!
//! Chain data (`txId`, `fromAddress`, `blockTime`) is read from `attrs` when something stored it
//! there (the sandbox cashier's Pay, a gateway's settlement report); otherwise, once a payment
//! or payout succeeded (or a payment's transfer was seen: the cashier's Pay records the transfer
//! hash as its channel order number), it comes from the object: `txId` = its channel order
//! number as recorded (the sandbox's `0x` + 64 hex, a gateway rail's hash in its chain's own
//! form), or, for an object with none, `0x` + SHA-256(`blockatm:tx:<id>:`); `fromAddress` =
//! the first 20 bytes of SHA-256(`blockatm:from:<id>`) as an EVM or TRON address (by the
//! order's chain: section 8 sandbox); `blockTime` = the time the object finished. Every
//! rendering (query, webhook, retry, redirect) therefore shows the same values.

use crate::amount::Amount;
use crate::network::{AddressType, NetworkTable};
use crate::wire::{
    Decimal, PayOrder, PaymentNotification, PaymentStatus, PayoutDetail, PayoutNotification,
    PayoutStatus, payout_code,
};
use polypay_core::{Money, Payment, PaymentState, Payout, PayoutState};
use polypay_engine::chain::sandbox_address;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// `orderType` of API-created orders (QR transfer).
pub const ORDER_TYPE_QR: i32 = 2;

/// What E1 and W store in `Payment.attrs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentAttrs {
    /// The platform order id (section 8 sequence).
    pub id: i64,
    pub cashier_id: i64,
    pub chain_id: String,
    pub network: String,
    pub symbol: String,
    pub cust_no: Option<String>,
    /// The merchant's order number; `None` for widget orders opened without one.
    pub order_no: Option<String>,
    pub order_type: i32,
}

impl PaymentAttrs {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "cashierId": self.cashier_id,
            "chainId": self.chain_id,
            "network": self.network,
            "symbol": self.symbol,
            "custNo": self.cust_no,
            "orderNo": self.order_no,
            "orderType": self.order_type,
        })
    }

    /// Reads the attrs back; absent members fall back to what the core object knows.
    pub fn of(payment: &Payment) -> PaymentAttrs {
        let a = &payment.attrs;
        let order_no = match a.get("orderNo") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Null) => None,
            _ => Some(payment.merchant_order_no.clone()),
        };
        PaymentAttrs {
            id: int(a, "id")
                .or_else(|| payment.public_id.parse().ok())
                .unwrap_or(0),
            cashier_id: int(a, "cashierId").unwrap_or(0),
            chain_id: text(a, "chainId").unwrap_or_default(),
            network: text(a, "network").unwrap_or_default(),
            symbol: text(a, "symbol").unwrap_or_else(|| payment.amount.currency.code().into()),
            cust_no: text(a, "custNo"),
            order_no,
            order_type: int(a, "orderType").map_or(ORDER_TYPE_QR, |t| t as i32),
        }
    }
}

/// What E4 stores in `Payout.attrs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutAttrs {
    pub chain_id: String,
    pub network: String,
    pub symbol: String,
    pub to_address: String,
    pub cust_no: String,
    pub remark: Option<String>,
    pub contract_id: i64,
    pub fee: Amount,
    pub gas_amount: Amount,
}

impl PayoutAttrs {
    pub fn to_json(&self) -> Value {
        json!({
            "chainId": self.chain_id,
            "network": self.network,
            "symbol": self.symbol,
            "toAddress": self.to_address,
            "custNo": self.cust_no,
            "remark": self.remark,
            "contractId": self.contract_id,
            "fee": self.fee.to_string(),
            "gasAmount": self.gas_amount.to_string(),
        })
    }

    pub fn of(payout: &Payout) -> PayoutAttrs {
        let a = &payout.attrs;
        let amount = |name| {
            text(a, name)
                .and_then(|t| Amount::parse(&t).ok())
                .unwrap_or_default()
        };
        PayoutAttrs {
            chain_id: text(a, "chainId").unwrap_or_default(),
            network: text(a, "network").unwrap_or_default(),
            symbol: text(a, "symbol").unwrap_or_else(|| payout.amount.currency.code().into()),
            to_address: text(a, "toAddress").unwrap_or_default(),
            cust_no: text(a, "custNo").unwrap_or_default(),
            remark: text(a, "remark"),
            contract_id: int(a, "contractId").unwrap_or(0),
            fee: amount("fee"),
            gas_amount: amount("gasAmount"),
        }
    }
}

fn int(attrs: &Value, name: &str) -> Option<i64> {
    match attrs.get(name)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn text(attrs: &Value, name: &str) -> Option<String> {
    attrs.get(name)?.as_str().map(str::to_owned)
}

/// A token amount of the core (minor units = millionths for USDT/USDC).
pub fn amount_of(money: Money) -> Amount {
    Amount::from_micros(u64::try_from(money.minor).unwrap_or(0))
}

/// On-chain facts of a paid order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainData {
    pub tx_id: String,
    pub from_address: String,
    pub block_time: i64,
}

/// The chain data of a payment once its transfer was seen (the cashier's Pay records its hash
/// as the channel reference while it gathers confirmations) or it was paid otherwise (see the
/// module doc for the derivation). Payments from before the reference was recorded carry a
/// `txId` attr, which wins.
pub fn payment_chain(payment: &Payment, networks: &NetworkTable) -> Option<ChainData> {
    let a = &payment.attrs;
    let seen = text(a, "txId").is_some() || payment.channel_order_no.is_some();
    if !payment.state.was_paid() && !seen {
        return None;
    }
    let id = payment.id.as_str();
    let address_type = text(a, "chainId")
        .and_then(|c| networks.by_chain_id(&c).map(|n| n.address_type))
        .unwrap_or(AddressType::Evm);
    Some(ChainData {
        tx_id: text(a, "txId").unwrap_or_else(|| tx_hash(id, payment.channel_order_no.as_deref())),
        from_address: text(a, "fromAddress").unwrap_or_else(|| from_address(id, address_type)),
        block_time: int(a, "blockTime")
            .unwrap_or_else(|| payment.finished_at.unwrap_or(payment.updated_at).millis()),
    })
}

/// `txId` and `blockTime` of a payout, once it succeeded.
pub fn payout_chain(payout: &Payout) -> Option<(String, i64)> {
    if payout.state != PayoutState::Succeeded {
        return None;
    }
    let a = &payout.attrs;
    let tx = text(a, "txId")
        .unwrap_or_else(|| tx_hash(payout.id.as_str(), payout.channel_order_no.as_deref()));
    let time = int(a, "blockTime")
        .unwrap_or_else(|| payout.finished_at.unwrap_or(payout.updated_at).millis());
    Some((tx, time))
}

fn tx_hash(object_id: &str, channel_order_no: Option<&str>) -> String {
    if let Some(channel) = channel_order_no.filter(|c| !c.is_empty()) {
        return channel.to_owned();
    }
    let seed = format!("blockatm:tx:{object_id}:");
    format!("0x{}", hex::encode(Sha256::digest(seed.as_bytes())))
}

fn from_address(object_id: &str, kind: AddressType) -> String {
    sandbox_address(&format!("blockatm:from:{object_id}"), kind.kind())
}

/// The chain data a gateway rail's success report gives beside the transfer's hash (the
/// settlement API's `details`), as attrs to merge into the payment: the sender (`fromAddress`)
/// and the block time (`blockTime`, ms). A payment that records no sender yet gets `""`, so a
/// real transfer whose sender the rail did not name shows none, never a made-up one; a sender
/// it already records (the sandbox cashier's) is kept.
pub fn settlement_marks(
    payment: &Payment,
    details: &serde_json::Map<String, Value>,
) -> Result<serde_json::Map<String, Value>, String> {
    let mut marks = serde_json::Map::new();
    for (name, value) in details {
        let fits = match (name.as_str(), value) {
            ("fromAddress", Value::String(s)) => {
                s.len() <= 128 && s.bytes().all(|b| b.is_ascii_alphanumeric())
            }
            ("blockTime", Value::Number(n)) => n.as_i64().is_some_and(|ms| ms > 0),
            _ => false,
        };
        if !fits {
            return Err(format!(
                "blockatm details are fromAddress (the sender's address) and blockTime \
                 (ms), not {name}: {value}"
            ));
        }
        marks.insert(name.clone(), value.clone());
    }
    if payment.attrs.get("fromAddress").is_none() {
        marks
            .entry("fromAddress")
            .or_insert_with(|| Value::String(String::new()));
    }
    Ok(marks)
}

/// A payment as E2 (`status` = [`PaymentStatus`]) or E3 (`status` = integer) shows it.
pub fn pay_order<S>(payment: &Payment, status: S, networks: &NetworkTable) -> PayOrder<S> {
    let attrs = PaymentAttrs::of(payment);
    let chain = payment_chain(payment, networks);
    PayOrder {
        amount: Decimal::from(amount_of(payment.amount)),
        block_time: chain.as_ref().map(|c| c.block_time),
        cashier_id: Some(attrs.cashier_id),
        chain_id: Decimal(attrs.chain_id),
        create_time: Some(payment.created_at.millis()),
        cust_no: attrs.cust_no,
        from_address: chain.as_ref().map(|c| c.from_address.clone()),
        id: attrs.id,
        network: Some(attrs.network).filter(|n| !n.is_empty()),
        order_no: attrs.order_no,
        order_type: Some(attrs.order_type),
        status,
        symbol: attrs.symbol,
        tx_id: chain.map(|c| c.tx_id),
    }
}

/// The payment webhook body (7.2); `None` for states that are not announced.
/// The status a payment's webhook reports on entering `state`, or `None` when that state sends
/// none (waiting for payment; refunds are not payment webhooks).
pub fn webhook_status(state: PaymentState) -> Option<PaymentStatus> {
    match state {
        PaymentState::PartiallyRefunded | PaymentState::Refunded => None,
        state => PaymentStatus::webhook(state),
    }
}

pub fn payment_notification(
    payment: &Payment,
    networks: &NetworkTable,
) -> Option<PaymentNotification> {
    let status = webhook_status(payment.state)?;
    let attrs = PaymentAttrs::of(payment);
    let chain = payment_chain(payment, networks);
    Some(PaymentNotification {
        amount: amount_of(payment.amount),
        block_time: chain.as_ref().map(|c| c.block_time),
        cashier_id: attrs.cashier_id,
        chain_id: attrs.chain_id,
        create_time: payment.created_at.millis(),
        cust_no: attrs.cust_no,
        from_address: chain
            .as_ref()
            .map(|c| c.from_address.clone())
            .unwrap_or_default(),
        id: attrs.id,
        network: attrs.network,
        order_no: attrs.order_no,
        order_type: attrs.order_type,
        status,
        symbol: attrs.symbol,
        tx_id: chain.map(|c| c.tx_id),
    })
}

/// A payout as E5 shows it.
pub fn payout_detail(payout: &Payout) -> PayoutDetail {
    let attrs = PayoutAttrs::of(payout);
    let chain = payout_chain(payout);
    PayoutDetail {
        amount: Decimal::from(amount_of(payout.amount)),
        biz_order_no: payout.merchant_order_no.clone(),
        block_time: chain.as_ref().map(|c| c.1),
        contract_id: Some(attrs.contract_id),
        cust_no: Some(attrs.cust_no),
        fee: Some(Decimal::from(attrs.fee)),
        gas_amount: Some(Decimal::from(attrs.gas_amount)),
        network: Some(attrs.network).filter(|n| !n.is_empty()),
        plat_order_no: Some(payout.public_id.clone()),
        status: payout_code(payout.state),
        symbol: attrs.symbol,
        to_address: Some(attrs.to_address),
        tx_id: chain.map(|c| c.0),
    }
}

/// The payout webhook body (7.2): final states only.
pub fn payout_notification(payout: &Payout) -> Option<PayoutNotification> {
    let status = PayoutStatus::webhook(payout.state)?;
    let attrs = PayoutAttrs::of(payout);
    let chain = payout_chain(payout);
    Some(PayoutNotification {
        amount: amount_of(payout.amount),
        biz_order_no: payout.merchant_order_no.clone(),
        block_time: chain.as_ref().map(|c| c.1),
        chain_id: attrs.chain_id,
        contract_id: attrs.contract_id,
        create_time: payout.created_at.millis(),
        cust_no: attrs.cust_no,
        fee: attrs.fee,
        gas_amount: attrs.gas_amount,
        network: attrs.network,
        status,
        symbol: attrs.symbol,
        to_address: attrs.to_address,
        tx_id: chain.map(|c| c.0),
        kind: 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::{is_evm_address, is_tron_address};
    use polypay_core::{Currency, MerchantId, PaymentId, Protocol, Timestamp};

    fn payment(state: PaymentState, chain_id: &str) -> Payment {
        let attrs = PaymentAttrs {
            id: 8_210_000_001,
            cashier_id: 86_100_021,
            chain_id: chain_id.into(),
            network: "TRON".into(),
            symbol: "USDT".into(),
            cust_no: Some("C1".into()),
            order_no: Some("O1".into()),
            order_type: ORDER_TYPE_QR,
        };
        Payment {
            id: PaymentId::from_random("abc"),
            merchant_id: MerchantId::from_random("m"),
            protocol: Protocol::Blockatm,
            merchant_order_no: "O1".into(),
            public_id: "8210000001".into(),
            amount: Money::new(13_410_000, Currency::USDT),
            state,
            refunded_minor: 0,
            refund_pending_minor: 0,
            notify_url: None,
            return_url: None,
            cashier_token: "t".into(),
            created_at: Timestamp(1_000),
            updated_at: Timestamp(2_000),
            expires_at: Timestamp(901_000),
            finished_at: state.was_paid().then_some(Timestamp(3_000)),
            channel_order_no: state.was_paid().then(|| "sbx-1".into()),
            error_code: None,
            error_message: None,
            attrs: attrs.to_json(),
        }
    }

    #[test]
    fn attrs_round_trip_and_widget_orders_have_no_order_no() {
        let mut p = payment(PaymentState::Created, "1");
        let attrs = PaymentAttrs::of(&p);
        assert_eq!(attrs.id, 8_210_000_001);
        assert_eq!(attrs.order_no.as_deref(), Some("O1"));
        p.attrs["orderNo"] = Value::Null;
        assert_eq!(PaymentAttrs::of(&p).order_no, None);
    }

    #[test]
    fn chain_data_only_once_paid_and_stable() {
        let open = payment(PaymentState::Pending, "1");
        assert_eq!(payment_chain(&open, &NetworkTable::sandbox()), None);
        let paid = payment(PaymentState::Succeeded, "1");
        let a = payment_chain(&paid, &NetworkTable::sandbox()).unwrap();
        let b = payment_chain(&paid, &NetworkTable::sandbox()).unwrap();
        assert_eq!(a, b);
        assert_eq!(
            a.tx_id, "sbx-1",
            "the recorded reference, as the rail gave it"
        );
        let mut unreferenced = paid.clone();
        unreferenced.channel_order_no = None;
        let u = payment_chain(&unreferenced, &NetworkTable::sandbox()).unwrap();
        let hex = u.tx_id.strip_prefix("0x").unwrap_or_default();
        assert!(hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(hex, hex.to_lowercase());
        assert!(is_evm_address(&a.from_address));
        assert_eq!(a.block_time, 3_000);
        let tron = payment(PaymentState::Succeeded, "0x2b6653dc");
        let t = payment_chain(&tron, &NetworkTable::sandbox()).unwrap();
        assert!(is_tron_address(&t.from_address), "{}", t.from_address);
        let mut stored = paid.clone();
        stored.attrs["txId"] = json!("0xfeed");
        assert_eq!(
            payment_chain(&stored, &NetworkTable::sandbox())
                .unwrap()
                .tx_id,
            "0xfeed"
        );
    }

    #[test]
    fn notifications_follow_section_6() {
        let table = NetworkTable::sandbox();
        assert!(payment_notification(&payment(PaymentState::Created, "1"), &table).is_none());
        let pending = payment_notification(&payment(PaymentState::Pending, "1"), &table).unwrap();
        assert_eq!(pending.from_address, "");
        assert_eq!(pending.tx_id, None);
        let paid = payment_notification(&payment(PaymentState::Succeeded, "1"), &table).unwrap();
        assert_eq!(paid.status, PaymentStatus::Success);
        assert_eq!(paid.amount.to_string(), "13.41");
        assert!(paid.tx_id.is_some());
    }
}
