//! Level-2 response, callback and redirect data (spec §5, §7).
//!
//! polypay renders these with every value a JSON string, keys in the order of the spec's tables
//! (§3.4). `#[serde(default)]` lets a client read a provider answer that leaves a field out.

use serde::{Deserialize, Serialize};

/// ACTIVEPAY response data (spec §5.1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ActivePayResponse {
    pub order_id: String,
    pub bizpay_order_id: String,
    /// QR content: the hosted cashier URL of the payment.
    pub code_url: String,
}

/// H5PAY response data (spec §5.2).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct H5PayResponse {
    pub order_id: String,
    pub merchant_id: String,
    pub amount: String,
    /// Hosted cashier URL; see `client::with_redirect_url`.
    pub payinfo: String,
    pub time_zone_id: String,
}

/// PREPAY_INIT response data (spec §5.3).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PrepayInitResponse {
    pub prepay_order_id: String,
    pub sale_num: String,
    pub amount: String,
    pub currency_type: String,
    /// Checkout link; see `client::with_selected_method`.
    pub payinfo: String,
    pub create_time: String,
    pub expire_time: String,
}

/// PREPAY_QUERY response data (spec §5.4), in the provider's field order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PrepayQueryResponse {
    #[serde(rename = "rspCode")]
    pub rsp_code: String,
    #[serde(rename = "rspMsg")]
    pub rsp_msg: String,
    pub merchant_id: String,
    pub merchant_name: String,
    pub amount: String,
    pub tip: String,
    pub shop_id: String,
    pub operator_id: String,
    /// PREPAY_QUERY status of spec §6.
    pub status: String,
    pub call_back_url: String,
    pub redirect_url: String,
    pub biz_type: String,
    pub prepay_order_id: String,
    /// `""` while the payment is `created`.
    pub order_id: String,
    pub sale_num: String,
    pub email: String,
    pub remarks: String,
    pub currency_type: String,
    pub duration: String,
    pub create_time: String,
    pub expire_time: String,
    pub payments_methods: String,
}

/// STATUS_QUERY response data for a payment (spec §5.5).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PaymentStatusResponse {
    pub order_id: String,
    pub merchant_id: String,
    /// STATUS_QUERY status of spec §6.
    pub order_status: String,
    pub trade_time: String,
    pub total_amount: String,
    pub receive_amount: String,
    pub pay_amount: String,
    pub tip: String,
    pub refund_amount: String,
    pub currency_type: String,
    pub biz_type: String,
    pub bizpay_order_id: String,
    pub buyer_login_id: String,
}

/// STATUS_QUERY response data for a refund (spec §5.5).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RefundStatusResponse {
    pub order_id: String,
    pub ori_order_id: String,
    pub merchant_id: String,
    pub order_status: String,
    pub trade_time: String,
    pub refund_amt: String,
    pub currency_type: String,
}

/// REFUND response data (spec §5.6).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RefundResponse {
    pub order_id: String,
    pub ori_order_id: String,
    pub refund_amt: String,
    /// Refund status of spec §6: `PROCESSING` makes the envelope's `rsp_code` `PROCESSING`.
    pub order_status: String,
    pub currency_type: String,
    pub trade_time: String,
}

/// EX_RATE_QUERY response data (spec §5.7).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExRateResponse {
    #[serde(rename = "feeType")]
    pub fee_type: String,
    /// CNY per unit x 10^8 as an integer string.
    pub rate: String,
}

/// Decrypted callback data (spec §7.1), in the specified order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CallbackData {
    /// The request amount in cents (without tip).
    pub amount: String,
    pub bizpay_order_id: String,
    /// Rate ÷ 10^8 with exactly 6 decimals; see `wire::format_exchange_rate`.
    pub exchange_rate: String,
    pub tip: String,
    pub merchant_id: String,
    pub order_id: String,
    pub finish_time: String,
    pub remarks: String,
    #[serde(rename = "sub_openId")]
    pub sub_open_id: String,
    /// PREPAY payments only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prepay_order_id: Option<String>,
    /// PREPAY payments only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sale_num: Option<String>,
}

/// Query parameters of the PREPAY synchronous redirect (spec §7.2), in the specified order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedirectParams {
    pub total_fee: String,
    pub trade_no: String,
    pub out_trade_no: String,
    /// `Trade_Finished`, `Trade_Failed` or `Trade_Closed` (spec §6).
    pub trade_status: String,
}
