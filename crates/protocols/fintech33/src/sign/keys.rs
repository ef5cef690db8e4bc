//! RSA keys of §3.2: parsing (PEM SPKI / PKCS#1 / PKCS#8 or base64 DER), PKCS#1 v1.5 sign and verify.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize, PublicKey};
use aws_lc_rs::signature::{self, KeyPair as _, ParsedPublicKey};
use std::fmt;

use super::cipher::{b64_decode_lenient, b64_encode};
use super::sha1_rsa::Sha1RsaSigner;
use crate::Error;

/// Smallest accepted modulus (§3.2); the largest is what AWS-LC verifies (8192).
pub const MIN_MODULUS_BITS: u32 = 2048;
pub const MAX_MODULUS_BITS: u32 = 8192;

/// The hash of the RSA signatures, chosen per merchant, same in both directions (§3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignHash {
    #[default]
    Sha256,
    Sha1,
}

impl SignHash {
    /// The setting's spelling: `SHA256` or `SHA1`.
    pub fn as_str(self) -> &'static str {
        match self {
            SignHash::Sha256 => "SHA256",
            SignHash::Sha1 => "SHA1",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "SHA256" => Some(SignHash::Sha256),
            "SHA1" => Some(SignHash::Sha1),
            _ => None,
        }
    }
}

/// Finds the first PEM block whose label is one of `labels` and returns its DER bytes.
/// Text without any `-----BEGIN` is taken as base64 DER (whitespace ignored).
fn pem_or_base64_der(text: &str, labels: &[&str]) -> Result<Vec<u8>, Error> {
    if !text.contains("-----BEGIN ") {
        return b64_decode_lenient(text).ok_or(Error::InvalidKey("not PEM or base64 DER"));
    }
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + "-----BEGIN ".len()..];
        let label_end = after
            .find("-----")
            .ok_or(Error::InvalidKey("malformed PEM"))?;
        let label = &after[..label_end];
        let body = &after[label_end + 5..];
        let end_marker = format!("-----END {label}-----");
        let body_end = body
            .find(&end_marker)
            .ok_or(Error::InvalidKey("malformed PEM"))?;
        if labels.contains(&label) {
            return b64_decode_lenient(&body[..body_end])
                .ok_or(Error::InvalidKey("malformed PEM body"));
        }
        rest = &body[body_end + end_marker.len()..];
    }
    Err(Error::InvalidKey("no PEM block of the expected type"))
}

fn modulus_bits(key: &PublicKey) -> u32 {
    let n = key.modulus();
    let bytes = n.big_endian_without_leading_zero();
    match bytes.first() {
        None => 0,
        Some(first) => bytes.len() as u32 * 8 - first.leading_zeros(),
    }
}

/// An RSA public key parsed once, ready to verify PKCS#1 v1.5 signatures with either hash.
#[derive(Clone)]
pub struct RsaPublicKey {
    sha256: ParsedPublicKey,
    sha1: ParsedPublicKey,
    spki_der: Vec<u8>,
    bits: u32,
}

impl fmt::Debug for RsaPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RsaPublicKey({} bits)", self.bits)
    }
}

impl RsaPublicKey {
    /// Parses PEM (`PUBLIC KEY` = SPKI or `RSA PUBLIC KEY` = PKCS#1) or base64 DER of either,
    /// and refuses moduli outside 2048..=8192 bits (§3.2: checked at registration).
    pub fn from_text(text: &str) -> Result<Self, Error> {
        let der = pem_or_base64_der(text, &["PUBLIC KEY", "RSA PUBLIC KEY"])?;
        Self::from_der(&der)
    }

    /// Parses DER of an SPKI or a PKCS#1 `RSAPublicKey`.
    pub fn from_der(der: &[u8]) -> Result<Self, Error> {
        let key =
            PublicKey::from_der(der).map_err(|_| Error::InvalidKey("not an RSA public key"))?;
        let bits = modulus_bits(&key);
        if !(MIN_MODULUS_BITS..=MAX_MODULUS_BITS).contains(&bits) {
            return Err(Error::KeyTooSmall(bits));
        }
        let spki = key
            .as_der()
            .map_err(|_| Error::InvalidKey("cannot re-encode public key"))?;
        let spki_der = spki.as_ref().to_vec();
        let parse = |alg: &'static signature::RsaParameters| {
            ParsedPublicKey::new(alg, &spki_der).map_err(|_| Error::InvalidKey("rejected RSA key"))
        };
        Ok(RsaPublicKey {
            sha256: parse(&signature::RSA_PKCS1_2048_8192_SHA256)?,
            sha1: parse(&signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY)?,
            spki_der,
            bits,
        })
    }

    /// Verifies an RSASSA-PKCS1-v1_5 signature over exactly `msg`.
    pub fn verify(&self, hash: SignHash, msg: &[u8], sig: &[u8]) -> bool {
        let key = match hash {
            SignHash::Sha256 => &self.sha256,
            SignHash::Sha1 => &self.sha1,
        };
        key.verify_sig(msg, sig).is_ok()
    }

    /// Verifies a base64 `sign` field (whitespace removed, padding optional, §3.4 step 4).
    pub fn verify_b64(&self, hash: SignHash, msg: &[u8], sign_b64: &str) -> bool {
        b64_decode_lenient(sign_b64).is_some_and(|sig| self.verify(hash, msg, &sig))
    }

    pub fn modulus_bits(&self) -> u32 {
        self.bits
    }

    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// `-----BEGIN PUBLIC KEY-----` PEM, 64-character lines: what merchants download.
    pub fn to_spki_pem(&self) -> String {
        let body = b64_encode(&self.spki_der);
        let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
        for line in body.as_bytes().chunks(64) {
            pem.push_str(&String::from_utf8_lossy(line));
            pem.push('\n');
        }
        pem.push_str("-----END PUBLIC KEY-----\n");
        pem
    }
}

/// An RSA private key parsed once (parsing and key checks cost far more than a lookup), able to
/// sign with SHA-256 through aws-lc-rs and with SHA-1 through AWS-LC directly.
pub struct RsaPrivateKey {
    pair: RsaKeyPair,
    sha1: Sha1RsaSigner,
    public: RsaPublicKey,
}

impl fmt::Debug for RsaPrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RsaPrivateKey(<redacted>, {} bits)", self.public.bits)
    }
}

impl RsaPrivateKey {
    /// Parses a PKCS#8 `PrivateKeyInfo` (DER).
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, Error> {
        let pair =
            RsaKeyPair::from_pkcs8(der).map_err(|_| Error::InvalidKey("not a PKCS#8 RSA key"))?;
        Self::from_pair(pair)
    }

    /// Parses PEM `PRIVATE KEY` (PKCS#8) or `RSA PRIVATE KEY` (PKCS#1), or base64 DER of either.
    pub fn from_text(text: &str) -> Result<Self, Error> {
        let der = pem_or_base64_der(text, &["PRIVATE KEY", "RSA PRIVATE KEY"])?;
        let pair = RsaKeyPair::from_pkcs8(&der)
            .or_else(|_| RsaKeyPair::from_der(&der))
            .map_err(|_| Error::InvalidKey("not an RSA private key"))?;
        Self::from_pair(pair)
    }

    /// A fresh 2048-bit key.
    pub fn generate() -> Result<Self, Error> {
        let pair =
            RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| Error::Crypto("key generation"))?;
        Self::from_pair(pair)
    }

    fn from_pair(pair: RsaKeyPair) -> Result<Self, Error> {
        let public = RsaPublicKey::from_der(pair.public_key().as_ref())?;
        let pkcs8 = pair
            .as_der()
            .map_err(|_| Error::Crypto("PKCS#8 encoding"))?;
        let sha1 = Sha1RsaSigner::from_pkcs8(pkcs8.as_ref())
            .ok_or(Error::InvalidKey("AWS-LC rejected the RSA key"))?;
        Ok(RsaPrivateKey { pair, sha1, public })
    }

    /// The key as PKCS#8 DER, for storing a generated key.
    pub fn to_pkcs8_der(&self) -> Result<Vec<u8>, Error> {
        let der = self
            .pair
            .as_der()
            .map_err(|_| Error::Crypto("PKCS#8 encoding"))?;
        Ok(der.as_ref().to_vec())
    }

    pub fn public_key(&self) -> &RsaPublicKey {
        &self.public
    }

    /// RSASSA-PKCS1-v1_5 over `msg` (deterministic).
    pub fn sign(&self, hash: SignHash, msg: &[u8]) -> Result<Vec<u8>, Error> {
        match hash {
            SignHash::Sha256 => {
                let mut sig = vec![0u8; self.pair.public_modulus_len()];
                self.pair
                    .sign(
                        &signature::RSA_PKCS1_SHA256,
                        &SystemRandom::new(),
                        msg,
                        &mut sig,
                    )
                    .map_err(|_| Error::Crypto("RSA signing"))?;
                Ok(sig)
            }
            SignHash::Sha1 => self.sha1.sign(msg).ok_or(Error::Crypto("RSA signing")),
        }
    }

    /// The `sign` field: standard base64 with padding.
    pub fn sign_b64(&self, hash: SignHash, msg: &[u8]) -> Result<String, Error> {
        Ok(b64_encode(&self.sign(hash, msg)?))
    }
}

/// The platform key pair of this polypay environment (§3.2): signs responses and webhooks.
/// Parse it once at startup and share it; never per request.
#[derive(Debug)]
pub struct PlatformKeys {
    key: RsaPrivateKey,
}

impl PlatformKeys {
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, Error> {
        Ok(PlatformKeys {
            key: RsaPrivateKey::from_pkcs8(der)?,
        })
    }

    /// Accepts the same textual forms as [`RsaPrivateKey::from_text`].
    pub fn from_text(text: &str) -> Result<Self, Error> {
        Ok(PlatformKeys {
            key: RsaPrivateKey::from_text(text)?,
        })
    }

    /// A fresh 2048-bit pair; persist it with [`Self::to_pkcs8_der`].
    pub fn generate() -> Result<Self, Error> {
        Ok(PlatformKeys {
            key: RsaPrivateKey::generate()?,
        })
    }

    pub fn to_pkcs8_der(&self) -> Result<Vec<u8>, Error> {
        self.key.to_pkcs8_der()
    }

    pub fn private_key(&self) -> &RsaPrivateKey {
        &self.key
    }

    pub fn public_key(&self) -> &RsaPublicKey {
        self.key.public_key()
    }

    /// The SPKI PEM merchants download.
    pub fn public_key_pem(&self) -> String {
        self.key.public_key().to_spki_pem()
    }
}
