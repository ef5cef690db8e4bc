//! Key material: random credential strings, and EC P-256 / RSA-2048 key pairs in PEM.
//!
//! The platform's own pairs (BlockATM V1 webhooks, 33 Fintech responses) are generated once per
//! environment and kept sealed in the store; merchant-side pairs are generated only in sandbox
//! mode, printed once, and only their public halves are kept.

use crate::error::EngineError;
use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use polypay_store::StoreError;
use rand::Rng;

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `n` random base62 characters.
pub fn base62(n: usize) -> String {
    let mut rng = rand::rngs::OsRng;
    (0..n)
        .map(|_| char::from(BASE62[rng.gen_range(0..BASE62.len())]))
        .collect()
}

/// A key pair as PEM text: PKCS#8 private key and SubjectPublicKeyInfo public key.
#[derive(Clone)]
pub struct PemPair {
    pub private_pem: String,
    pub public_pem: String,
}

impl std::fmt::Debug for PemPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PemPair")
            .field("public_pem", &self.public_pem)
            .finish_non_exhaustive()
    }
}

impl PemPair {
    /// The public key as base64 of its DER (the form BlockATM's demo registers).
    pub fn public_der_base64(&self) -> String {
        pem_body(&self.public_pem)
    }
}

fn keygen_error(what: &str) -> EngineError {
    EngineError::Store(StoreError::Config(format!("cannot generate {what} key")))
}

pub fn generate_ec_p256() -> Result<PemPair, EngineError> {
    let pair =
        EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).map_err(|_| keygen_error("EC"))?;
    let private = pair.to_pkcs8v1().map_err(|_| keygen_error("EC"))?;
    let public: PublicKeyX509Der = pair.public_key().as_der().map_err(|_| keygen_error("EC"))?;
    Ok(PemPair {
        private_pem: pem("PRIVATE KEY", private.as_ref()),
        public_pem: pem("PUBLIC KEY", public.as_ref()),
    })
}

pub fn generate_rsa_2048() -> Result<PemPair, EngineError> {
    let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| keygen_error("RSA"))?;
    let private: Pkcs8V1Der = pair.as_der().map_err(|_| keygen_error("RSA"))?;
    let public: PublicKeyX509Der = pair
        .public_key()
        .as_der()
        .map_err(|_| keygen_error("RSA"))?;
    Ok(PemPair {
        private_pem: pem("PRIVATE KEY", private.as_ref()),
        public_pem: pem("PUBLIC KEY", public.as_ref()),
    })
}

/// PEM armour: base64 in 64-character lines between BEGIN/END lines.
pub fn pem(label: &str, der: &[u8]) -> String {
    let b64 = B64.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The base64 body of a PEM block (the lines between BEGIN and END, joined).
pub fn pem_body(pem: &str) -> String {
    pem.lines()
        .filter(|l| !l.starts_with("-----"))
        .map(str::trim)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_pairs_are_pem_and_sign() {
        let ec = generate_ec_p256().unwrap();
        assert!(ec.private_pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        let der = B64.decode(pem_body(&ec.private_pem)).unwrap();
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &der).unwrap();
        let rsa = generate_rsa_2048().unwrap();
        let der = B64.decode(pem_body(&rsa.private_pem)).unwrap();
        assert_eq!(
            RsaKeyPair::from_pkcs8(&der).unwrap().public_modulus_len(),
            256
        );
        assert!(!format!("{rsa:?}").contains("PRIVATE"));
        assert_eq!(base62(41).len(), 41);
    }
}
