//! Service field validation of §5 (with its input leniency) and the business errors of §4.2.

use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::collections::HashMap;
use std::fmt;

use crate::wire::{
    Amount, CreateOrder, GetPayer, OrderRef, PURPOSES_OF_TRANSACTION, Payer, Service, UpdatePayer,
};

/// The `errorCode` catalogue of §4.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    InvalidParameter,
    PayerExists,
    PayerNotFound,
    DuplicateOrder,
    OrderNotFound,
    OrderStatusError,
    InsufficientBalance,
    SystemError,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidParameter => "INVALID_PARAMETER",
            ErrorCode::PayerExists => "PAYER_EXISTS",
            ErrorCode::PayerNotFound => "PAYER_NOT_FOUND",
            ErrorCode::DuplicateOrder => "DUPLICATE_ORDER",
            ErrorCode::OrderNotFound => "ORDER_NOT_FOUND",
            ErrorCode::OrderStatusError => "ORDER_STATUS_ERROR",
            ErrorCode::InsufficientBalance => "INSUFFICIENT_BALANCE",
            ErrorCode::SystemError => "SYSTEM_ERROR",
        }
    }

    /// The fixed `errorMessage` of every code but `INVALID_PARAMETER` (whose text names the field).
    pub fn message(self) -> &'static str {
        match self {
            ErrorCode::InvalidParameter => "invalid parameter",
            ErrorCode::PayerExists => "payer email already registered",
            ErrorCode::PayerNotFound => "payer not found",
            ErrorCode::DuplicateOrder => "order_sn already exists",
            ErrorCode::OrderNotFound => "order not found",
            ErrorCode::OrderStatusError => "order status does not allow refund",
            ErrorCode::InsufficientBalance => "insufficient balance",
            ErrorCode::SystemError => "system error",
        }
    }
}

/// A business failure: decrypted `status` −1 with `errorCode` / `errorMessage` and `data` null.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", code.as_str())]
pub struct BusinessError {
    pub code: ErrorCode,
    pub message: String,
}

impl BusinessError {
    /// A business error with the code's fixed message.
    pub fn new(code: ErrorCode) -> Self {
        BusinessError {
            code,
            message: code.message().to_owned(),
        }
    }

    /// `INVALID_PARAMETER` with `<field>: <reason>`.
    pub fn invalid(field: &str, reason: &str) -> Self {
        BusinessError {
            code: ErrorCode::InvalidParameter,
            message: format!("{field}: {reason}"),
        }
    }
}

/// A validated service call, one variant per service of §5.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceRequest {
    CreatePayer(Payer),
    GetPayer(GetPayer),
    UpdatePayer(UpdatePayer),
    CreateOrder(CreateOrder),
    QueryOrder(OrderRef),
    RefundOrder(OrderRef),
}

impl ServiceRequest {
    pub fn service(&self) -> Service {
        match self {
            ServiceRequest::CreatePayer(_) => Service::CreatePayer,
            ServiceRequest::GetPayer(_) => Service::GetPayer,
            ServiceRequest::UpdatePayer(_) => Service::UpdatePayer,
            ServiceRequest::CreateOrder(_) => Service::CreateOrder,
            ServiceRequest::QueryOrder(_) => Service::QueryOrder,
            ServiceRequest::RefundOrder(_) => Service::RefundOrder,
        }
    }
}

/// A top-level JSON object whose values keep their raw text (amounts are judged "as written").
#[derive(Debug)]
pub struct JsonObject {
    fields: HashMap<String, Box<RawValue>>,
}

impl JsonObject {
    /// §3.4 step 5: valid UTF-8 without BOM, a JSON object, no duplicate keys.
    pub fn parse(plaintext: &[u8]) -> Option<Self> {
        let text = std::str::from_utf8(plaintext).ok()?;
        if text.starts_with('\u{feff}') {
            return None;
        }
        let mut de = serde_json::Deserializer::from_str(text);
        let fields = (&mut de).deserialize_map(ObjectVisitor).ok()?;
        de.end().ok()?;
        Some(JsonObject { fields })
    }

    fn raw(&self, name: &str) -> Raw {
        match self.fields.get(name).map(|v| v.get()) {
            None => Raw::Missing,
            Some("null") => Raw::Missing,
            Some(t) if t.starts_with('"') => match serde_json::from_str::<String>(t) {
                // Text holding a NUL is invalid (a polypay decision, `polypay_core::text`).
                Ok(s) if s.contains('\0') => Raw::Nul,
                Ok(s) => Raw::Str(s),
                // Valid JSON that is no text: an unpaired UTF-16 surrogate (`"\ud800"`).
                Err(_) => Raw::Unpaired,
            },
            Some("true") => Raw::Bool(true),
            Some("false") => Raw::Bool(false),
            Some(t) if t.starts_with(|c: char| c == '-' || c.is_ascii_digit()) => {
                Raw::Num(t.to_owned())
            }
            Some(_) => Raw::Other,
        }
    }
}

struct ObjectVisitor;

impl<'de> Visitor<'de> for ObjectVisitor {
    type Value = HashMap<String, Box<RawValue>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = HashMap::new();
        while let Some(key) = map.next_key::<String>()? {
            let value: Box<RawValue> = map.next_value()?;
            if fields.insert(key, value).is_some() {
                return Err(serde::de::Error::custom("duplicate key"));
            }
        }
        Ok(fields)
    }
}

const NUL: &str = "must not contain a NUL character";

/// A field's JSON value, classified; JSON `null` counts as missing.
enum Raw {
    Missing,
    Str(String),
    Num(String),
    Bool(bool),
    /// A string holding a NUL character.
    Nul,
    /// A string escaping half of a UTF-16 surrogate pair.
    Unpaired,
    Other,
}

type Checked<T> = Result<T, BusinessError>;

/// Validates the decrypted parameters of `service` (§5), fields in table order, first error wins.
pub fn validate_service(service: Service, obj: &JsonObject) -> Checked<ServiceRequest> {
    Ok(match service {
        Service::CreatePayer => ServiceRequest::CreatePayer(payer(obj)?),
        Service::GetPayer => ServiceRequest::GetPayer(GetPayer { email: email(obj)? }),
        Service::UpdatePayer => ServiceRequest::UpdatePayer(UpdatePayer {
            payer_id: integer(obj, "payerID", 1, u64::MAX)?,
            payer: payer(obj)?,
        }),
        Service::CreateOrder => ServiceRequest::CreateOrder(create_order(obj)?),
        Service::QueryOrder => ServiceRequest::QueryOrder(order_ref(obj)?),
        Service::RefundOrder => ServiceRequest::RefundOrder(order_ref(obj)?),
    })
}

fn payer(obj: &JsonObject) -> Checked<Payer> {
    Ok(Payer {
        first_name: text(obj, "firstName", 1, 64)?,
        last_name: text(obj, "lastName", 1, 64)?,
        email: email(obj)?,
        area_code: integer(obj, "areaCode", 1, 9999)? as u32,
        phone: phone(obj)?,
        address: address(obj)?,
        city: text(obj, "city", 1, 64)?,
        province: text(obj, "province", 1, 64)?,
        postcode: text(obj, "postcode", 1, 16)?,
        country: text(obj, "country", 1, 64)?,
    })
}

fn create_order(obj: &JsonObject) -> Checked<CreateOrder> {
    Ok(CreateOrder {
        order_sn: order_sn(obj)?,
        currency: currency(obj)?,
        amount: amount(obj)?,
        payer_id: integer(obj, "payerID", 1, u64::MAX)?,
        purpose_of_transaction: purpose(obj)?,
        description: text(obj, "description", 1, 255)?,
        skip3ds: skip3ds(obj)?,
        domain: text(obj, "domain", 1, 255)?,
        product: text(obj, "product", 1, 1024)?,
    })
}

fn order_ref(obj: &JsonObject) -> Checked<OrderRef> {
    let order_sn = match obj.raw("order_sn") {
        Raw::Missing => None,
        _ => Some(order_sn(obj)?),
    };
    let link_id = match obj.raw("linkID") {
        Raw::Missing => None,
        // A UUID's hex digits in either case (RFC 4122: case-insensitive on input); polypay
        // writes them in lower case (spec 5.3).
        _ => Some(text(obj, "linkID", 1, 64)?.to_ascii_lowercase()),
    };
    if order_sn.is_none() && link_id.is_none() {
        return Err(BusinessError::invalid(
            "order_sn",
            "order_sn or linkID is required",
        ));
    }
    Ok(OrderRef { order_sn, link_id })
}

fn string(obj: &JsonObject, field: &str) -> Checked<String> {
    match obj.raw(field) {
        Raw::Missing => Err(BusinessError::invalid(field, "is required")),
        Raw::Str(s) => Ok(s),
        Raw::Nul => Err(BusinessError::invalid(field, NUL)),
        Raw::Unpaired => Err(BusinessError::invalid(
            field,
            "is not valid text (an unpaired UTF-16 surrogate escape)",
        )),
        _ => Err(BusinessError::invalid(field, "must be a string")),
    }
}

/// A string of `min..=max` characters (Unicode scalar values).
fn text(obj: &JsonObject, field: &str, min: usize, max: usize) -> Checked<String> {
    let s = string(obj, field)?;
    let n = s.chars().count();
    if n < min || n > max {
        return Err(BusinessError::invalid(
            field,
            &format!("length must be between {min} and {max}"),
        ));
    }
    Ok(s)
}

/// A non-negative integer written as a JSON integer or as a string of decimal digits (§5 leniency).
fn integer(obj: &JsonObject, field: &str, min: u64, max: u64) -> Checked<u64> {
    let digits = match obj.raw(field) {
        Raw::Missing => return Err(BusinessError::invalid(field, "is required")),
        Raw::Num(t) | Raw::Str(t) if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) => t,
        // A JSON integer with a minus sign is an integer, just out of range.
        Raw::Num(t) if t.len() > 1 && t[1..].bytes().all(|b| b.is_ascii_digit()) => {
            return Err(out_of_range(field, min, max));
        }
        _ => return Err(BusinessError::invalid(field, "must be an integer")),
    };
    match digits.parse::<u64>() {
        Ok(v) if (min..=max).contains(&v) => Ok(v),
        Ok(_) => Err(out_of_range(field, min, max)),
        // More digits than any u64: too large, not too small.
        Err(_) => Err(BusinessError::invalid(
            field,
            &format!("must be at most {max}"),
        )),
    }
}

fn out_of_range(field: &str, min: u64, max: u64) -> BusinessError {
    BusinessError::invalid(field, &format!("must be between {min} and {max}"))
}

fn email(obj: &JsonObject) -> Checked<String> {
    let s = string(obj, "email")?;
    if s.chars().count() > 128 {
        return Err(BusinessError::invalid(
            "email",
            "length must be at most 128",
        ));
    }
    if s.matches('@').count() != 1 {
        return Err(BusinessError::invalid(
            "email",
            "must contain exactly one @",
        ));
    }
    Ok(s)
}

/// A string of 4–20 digits; a JSON integer is accepted and read as its digits (§5 leniency).
fn phone(obj: &JsonObject) -> Checked<String> {
    let s = match obj.raw("phone") {
        Raw::Missing => return Err(BusinessError::invalid("phone", "is required")),
        Raw::Str(s) | Raw::Num(s) => s,
        _ => return Err(BusinessError::invalid("phone", "must be a string")),
    };
    if !(4..=20).contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(BusinessError::invalid("phone", "must be 4 to 20 digits"));
    }
    Ok(s)
}

fn address(obj: &JsonObject) -> Checked<String> {
    let s = string(obj, "address")?;
    if s.len() > 255 || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b' ') {
        return Err(BusinessError::invalid(
            "address",
            "must match ^[a-zA-Z0-9 ]{0,255}$",
        ));
    }
    Ok(s)
}

fn order_sn(obj: &JsonObject) -> Checked<String> {
    let s = text(obj, "order_sn", 1, 64)?;
    if !s.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        return Err(BusinessError::invalid(
            "order_sn",
            "must be printable ASCII",
        ));
    }
    Ok(s)
}

fn currency(obj: &JsonObject) -> Checked<String> {
    let s = string(obj, "currency")?;
    if s != "USD" {
        return Err(BusinessError::invalid("currency", "must be USD"));
    }
    Ok(s)
}

/// > 0, ≤ 13 integer digits, ≤ 2 decimals as written; a numeric string is also accepted.
fn amount(obj: &JsonObject) -> Checked<Amount> {
    let text = match obj.raw("amount") {
        Raw::Missing => return Err(BusinessError::invalid("amount", "is required")),
        Raw::Num(t) | Raw::Str(t) => t,
        _ => return Err(BusinessError::invalid("amount", "must be a number")),
    };
    match Amount::parse(&text) {
        Some(a) if a.cents() > 0 => Ok(a),
        Some(_) => Err(BusinessError::invalid("amount", "must be greater than 0")),
        None => Err(BusinessError::invalid(
            "amount",
            "must be a decimal with at most 13 integer digits and 2 fraction digits",
        )),
    }
}

fn purpose(obj: &JsonObject) -> Checked<String> {
    let s = string(obj, "purposeOfTransaction")?;
    if !PURPOSES_OF_TRANSACTION.contains(&s.as_str()) {
        return Err(BusinessError::invalid(
            "purposeOfTransaction",
            "must be one of the documented values",
        ));
    }
    Ok(s)
}

/// `"True"` / `"False"` in any case, or a JSON boolean; absent means `False`.
fn skip3ds(obj: &JsonObject) -> Checked<bool> {
    match obj.raw("skip3ds") {
        Raw::Missing => Ok(false),
        Raw::Bool(b) => Ok(b),
        Raw::Str(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Raw::Str(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(BusinessError::invalid("skip3ds", "must be True or False")),
    }
}
