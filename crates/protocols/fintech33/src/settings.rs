//! A merchant's 33 Fintech options (`settings["fintech33"]`, §3.2 and §7) and the credentials
//! built from them and from the core credential block.
//!
//! Recognised keys, all optional (absent = the spec's default): the strings `aes_mode` (`ECB` |
//! `CBC`), `aes_iv` (standard base64 of 16 bytes, required for CBC), `sign_hash` (`SHA256` |
//! `SHA1`), `region` (webhook `region`, default `HKG`) and `webhook_url` (overrides the
//! merchant's registered notify URL for this protocol); the integer `refund_delay_ms` (§8's
//! sandbox refund delay, default 0: a refund completes within refundOrder); and `refund_fee`
//! (§5.4's fee, a USD amount as a string such as `"1.50"`, default `"0"`).

use polypay_core::Merchant;
use serde::Deserialize;

use crate::Error;
use crate::credentials::Credentials;
use crate::notify::DEFAULT_REGION;
use crate::sign::{BizCipher, SignHash, b64_decode_lenient};

/// The parsed `settings["fintech33"]` object.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MerchantSettings {
    #[serde(default = "default_mode")]
    pub aes_mode: String,
    #[serde(default)]
    pub aes_iv: Option<String>,
    #[serde(default = "default_hash")]
    pub sign_hash: String,
    #[serde(default = "default_region")]
    pub region: String,
    #[serde(default)]
    pub webhook_url: Option<String>,
    /// Sandbox: how long a refund stays `RefundRequest` before it completes (§8); 0 = at once.
    #[serde(default)]
    pub refund_delay_ms: u32,
    /// The fee a refund costs (§5.4: the balance must cover amount and fee), in USD.
    #[serde(default)]
    pub refund_fee: Option<String>,
}

fn default_mode() -> String {
    "ECB".to_owned()
}

fn default_hash() -> String {
    SignHash::Sha256.as_str().to_owned()
}

fn default_region() -> String {
    DEFAULT_REGION.to_owned()
}

impl Default for MerchantSettings {
    fn default() -> Self {
        MerchantSettings {
            aes_mode: default_mode(),
            aes_iv: None,
            sign_hash: default_hash(),
            region: default_region(),
            webhook_url: None,
            refund_delay_ms: 0,
            refund_fee: None,
        }
    }
}

impl MerchantSettings {
    /// Reads the merchant's options; an absent or `null` block means every default.
    pub fn of(merchant: &Merchant) -> Result<Self, Error> {
        match merchant.settings.get("fintech33") {
            None | Some(serde_json::Value::Null) => Ok(MerchantSettings::default()),
            Some(v) => MerchantSettings::deserialize(v)
                .map_err(|_| Error::InvalidSetting("settings.fintech33 is malformed")),
        }
    }

    /// Checks a new `settings["fintech33"]` block before it is stored (the admin API and CLI).
    /// This protocol reads its block strictly ([`MerchantSettings::of`], [`cipher_of`]): a block
    /// refused here would refuse every request of the merchant, so the check is the same.
    pub fn check(value: &serde_json::Value) -> Result<(), String> {
        use polypay_core::settings::{SettingsCheck, is_http_url};
        let iv = |v: &serde_json::Value| {
            v.as_str()
                .and_then(b64_decode_lenient)
                .is_some_and(|iv| iv.len() == 16)
        };
        let cbc_without_iv = (value.get("aes_mode").and_then(|m| m.as_str()) == Some("CBC")
            && value.get("aes_iv").is_none_or(|v| v.is_null()))
        .then(|| "aes_iv is required with aes_mode CBC".to_owned());
        let text = |v: &serde_json::Value| v.as_str().is_some_and(|t| !t.is_empty());
        SettingsCheck::new(value)
            .option("aes_iv", "standard base64 of 16 bytes", iv)
            .option("webhook_url", "an http(s) URL", is_http_url)
            .null_refused()
            .option("aes_mode", "\"ECB\" or \"CBC\"", |v| {
                matches!(v.as_str(), Some("ECB" | "CBC"))
            })
            .option("sign_hash", "\"SHA256\" or \"SHA1\"", |v| {
                v.as_str().and_then(SignHash::parse).is_some()
            })
            .option("region", "a non-empty string, e.g. \"HKG\"", text)
            .option("refund_delay_ms", "an integer from 0 to 4294967295", |v| {
                v.as_u64().is_some_and(|n| n <= u64::from(u32::MAX))
            })
            .option(
                "refund_fee",
                "a USD amount as a string with at most 2 decimals, e.g. \"1.50\"",
                |v| v.as_str().and_then(fee_minor).is_some(),
            )
            .rule(cbc_without_iv)
            .finish()
    }

    /// The refund fee in US cents (0 when none is set).
    pub fn refund_fee_minor(&self) -> Result<i64, Error> {
        match self.refund_fee.as_deref() {
            None => Ok(0),
            Some(text) => fee_minor(text).ok_or(Error::InvalidSetting(
                "refund_fee must be a USD amount such as \"1.50\"",
            )),
        }
    }

    pub fn sign_hash(&self) -> Result<SignHash, Error> {
        SignHash::parse(&self.sign_hash)
            .ok_or(Error::InvalidSetting("sign hash must be SHA256 or SHA1"))
    }

    /// The IV to use: `None` for ECB, the configured IV for CBC.
    fn iv(&self) -> Result<Option<&str>, Error> {
        match self.aes_mode.as_str() {
            "ECB" => Ok(None),
            "CBC" => self.aes_iv.as_deref().map(Some).ok_or(Error::InvalidAesIv),
            _ => Err(Error::InvalidSetting("AES mode must be ECB or CBC")),
        }
    }

    /// Where webhooks go: the per-protocol override, else the merchant's registered URL.
    pub fn webhook_url<'m>(&'m self, merchant: &'m Merchant) -> Option<&'m str> {
        self.webhook_url
            .as_deref()
            .or(merchant.notify_url.as_deref())
            .filter(|u| !u.is_empty())
    }
}

/// A USD amount (`"1.50"`) in cents.
fn fee_minor(text: &str) -> Option<i64> {
    polypay_core::Money::parse_decimal(text, polypay_core::Currency::USD)
        .ok()
        .map(|m| m.minor)
}

/// The merchant's AES key and mode, and its hash option: enough to seal a response or webhook
/// even when no RSA public key is registered.
pub fn cipher_of(merchant: &Merchant) -> Result<(BizCipher, SignHash), Error> {
    let settings = MerchantSettings::of(merchant)?;
    let cipher = BizCipher::from_base64(
        merchant.credentials.fintech33.aes_key.expose(),
        settings.iv()?,
    )?;
    Ok((cipher, settings.sign_hash()?))
}

/// The full credentials of §3.2; `Ok(None)` when the merchant registered no RSA public key.
pub fn credentials_of(merchant: &Merchant) -> Result<Option<Credentials>, Error> {
    let core = &merchant.credentials.fintech33;
    let Some(public_key) = core.rsa_public_key.as_deref() else {
        return Ok(None);
    };
    let settings = MerchantSettings::of(merchant)?;
    Credentials::from_settings(
        &core.app_id,
        core.app_secret.expose(),
        core.aes_key.expose(),
        &settings.aes_mode,
        settings.aes_iv.as_deref(),
        &settings.sign_hash,
        public_key,
    )
    .map(Some)
}

#[cfg(test)]
mod tests {
    #[test]
    fn new_settings_are_checked_as_strictly_as_they_are_read() {
        let all = serde_json::json!({"aes_mode": "CBC", "aes_iv": "EBESExQVFhcYGRobHB0eHw==",
            "sign_hash": "SHA1", "region": "SGP", "webhook_url": "https://shop.example/hook"});
        assert_eq!(MerchantSettings::check(&all), Ok(()));
        let m = merchant(serde_json::json!({ "fintech33": all }));
        assert!(cipher_of(&m).is_ok());
        // Every block refused at run time is refused here first.
        for bad in [
            serde_json::json!({"aes_mode": "CBC"}),
            serde_json::json!({"aes_mode": "CBC", "aes_iv": "EBESExQVFhcYGRobHB0e"}),
            serde_json::json!({"aes_mode": "cbc", "aes_iv": "EBESExQVFhcYGRobHB0eHw=="}),
            serde_json::json!({"aes_mode": null}),
            serde_json::json!({"sign_hash": "MD5"}),
            serde_json::json!({"aesMode": "ECB"}),
        ] {
            assert!(MerchantSettings::check(&bad).is_err(), "{bad}");
            let m = merchant(serde_json::json!({ "fintech33": bad }));
            assert!(cipher_of(&m).is_err(), "{bad} is read");
        }
        let err = MerchantSettings::check(&serde_json::json!({"webhook_url": "hook"})).unwrap_err();
        assert_eq!(err, "webhook_url must be an http(s) URL (got \"hook\")");
    }

    use super::*;
    use polypay_core::{MerchantId, Timestamp};

    fn merchant(settings: serde_json::Value) -> Merchant {
        Merchant {
            id: MerchantId("mch_1".into()),
            name: "m".into(),
            notify_url: Some("http://127.0.0.1/hook".into()),
            enabled: true,
            created_at: Timestamp(0),
            credentials: polypay_engine::merchant::issue_credentials(),
            settings,
        }
    }

    #[test]
    fn absent_block_means_defaults() {
        let s = MerchantSettings::of(&merchant(serde_json::json!({}))).unwrap();
        assert_eq!(s, MerchantSettings::default());
        assert_eq!(s.sign_hash().unwrap(), SignHash::Sha256);
        assert_eq!(s.region, "HKG");
        let m = merchant(serde_json::json!({}));
        assert_eq!(s.webhook_url(&m), Some("http://127.0.0.1/hook"));
    }

    #[test]
    fn cbc_needs_an_iv_and_unknown_keys_are_refused() {
        let m = merchant(serde_json::json!({"fintech33": {"aes_mode": "CBC"}}));
        assert!(matches!(cipher_of(&m), Err(Error::InvalidAesIv)));
        let m = merchant(serde_json::json!({"fintech33": {"aes_mode": "CBC",
            "aes_iv": "EBESExQVFhcYGRobHB0eHw==", "sign_hash": "SHA1"}}));
        let (cipher, hash) = cipher_of(&m).unwrap();
        assert!(matches!(cipher.mode(), crate::AesMode::Cbc { .. }));
        assert_eq!(hash, SignHash::Sha1);
        let m = merchant(serde_json::json!({"fintech33": {"aesMode": "CBC"}}));
        assert!(MerchantSettings::of(&m).is_err());
    }

    #[test]
    fn no_registered_key_means_no_credentials() {
        let m = merchant(serde_json::json!({}));
        assert!(credentials_of(&m).unwrap().is_none());
    }
}
