//! Request, webhook and widget signatures of spec section 3: V2 HMAC-SHA256 and V1 ECDSA P-256.

pub mod canonical;
pub mod widget;
pub mod window;

pub use canonical::{Json, canonical_get, canonical_post, parse_body};

use crate::Error;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1, ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair, ParsedPublicKey,
};
use aws_lc_rs::{hmac, rand::SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use std::fmt;

/// The DER prefix of a P-256 `SubjectPublicKeyInfo` holding an uncompressed point
/// (id-ecPublicKey, prime256v1, BIT STRING of 66 bytes); the point's 65 bytes follow.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// Which signature a request or webhook carries (3.1: V2 wins when both are present).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `BlockATM-Signature-V2`: lowercase hex HMAC-SHA256 keyed with the Secret Key.
    V2Hmac,
    /// `BlockATM-Signature-V1`: base64 DER ECDSA P-256 / SHA-256.
    V1Ecdsa,
}

impl Scheme {
    /// The header that carries this scheme's signature.
    pub fn header(self) -> &'static str {
        match self {
            Scheme::V2Hmac => crate::HEADER_SIGNATURE_V2,
            Scheme::V1Ecdsa => crate::HEADER_SIGNATURE_V1,
        }
    }
}

/// A new API key: `pk_payment_` + 39 base62 characters (3.1).
pub fn new_api_key() -> String {
    format!("pk_payment_{}", base62(39))
}

/// A new Secret Key: `sck_` + 41 base62 characters (3.1).
pub fn new_secret_key() -> String {
    format!("sck_{}", base62(41))
}

fn base62(len: usize) -> String {
    use rand::Rng;
    const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::rngs::OsRng;
    (0..len)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect()
}

/// `lowercase_hex(HMAC-SHA256(UTF-8(secret), UTF-8(message)))` (3.3); the secret is used whole,
/// prefix included.
pub fn hmac_hex(secret: &str, message: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    hex::encode(hmac::sign(&key, message.as_bytes()).as_ref())
}

/// Verifies a hex HMAC (either case) in constant time; anything but 64 hex digits fails.
pub fn hmac_verify(secret: &str, message: &str, signature_hex: &str) -> bool {
    if signature_hex.len() != 64 {
        return false;
    }
    let Ok(tag) = hex::decode(signature_hex) else {
        return false;
    };
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    hmac::verify(&key, message.as_bytes(), &tag).is_ok()
}

/// A merchant's (or the platform's) P-256 public key, validated on parse.
#[derive(Clone)]
pub struct EcPublicKey {
    key: ParsedPublicKey,
    spki: Vec<u8>,
}

impl EcPublicKey {
    /// Parses base64 `SubjectPublicKeyInfo` DER (the demo's format) or a `PUBLIC KEY` PEM block.
    /// Keys on any curve but P-256 are refused (3.1).
    pub fn parse(text: &str) -> Result<EcPublicKey, Error> {
        let der = decode_pem_or_base64(text, "PUBLIC KEY").ok_or(Error::Key("EC public"))?;
        EcPublicKey::from_spki_der(&der)
    }

    /// What a public key that is not P-256 is, by its algorithm identifier, when `text`
    /// decodes (PEM or base64 DER) to a SubjectPublicKeyInfo: to name the mistake.
    pub fn mismatch(text: &str) -> Option<&'static str> {
        let der = decode_pem_or_base64(text, "PUBLIC KEY")?;
        let has = |oid: &[u8]| der.windows(oid.len()).any(|w| w == oid);
        const EC: &[u8] = &[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
        const ED25519: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];
        const RSA: &[u8] = &[
            0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
        ];
        // The curve identifier inside the fixed SPKI prefix this module checks.
        let p256 = &P256_SPKI_PREFIX[13..23];
        if has(EC) && !has(p256) {
            Some("an EC key on another curve")
        } else if has(ED25519) {
            Some("an Ed25519 key")
        } else if has(RSA) {
            Some("an RSA key")
        } else {
            None
        }
    }

    /// Parses `SubjectPublicKeyInfo` DER bytes of a P-256 key.
    pub fn from_spki_der(der: &[u8]) -> Result<EcPublicKey, Error> {
        // aws-lc would also take other encodings of other curves; the fixed prefix pins P-256 SPKI.
        if der.len() != P256_SPKI_PREFIX.len() + 65 || !der.starts_with(&P256_SPKI_PREFIX) {
            return Err(Error::Key("EC public"));
        }
        let key = ParsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, der)
            .map_err(|_| Error::Key("EC public"))?;
        Ok(EcPublicKey {
            key,
            spki: der.to_vec(),
        })
    }

    /// The key as base64 SPKI DER, the form handed to merchants.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(&self.spki)
    }

    /// Verifies a base64 (standard, padded) DER ECDSA signature over `message` (3.4).
    /// High-S signatures are accepted; raw `r||s` is not.
    pub fn verify(&self, message: &str, signature_b64: &str) -> bool {
        let Ok(der) = STANDARD.decode(signature_b64.trim()) else {
            return false;
        };
        self.key.verify_sig(message.as_bytes(), &der).is_ok()
    }
}

impl fmt::Debug for EcPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("EcPublicKey")
            .field(&self.to_base64())
            .finish()
    }
}

/// A P-256 private key (the merchant's V1 key in the client, polypay's platform key for webhooks).
pub struct EcSigningKey {
    pair: EcdsaKeyPair,
}

impl EcSigningKey {
    /// Parses base64 PKCS#8 DER (the demo's format), a `PRIVATE KEY` PEM block, or an
    /// `EC PRIVATE KEY` (SEC1) PEM block. Non-P-256 keys are refused.
    pub fn parse(text: &str) -> Result<EcSigningKey, Error> {
        let der = decode_pem_or_base64(text, "PRIVATE KEY")
            .or_else(|| decode_pem_or_base64(text, "EC PRIVATE KEY"))
            .ok_or(Error::Key("EC private"))?;
        let pair = EcdsaKeyPair::from_private_key_der(&ECDSA_P256_SHA256_ASN1_SIGNING, &der)
            .map_err(|_| Error::Key("EC private"))?;
        Ok(EcSigningKey { pair })
    }

    /// A fresh random key (tests, first start of an instance without a configured platform key).
    pub fn generate() -> Result<EcSigningKey, Error> {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING)?;
        Ok(EcSigningKey { pair })
    }

    /// The private key as base64 PKCS#8 DER, for storing a generated key.
    pub fn to_pkcs8_base64(&self) -> Result<String, Error> {
        Ok(STANDARD.encode(self.pair.to_pkcs8v1()?.as_ref()))
    }

    /// The matching public key.
    pub fn public_key(&self) -> Result<EcPublicKey, Error> {
        let mut spki = P256_SPKI_PREFIX.to_vec();
        spki.extend_from_slice(self.pair.public_key().as_ref());
        EcPublicKey::from_spki_der(&spki)
    }

    /// `SHA256withECDSA` over UTF-8(message), as standard padded base64 DER (randomized).
    pub fn sign(&self, message: &str) -> Result<String, Error> {
        let sig = self.pair.sign(&SystemRandom::new(), message.as_bytes())?;
        Ok(STANDARD.encode(sig.as_ref()))
    }
}

impl fmt::Debug for EcSigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EcSigningKey(<redacted>)")
    }
}

/// Decodes a PEM block with the given label, or, when the text has no PEM armour, plain base64
/// (whitespace ignored). `None` when neither fits.
fn decode_pem_or_base64(text: &str, label: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    let body = if text.starts_with("-----BEGIN ") {
        let begin = format!("-----BEGIN {label}-----");
        let end = format!("-----END {label}-----");
        let start = text.strip_prefix(begin.as_str())?;
        let at = start.find(end.as_str())?;
        &start[..at]
    } else {
        text
    };
    let compact: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    STANDARD.decode(compact).ok()
}

/// The signing material on the signer's side of a request or webhook.
pub enum Signer<'a> {
    /// V2: the merchant's Secret Key.
    Hmac(&'a str),
    /// V1: a P-256 private key.
    Ecdsa(&'a EcSigningKey),
}

impl Signer<'_> {
    pub fn scheme(&self) -> Scheme {
        match self {
            Signer::Hmac(_) => Scheme::V2Hmac,
            Signer::Ecdsa(_) => Scheme::V1Ecdsa,
        }
    }

    /// The header value signing `canonical`.
    pub fn sign(&self, canonical: &str) -> Result<String, Error> {
        match self {
            Signer::Hmac(secret) => Ok(hmac_hex(secret, canonical)),
            Signer::Ecdsa(key) => key.sign(canonical),
        }
    }
}

/// The signature a request or webhook carries, picked from its headers per 3.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PresentedSignature<'a> {
    pub scheme: Scheme,
    pub value: &'a str,
}

impl<'a> PresentedSignature<'a> {
    /// `BlockATM-Signature-V2` if present (then V1 is not looked at), else `-V1`, else `None`.
    pub fn from_headers(headers: &'a [(String, String)]) -> Option<PresentedSignature<'a>> {
        if let Some(value) = crate::header(headers, crate::HEADER_SIGNATURE_V2) {
            return Some(PresentedSignature {
                scheme: Scheme::V2Hmac,
                value,
            });
        }
        crate::header(headers, crate::HEADER_SIGNATURE_V1).map(|value| PresentedSignature {
            scheme: Scheme::V1Ecdsa,
            value,
        })
    }

    /// Checks the signature over `canonical` with the secret (V2) or the EC key (V1; `None` fails).
    pub fn verify(&self, canonical: &str, secret: &str, ec_key: Option<&EcPublicKey>) -> bool {
        match self.scheme {
            Scheme::V2Hmac => hmac_verify(secret, canonical, self.value),
            Scheme::V1Ecdsa => ec_key.is_some_and(|key| key.verify(canonical, self.value)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_keys_have_the_documented_shape() {
        let (key, secret) = (new_api_key(), new_secret_key());
        assert_eq!((key.len(), secret.len()), (11 + 39, 4 + 41));
        assert!(key.starts_with("pk_payment_") && secret.starts_with("sck_"));
        assert!(
            key[11..]
                .bytes()
                .chain(secret[4..].bytes())
                .all(|b| b.is_ascii_alphanumeric())
        );
        assert_ne!(new_api_key(), key);
    }

    #[test]
    fn keys_on_other_curves_are_refused() {
        // A P-384 SubjectPublicKeyInfo (secp384r1) must not parse as a V1 key.
        let p384 =
            EcdsaKeyPair::generate(&aws_lc_rs::signature::ECDSA_P384_SHA384_ASN1_SIGNING).unwrap();
        let mut spki = hex::decode("3076301006072a8648ce3d020106052b81040022036200").unwrap();
        spki.extend_from_slice(p384.public_key().as_ref());
        assert!(EcPublicKey::from_spki_der(&spki).is_err());
        assert!(EcPublicKey::parse(&STANDARD.encode(&spki)).is_err());
        assert!(
            EcSigningKey::parse(&STANDARD.encode(p384.to_pkcs8v1().unwrap().as_ref())).is_err()
        );
        assert!(EcPublicKey::parse("not base64!").is_err());
    }

    #[test]
    fn generated_key_round_trips() {
        let key = EcSigningKey::generate().unwrap();
        let again = EcSigningKey::parse(&key.to_pkcs8_base64().unwrap()).unwrap();
        let public = again.public_key().unwrap();
        assert!(public.verify("m", &key.sign("m").unwrap()));
        assert!(format!("{key:?}").contains("redacted"));
    }
}
