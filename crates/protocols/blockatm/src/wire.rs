//! Serde types of every BlockATM request body, response envelope and data, webhook and redirect.
//!
//! Response and webhook structs declare their fields in ascending key order because serde writes
//! them in declaration order and 7.2 sends keys ascending. Absent values are omitted (section 5).

mod status;

pub use status::*;

use crate::amount::Amount;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use std::collections::BTreeMap;

/// A decimal or identifier that BlockATM writes sometimes as a JSON number, sometimes as a string.
/// It keeps the text exactly; it serializes as a number when the text is a JSON number token.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Decimal(pub String);

impl Decimal {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text as an [`Amount`] (6-decimal rule), if it is one.
    pub fn amount(&self) -> Option<Amount> {
        Amount::parse(&self.0).ok()
    }
}

impl Decimal {
    /// Serializes as a JSON string whatever the text (a field the spec types as a string).
    pub fn serialize_text<S: Serializer>(d: &Decimal, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&d.0)
    }
}

impl From<Amount> for Decimal {
    fn from(amount: Amount) -> Decimal {
        Decimal(amount.to_string())
    }
}

impl Serialize for Decimal {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match RawValue::from_string(self.0.clone()) {
            Ok(raw) if is_number_token(&self.0) => raw.serialize(serializer),
            _ => serializer.serialize_str(&self.0),
        }
    }
}

impl<'de> Deserialize<'de> for Decimal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
        let raw: Box<RawValue> = Deserialize::deserialize(deserializer)?;
        let text = raw.get();
        if text.starts_with('"') {
            serde_json::from_str(text)
                .map(Decimal)
                .map_err(serde::de::Error::custom)
        } else if is_number_token(text) {
            Ok(Decimal(text.to_owned()))
        } else {
            Err(serde::de::Error::custom("expected a number or a string"))
        }
    }
}

fn is_number_token(text: &str) -> bool {
    text.starts_with(|c: char| c == '-' || c.is_ascii_digit())
        && serde_json::from_str::<serde_json::Number>(text).is_ok()
}

/// The response envelope of section 4 as the server writes it (key order as documented).
#[derive(Debug, Clone, Serialize)]
pub struct Envelope<'a, T: Serialize> {
    pub code: &'a str,
    pub success: bool,
    pub data: Option<T>,
    pub trace: &'a str,
    pub msg: &'a str,
}

/// The envelope as a client reads it: `message` is accepted for `msg`; `data` is left raw so the
/// caller decides its type after checking `code` and `success`.
#[derive(Debug, Clone, Deserialize)]
pub struct ReceivedEnvelope {
    pub code: Option<serde_json::Value>,
    pub success: Option<bool>,
    pub data: Option<Box<RawValue>>,
    pub trace: Option<String>,
    #[serde(alias = "message")]
    pub msg: Option<String>,
}

/// E1 request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateOrderRequest {
    pub order_no: String,
    pub amount: String,
    pub symbol: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub chain_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cashier_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cust_no: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub redirect_url: Option<String>,
}

/// E1 response data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateOrderData {
    pub expire_time: i64,
    pub order_no: String,
    pub pay_url: String,
    /// `data:image/png;base64,…` of `payUrl`.
    pub qr_code: String,
}

/// A payment order as E2 (`S` = [`PaymentStatus`]) and E3 (`S` = `i32`) return it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PayOrder<S> {
    pub amount: Decimal,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub block_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cashier_id: Option<i64>,
    /// A string on the wire (spec 5 E2, as in webhooks), also for an EVM chain's numeric id;
    /// read either way.
    #[serde(serialize_with = "Decimal::serialize_text")]
    pub chain_id: Decimal,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub create_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cust_no: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub from_address: Option<String>,
    pub id: i64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub network: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub order_no: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub order_type: Option<i32>,
    pub status: S,
    pub symbol: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tx_id: Option<String>,
}

/// E2 data.
pub type PayOrderDetail = PayOrder<PaymentStatus>;
/// E3 list item (integer status).
pub type PayOrderListItem = PayOrder<i32>;

/// E4 request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatePayoutRequest {
    pub biz_order_no: String,
    pub amount: String,
    pub chain_id: String,
    pub symbol: String,
    pub to_address: String,
    pub cust_no: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub remark: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub merchant_id: Option<i64>,
}

/// E5 data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PayoutDetail {
    pub amount: Decimal,
    pub biz_order_no: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub block_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub contract_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cust_no: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub fee: Option<Decimal>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub gas_amount: Option<Decimal>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub network: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub plat_order_no: Option<String>,
    /// 0 pending, 1 success, 2 rejected, 3 locked.
    pub status: i32,
    pub symbol: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub to_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tx_id: Option<String>,
}

/// E6 data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CashierInfo {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub logo: Option<String>,
    pub merchant_id: i64,
    pub name: String,
    /// Keyed by chainId.
    pub network_detail: BTreeMap<String, NetworkDetail>,
    pub pay_qr: i32,
    pub pay_wallet: i32,
}

/// One entry of E6 `networkDetail`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkDetail {
    pub chain_id: String,
    /// Enabled symbols joined by `,`.
    pub currency: String,
    pub network: String,
}

/// E7 list item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenInfo {
    pub chain_id: String,
    pub decimals: u32,
    pub network: String,
    pub symbol: String,
    pub token_address: String,
}

/// E8 list item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkInfo {
    pub address_type: String,
    pub chain_id: String,
    pub confirm: u32,
    pub explorer: String,
    pub name: String,
    pub network: String,
    pub test_net: bool,
}

/// Payment webhook body (7.2), keys ascending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentNotification {
    pub amount: Amount,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block_time: Option<i64>,
    pub cashier_id: i64,
    pub chain_id: String,
    pub create_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cust_no: Option<String>,
    /// `""` until paid.
    pub from_address: String,
    pub id: i64,
    pub network: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_no: Option<String>,
    pub order_type: i32,
    pub status: PaymentStatus,
    pub symbol: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tx_id: Option<String>,
}

/// Payout webhook body (7.2), keys ascending; `blockTime`/`txId` on success only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PayoutNotification {
    pub amount: Amount,
    pub biz_order_no: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block_time: Option<i64>,
    pub chain_id: String,
    pub contract_id: i64,
    pub create_time: i64,
    pub cust_no: String,
    pub fee: Amount,
    pub gas_amount: Amount,
    pub network: String,
    pub status: PayoutStatus,
    pub symbol: String,
    pub to_address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tx_id: Option<String>,
    /// Always 1.
    #[serde(rename = "type")]
    pub kind: i32,
}

/// The parameters 7.1 appends to `redirectURL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectParams {
    /// Empty when the order ended without a transaction.
    pub tx_id: String,
    pub status: RedirectStatus,
}
