//! Wire types of OTT Pay processV2: the level-1 envelopes, the enumerations, the amount/time/id
//! renderings, and (in submodules) every request, response, callback and redirect payload.

mod request;
mod response;
mod status;

pub use request::*;
pub use response::*;
pub use status::*;

use serde::{Deserialize, Serialize};

/// The two paths that serve the protocol (spec §2): `/processV2` and its alias `/process`.
pub const PATHS: [&str; 2] = ["/processV2", "/process"];

/// Content type of every response and callback (spec §2, §7.1).
pub const CONTENT_TYPE: &str = "application/json;charset=UTF-8";

/// Body limit of a request (spec §2): 1 MiB.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Level-1 request (spec §2); keys in the order the provider's examples use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestEnvelope {
    pub action: String,
    pub version: String,
    pub merchant_id: String,
    pub data: String,
    pub md5: String,
}

/// Level-1 response (spec §2, §3.4); `data`/`md5` only with SUCCESS and PROCESSING.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseEnvelope {
    pub rsp_code: String,
    pub rsp_msg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub md5: Option<String>,
}

/// Level-1 callback body (spec §7.1), keys in the specified order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackEnvelope {
    pub rsp_code: String,
    pub rsp_msg: String,
    pub merchant_id: String,
    pub data: String,
    pub md5: String,
}

macro_rules! wire_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The exact wire text.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses the exact (case-sensitive) wire text.
            pub fn parse(text: &str) -> Option<$name> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_enum!(
    /// The `action` of a level-1 request (spec §5).
    Action {
        ActivePay => "ACTIVEPAY",
        H5Pay => "H5PAY",
        PrepayInit => "PREPAY_INIT",
        PrepayQuery => "PREPAY_QUERY",
        StatusQuery => "STATUS_QUERY",
        Refund => "REFUND",
        ExRateQuery => "EX_RATE_QUERY",
    }
);

impl Action {
    /// The documented `version` of the action (spec §2); polypay accepts either for every action.
    pub fn documented_version(self) -> Version {
        match self {
            Action::H5Pay | Action::PrepayInit | Action::PrepayQuery => Version::V2_0,
            _ => Version::V1_0,
        }
    }
}

wire_enum!(
    /// The level-1 `version`.
    Version {
        V1_0 => "1.0",
        V2_0 => "2.0",
    }
);

wire_enum!(
    /// The `rsp_code` values polypay emits (spec §4); anything else is a failure to a client.
    RspCode {
        Success => "SUCCESS",
        Processing => "PROCESSING",
        Fail => "FAIL",
        ParamError => "PARAM_ERROR",
        ParamInvalid => "PARAM_INVALID",
        OrderUsed => "ORDER_USED",
        SystemError => "SYSTEM_ERROR",
    }
);

wire_enum!(
    /// Currencies of the protocol (spec §5).
    Currency {
        Cad => "CAD",
        Usd => "USD",
        Cny => "CNY",
    }
);

wire_enum!(
    /// `biz_type` values (spec §5.1-5.3).
    BizType {
        WechatPay => "WECHATPAY",
        Alipay => "ALIPAY",
        UnionPay => "UNIONPAY",
        Prepay => "PREPAY",
    }
);

impl BizType {
    /// The `bizpay_order_id` prefix of a wallet (spec §8); PREPAY has none until a method is picked.
    pub fn bizpay_prefix(self) -> Option<&'static str> {
        match self {
            BizType::WechatPay => Some("WX"),
            BizType::Alipay => Some("AL"),
            BizType::UnionPay => Some("UP"),
            BizType::Prepay => None,
        }
    }
}

/// The exchange-rate table of EX_RATE_QUERY and callbacks: CNY per unit x 10^8 (spec §5.7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateTable {
    rates: Vec<(String, u64)>,
}

impl RateTable {
    pub fn new(rates: Vec<(String, u64)>) -> RateTable {
        RateTable { rates }
    }

    /// The rate of an ISO 4217 code, if the table has it.
    pub fn get(&self, fee_type: &str) -> Option<u64> {
        self.rates
            .iter()
            .find(|(code, _)| code == fee_type)
            .map(|(_, rate)| *rate)
    }
}

impl Default for RateTable {
    /// The sandbox table of spec §5.7.
    fn default() -> RateTable {
        RateTable::new(vec![
            ("CAD".to_owned(), 505_703_000),
            ("USD".to_owned(), 710_000_000),
            ("CNY".to_owned(), 100_000_000),
        ])
    }
}

/// Parses an amount in cents (spec §5): `^[1-9][0-9]{0,15}$`, never rounded.
pub fn parse_cents(text: &str) -> Option<u64> {
    let bytes = text.as_bytes();
    let valid =
        (1..=16).contains(&bytes.len()) && bytes[0] != b'0' && bytes.iter().all(u8::is_ascii_digit);
    if valid { text.parse().ok() } else { None }
}

/// Parses a tip in cents (spec §5): like [`parse_cents`] but `0` is allowed.
pub fn parse_tip_cents(text: &str) -> Option<u64> {
    if text == "0" {
        Some(0)
    } else {
        parse_cents(text)
    }
}

/// Renders cents as the wire string (`100` = 1.00).
pub fn format_cents(cents: u64) -> String {
    cents.to_string()
}

/// The callback `exchange_rate` (spec §7.1): a rate scaled by 10^8, truncated to 6 decimals.
pub fn format_exchange_rate(rate_e8: u64) -> String {
    format!(
        "{}.{:06}",
        rate_e8 / 100_000_000,
        (rate_e8 % 100_000_000) / 100
    )
}

/// Default merchant time zone (spec §5).
pub const DEFAULT_TIME_ZONE: &str = "Asia/Shanghai";

/// Renders a timestamp as `yyyy-MM-dd HH:mm:ss` in the merchant's time zone (spec §5).
pub fn format_time(at: jiff::Timestamp, tz: &jiff::tz::TimeZone) -> String {
    at.to_zoned(tz.clone())
        .strftime("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// An order id as OTT makes them (spec §5): 13-digit Unix milliseconds + 4 random digits.
pub fn generate_order_id(unix_ms: u64, rng: &mut impl rand::Rng) -> String {
    format!(
        "{:013}{:04}",
        unix_ms % 10_000_000_000_000,
        rng.gen_range(0..10_000)
    )
}

/// A sandbox `bizpay_order_id` (spec §8): wallet prefix + 16 digits.
pub fn generate_bizpay_order_id(prefix: &str, rng: &mut impl rand::Rng) -> String {
    format!("{prefix}{}", sixteen_digits(rng))
}

/// A sandbox payer id `sub_openId` (spec §8) when H5PAY gave no `open_id`.
pub fn generate_sub_open_id(rng: &mut impl rand::Rng) -> String {
    format!("sbx{}", sixteen_digits(rng))
}

fn sixteen_digits(rng: &mut impl rand::Rng) -> String {
    format!("{:016}", rng.gen_range(0..10_000_000_000_000_000u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn amounts_follow_the_patterns() {
        assert_eq!(parse_cents("100"), Some(100));
        assert_eq!(parse_cents("9999999999999999"), Some(9_999_999_999_999_999));
        for bad in [
            "",
            "0",
            "01",
            "1.00",
            "-1",
            "+1",
            "1e3",
            " 1",
            "10000000000000000",
        ] {
            assert_eq!(parse_cents(bad), None, "{bad}");
        }
        assert_eq!(parse_tip_cents("0"), Some(0));
        assert_eq!(parse_tip_cents("00"), None);
        assert_eq!(format_cents(105), "105");
    }

    #[test]
    fn exchange_rate_is_truncated_to_six_decimals() {
        assert_eq!(format_exchange_rate(505_703_000), "5.057030");
        assert_eq!(format_exchange_rate(100_000_000), "1.000000");
        assert_eq!(format_exchange_rate(123_456_789), "1.234567");
        assert_eq!(format_exchange_rate(99), "0.000000");
    }

    #[test]
    fn time_is_rendered_in_the_merchant_zone() {
        let tz = jiff::tz::TimeZone::get(DEFAULT_TIME_ZONE).expect("tzdb");
        let at: jiff::Timestamp = "2023-03-22T17:21:53Z".parse().expect("timestamp");
        assert_eq!(format_time(at, &tz), "2023-03-23 01:21:53");
    }

    #[test]
    fn generated_ids_have_the_documented_shapes() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let id = generate_order_id(1_679_505_621_601, &mut rng);
        assert_eq!(id.len(), 17);
        assert!(id.starts_with("1679505621601"));
        let biz = generate_bizpay_order_id("AL", &mut rng);
        assert!(biz.starts_with("AL") && biz.len() == 18);
        let payer = generate_sub_open_id(&mut rng);
        assert!(payer.starts_with("sbx") && payer.len() == 19);
    }

    #[test]
    fn enums_round_trip() {
        for action in Action::ALL {
            assert_eq!(Action::parse(action.as_str()), Some(*action));
        }
        assert_eq!(Action::parse("activepay"), None);
        assert_eq!(Action::H5Pay.documented_version(), Version::V2_0);
        assert_eq!(Action::Refund.documented_version(), Version::V1_0);
    }
}
