//! Wire types of §2–§7 (envelopes, service inputs and outputs, webhook), amounts, times, status mapping.
//!
//! Field order in every struct is the order of the spec's tables: serde_json writes fields in
//! declaration order, compact, raw UTF-8, `/` unescaped, `None` as `null` — the serialisation
//! rules of §3.5.

use serde::{Deserialize, Serialize};

mod amount;
mod status;
mod time;

pub use amount::Amount;
pub use status::{OrderStatus, core_states, order_status};
pub use time::{format_time, parse_time};

/// The services of §5; names are case-sensitive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    CreatePayer,
    GetPayer,
    UpdatePayer,
    CreateOrder,
    QueryOrder,
    RefundOrder,
}

impl Service {
    pub const ALL: [Service; 6] = [
        Service::CreatePayer,
        Service::GetPayer,
        Service::UpdatePayer,
        Service::CreateOrder,
        Service::QueryOrder,
        Service::RefundOrder,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Service::CreatePayer => "createPayer",
            Service::GetPayer => "getPayer",
            Service::UpdatePayer => "updatePayer",
            Service::CreateOrder => "createOrder",
            Service::QueryOrder => "queryOrder",
            Service::RefundOrder => "refundOrder",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Service::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// `POST /api/v2/auth/token` body (§3.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenRequest {
    pub app_id: String,
    pub app_secret: String,
}

/// `data` of the token response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenData {
    pub token: String,
    pub expires_in: u64,
}

/// The token response: `{"statusCode":0,"message":"success","data":{…}}`, or an error without `data`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenResponse {
    pub status_code: i64,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<TokenData>,
}

/// `POST /api/v2/pay` body (§3.3 step 4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PayEnvelope {
    pub service: String,
    pub biz_content: String,
    pub sign: String,
}

/// Every `/api/v2/pay` answer: success carries `bizContent` and `sign`; §4.1 errors carry neither.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseEnvelope {
    pub status_code: i64,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub biz_content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign: Option<String>,
}

/// The decrypted response `R` (§3.5 step 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BizResponse<D> {
    pub status: i64,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub data: Option<D>,
}

/// The payer fields shared by createPayer, updatePayer and the payer `data` (§5.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payer {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub area_code: u32,
    pub phone: String,
    pub address: String,
    pub city: String,
    pub province: String,
    pub postcode: String,
    pub country: String,
}

impl Payer {
    /// A payer in Hong Kong with `email`: sample data for tests and examples.
    pub fn example(email: &str) -> Payer {
        Payer {
            first_name: "Tai Man".into(),
            last_name: "Chan".into(),
            email: email.into(),
            area_code: 852,
            phone: "91234567".into(),
            address: "1 Queens Road".into(),
            city: "Hong Kong".into(),
            province: "HK".into(),
            postcode: "000000".into(),
            country: "HK".into(),
        }
    }
}

/// updatePayer input: `payerID` plus every createPayer field (full replacement).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdatePayer {
    #[serde(rename = "payerID")]
    pub payer_id: u64,
    #[serde(flatten)]
    pub payer: Payer,
}

/// getPayer input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetPayer {
    pub email: String,
}

/// The payer `data` of createPayer / getPayer / updatePayer: `payerID` first, then the fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayerData {
    #[serde(rename = "payerID")]
    pub payer_id: u64,
    #[serde(flatten)]
    pub payer: Payer,
}

/// createOrder input (§5.2), field order of P1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateOrder {
    pub order_sn: String,
    pub currency: String,
    pub amount: Amount,
    #[serde(rename = "payerID")]
    pub payer_id: u64,
    #[serde(rename = "purposeOfTransaction")]
    pub purpose_of_transaction: String,
    pub description: String,
    /// Sent as the string `"True"` / `"False"` (§10 quirk).
    #[serde(with = "skip3ds_text")]
    pub skip3ds: bool,
    pub domain: String,
    pub product: String,
}

mod skip3ds_text {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    pub fn serialize<S: Serializer>(value: &bool, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if *value { "True" } else { "False" })
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        let text = String::deserialize(d)?;
        match text.to_ascii_lowercase().as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(D::Error::custom("skip3ds must be True or False")),
        }
    }
}

/// queryOrder / refundOrder input: at least one of the two, naming the same order (§5.3).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OrderRef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_sn: Option<String>,
    #[serde(rename = "linkID", default, skip_serializing_if = "Option::is_none")]
    pub link_id: Option<String>,
}

/// createOrder `data` [polypay].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateOrderData {
    #[serde(rename = "linkID")]
    pub link_id: String,
    pub payment_link: String,
    #[serde(with = "time::serde_text")]
    pub link_expiry: jiff::Timestamp,
    pub status: OrderStatus,
}

/// queryOrder `data`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryOrderData {
    pub outcome: OrderStatus,
}

/// refundOrder `data`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundOrderData {
    pub message: String,
}

impl RefundOrderData {
    /// The fixed text of an accepted refund (§5.4).
    pub fn submitted() -> Self {
        RefundOrderData {
            message: "Refund request submitted".to_owned(),
        }
    }
}

/// The `data` of a successful service call, one variant per service; serialised as the bare object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ResponseData {
    /// createPayer, getPayer, updatePayer.
    Payer(PayerData),
    CreateOrder(CreateOrderData),
    QueryOrder(QueryOrderData),
    RefundOrder(RefundOrderData),
}

/// Webhook body (§7): `{"noticeType":"PaymentOrderStatus","bizContent":"…","sign":"…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookBody {
    pub notice_type: String,
    pub biz_content: String,
    pub sign: String,
}

/// The notice type of the only webhook.
pub const NOTICE_TYPE: &str = "PaymentOrderStatus";

/// The webhook plaintext: an object keyed by the notice type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentOrderStatusNotice {
    #[serde(rename = "PaymentOrderStatus")]
    pub payment_order_status: PaymentOrderStatus,
}

/// `PaymentOrderStatus` fields in the order of §7.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentOrderStatus {
    pub order_sn: String,
    pub platform_order_sn: String,
    #[serde(rename = "requestID")]
    pub request_id: u64,
    pub region: String,
    #[serde(rename = "payerEmail")]
    pub payer_email: String,
    pub description: String,
    /// The order's `purposeOfTransaction`.
    pub comment: String,
    #[serde(rename = "requestTime", with = "time::serde_text")]
    pub request_time: jiff::Timestamp,
    pub currency: String,
    pub amount: Amount,
    #[serde(rename = "linkID")]
    pub link_id: String,
    #[serde(rename = "linkExpiry", with = "time::serde_text")]
    pub link_expiry: jiff::Timestamp,
    pub status: OrderStatus,
    #[serde(rename = "failTimes")]
    pub fail_times: u32,
    #[serde(rename = "creationTime", with = "time::serde_text")]
    pub creation_time: jiff::Timestamp,
}

/// `purposeOfTransaction` values (§5.2) [provider].
pub const PURPOSES_OF_TRANSACTION: [&str; 32] = [
    "ACCOUNTING_SERVICE",
    "ADVERTISING_SERVICE",
    "ARCHITECTURAL_DECORATION_DESIGN_SERVICE",
    "CLOTHES_BAGS_SHOES",
    "CAPITAL_INJECTION",
    "DAILY_SUPPLIES_AND_COSMETICS",
    "DRAFTING_LEGAL_SERVICE",
    "ELECTRONICS_AND_HOME_APPLIANCES",
    "ESTATE_AGENCY_SERVICE",
    "EXHIBITION_BOOTH_SERVICE",
    "HUMAN_RESOURCE_SERVICE",
    "INTERPRETATION_SERVICE",
    "INSURANCE",
    "LEGAL_RELATED_CERTIFICATION_SERVICE",
    "LIVING_ACCOMMODATION_COSTS",
    "MARKET_RESEARCH_SERVICE",
    "MONEY_LENDING_REPAYMENT",
    "OTHER_SERVICE",
    "OTHERS",
    "PAY_SUPPLIER",
    "PAY_FOR_GOODS",
    "PAYMENT_TO_OVERSEAS_SUPPLIERS",
    "PERSONAL_INVESTMENT",
    "PERSONAL_PURCHASE",
    "PROPERTY_PURCHASE",
    "REPATRIATION_OF_OVERSEAS_EARNINGS",
    "SOFTWARE_DEVELOPMENT_SERVICE",
    "TAX_SERVICE",
    "TOYS_KIDS_BABIES",
    "TRANSLATION_SERVICE",
    "TUITION_FEES",
    "WEB_DESIGN_OR_DEVELOPMENT_SERVICE",
];
