//! Payment wire types: create (unifiedOrder, cashierOrder, cryptoOrder), query, close —
//! request parameters as a client sends them, response `data`, and the payment notification.

use super::de;
use serde::{Deserialize, Serialize};

/// `/api/pay/unifiedOrder` parameters (spec 5.1), without the common fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnifiedOrderParams {
    pub mch_order_no: String,
    /// `ALI_QR` or `ALI_WAP`.
    pub way_code: String,
    /// Fen.
    #[serde(deserialize_with = "de::int")]
    pub amount: i64,
    pub currency: String,
    pub subject: String,
    pub body: String,
    pub client_ip: String,
    pub cust_no: String,
    /// Milliseconds since the epoch.
    #[serde(serialize_with = "de::int_as_string", deserialize_with = "de::int")]
    pub register_time: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mbr_tel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_url: Option<String>,
    /// Seconds.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_int"
    )]
    pub expired_time: Option<i64>,
    /// JSON text, e.g. `{"payDataType":"codeImgUrl"}` — sent as a string (spec 3.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_extra: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ext_param: Option<String>,
}

/// `/api/pay/cashierOrder` parameters (spec 5.2). No `clientIp`: the provider does not document
/// it here, and an undocumented field breaks the real server's signature check (spec 3.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CashierOrderParams {
    pub mch_order_no: String,
    /// Amount × 100.
    #[serde(deserialize_with = "de::int")]
    pub amount: i64,
    pub currency: String,
    pub cust_no: String,
    #[serde(serialize_with = "de::int_as_string", deserialize_with = "de::int")]
    pub register_time: i64,
    /// Pins `ALI_QR`/`ALI_WAP` on the cashier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub way_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mbr_tel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_url: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_int"
    )]
    pub expired_time: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ext_param: Option<String>,
    /// Reserved by the provider: accepted and signed, ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

/// `/api/pay/cryptoOrder` parameters (spec 5.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CryptoOrderParams {
    pub mch_order_no: String,
    /// Token amount × 100 (100.31 USDT → 10031).
    #[serde(deserialize_with = "de::int")]
    pub amount: i64,
    /// `USDT` or `USDC`.
    pub currency: String,
    /// A [`super::Chain`] code, e.g. `0x2b6653dc`.
    pub chain: String,
    /// At most 8 characters.
    pub subject: String,
    /// At most 8 characters.
    pub body: String,
    pub client_ip: String,
    pub cust_no: String,
    #[serde(serialize_with = "de::int_as_string", deserialize_with = "de::int")]
    pub register_time: i64,
    /// `CRYPTO_ADDRESS` when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub way_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mbr_tel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_url: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_int"
    )]
    pub expired_time: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ext_param: Option<String>,
}

/// Which payment a query or close addresses; `payOrderId` wins when a server gets both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PayOrderRef {
    PayOrderId(String),
    MchOrderNo(String),
}

/// Create response `data` of all three create endpoints (spec 5.1–5.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateOrderData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub err_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub err_msg: Option<String>,
    pub mch_order_no: String,
    /// Payment state code (spec 6); note the name differs from `state` elsewhere.
    #[serde(deserialize_with = "de::int")]
    pub order_state: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pay_data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pay_data_type: Option<String>,
    pub pay_order_id: String,
}

/// `/api/pay/query` response `data` (spec 5.4); also the body of the payment notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PayOrderData {
    #[serde(deserialize_with = "de::int")]
    pub amount: i64,
    pub app_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_order_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<String>,
    /// Milliseconds since the epoch.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_int"
    )]
    pub created_at: Option<i64>,
    /// As the merchant sent it (e.g. `cny`).
    pub currency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub err_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub err_msg: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ext_param: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub if_code: Option<String>,
    pub mch_no: String,
    pub mch_order_no: String,
    pub pay_order_id: String,
    /// Cashier and crypto orders only; never part of the notification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pay_url: Option<String>,
    #[serde(deserialize_with = "de::int")]
    pub state: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_int"
    )]
    pub success_time: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub way_code: Option<String>,
}

/// `/api/pay/close` response `data`: always `{}` (so never signed).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloseData {}

/// Payment notification / redirect fields (spec 7.2): the query fields without `payUrl`, plus
/// the `reqTime` the notification was built at. `sign` is added by the encoder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentNotification {
    #[serde(flatten)]
    pub order: PayOrderData,
    #[serde(deserialize_with = "de::int")]
    pub req_time: i64,
}

impl PaymentNotification {
    /// Builds the notification for an order, dropping `payUrl` which the spec does not send.
    pub fn new(mut order: PayOrderData, req_time_ms: i64) -> Self {
        order.pay_url = None;
        PaymentNotification {
            order,
            req_time: req_time_ms,
        }
    }
}
