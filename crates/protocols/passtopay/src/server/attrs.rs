//! What the front door stores in a core object's `attrs`: every request field a later query,
//! notification or redirect must echo, in the shape the merchant sent it.

use polypay_core::PaymentState;
use serde::{Deserialize, Serialize};

/// Which create endpoint made a payment: decides `ifCode`, `wayCode`, `payUrl` and the amount
/// scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderKind {
    #[default]
    Unified,
    Cashier,
    Crypto,
}

impl OrderKind {
    /// Core minor units per unit of the wire `amount`: crypto amounts are token × 100 on the
    /// wire and token × 10^6 in the core (spec 5.3) [D].
    pub fn scale(self) -> i64 {
        match self {
            OrderKind::Crypto => 10_000,
            OrderKind::Unified | OrderKind::Cashier => 1,
        }
    }

    pub fn if_code(self) -> &'static str {
        match self {
            OrderKind::Crypto => "crypto",
            OrderKind::Unified | OrderKind::Cashier => "alipay",
        }
    }

    /// Cashier and crypto orders report their cashier URL as `payUrl` in queries (spec 5.4).
    pub fn has_pay_url(self) -> bool {
        !matches!(self, OrderKind::Unified)
    }
}

/// A payment's PassToPay fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PaymentAttrs {
    pub kind: OrderKind,
    pub app_id: String,
    /// As the merchant sent it (`cny`, `USDT`, …): echoed in queries and notifications.
    pub currency: String,
    /// The pinned or fixed method; for an unpinned cashier order, the cashier may record the
    /// customer's choice here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub way_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pay_data_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cust_no: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub register_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mbr_tel: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_no: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expired_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel_extra: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ext_param: Option<String>,
    /// Crypto orders: the `chain` code and the token (`USDT`/`USDC`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Set in the transaction of `/api/pay/close`: a merchant close is never notified
    /// (spec 5.5, 7.2), while a customer cancel is.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub closed_by_merchant: bool,
}

impl PaymentAttrs {
    /// Reads a payment's attrs; anything unreadable counts as empty (older or foreign rows).
    pub fn of(attrs: &serde_json::Value) -> Self {
        serde_json::from_value(attrs.clone()).unwrap_or_default()
    }

    /// `wayCode` as reported: crypto → `CRYPTO_ADDRESS`; cashier without a pin or recorded
    /// choice → `ALI_QR` [D].
    pub fn reported_way_code(&self) -> String {
        match (self.kind, &self.way_code) {
            (OrderKind::Crypto, _) => "CRYPTO_ADDRESS".to_owned(),
            (_, Some(w)) => w.clone(),
            (_, None) => "ALI_QR".to_owned(),
        }
    }
}

/// Whether a payment event is the one notification the payment gets (spec 7.2): the first
/// arrival at 2, 3 or 6 — success, failure, expiry, customer cancel — but not a merchant close.
/// The core state machine reaches one of these at most once, so this is "exactly once".
pub fn payment_notifies(state: PaymentState, attrs: &PaymentAttrs) -> bool {
    match state {
        PaymentState::Succeeded | PaymentState::Failed | PaymentState::Expired => true,
        PaymentState::Cancelled => !attrs.closed_by_merchant,
        PaymentState::Created
        | PaymentState::Pending
        | PaymentState::PartiallyRefunded
        | PaymentState::Refunded => false,
    }
}

/// A refund's PassToPay fields (the notifier sees only the refund, so the payment's public id
/// and reported amount are copied here at creation).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RefundAttrs {
    pub app_id: String,
    pub currency: String,
    pub pay_order_id: String,
    pub pay_amount: i64,
    /// As sent (wire units of the payment).
    pub refund_amount: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel_extra: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ext_param: Option<String>,
}

impl RefundAttrs {
    pub fn of(attrs: &serde_json::Value) -> Self {
        serde_json::from_value(attrs.clone()).unwrap_or_default()
    }
}

/// A transfer's PassToPay fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TransferAttrs {
    pub app_id: String,
    pub currency: String,
    pub entry_type: String,
    pub account_no: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bank_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<String>,
    pub transfer_desc: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cust_no: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel_extra: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bank_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra_param: Option<String>,
}

impl TransferAttrs {
    pub fn of(attrs: &serde_json::Value) -> Self {
        serde_json::from_value(attrs.clone()).unwrap_or_default()
    }
}

/// Serializes attrs; our structs always serialize, but never panic on it.
pub fn to_value<T: Serialize>(attrs: &T) -> serde_json::Value {
    serde_json::to_value(attrs).unwrap_or_else(|_| serde_json::json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attrs_round_trip_and_tolerate_junk() {
        let a = PaymentAttrs {
            kind: OrderKind::Crypto,
            currency: "usdt".into(),
            closed_by_merchant: true,
            ..Default::default()
        };
        let v = to_value(&a);
        assert_eq!(v["kind"], "crypto");
        assert_eq!(PaymentAttrs::of(&v), a);
        assert_eq!(
            PaymentAttrs::of(&serde_json::json!(null)),
            PaymentAttrs::default()
        );
        assert!(
            to_value(&PaymentAttrs::default())
                .get("closedByMerchant")
                .is_none()
        );
    }

    #[test]
    fn merchant_close_is_the_only_silent_terminal_state() {
        let open = PaymentAttrs::default();
        let closed = PaymentAttrs {
            closed_by_merchant: true,
            ..Default::default()
        };
        assert!(payment_notifies(PaymentState::Cancelled, &open));
        assert!(!payment_notifies(PaymentState::Cancelled, &closed));
        assert!(payment_notifies(PaymentState::Expired, &open));
        assert!(!payment_notifies(PaymentState::Refunded, &open));
        assert!(!payment_notifies(PaymentState::Pending, &open));
    }
}
