//! The server's pure request handling: level-1 parsing, authentication by decryption and md5, and
//! per-action field validation, in the check order of spec §4.

use crate::data::DataObject;
use crate::envelope::OttError;
use crate::sign::{self, OpenError, SignKey};
use crate::validate::{self, Fields};
use crate::wire::{Action, BizType, Currency, MAX_BODY_BYTES, RateTable, Version};
use serde_json::{Map, Value};

pub use crate::envelope::{HttpResponse, ResponseData, render_success};

/// What a merchant was issued (spec §3), plus the per-merchant settings validation needs.
/// `Debug` redacts the signKey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub merchant_id: String,
    pub sign_key: SignKey,
    /// Currencies enabled for the merchant (sandbox default: all three).
    pub currencies: Vec<Currency>,
    /// ACTIVEPAY's currency when `currency_type` is absent.
    pub default_currency: Currency,
    /// Optional allow-list of `operator_id`s; `None` accepts any.
    pub operator_ids: Option<Vec<String>>,
}

impl Credentials {
    /// A sandbox merchant: all currencies, CAD default, any operator.
    pub fn sandbox(merchant_id: impl Into<String>, sign_key: SignKey) -> Credentials {
        Credentials {
            merchant_id: merchant_id.into(),
            sign_key,
            currencies: Currency::ALL.to_vec(),
            default_currency: Currency::Cad,
            operator_ids: None,
        }
    }
}

/// A received HTTP request, as the router hands it over.
#[derive(Debug, Clone, Copy)]
pub struct InboundRequest<'a> {
    pub method: &'a str,
    /// Routing (to one of `wire::PATHS`) is the router's job; the path is not checked here.
    pub path: &'a str,
    pub query: &'a str,
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
}

/// An authenticated, fully validated request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    pub merchant: Credentials,
    pub version: Version,
    /// The level-1 md5 as received.
    pub md5: String,
    pub request: OttRequest,
}

/// One variant per action (spec §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OttRequest {
    ActivePay(ActivePay),
    H5Pay(H5Pay),
    PrepayInit(PrepayInit),
    PrepayQuery(PrepayQuery),
    StatusQuery(StatusQuery),
    Refund(Refund),
    ExRateQuery(ExRateQuery),
}

impl OttRequest {
    pub fn action(&self) -> Action {
        match self {
            OttRequest::ActivePay(_) => Action::ActivePay,
            OttRequest::H5Pay(_) => Action::H5Pay,
            OttRequest::PrepayInit(_) => Action::PrepayInit,
            OttRequest::PrepayQuery(_) => Action::PrepayQuery,
            OttRequest::StatusQuery(_) => Action::StatusQuery,
            OttRequest::Refund(_) => Action::Refund,
            OttRequest::ExRateQuery(_) => Action::ExRateQuery,
        }
    }
}

/// ACTIVEPAY (spec §5.1). The payment amount is `amount + tip`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivePay {
    /// `None`: the server generates one.
    pub order_id: Option<String>,
    pub operator_id: String,
    pub amount: u64,
    pub tip: u64,
    /// WECHATPAY, ALIPAY or UNIONPAY.
    pub biz_type: BizType,
    pub call_back_url: String,
    pub shop_id: Option<String>,
    pub terminal_no: Option<String>,
    pub currency: Currency,
}

/// H5PAY (spec §5.2); `biz_type` is WECHATPAY and `submit_type` is `form`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct H5Pay {
    pub order_id: Option<String>,
    pub shop_id: Option<String>,
    pub amount: u64,
    pub currency: Currency,
    pub open_id: Option<String>,
    pub operator_id: String,
    pub call_back_url: String,
}

/// PREPAY_INIT (spec §5.3); `biz_type` is PREPAY.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrepayInit {
    pub shop_id: String,
    pub operator_id: String,
    /// The merchant order number.
    pub prepay_order_id: String,
    pub sale_num: String,
    pub amount: u64,
    pub currency: Currency,
    pub redirect_url: String,
    pub call_back_url: String,
    /// Seconds; expire_time = create_time + duration.
    pub duration_secs: u32,
    pub email: Option<String>,
    pub remarks: Option<String>,
}

/// PREPAY_QUERY (spec §5.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrepayQuery {
    pub prepay_order_id: String,
    /// If present it must belong to the prepay order, else `OttError::OrderNotFound`.
    pub order_id: Option<String>,
}

/// STATUS_QUERY (spec §5.5): payments by OTT order_id first, then refunds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusQuery {
    pub order_id: String,
}

/// REFUND (spec §5.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    /// The refund's own number; `None`: generated.
    pub order_id: Option<String>,
    /// The payment's OTT order_id.
    pub ori_order_id: String,
    pub refund_amt: u64,
}

/// EX_RATE_QUERY (spec §5.7), with the rate already looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExRateQuery {
    pub fee_type: String,
    /// CNY per unit x 10^8.
    pub rate_e8: u64,
}

/// The inbound entry point: parses, authenticates and validates one request (spec §2-§5).
///
/// `lookup` answers the credentials of an enabled merchant (`None` for unknown or disabled);
/// `rates` is the exchange-rate table EX_RATE_QUERY validates against.
pub fn parse_request(
    request: &InboundRequest<'_>,
    lookup: impl Fn(&str) -> Option<Credentials>,
    rates: &RateTable,
) -> Result<Authenticated, OttError> {
    // HTTP methods are case-sensitive (RFC 9110), so `post` is not POST.
    if request.method != "POST" {
        return Err(OttError::MethodNotAllowed);
    }
    if request.body.len() > MAX_BODY_BYTES {
        return Err(OttError::TooLarge);
    }
    let level1 = parse_level1(request.body)?;
    let field = |name: &'static str| level1_field(&level1, name);
    let (action, version, merchant_id) =
        (field("action")?, field("version")?, field("merchant_id")?);
    let (data, md5) = (field("data")?, field("md5")?);
    let action = Action::parse(action).ok_or_else(|| OttError::UnsupportedAction(action.into()))?;
    let version = Version::parse(version).ok_or(OttError::UnsupportedVersion)?;
    let merchant = lookup(merchant_id).ok_or(OttError::UnknownMerchant)?;
    let object = open_data(data, md5, &merchant.sign_key)?;
    // A polypay decision (`polypay_core::text`): text holding a NUL is an invalid parameter.
    if let Some((key, _)) = object.entries().iter().find(|(k, v)| {
        k.contains('\0') || matches!(v, crate::data::DataValue::Str(s) if s.contains('\0'))
    }) {
        return Err(OttError::invalid(key));
    }
    let request = validate_action(action, &Fields::new(&object), merchant_id, &merchant, rates)?;
    Ok(Authenticated {
        merchant,
        version,
        md5: md5.to_owned(),
        request,
    })
}

/// Parses and validates decrypted data for one action (spec §4 rows 11-13).
fn validate_action(
    action: Action,
    fields: &Fields<'_>,
    merchant_id: &str,
    merchant: &Credentials,
    rates: &RateTable,
) -> Result<OttRequest, OttError> {
    fields.check_merchant_id(merchant_id)?;
    Ok(match action {
        Action::ActivePay => OttRequest::ActivePay(validate::active_pay(fields, merchant)?),
        Action::H5Pay => OttRequest::H5Pay(validate::h5_pay(fields, merchant)?),
        Action::PrepayInit => OttRequest::PrepayInit(validate::prepay_init(fields, merchant)?),
        Action::PrepayQuery => OttRequest::PrepayQuery(validate::prepay_query(fields)?),
        Action::StatusQuery => OttRequest::StatusQuery(validate::status_query(fields)?),
        Action::Refund => OttRequest::Refund(validate::refund(fields)?),
        Action::ExRateQuery => OttRequest::ExRateQuery(validate::ex_rate_query(fields, rates)?),
    })
}

/// Level 1 is a JSON object, or the base64 of one (spec §2).
fn parse_level1(body: &[u8]) -> Result<Map<String, Value>, OttError> {
    let first = body
        .iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'));
    let json = if first == Some(&b'{') {
        std::borrow::Cow::Borrowed(body)
    } else {
        let decoded = sign::decode_base64_lenient(body).ok_or(OttError::InvalidFormat)?;
        std::borrow::Cow::Owned(decoded)
    };
    serde_json::from_slice(&json).map_err(|_| OttError::InvalidFormat)
}

/// A level-1 field: present, a string and non-empty (spec §4 row 4).
fn level1_field<'a>(level1: &'a Map<String, Value>, name: &str) -> Result<&'a str, OttError> {
    match level1.get(name) {
        Some(Value::String(text)) if !text.is_empty() => Ok(text),
        _ => Err(OttError::missing(name)),
    }
}

/// Opens a data object (spec §3.3) and maps the failure onto spec §4 rows 8-10.
pub fn open_data(data: &str, md5: &str, sign_key: &SignKey) -> Result<DataObject, OttError> {
    sign::open(data, md5, sign_key).map_err(|err| match err {
        OpenError::Undecryptable => OttError::Undecryptable,
        OpenError::DuplicateKey(key) => OttError::DuplicateKey(key),
        OpenError::Md5Mismatch => OttError::Md5Mismatch,
    })
}

#[cfg(test)]
#[path = "inbound_tests.rs"]
mod tests;
