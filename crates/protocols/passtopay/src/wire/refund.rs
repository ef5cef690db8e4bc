//! Refund wire types (spec 5.6, 5.7, upstream Jeepay): request parameters, response `data`,
//! and the refund notification.

use super::de;
use serde::{Deserialize, Serialize};

/// `/api/refund/refundOrder` parameters, without the common fields and the payment reference
/// (a [`super::PayOrderRef`] passed beside them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundOrderParams {
    pub mch_refund_no: String,
    #[serde(deserialize_with = "de::int")]
    pub refund_amount: i64,
    pub currency: String,
    pub refund_reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_extra: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ext_param: Option<String>,
}

/// Which refund a query addresses; `refundOrderId` wins when a server gets both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RefundRef {
    RefundOrderId(String),
    MchRefundNo(String),
}

/// `/api/refund/refundOrder` response `data`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundOrderData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_order_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub err_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub err_msg: Option<String>,
    pub mch_refund_no: String,
    #[serde(deserialize_with = "de::int")]
    pub pay_amount: i64,
    #[serde(deserialize_with = "de::int")]
    pub refund_amount: i64,
    pub refund_order_id: String,
    #[serde(deserialize_with = "de::int")]
    pub state: i64,
}

/// `/api/refund/query` response `data`; also the body of the refund notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundQueryData {
    pub app_id: String,
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
    pub err_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub err_msg: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ext_param: Option<String>,
    pub mch_no: String,
    pub mch_refund_no: String,
    #[serde(deserialize_with = "de::int")]
    pub pay_amount: i64,
    pub pay_order_id: String,
    #[serde(deserialize_with = "de::int")]
    pub refund_amount: i64,
    pub refund_order_id: String,
    #[serde(deserialize_with = "de::int")]
    pub state: i64,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_int"
    )]
    pub success_time: Option<i64>,
}

/// Refund notification: the query fields plus `reqTime` (spec 7.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundNotification {
    #[serde(flatten)]
    pub refund: RefundQueryData,
    #[serde(deserialize_with = "de::int")]
    pub req_time: i64,
}
