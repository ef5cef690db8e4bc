//! OTT Pay's two-level protection (spec §3): the summary md5, the AES key derived from it and the
//! merchant's signKey, AES-128-ECB/PKCS#5, and the whole seal/open of a `data` field.

use crate::data::{DataError, DataObject};
use aes::Aes128;
use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyInit, block_padding::Pkcs7};
use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use md5::{Digest, Md5};
use std::fmt;
use subtle::ConstantTimeEq;

/// Standard alphabet, `=` padding optional on input (spec §2, §3.3).
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A merchant's signKey: an opaque, case-sensitive string. Debug never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SignKey(String);

impl SignKey {
    pub fn new(key: impl Into<String>) -> SignKey {
        SignKey(key.into())
    }

    /// The key itself, for storage and for the key derivation only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SignKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SignKey(<redacted>)")
    }
}

/// Why a `data`/`md5` pair could not be opened. The variants map onto spec §4 rows 8, 9 and 10.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// Base64, length, padding, UTF-8, BOM or JSON failure: "data cannot be decrypted".
    #[error("data cannot be decrypted")]
    Undecryptable,
    #[error("duplicate key: {0}")]
    DuplicateKey(String),
    #[error("md5 mismatch")]
    Md5Mismatch,
}

/// A sealed data object: the two level-1 fields that carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// base64 of the AES ciphertext, one line with `=` padding.
    pub data: String,
    /// Upper-case hex md5 summary of the plaintext's values.
    pub md5: String,
}

/// `UPPER(hex(MD5(bytes)))`.
fn md5_upper_hex(bytes: &[u8]) -> String {
    hex::encode_upper(Md5::digest(bytes))
}

/// The summary md5 of spec §3.1 over a parsed data object.
pub fn summary_md5(data: &DataObject) -> String {
    md5_upper_hex(data.summary_string().as_bytes())
}

/// `UPPER(hex(MD5(md5 + signKey)))`, the intermediate of spec §3.2 (exposed for the vectors).
pub fn key_digest(md5: &str, sign_key: &SignKey) -> String {
    let mut hasher = Md5::new();
    hasher.update(md5.as_bytes());
    hasher.update(sign_key.expose().as_bytes());
    hex::encode_upper(hasher.finalize())
}

/// The AES-128 key of spec §3.2: characters 8..24 of the key digest, used as 16 ASCII bytes.
pub fn derive_aes_key(md5: &str, sign_key: &SignKey) -> [u8; 16] {
    let digest = key_digest(md5, sign_key);
    let mut key = [0u8; 16];
    // The digest is always 32 ASCII hex characters, so this slice is always 16 bytes.
    key.copy_from_slice(&digest.as_bytes()[8..24]);
    key
}

/// AES-128-ECB with PKCS#7 padding, then standard base64 (spec §3.2 steps 4-6).
pub fn encrypt(plaintext: &[u8], key: &[u8; 16]) -> String {
    let cipher = ecb::Encryptor::<Aes128>::new(key.into());
    STANDARD.encode(cipher.encrypt_padded_vec_mut::<Pkcs7>(plaintext))
}

/// Reverses [`encrypt`]; ASCII whitespace inside the base64 is ignored (spec §3.3 step 1).
pub fn decrypt(data: &str, key: &[u8; 16]) -> Result<Vec<u8>, OpenError> {
    let compact = strip_ascii_whitespace(data.as_bytes());
    let ciphertext = LENIENT_BASE64
        .decode(compact)
        .map_err(|_| OpenError::Undecryptable)?;
    if ciphertext.is_empty() || ciphertext.len() % 16 != 0 {
        return Err(OpenError::Undecryptable);
    }
    let cipher = ecb::Decryptor::<Aes128>::new(key.into());
    // block-padding's Pkcs7 checks the last byte is 1..=16 and every padding byte equals it.
    cipher
        .decrypt_padded_vec_mut::<Pkcs7>(&ciphertext)
        .map_err(|_| OpenError::Undecryptable)
}

/// Removes space, TAB, CR and LF (published examples wrap base64 every 60 characters).
pub fn strip_ascii_whitespace(bytes: &[u8]) -> Vec<u8> {
    bytes
        .iter()
        .copied()
        .filter(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        .collect()
}

/// Decodes base64 leniently (whitespace removed, padding optional); used for base64 level-1 bodies.
pub fn decode_base64_lenient(text: &[u8]) -> Option<Vec<u8>> {
    LENIENT_BASE64.decode(strip_ascii_whitespace(text)).ok()
}

/// Seals a data object given as the sender's own JSON text (spec §3.2, §3.4): the md5 is computed
/// over the parsed values, the ciphertext over the exact text.
pub fn seal(data_json: &str, sign_key: &SignKey) -> Result<Sealed, DataError> {
    let object = DataObject::parse(data_json)?;
    let md5 = summary_md5(&object);
    let key = derive_aes_key(&md5, sign_key);
    Ok(Sealed {
        data: encrypt(data_json.as_bytes(), &key),
        md5,
    })
}

/// Decrypts and parses a received `data` without checking the md5 (spec §3.3 step 2).
pub fn decrypt_data(data: &str, md5: &str, sign_key: &SignKey) -> Result<DataObject, OpenError> {
    let key = derive_aes_key(md5, sign_key);
    let plaintext = decrypt(data, &key)?;
    if plaintext.starts_with(b"\xEF\xBB\xBF") {
        return Err(OpenError::Undecryptable);
    }
    let text = std::str::from_utf8(&plaintext).map_err(|_| OpenError::Undecryptable)?;
    DataObject::parse(text).map_err(|err| match err {
        DataError::NotObject => OpenError::Undecryptable,
        DataError::DuplicateKey(key) => OpenError::DuplicateKey(key),
    })
}

/// Compares a received md5 with a computed one, ASCII case-insensitively and in constant time.
pub fn md5_matches(received: &str, computed: &str) -> bool {
    let received = received.to_ascii_uppercase();
    received.as_bytes().ct_eq(computed.as_bytes()).into()
}

/// The full receive path of spec §3.3: decrypt, parse, then verify the md5.
pub fn open(data: &str, md5: &str, sign_key: &SignKey) -> Result<DataObject, OpenError> {
    let object = decrypt_data(data, md5, sign_key)?;
    if md5_matches(md5, &summary_md5(&object)) {
        Ok(object)
    } else {
        Err(OpenError::Md5Mismatch)
    }
}

#[cfg(test)]
#[path = "sign_tests.rs"]
mod tests;
