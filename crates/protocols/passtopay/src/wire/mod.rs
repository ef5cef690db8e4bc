//! Serde types of the PassToPay wire: paths, enums, request parameters, response `data`,
//! notifications, plus the status mapping of spec 6 and the ordered-map writer every signed
//! map polypay emits goes through.

pub mod de;
pub mod payment;
pub mod refund;
pub mod status;
pub mod transfer;

pub use payment::*;
pub use refund::*;
pub use status::*;
pub use transfer::*;

use serde::Serialize;

/// The `version` polypay sends in client mode (spec 3.5).
pub const CLIENT_VERSION: &str = "1.1";
/// The only `signType` (spec 3.3).
pub const SIGN_TYPE: &str = "MD5";
/// `Content-Type` of every response (spec 2).
pub const RESPONSE_CONTENT_TYPE: &str = "application/json;charset=UTF-8";

/// One endpoint of spec 2's path table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    UnifiedOrder,
    CashierOrder,
    CryptoOrder,
    PayQuery,
    PayClose,
    RefundOrder,
    RefundQuery,
    TransferOrder,
    TransferQuery,
}

impl Endpoint {
    pub const ALL: [Endpoint; 9] = [
        Endpoint::UnifiedOrder,
        Endpoint::CashierOrder,
        Endpoint::CryptoOrder,
        Endpoint::PayQuery,
        Endpoint::PayClose,
        Endpoint::RefundOrder,
        Endpoint::RefundQuery,
        Endpoint::TransferOrder,
        Endpoint::TransferQuery,
    ];

    pub fn path(self) -> &'static str {
        match self {
            Endpoint::UnifiedOrder => "/api/pay/unifiedOrder",
            Endpoint::CashierOrder => "/api/pay/cashierOrder",
            Endpoint::CryptoOrder => "/api/pay/cryptoOrder",
            Endpoint::PayQuery => "/api/pay/query",
            Endpoint::PayClose => "/api/pay/close",
            Endpoint::RefundOrder => "/api/refund/refundOrder",
            Endpoint::RefundQuery => "/api/refund/query",
            Endpoint::TransferOrder => "/api/transferOrder",
            Endpoint::TransferQuery => "/api/transfer/query",
        }
    }

    /// Exact, case-sensitive match on the path (the provider's paths are camelCase).
    pub fn from_path(path: &str) -> Option<Endpoint> {
        Endpoint::ALL.into_iter().find(|e| e.path() == path)
    }
}

/// Alipay payment methods of `wayCode` (plus the crypto order's fixed code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WayCode {
    AliQr,
    AliWap,
    CryptoAddress,
}

impl WayCode {
    pub fn as_str(self) -> &'static str {
        match self {
            WayCode::AliQr => "ALI_QR",
            WayCode::AliWap => "ALI_WAP",
            WayCode::CryptoAddress => "CRYPTO_ADDRESS",
        }
    }

    /// Exact match: the provider documents upper-case codes only.
    pub fn parse(text: &str) -> Option<WayCode> {
        [WayCode::AliQr, WayCode::AliWap, WayCode::CryptoAddress]
            .into_iter()
            .find(|w| w.as_str() == text)
    }

    /// `ifCode` of a payment made with this method [D].
    pub fn if_code(self) -> &'static str {
        match self {
            WayCode::CryptoAddress => "crypto",
            WayCode::AliQr | WayCode::AliWap => "alipay",
        }
    }
}

/// `payDataType` of create responses; note `payurl` (cashier/crypto) vs `payUrl` (unifiedOrder).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PayDataType {
    CodeUrl,
    CodeImgUrl,
    PayUrl,
    Form,
    /// The lower-case `payurl` the provider returns for cashier and crypto orders.
    CashierPayurl,
}

impl PayDataType {
    pub fn as_str(self) -> &'static str {
        match self {
            PayDataType::CodeUrl => "codeUrl",
            PayDataType::CodeImgUrl => "codeImgUrl",
            PayDataType::PayUrl => "payUrl",
            PayDataType::Form => "form",
            PayDataType::CashierPayurl => "payurl",
        }
    }

    /// The values `channelExtra.payDataType` may take for a method, default first (spec 5.1).
    pub fn allowed_for(way: WayCode) -> &'static [PayDataType] {
        match way {
            WayCode::AliQr => &[PayDataType::CodeUrl, PayDataType::CodeImgUrl],
            WayCode::AliWap => &[
                PayDataType::PayUrl,
                PayDataType::CodeImgUrl,
                PayDataType::Form,
            ],
            WayCode::CryptoAddress => &[PayDataType::CashierPayurl],
        }
    }
}

/// Crypto networks of spec 5.3 and the tokens each carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Chain {
    Ethereum,
    Tron,
    BnbChain,
    Polygon,
}

impl Chain {
    pub const ALL: [Chain; 4] = [
        Chain::Ethereum,
        Chain::Tron,
        Chain::BnbChain,
        Chain::Polygon,
    ];

    /// The `chain` parameter value.
    pub fn code(self) -> &'static str {
        match self {
            Chain::Ethereum => "1",
            Chain::Tron => "0x2b6653dc",
            Chain::BnbChain => "56",
            Chain::Polygon => "137",
        }
    }

    pub fn from_code(code: &str) -> Option<Chain> {
        Chain::ALL.into_iter().find(|c| c.code() == code)
    }

    pub fn network_name(self) -> &'static str {
        match self {
            Chain::Ethereum => "Ethereum",
            Chain::Tron => "Tron",
            Chain::BnbChain => "BNB Chain",
            Chain::Polygon => "Polygon",
        }
    }

    /// Whether the network carries `token` (`USDT`/`USDC`, upper case).
    pub fn carries(self, token: &str) -> bool {
        match self {
            Chain::Ethereum => token == "USDT" || token == "USDC",
            Chain::Tron | Chain::BnbChain | Chain::Polygon => token == "USDT",
        }
    }
}

/// How notifications are encoded for a merchant (spec 7.2, per-merchant `notify_format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum NotifyFormat {
    #[default]
    Form,
    Query,
    Json,
}

impl NotifyFormat {
    /// The per-merchant setting value: `form`, `query` or `json` (any ASCII case).
    pub fn parse(text: &str) -> Option<NotifyFormat> {
        match text.to_ascii_lowercase().as_str() {
            "form" => Some(NotifyFormat::Form),
            "query" => Some(NotifyFormat::Query),
            "json" => Some(NotifyFormat::Json),
            _ => None,
        }
    }
}

/// The members of a serialized struct without nulls and empty strings, sorted by name (byte
/// order) — the one place that turns our wire structs into the ordered maps the spec asks for
/// ("absent values omitted", "names ascending"), independent of serde_json's map type.
pub fn sorted_members<T: Serialize>(value: &T) -> Vec<(String, serde_json::Value)> {
    let present = |v: &serde_json::Value| !v.is_null() && v.as_str() != Some("");
    let mut members: Vec<(String, serde_json::Value)> = match serde_json::to_value(value) {
        Ok(serde_json::Value::Object(map)) => map.into_iter().filter(|(_, v)| present(v)).collect(),
        _ => Vec::new(),
    };
    members.sort_by(|a, b| a.0.cmp(&b.0));
    members
}

/// Members rendered as text for signing (strings verbatim, integers as decimal digits).
pub fn rendered_members(members: &[(String, serde_json::Value)]) -> Vec<(String, String)> {
    members
        .iter()
        .filter_map(|(k, v)| crate::sign::render_json_scalar(v).map(|t| (k.clone(), t)))
        .collect()
}

/// Writes members as a compact JSON object in the given order.
pub fn json_object(members: &[(String, serde_json::Value)]) -> String {
    let mut out = String::from("{");
    for (i, (name, value)) in members.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&serde_json::Value::String(name.clone()).to_string());
        out.push(':');
        out.push_str(&value.to_string());
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_round_trip() {
        for e in Endpoint::ALL {
            assert_eq!(Endpoint::from_path(e.path()), Some(e));
        }
        assert_eq!(Endpoint::from_path("/api/pay/unifiedorder"), None);
    }

    #[test]
    fn chains_and_tokens() {
        assert!(Chain::Ethereum.carries("USDC"));
        assert!(!Chain::Tron.carries("USDC"));
        assert_eq!(Chain::from_code("0x2b6653dc"), Some(Chain::Tron));
    }

    #[test]
    fn sorted_members_drop_nulls_and_sort_by_name() {
        let v = serde_json::json!({"b": 1, "a": "x", "c": null, "d": ""});
        let m = sorted_members(&v);
        assert_eq!(json_object(&m), r#"{"a":"x","b":1}"#);
    }
}
