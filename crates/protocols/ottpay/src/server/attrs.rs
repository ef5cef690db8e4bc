//! What OTT Pay keeps on core objects: the request fields a later query, callback or redirect
//! needs (`Payment.attrs` / `Refund.attrs`), the public-id scheme, and the derived values.

use crate::wire::{Action, format_time};
use jiff::tz::TimeZone;
use md5::{Digest, Md5};
use polypay_core::{MerchantId, Payment, Protocol, Refund, Timestamp};
use serde::{Deserialize, Serialize};

/// `Payment.attrs` of an OTT Pay payment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PaymentAttrs {
    /// `ACTIVEPAY`, `H5PAY` or `PREPAY_INIT`.
    pub action: String,
    /// The OTT `order_id` (for ACTIVEPAY/H5PAY also the merchant order number).
    pub order_id: String,
    pub biz_type: String,
    /// The request `amount` in cents, without the tip.
    pub amount: u64,
    pub tip: u64,
    pub operator_id: String,
    pub shop_id: Option<String>,
    pub terminal_no: Option<String>,
    /// Assigned at creation for ACTIVEPAY/H5PAY; for PREPAY when the payer picks a method on
    /// the cashier (else derived once paid).
    pub bizpay_order_id: Option<String>,
    /// The payer's wallet id (`sub_openId`, STATUS_QUERY `buyer_login_id`).
    pub sub_open_id: String,
    pub prepay: Option<PrepayAttrs>,
    /// H5PAY: the `redirect_url` the cashier link carried (spec §5.2), recorded when the
    /// customer finished on the cashier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_url: Option<String>,
}

/// The PREPAY_INIT fields (spec §5.3) that PREPAY_QUERY echoes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PrepayAttrs {
    pub prepay_order_id: String,
    pub sale_num: String,
    pub email: Option<String>,
    pub remarks: Option<String>,
    pub duration: u32,
    pub redirect_url: String,
}

impl PaymentAttrs {
    /// The attrs of an OTT Pay payment; `None` for another protocol's payment.
    pub fn of(payment: &Payment) -> Option<PaymentAttrs> {
        if payment.protocol != Protocol::Ottpay {
            return None;
        }
        serde_json::from_value(payment.attrs.clone()).ok()
    }

    pub fn is_prepay(&self) -> bool {
        self.action == Action::PrepayInit.as_str()
    }

    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// `Refund.attrs` of an OTT Pay refund.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RefundAttrs {
    /// The refund's own OTT `order_id` (also its merchant refund number).
    pub order_id: String,
    /// The payment's OTT `order_id`.
    pub ori_order_id: String,
}

impl RefundAttrs {
    pub fn of(refund: &Refund) -> Option<RefundAttrs> {
        if refund.protocol != Protocol::Ottpay {
            return None;
        }
        serde_json::from_value(refund.attrs.clone()).ok()
    }
}

/// The core `public_id` of an OTT order id. OTT order ids are only unique per merchant while
/// public ids are global, so they are namespaced by the (immutable) polypay merchant id; `.`
/// cannot occur in either part, and the result is safe in a URL path.
pub fn public_id(merchant: &MerchantId, order_id: &str) -> String {
    format!("{merchant}.{order_id}")
}

/// The `bizpay_order_id` of a payment (spec §5.5, §8): the one assigned at creation, or for
/// PREPAY the wallet reference of its success — the channel reference when it already has the
/// `WX|AL|UP` + 16 digits shape, otherwise `WX` + 16 digits derived from it (stable, so a query
/// and the callback agree). `""` until assigned.
pub fn bizpay_order_id(payment: &Payment, attrs: &PaymentAttrs) -> String {
    if let Some(id) = attrs.bizpay_order_id.as_ref().filter(|id| !id.is_empty()) {
        return id.clone();
    }
    match payment.channel_order_no.as_deref() {
        Some(channel) if is_bizpay_shaped(channel) => channel.to_owned(),
        Some(channel) => format!("WX{}", sixteen_digits_of(channel)),
        None => String::new(),
    }
}

fn is_bizpay_shaped(text: &str) -> bool {
    let (Some(prefix), Some(digits)) = (text.get(..2), text.get(2..)) else {
        return false;
    };
    matches!(prefix, "WX" | "AL" | "UP")
        && digits.len() == 16
        && digits.bytes().all(|b| b.is_ascii_digit())
}

/// The last 16 digits of `text`, or 16 digits of its MD5 when it has fewer.
fn sixteen_digits_of(text: &str) -> String {
    let digits: Vec<u8> = text.bytes().filter(u8::is_ascii_digit).collect();
    if digits.len() >= 16 {
        return String::from_utf8_lossy(&digits[digits.len() - 16..]).into_owned();
    }
    let hash = Md5::digest(text.as_bytes());
    hash.iter()
        .take(16)
        .map(|b| char::from(b'0' + b % 10))
        .collect()
}

/// A core timestamp as `yyyy-MM-dd HH:mm:ss` in the merchant's zone.
pub fn wire_time(at: Timestamp, tz: &TimeZone) -> String {
    let at = jiff::Timestamp::from_millisecond(at.millis()).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    format_time(at, tz)
}

/// What a gateway rail's success report gives beside its reference (the settlement API's
/// `details`), as attrs to merge into the payment: the payer's wallet id (`sub_openId`, 1 to
/// 128 characters without control characters), which the callback and STATUS_QUERY report.
pub fn settlement_marks(
    details: &serde_json::Map<String, serde_json::Value>,
) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    let mut marks = serde_json::Map::new();
    for (name, value) in details {
        let payer = match (name.as_str(), value) {
            ("sub_openId", serde_json::Value::String(s)) => Some(s.trim()),
            _ => None,
        };
        match payer {
            Some(id)
                if !id.is_empty()
                    && id.chars().count() <= 128
                    && !id.chars().any(char::is_control) =>
            {
                marks.insert("sub_open_id".into(), id.into());
            }
            _ => {
                return Err(format!(
                    "ottpay details are sub_openId (the payer's wallet id), not {name}: {value}"
                ));
            }
        }
    }
    Ok(marks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bizpay_ids_are_derived_stably() {
        assert!(is_bizpay_shaped("AL5909918566288061"));
        assert!(!is_bizpay_shaped("AL590991856628806"));
        assert!(!is_bizpay_shaped("XX5909918566288061"));
        assert_eq!(
            sixteen_digits_of("2024010112345678901234567890"),
            "5678901234567890"
        );
        let short = sixteen_digits_of("0xabc");
        assert_eq!(short.len(), 16);
        assert_eq!(short, sixteen_digits_of("0xabc"));
    }

    #[test]
    fn public_ids_are_namespaced() {
        let m = MerchantId::from_random("ab12");
        assert_eq!(public_id(&m, "A-1_x"), "mch_ab12.A-1_x");
    }
}
