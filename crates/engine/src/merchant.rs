//! Merchants: onboarding with freshly issued credentials for every protocol, lookup, rotation,
//! and the platform's own key pairs.

use crate::error::EngineError;
use crate::keys::{self, PemPair};
use crate::{Engine, random_digits, random_hex};
use base64::Engine as _;
use polypay_core::merchant::{
    BlockAtmCredentials, Fintech33Credentials, OttPayCredentials, PassToPayCredentials,
    V2Sha256Credentials,
};
use polypay_core::{Credentials, Merchant, MerchantId, Money, Protocol, Secret};

/// A merchant to onboard.
#[derive(Debug, Clone, Default)]
pub struct NewMerchant {
    pub name: String,
    pub notify_url: Option<String>,
    /// Generate merchant-side EC and RSA key pairs and register their public halves (sandbox).
    pub generate_keys: bool,
}

impl NewMerchant {
    /// The merchant as it will be stored: name and notify URL trimmed, an empty URL none.
    /// [`EngineError::Invalid`], saying what is wrong, unless the name is 1–128 characters and
    /// the URL an `http(s)://` URL of at most 2,048 bytes, neither holding a NUL (which
    /// PostgreSQL's text cannot store). Every front door (admin API, console, CLI) creates
    /// merchants through [`Engine::create_merchant`], which checks this.
    pub fn checked(self) -> Result<NewMerchant, EngineError> {
        Ok(NewMerchant {
            name: checked_name(&self.name)?,
            notify_url: checked_notify_url(self.notify_url.as_deref())?,
            ..self
        })
    }
}

/// A merchant name as stored: trimmed, 1–128 characters, none of them a control or invisible
/// formatting character ([`polypay_core::text::unsafe_char`]: the name is shown in terminals,
/// logs, the console and the cashier page).
fn checked_name(name: &str) -> Result<String, EngineError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 128 {
        return Err(EngineError::Invalid("name must be 1-128 characters".into()));
    }
    if let Some(c) = name.chars().find(|&c| polypay_core::text::unsafe_char(c)) {
        return Err(EngineError::Invalid(format!(
            "name must not contain control or invisible formatting characters (found U+{:04X})",
            u32::from(c)
        )));
    }
    Ok(name.to_string())
}

/// A notify URL as stored: trimmed, empty as none, else an absolute `http(s)://` URL with a
/// host (the scheme in any case), at most 2,048 bytes, no whitespace, control or invisible
/// formatting character: what the callback sender will parse, checked when it is set rather
/// than at each attempt.
fn checked_notify_url(url: Option<&str>) -> Result<Option<String>, EngineError> {
    let Some(url) = url.map(str::trim).filter(|u| !u.is_empty()) else {
        return Ok(None);
    };
    let refused = |why: &str| {
        Err(EngineError::Invalid(format!(
            "notify_url must be an http:// or https:// URL of at most 2048 bytes: {why}"
        )))
    };
    if url.len() > 2048 {
        return refused("this one is longer");
    }
    if let Some(c) = url
        .chars()
        .find(|&c| c.is_whitespace() || polypay_core::text::unsafe_char(c))
    {
        return refused(&format!(
            "it holds a space, control or invisible character (U+{:04X})",
            u32::from(c)
        ));
    }
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let rest = match (
        lower.strip_prefix("http://"),
        lower.strip_prefix("https://"),
    ) {
        (Some(_), _) => &url[7..],
        (_, Some(_)) => &url[8..],
        _ => return refused("another scheme"),
    };
    if rest.is_empty() || rest.starts_with(['/', '\\']) {
        return refused("no host");
    }
    match url::Url::parse(url) {
        // Shown in the console, `callbacks show` and logs: no password in it.
        Ok(parsed) if !parsed.username().is_empty() || parsed.password().is_some() => {
            refused("it carries a user name or password")
        }
        Ok(parsed) => match parsed.host_str() {
            Some(host) if !host.trim_matches('.').is_empty() => Ok(Some(url.to_string())),
            _ => refused("no host"),
        },
        Err(e) => refused(&e.to_string()),
    }
}

/// Changes to a merchant's profile; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MerchantUpdate {
    pub name: Option<String>,
    /// `Some(None)` (or an empty URL) removes the default notify URL.
    pub notify_url: Option<Option<String>>,
    /// A disabled merchant's requests are refused by every protocol, each in its own error
    /// envelope; its callbacks already queued still go out.
    pub enabled: Option<bool>,
}

/// Merchant-side private keys generated in sandbox mode; shown once, never stored.
#[derive(Debug, Clone)]
pub struct SandboxKeys {
    pub ec: PemPair,
    pub rsa: PemPair,
}

/// Fresh credentials in each protocol's documented shape.
pub fn issue_credentials() -> Credentials {
    let aes_key = base64::engine::general_purpose::STANDARD.encode(random_bytes::<32>());
    Credentials {
        passtopay: PassToPayCredentials {
            mch_no: format!("M{}", random_digits(13)),
            app_id: random_hex(12),
            app_secret: Secret::new(keys::base62(64)),
        },
        blockatm: BlockAtmCredentials {
            api_key: format!("pk_payment_{}", keys::base62(39)),
            secret_key: Secret::new(format!("sck_{}", keys::base62(41))),
            cashier_id: random_digits(8),
            ec_public_key: None,
        },
        ottpay: OttPayCredentials {
            merchant_id: format!("ON{}", random_digits(8)),
            sign_key: Secret::new(random_hex(8).to_uppercase()),
            operator_id: format!("{:0>10}", random_digits(4)),
            shop_id: random_digits(6),
        },
        v2sha256: V2Sha256Credentials {
            app_id: random_hex(16),
            app_secret: Secret::new(random_hex(32)),
        },
        fintech33: Fintech33Credentials {
            app_id: format!("F{}", random_digits(15)),
            app_secret: Secret::new(keys::base62(48)),
            aes_key: Secret::new(aes_key),
            rsa_public_key: None,
        },
    }
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut b);
    b
}

impl Engine {
    /// Onboards a merchant; returns it with its credentials (and, if asked, its sandbox key pairs).
    pub async fn create_merchant(
        &self,
        new: NewMerchant,
    ) -> Result<(Merchant, Option<SandboxKeys>), EngineError> {
        let (merchant, sandbox_keys) = self.prepare_merchant(new)?;
        self.store_merchant(&merchant).await?;
        Ok((merchant, sandbox_keys))
    }

    /// Stores a merchant [`Engine::prepare_merchant`] made, in one write job.
    pub async fn store_merchant(&self, merchant: &Merchant) -> Result<(), EngineError> {
        let m = merchant.clone();
        self.store
            .write(move |db| Ok::<_, EngineError>(db.insert_merchant(&m)?))
            .await
    }

    /// A new merchant with its credentials issued (and sandbox keys generated when asked),
    /// not yet stored: [`Engine::create_merchant`] stores it; the first start's demo merchant
    /// writes its credentials down before it is stored (`server::bootstrap`).
    pub fn prepare_merchant(
        &self,
        new: NewMerchant,
    ) -> Result<(Merchant, Option<SandboxKeys>), EngineError> {
        let new = new.checked()?;
        let mut credentials = issue_credentials();
        let sandbox_keys = if new.generate_keys {
            let keys = SandboxKeys {
                ec: keys::generate_ec_p256()?,
                rsa: keys::generate_rsa_2048()?,
            };
            credentials.blockatm.ec_public_key = Some(keys.ec.public_der_base64());
            credentials.fintech33.rsa_public_key = Some(keys.rsa.public_pem.clone());
            Some(keys)
        } else {
            None
        };
        let merchant = Merchant {
            id: MerchantId::from_random(&random_hex(8)),
            name: new.name,
            notify_url: new.notify_url,
            enabled: true,
            created_at: self.clock.now(),
            credentials,
            settings: serde_json::json!({}),
        };
        Ok((merchant, sandbox_keys))
    }

    pub async fn merchant(&self, id: &MerchantId) -> Result<Merchant, EngineError> {
        let now = std::time::Instant::now();
        if let Some(m) = self.merchants.get(None, id.as_str(), now) {
            return Ok(m);
        }
        let key = id.clone();
        let m = self
            .store
            .read(move |db| db.merchant(&key)?.ok_or(EngineError::NotFound("merchant")))
            .await?;
        self.merchants.put(None, id.as_str(), &m, now);
        Ok(m)
    }

    /// The merchant a protocol's public identifier (mchNo, apiKey, merchant_id, appId) belongs to.
    pub async fn merchant_by_key(
        &self,
        protocol: Protocol,
        key_id: &str,
    ) -> Result<Merchant, EngineError> {
        let now = std::time::Instant::now();
        if let Some(m) = self.merchants.get(Some(protocol), key_id, now) {
            return Ok(m);
        }
        let key = key_id.to_string();
        let m = self
            .store
            .read(move |db| {
                db.merchant_by_key(protocol, &key)?
                    .ok_or(EngineError::NotFound("merchant"))
            })
            .await?;
        self.merchants.put(Some(protocol), key_id, &m, now);
        Ok(m)
    }

    pub async fn merchants(&self) -> Result<Vec<Merchant>, EngineError> {
        self.store.read(|db| Ok(db.merchants()?)).await
    }

    /// Changes a merchant's name, default notify URL or enabled flag, checked as at creation
    /// (only the fields that change). Running nodes see it within their one-second merchant
    /// cache.
    pub async fn update_merchant_profile(
        &self,
        id: &MerchantId,
        change: MerchantUpdate,
    ) -> Result<Merchant, EngineError> {
        let name = change.name.as_deref().map(checked_name).transpose()?;
        let notify_url = change
            .notify_url
            .as_ref()
            .map(|url| checked_notify_url(url.as_deref()))
            .transpose()?;
        self.change_merchant(id, move |m| {
            if let Some(name) = &name {
                m.name = name.clone();
            }
            if let Some(url) = &notify_url {
                m.notify_url = url.clone();
            }
            if let Some(enabled) = change.enabled {
                m.enabled = enabled;
            }
        })
        .await
    }

    /// Registers the public key the merchant signs with under `protocol` (BlockATM V1's P-256
    /// key, 33 Fintech's RSA key), already checked and normalised by the protocol; `None`
    /// removes it. Requests signed with the previous key are refused from then on (within a
    /// second on other nodes).
    pub async fn set_public_key(
        &self,
        id: &MerchantId,
        protocol: Protocol,
        key: Option<String>,
    ) -> Result<Merchant, EngineError> {
        if !matches!(protocol, Protocol::Blockatm | Protocol::Fintech33) {
            return Err(EngineError::Invalid(format!(
                "{} takes no public key (blockatm and fintech33 do)",
                protocol.as_str()
            )));
        }
        self.change_merchant(id, move |m| match protocol {
            Protocol::Blockatm => m.credentials.blockatm.ec_public_key = key.clone(),
            _ => m.credentials.fintech33.rsa_public_key = key.clone(),
        })
        .await
    }

    /// Replaces one protocol's block of the merchant's settings (`settings[key] = value`). The
    /// caller checks `value` first.
    pub async fn set_merchant_settings(
        &self,
        id: &MerchantId,
        key: &'static str,
        value: serde_json::Value,
    ) -> Result<Merchant, EngineError> {
        self.change_merchant(id, move |m| {
            if !m.settings.is_object() {
                m.settings = serde_json::json!({});
            }
            m.settings[key] = value.clone();
        })
        .await
    }

    /// Reads merchant `id`, applies `change` and writes it back in one write job (the read
    /// locks the row on PostgreSQL), so a change made meanwhile to another part of the
    /// merchant, on any node, is kept; then clears this node's merchant cache.
    pub(crate) async fn change_merchant(
        &self,
        id: &MerchantId,
        mut change: impl FnMut(&mut Merchant) + Send + 'static,
    ) -> Result<Merchant, EngineError> {
        let id = id.clone();
        let changed = self
            .store
            .write(move |db| {
                let mut m = db.merchant(&id)?.ok_or(EngineError::NotFound("merchant"))?;
                change(&mut m);
                db.update_merchant(&m)?;
                Ok::<_, EngineError>(m)
            })
            .await;
        self.merchants.clear();
        changed
    }

    /// Saves a merchant whole, as given (tests and tools that built it from a fresh read; a
    /// front door changes one part in one job: [`Engine::update_merchant_profile`],
    /// [`Engine::set_merchant_settings`], [`Engine::rotate_secret`]).
    pub async fn update_merchant(&self, merchant: Merchant) -> Result<Merchant, EngineError> {
        let m = merchant.clone();
        self.store
            .write(move |db| Ok::<_, EngineError>(db.update_merchant(&m)?))
            .await?;
        self.merchants.clear();
        Ok(merchant)
    }

    /// A merchant's statement in `currency`: its available balance and its entries on it,
    /// newest first, at most `limit` (1 to 500) with ids below `before` (paging).
    pub async fn ledger_statement(
        &self,
        id: &MerchantId,
        currency: polypay_core::Currency,
        before: Option<i64>,
        limit: i64,
    ) -> Result<(i64, Vec<(i64, polypay_store::LedgerEntry)>), EngineError> {
        let id = id.clone();
        let limit = limit.clamp(1, 500);
        self.store
            .read(move |db| {
                db.merchant(&id)?.ok_or(EngineError::NotFound("merchant"))?;
                let entries = db.ledger_statement(&id, currency, before, limit)?;
                Ok((db.balance(&id, currency)?, entries))
            })
            .await
    }

    /// Every currency balance of a merchant.
    pub async fn balances(&self, id: &MerchantId) -> Result<Vec<Money>, EngineError> {
        let id = id.clone();
        self.store.read(move |db| Ok(db.balances(&id)?)).await
    }

    /// The merchant's payouts in flight (pending or processing), summed per currency: funds it
    /// has committed that have not left yet (V2_SHA256 reports them as `frozen`).
    pub async fn unfinished_payout_totals(
        &self,
        id: &MerchantId,
    ) -> Result<Vec<Money>, EngineError> {
        let id = id.clone();
        self.store
            .read(move |db| Ok(db.unfinished_payout_totals(&id)?))
            .await
    }

    /// The platform key pair `name` (`ec_p256` or `rsa_2048`), generated and sealed on first use.
    /// Concurrent first uses on several nodes agree: the first insert wins, the rest read it.
    pub async fn platform_key(&self, name: &str) -> Result<PemPair, EngineError> {
        let key_name = format!("platform_key:{name}");
        let lookup = key_name.clone();
        if let Some(bytes) = self
            .store
            .read(move |db| db.platform_secret(&lookup))
            .await?
        {
            return decode_pair(&bytes);
        }
        let fresh = match name {
            "ec_p256" => keys::generate_ec_p256()?,
            _ => keys::generate_rsa_2048()?,
        };
        let encoded = format!("{}\n{}", fresh.private_pem, fresh.public_pem).into_bytes();
        let now = self.clock.now();
        let stored = self
            .store
            .write(move |db| {
                Ok::<_, EngineError>(db.platform_secret_or_insert(&key_name, &encoded, now)?)
            })
            .await?;
        decode_pair(&stored)
    }
}

fn decode_pair(bytes: &[u8]) -> Result<PemPair, EngineError> {
    let text = String::from_utf8_lossy(bytes);
    let split = text.find("-----BEGIN PUBLIC KEY-----").ok_or_else(|| {
        EngineError::Store(polypay_store::StoreError::Corrupt(
            "platform key pair".into(),
        ))
    })?;
    Ok(PemPair {
        private_pem: text[..split].to_string(),
        public_pem: text[split..].to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(name: &str) -> Result<NewMerchant, EngineError> {
        NewMerchant {
            name: name.into(),
            notify_url: None,
            generate_keys: false,
        }
        .checked()
    }

    #[test]
    fn a_notify_url_is_trimmed_and_checked() {
        assert_eq!(checked_notify_url(Some("  ")).unwrap(), None);
        assert_eq!(
            checked_notify_url(Some(" https://a.example/cb ")).unwrap(),
            Some("https://a.example/cb".into())
        );
        assert_eq!(
            checked_notify_url(Some("HTTP://A.EXAMPLE/cb")).unwrap(),
            Some("HTTP://A.EXAMPLE/cb".into()),
            "the scheme in any case"
        );
        for good in [
            "http://127.0.0.1:8080/cb?a=1&b=%20",
            "https://[::1]:9/cb",
            "https://店.example/回调",
        ] {
            assert!(checked_notify_url(Some(good)).is_ok(), "{good:?}");
        }
        for bad in [
            "ftp://a.example".to_string(),
            format!("https://a.example/{}", "x".repeat(2048)),
            "https://a.example/\0".into(),
            "http://".into(),
            "http:///path".into(),
            "http://a b".into(),
            "https://[::1".into(),
            "http://%00".into(),
            "http://x.com/\u{1}".into(),
            "http://x.com/a\nb".into(),
            "http://x.com/\u{200B}".into(),
            "http://x.com/\u{202E}".into(),
            "https:\\\\x.com".into(),
            "http://.".into(),
            "http://user:pw@x.example/n".into(),
            "http://user@x.example/n".into(),
        ] {
            assert!(checked_notify_url(Some(&bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_name_holds_no_control_or_invisible_formatting_character() {
        assert_eq!(named("  Café 店 (test) ").unwrap().name, "Café 店 (test)");
        for bad in [
            "line1\nline2",
            "a\u{1b}[31mRED",
            "bell\u{7}",
            "evil\u{202E}gpj.exe",
            "zero\u{200B}width",
            "tag\u{E0041}",
            "filler\u{3164}",
            "blank\u{2800}",
            "cgj\u{034F}",
            "arabic\u{0600}",
            "nul\0",
        ] {
            let refused = named(bad).unwrap_err().to_string();
            assert!(
                refused.contains("control or invisible"),
                "{bad:?}: {refused}"
            );
        }
    }

    #[test]
    fn a_name_is_counted_in_characters_not_bytes() {
        // 128 three-byte characters (384 bytes) are a name; 129 are not.
        assert_eq!(named(&"店".repeat(128)).unwrap().name.chars().count(), 128);
        let long = named(&"店".repeat(129)).unwrap_err();
        assert!(long.to_string().contains("1-128 characters"), "{long}");
        assert!(named(&"a".repeat(128)).is_ok());
        assert!(named(&"a".repeat(129)).is_err());
    }
}
