//! AES-256 in ECB or CBC mode with PKCS#7 padding, and the base64 forms used for `bizContent` (§3.2, §3.3).

use aes::Aes256;
use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyInit, KeyIvInit};
use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use std::fmt;

use crate::Error;

/// Standard alphabet, `=` padding on output, padding optional on input (§3.4 step 3).
pub(crate) const B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Encodes bytes as standard base64 with padding.
pub fn b64_encode(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

/// Decodes standard base64 after removing ASCII whitespace; padding optional.
pub fn b64_decode_lenient(text: &str) -> Option<Vec<u8>> {
    let compact: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    B64.decode(compact).ok()
}

/// How a merchant's AES key is applied: ECB (default) or CBC with a fixed per-merchant IV.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub enum AesMode {
    #[default]
    Ecb,
    Cbc {
        iv: [u8; 16],
    },
}

impl fmt::Debug for AesMode {
    // The IV is not a secret in the cryptographic sense, but it is merchant key material: keep it
    // out of logs along with the key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AesMode::Ecb => f.write_str("Ecb"),
            AesMode::Cbc { .. } => f.write_str("Cbc { iv: <redacted> }"),
        }
    }
}

/// A merchant's AES-256 key and mode: encrypts and decrypts `bizContent`.
#[derive(Clone, PartialEq, Eq)]
pub struct BizCipher {
    key: [u8; 32],
    mode: AesMode,
}

impl fmt::Debug for BizCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BizCipher")
            .field("key", &"<redacted>")
            .field("mode", &self.mode)
            .finish()
    }
}

impl BizCipher {
    pub fn new(key: [u8; 32], mode: AesMode) -> Self {
        BizCipher { key, mode }
    }

    /// Builds the cipher from the merchant settings as issued: the key as standard base64 that
    /// must decode to exactly 32 bytes, and for CBC an IV as base64 decoding to 16 bytes.
    pub fn from_base64(key_b64: &str, cbc_iv_b64: Option<&str>) -> Result<Self, Error> {
        let key = b64_decode_lenient(key_b64)
            .and_then(|k| <[u8; 32]>::try_from(k).ok())
            .ok_or(Error::InvalidAesKey)?;
        let mode = match cbc_iv_b64 {
            None => AesMode::Ecb,
            Some(iv) => AesMode::Cbc {
                iv: b64_decode_lenient(iv)
                    .and_then(|v| <[u8; 16]>::try_from(v).ok())
                    .ok_or(Error::InvalidAesIv)?,
            },
        };
        Ok(BizCipher { key, mode })
    }

    pub fn mode(&self) -> AesMode {
        self.mode
    }

    /// AES-256 with PKCS#7 padding; deterministic for ECB and for CBC (fixed IV).
    pub fn encrypt(&self, plaintext: &[u8]) -> Vec<u8> {
        match self.mode {
            AesMode::Ecb => ecb::Encryptor::<Aes256>::new(&self.key.into())
                .encrypt_padded_vec_mut::<Pkcs7>(plaintext),
            AesMode::Cbc { iv } => cbc::Encryptor::<Aes256>::new(&self.key.into(), &iv.into())
                .encrypt_padded_vec_mut::<Pkcs7>(plaintext),
        }
    }

    /// Decrypts and unpads. `None` when the length is not a positive multiple of 16 or the
    /// padding is invalid (last byte 1..=16, all padding bytes equal).
    pub fn decrypt(&self, ciphertext: &[u8]) -> Option<Vec<u8>> {
        if ciphertext.is_empty() || !ciphertext.len().is_multiple_of(16) {
            return None;
        }
        match self.mode {
            AesMode::Ecb => ecb::Decryptor::<Aes256>::new(&self.key.into())
                .decrypt_padded_vec_mut::<Pkcs7>(ciphertext)
                .ok(),
            AesMode::Cbc { iv } => cbc::Decryptor::<Aes256>::new(&self.key.into(), &iv.into())
                .decrypt_padded_vec_mut::<Pkcs7>(ciphertext)
                .ok(),
        }
    }

    /// `bizContent` = standard base64 of the ciphertext.
    pub fn encrypt_b64(&self, plaintext: &[u8]) -> String {
        b64_encode(&self.encrypt(plaintext))
    }

    /// Reverses [`Self::encrypt_b64`] with the leniency of §3.4 step 3 (whitespace removed,
    /// padding optional).
    pub fn decrypt_b64(&self, biz_content: &str) -> Option<Vec<u8>> {
        self.decrypt(&b64_decode_lenient(biz_content)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> [u8; 32] {
        core::array::from_fn(|i| i as u8)
    }

    #[test]
    fn fips197_c3_single_block() {
        // F1: raw block encryption, no padding, so check the first block of the padded output
        // (ECB blocks are independent).
        let block = hex::decode("00112233445566778899aabbccddeeff").unwrap();
        let out = BizCipher::new(key(), AesMode::Ecb).encrypt(&block);
        assert_eq!(hex::encode(&out[..16]), "8ea2b7ca516745bfeafc49904b496089");
        assert_eq!(out.len(), 32, "a full block of padding follows");
    }

    #[test]
    fn rejects_bad_lengths_and_padding() {
        let c = BizCipher::new(key(), AesMode::Ecb);
        assert_eq!(c.decrypt(&[]), None);
        assert_eq!(c.decrypt(&[0u8; 15]), None);
        let mut ct = c.encrypt(b"hello");
        let last = ct.len() - 1;
        ct[last] ^= 1;
        assert_eq!(c.decrypt(&ct), None);
    }

    #[test]
    fn key_and_iv_lengths_are_enforced() {
        assert!(
            BizCipher::from_base64("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", None).is_ok()
        );
        assert!(matches!(
            BizCipher::from_base64("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==", None),
            Err(Error::InvalidAesKey)
        ));
        assert!(matches!(
            BizCipher::from_base64(
                "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
                Some("EBESExQVFhcYGRobHB0e")
            ),
            Err(Error::InvalidAesIv)
        ));
    }

    #[test]
    fn debug_redacts_key() {
        let c = BizCipher::new([0xAB; 32], AesMode::Cbc { iv: [0xCD; 16] });
        let text = format!("{c:?}");
        assert!(
            !text.contains("171") && !text.to_lowercase().contains("ab"),
            "{text}"
        );
    }
}
