//! A merchant's credentials (§3.2), the token store interface and token generation (§3.1).

use base64::Engine as _;
use jiff::{SignedDuration, Timestamp};
use std::fmt;
use std::sync::Arc;
use subtle::ConstantTimeEq;

use crate::Error;
use crate::sign::{BizCipher, RsaPublicKey, SignHash, b64_encode};

/// Token lifetime in seconds (§3.1).
pub const TOKEN_TTL_SECS: u64 = 7200;

/// What the spec gives a merchant: app id and secret, AES key and mode, hash option, and the
/// merchant's registered RSA public key (already parsed, so verification never re-parses it).
#[derive(Clone)]
pub struct Credentials {
    pub app_id: String,
    pub app_secret: String,
    pub cipher: BizCipher,
    pub sign_hash: SignHash,
    pub merchant_key: RsaPublicKey,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("app_id", &self.app_id)
            .field("app_secret", &"<redacted>")
            .field("cipher", &self.cipher)
            .field("sign_hash", &self.sign_hash)
            .field("merchant_key", &self.merchant_key)
            .finish()
    }
}

impl Credentials {
    /// Constant-time comparison of a presented `appSecret`.
    pub fn secret_matches(&self, candidate: &str) -> bool {
        bool::from(self.app_secret.as_bytes().ct_eq(candidate.as_bytes()))
    }
}

/// A stored token: whose it is and when it stops being valid.
#[derive(Debug, Clone)]
pub struct TokenGrant {
    pub credentials: Arc<Credentials>,
    pub expires_at: Timestamp,
}

/// The store's side of authentication. Token issuance and storage belong to the caller.
pub trait CredentialLookup {
    fn by_app_id(&self, app_id: &str) -> Option<Arc<Credentials>>;
    fn by_token(&self, token: &str) -> Option<TokenGrant>;
}

impl Credentials {
    /// Builds credentials from the textual merchant settings: AES key (base64, 32 bytes),
    /// mode `ECB` or `CBC` (CBC needs the base64 IV), hash `SHA256` or `SHA1`, and the registered
    /// public key in any §3.2 form. Refuses moduli under 2048 bits.
    pub fn from_settings(
        app_id: &str,
        app_secret: &str,
        aes_key_b64: &str,
        aes_mode: &str,
        cbc_iv_b64: Option<&str>,
        sign_hash: &str,
        merchant_public_key: &str,
    ) -> Result<Self, Error> {
        let iv = match aes_mode {
            "ECB" => None,
            "CBC" => Some(cbc_iv_b64.ok_or(Error::InvalidAesIv)?),
            _ => return Err(Error::InvalidSetting("AES mode must be ECB or CBC")),
        };
        Ok(Credentials {
            app_id: app_id.to_owned(),
            app_secret: app_secret.to_owned(),
            cipher: BizCipher::from_base64(aes_key_b64, iv)?,
            sign_hash: SignHash::parse(sign_hash)
                .ok_or(Error::InvalidSetting("sign hash must be SHA256 or SHA1"))?,
            merchant_key: RsaPublicKey::from_text(merchant_public_key)?,
        })
    }
}

fn random<const N: usize>() -> Result<[u8; N], Error> {
    let mut bytes = [0u8; N];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| Error::Crypto("system random"))?;
    Ok(bytes)
}

/// A token: 32 random bytes, base64url without padding (43 characters).
pub fn generate_token() -> Result<String, Error> {
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random::<32>()?))
}

/// When a token issued at `issued_at` expires (7200 s later).
pub fn token_expiry(issued_at: Timestamp) -> Timestamp {
    // Only a SignedDuration is added, so the Err case (calendar units) cannot arise.
    issued_at
        .saturating_add(SignedDuration::from_secs(TOKEN_TTL_SECS as i64))
        .unwrap_or(Timestamp::MAX)
}

/// A new merchant AES key as issued: 32 random bytes, standard base64 (44 characters).
pub fn generate_aes_key() -> Result<String, Error> {
    Ok(b64_encode(&random::<32>()?))
}

/// A new CBC IV: 16 random bytes, standard base64.
pub fn generate_cbc_iv() -> Result<String, Error> {
    Ok(b64_encode(&random::<16>()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_43_url_safe_characters_and_distinct() {
        let (a, b) = (generate_token().unwrap(), generate_token().unwrap());
        assert_eq!(a.len(), 43);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_ne!(a, b);
    }

    #[test]
    fn token_lives_7200_seconds() {
        let t: Timestamp = "2024-01-01T00:00:00Z".parse().unwrap();
        assert_eq!(token_expiry(t).to_string(), "2024-01-01T02:00:00Z");
    }

    #[test]
    fn generated_aes_material_parses() {
        let key = generate_aes_key().unwrap();
        assert_eq!(key.len(), 44);
        assert!(BizCipher::from_base64(&key, Some(&generate_cbc_iv().unwrap())).is_ok());
    }
}
