//! Signing and encryption of §3: AES `bizContent`, RSA `sign`, key parsing, and sealing/opening a message.
//!
//! The signature always covers the plaintext `P` (or `R`), and that same plaintext is what gets
//! encrypted: the receiver decrypts first and verifies over the decrypted bytes, never over a
//! re-serialisation.

mod cipher;
mod keys;
mod sha1_rsa;

pub use cipher::{AesMode, BizCipher, b64_decode_lenient, b64_encode};
pub use keys::{
    MAX_MODULUS_BITS, MIN_MODULUS_BITS, PlatformKeys, RsaPrivateKey, RsaPublicKey, SignHash,
};

use crate::Error;

/// The two encoded fields of an envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub biz_content: String,
    pub sign: String,
}

/// Signs `plaintext` (§3.3 step 2 / §3.5 step 2), then encrypts the same bytes (step 3).
pub fn seal(
    plaintext: &[u8],
    cipher: &BizCipher,
    key: &RsaPrivateKey,
    hash: SignHash,
) -> Result<Sealed, Error> {
    Ok(Sealed {
        sign: key.sign_b64(hash, plaintext)?,
        biz_content: cipher.encrypt_b64(plaintext),
    })
}

/// Why [`open`] failed, in the order the checks run (§3.4 steps 3 and 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    #[error("bizContent decryption failed")]
    Decrypt,
    #[error("signature verification failed")]
    Signature,
}

/// Decrypts `bizContent` and verifies `sign` over the decrypted bytes; returns the plaintext.
pub fn open(
    biz_content: &str,
    sign: &str,
    cipher: &BizCipher,
    key: &RsaPublicKey,
    hash: SignHash,
) -> Result<Vec<u8>, OpenError> {
    let plaintext = cipher.decrypt_b64(biz_content).ok_or(OpenError::Decrypt)?;
    if !key.verify_b64(hash, &plaintext, sign) {
        return Err(OpenError::Signature);
    }
    Ok(plaintext)
}
