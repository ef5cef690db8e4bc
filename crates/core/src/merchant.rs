//! Merchants, the protocols they speak, and their per-protocol credentials.
//!
//! Secrets live in [`Secret`], whose Debug and Display print a redaction marker: a credential
//! can be logged or debug-printed by mistake without leaking.

use crate::clock::Timestamp;
use crate::id::MerchantId;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The wire protocols polypay serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Passtopay,
    Blockatm,
    Ottpay,
    V2sha256,
    Fintech33,
}

impl Protocol {
    pub const ALL: [Protocol; 5] = [
        Protocol::Passtopay,
        Protocol::Blockatm,
        Protocol::Ottpay,
        Protocol::V2sha256,
        Protocol::Fintech33,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Passtopay => "passtopay",
            Protocol::Blockatm => "blockatm",
            Protocol::Ottpay => "ottpay",
            Protocol::V2sha256 => "v2sha256",
            Protocol::Fintech33 => "fintech33",
        }
    }

    pub fn parse(text: &str) -> Option<Protocol> {
        Protocol::ALL.into_iter().find(|p| p.as_str() == text)
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A secret string. Debug/Display never show it; [`Secret::expose`] is the one way in.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// PassToPay (Jeepay): merchant number, application id and its MD5 signing secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PassToPayCredentials {
    pub mch_no: String,
    pub app_id: String,
    pub app_secret: Secret,
}

/// BlockATM: API key and HMAC secret, cashier id, optional registered EC public key (V1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockAtmCredentials {
    pub api_key: String,
    pub secret_key: Secret,
    pub cashier_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ec_public_key: Option<String>,
}

/// OTT Pay processV2: merchant id, sign key (AES key material), operator and shop ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OttPayCredentials {
    pub merchant_id: String,
    #[serde(rename = "signKey")]
    pub sign_key: Secret,
    pub operator_id: String,
    pub shop_id: String,
}

/// V2_SHA256 gateway: application id and secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct V2Sha256Credentials {
    pub app_id: String,
    pub app_secret: Secret,
}

/// 33 Fintech: app id/secret for the token call, AES key, the merchant's registered RSA public key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fintech33Credentials {
    pub app_id: String,
    pub app_secret: Secret,
    pub aes_key: Secret,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rsa_public_key: Option<String>,
}

/// Everything a merchant authenticates with, one block per protocol.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    pub passtopay: PassToPayCredentials,
    pub blockatm: BlockAtmCredentials,
    pub ottpay: OttPayCredentials,
    pub v2sha256: V2Sha256Credentials,
    pub fintech33: Fintech33Credentials,
}

impl Credentials {
    /// The public identifier each protocol looks a merchant up by (mchNo, apiKey, merchant_id, appId, appId).
    pub fn lookup_keys(&self) -> [(Protocol, &str); 5] {
        [
            (Protocol::Passtopay, self.passtopay.mch_no.as_str()),
            (Protocol::Blockatm, self.blockatm.api_key.as_str()),
            (Protocol::Ottpay, self.ottpay.merchant_id.as_str()),
            (Protocol::V2sha256, self.v2sha256.app_id.as_str()),
            (Protocol::Fintech33, self.fintech33.app_id.as_str()),
        ]
    }
}

/// A merchant of the gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Merchant {
    pub id: MerchantId,
    pub name: String,
    /// Where callbacks go when an order names no URL of its own.
    pub notify_url: Option<String>,
    pub enabled: bool,
    pub created_at: Timestamp,
    pub credentials: Credentials,
    /// Per-protocol options (e.g. PassToPay `notify_format`), as the protocol adapters define them.
    pub settings: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_contains_a_secret() {
        let c = V2Sha256Credentials {
            app_id: "app1".into(),
            app_secret: Secret::new("s3cr3t-value"),
        };
        let dbg = format!("{c:?}");
        assert!(dbg.contains("app1"));
        assert!(!dbg.contains("s3cr3t-value"), "{dbg}");
        assert_eq!(format!("{}", c.app_secret), "***");
    }

    #[test]
    fn protocol_names_round_trip() {
        for p in Protocol::ALL {
            assert_eq!(Protocol::parse(p.as_str()), Some(p));
        }
    }
}
