//! Serde types of every request, response, webhook and redirect of the spec (§2, §5, §7), the
//! endpoint paths, the wire time format, and the status mapping of §6 to/from the core states.
//!
//! Field order in the structs is the spec's table order: serde_json writes fields in declaration
//! order, and signed bodies (responses, webhooks) must come out byte-exact.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The seven endpoints (§2). Each is served with and without the `/pg` prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    PaymentCreate,
    PaymentQuery,
    PayoutCreate,
    PayoutQuery,
    RefundCreate,
    RefundQuery,
    BalanceQuery,
}

impl Endpoint {
    pub const ALL: [Endpoint; 7] = [
        Endpoint::PaymentCreate,
        Endpoint::PaymentQuery,
        Endpoint::PayoutCreate,
        Endpoint::PayoutQuery,
        Endpoint::RefundCreate,
        Endpoint::RefundQuery,
        Endpoint::BalanceQuery,
    ];

    /// The path without the `/pg` prefix, e.g. `/v2/payment/create`.
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::PaymentCreate => "/v2/payment/create",
            Endpoint::PaymentQuery => "/v2/payment/query",
            Endpoint::PayoutCreate => "/v2/payout/create",
            Endpoint::PayoutQuery => "/v2/payout/query",
            Endpoint::RefundCreate => "/v2/refund/create",
            Endpoint::RefundQuery => "/v2/refund/query",
            Endpoint::BalanceQuery => "/v2/balance/query",
        }
    }

    /// Routes a raw request path (no query): exact match, with or without `/pg`.
    pub fn from_path(path: &str) -> Option<Endpoint> {
        let bare = path.strip_prefix("/pg").unwrap_or(path);
        Endpoint::ALL.into_iter().find(|e| e.path() == bare)
    }
}

// ---------------------------------------------------------------- requests (§5)

/// payment/create request (§5.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentCreateRequest {
    pub merchant_trade_no: String,
    pub amount: String,
    pub currency: String,
    pub description: String,
    pub payer: Payer,
    pub pay_method: PayMethod,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trade_env: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_attach: Option<String>,
    pub notify_url: String,
    pub return_url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payer {
    pub user_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// `payMethod`: `type` plus any other keys, which are stored as given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PayMethod {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// payout/create request (§5.4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PayoutCreateRequest {
    pub merchant_trade_no: String,
    pub amount: String,
    pub currency: String,
    pub description: String,
    pub payout_method: PayoutMethod,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_attach: Option<String>,
    pub notify_url: String,
}

/// `payoutMethod`, tagged by `type` (§5.4 table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum PayoutMethod {
    #[serde(rename = "UPI", rename_all = "camelCase")]
    Upi { vpa: String, payee_name: String },
    #[serde(rename = "BANK_ACCOUNT", rename_all = "camelCase")]
    BankAccount {
        account_number: String,
        bank_code: String,
        payee_name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mode: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bank_name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        payee_phone: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        payee_email: Option<String>,
    },
    #[serde(rename = "PIX", rename_all = "camelCase")]
    Pix { pix_key: String, payee_name: String },
    #[serde(rename = "WALLET", rename_all = "camelCase")]
    Wallet {
        wallet_id: String,
        payee_name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        wallet_provider: Option<String>,
    },
}

/// refund/create request (§5.6). `merchantTradeNo` is the refund's own number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundCreateRequest {
    pub merchant_trade_no: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_merchant_trade_no: Option<String>,
    pub amount: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<String>,
}

/// payment/query request (§5.3).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentQueryRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_trade_no: Option<String>,
}

/// payout/query request (§5.5).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PayoutQueryRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payout_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_trade_no: Option<String>,
}

/// refund/query request (§5.6).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundQueryRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_trade_no: Option<String>,
}

/// balance/query request (§5.7).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BalanceQueryRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

// ---------------------------------------------------------------- responses (§4, §5)

/// The response envelope `{code, errorMessage, data}` (§4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope<T> {
    pub code: String,
    #[serde(default)]
    pub error_message: Option<String>,
    #[serde(default = "none")]
    pub data: Option<T>,
}

fn none<T>() -> Option<T> {
    None
}

/// payment/create `data` (§5.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentCreateData {
    pub payment_no: String,
    pub merchant_trade_no: String,
    pub status: PaymentStatus,
    pub action: Action,
}

/// What the merchant does next with a created payment: always a redirect to the cashier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    #[serde(rename = "type")]
    pub kind: String,
    pub url: String,
}

impl Action {
    pub fn redirect(url: impl Into<String>) -> Action {
        Action {
            kind: "REDIRECT".to_owned(),
            url: url.into(),
        }
    }
}

/// The payment object (§5.3): payment/query `data` and the PAYMENT webhook `data`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentData {
    pub payment_no: String,
    pub merchant_trade_no: String,
    pub amount: String,
    pub currency: String,
    pub status: PaymentStatus,
    pub description: String,
    pub merchant_attach: Option<String>,
    pub refunded_amount: String,
    pub created_time: String,
    pub paid_time: Option<String>,
}

/// payout/create `data` (§5.4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PayoutCreateData {
    pub payout_no: String,
    pub merchant_trade_no: String,
    pub amount: String,
    pub currency: String,
    pub status: PayoutStatus,
}

/// The payout object (§5.5): payout/query `data` and the PAYOUT webhook `data`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PayoutData {
    pub payout_no: String,
    pub merchant_trade_no: String,
    pub amount: String,
    pub currency: String,
    pub status: PayoutStatus,
    pub description: String,
    pub merchant_attach: Option<String>,
    pub fail_reason: Option<String>,
    pub created_time: String,
    pub finished_time: Option<String>,
}

/// The refund object (§5.6): refund/create and refund/query `data`, REFUND webhook `data`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundData {
    pub refund_no: String,
    pub merchant_trade_no: String,
    pub payment_no: String,
    pub amount: String,
    pub currency: String,
    pub status: RefundStatus,
    pub reason: Option<String>,
    pub created_time: String,
    pub finished_time: Option<String>,
}

/// balance/query `data` (§5.7).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BalanceData {
    pub balances: Vec<Balance>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Balance {
    pub currency: String,
    pub available: String,
    pub frozen: String,
}

/// The `data` of any successful response, for the server's renderer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ResponseData {
    PaymentCreate(PaymentCreateData),
    Payment(PaymentData),
    PayoutCreate(PayoutCreateData),
    Payout(PayoutData),
    Refund(RefundData),
    Balance(BalanceData),
}

// ---------------------------------------------------------------- notifications (§7)

/// A webhook body `{"type":…,"data":{…}}` (§7.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum Callback {
    #[serde(rename = "PAYMENT")]
    Payment(PaymentData),
    #[serde(rename = "PAYOUT")]
    Payout(PayoutData),
    #[serde(rename = "REFUND")]
    Refund(RefundData),
}

/// The signed parameters of the sync redirect to `returnUrl` (§7.2), `sign` excluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectParams {
    pub merchant_trade_no: String,
    pub payment_no: String,
    pub status: PaymentStatus,
    pub amount: String,
    pub currency: String,
    /// `None` (and so omitted from the URL) when empty.
    pub merchant_attach: Option<String>,
    pub timestamp_ms: u64,
    pub nonce: String,
}

impl RedirectParams {
    /// The parameters as (key, value) pairs in the URL order of §7.2; empty values dropped.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = vec![
            ("merchantTradeNo", self.merchant_trade_no.clone()),
            ("paymentNo", self.payment_no.clone()),
            ("status", self.status.as_str().to_owned()),
            ("amount", self.amount.clone()),
            ("currency", self.currency.clone()),
            (
                "merchantAttach",
                self.merchant_attach.clone().unwrap_or_default(),
            ),
            ("timestamp", self.timestamp_ms.to_string()),
            ("nonce", self.nonce.clone()),
        ];
        pairs.retain(|(_, v)| !v.is_empty());
        pairs
    }
}

// ---------------------------------------------------------------- times (§2)

/// Renders `yyyy-MM-ddTHH:mm:ss.SSS+hh:mm` in the merchant's offset (`+00:00`, never `Z`).
pub fn format_time(at: jiff::Timestamp, offset: jiff::tz::Offset) -> String {
    let dt = offset.to_datetime(at);
    let secs = offset.seconds();
    let sign = if secs < 0 { '-' } else { '+' };
    let (hh, mm) = (secs.unsigned_abs() / 3600, secs.unsigned_abs() % 3600 / 60);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}{sign}{hh:02}:{mm:02}",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        dt.millisecond()
    )
}

/// Parses a wire time (any RFC 3339 / ISO 8601 form with an offset).
pub fn parse_time(text: &str) -> Result<jiff::Timestamp, jiff::Error> {
    text.parse()
}

mod status;
pub use status::{PaymentStatus, PayoutStatus, RefundStatus};
