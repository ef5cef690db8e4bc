//! Transfer (bank-card payout) wire types (spec 5.8, 5.9): request parameters, response `data`,
//! and the transfer notification. Note `extraParam` here vs `extParam` on payments.

use super::de;
use serde::{Deserialize, Serialize};

/// `/api/transferOrder` parameters, without the common fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferOrderParams {
    pub mch_order_no: String,
    /// `BANK_CARD`.
    pub entry_type: String,
    /// Fen.
    #[serde(deserialize_with = "de::int")]
    pub amount: i64,
    pub currency: String,
    pub account_no: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_name: Option<String>,
    pub client_ip: String,
    pub transfer_desc: String,
    pub cust_no: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<String>,
    /// JSON text `{"telNo":…,"cardNo":…,"bankCode":…}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_extra: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_param: Option<String>,
}

/// Which transfer a query addresses; `transferId` wins when a server gets both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TransferRef {
    TransferId(String),
    MchOrderNo(String),
}

/// `/api/transferOrder` response `data`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferOrderData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_name: Option<String>,
    pub account_no: String,
    #[serde(deserialize_with = "de::int")]
    pub amount: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_order_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub err_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub err_msg: Option<String>,
    pub mch_order_no: String,
    #[serde(deserialize_with = "de::int")]
    pub state: i64,
    pub transfer_id: String,
}

/// `/api/transfer/query` response `data`; also the body of the transfer notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferQueryData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_name: Option<String>,
    pub account_no: String,
    #[serde(deserialize_with = "de::int")]
    pub amount: i64,
    pub app_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_order_no: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_int"
    )]
    pub created_at: Option<i64>,
    pub currency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub err_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub err_msg: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_param: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub if_code: Option<String>,
    pub mch_no: String,
    pub mch_order_no: String,
    #[serde(deserialize_with = "de::int")]
    pub state: i64,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_int"
    )]
    pub success_time: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_desc: Option<String>,
    pub transfer_id: String,
}

/// Transfer notification: the query fields plus `reqTime` (spec 7.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferNotification {
    #[serde(flatten)]
    pub transfer: TransferQueryData,
    #[serde(deserialize_with = "de::int")]
    pub req_time: i64,
}
