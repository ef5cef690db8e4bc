//! 33 Fintech (spec §3.3–3.4): `bizContent` is decrypted with the merchant's AES key; the exact
//! decrypted bytes `P` are what the RSA `sign` must cover, verified with the merchant's
//! registered public key and hash option. There is no timestamp; the Bearer token expires.

use super::Pasted;
use super::report::{KeyUse, Masker, Report};
use polypay_core::{Merchant, MerchantId, Protocol, Timestamp};
use polypay_engine::Engine;
use polypay_fintech33::settings::cipher_of;
use polypay_fintech33::sign::{RsaPublicKey, SignHash};
use serde_json::Value;

/// Where the token of the request leads: the merchant, and the token's expiry.
pub struct TokenOwner {
    pub merchant_id: MerchantId,
    pub expires_at: Timestamp,
}

fn bearer(p: &Pasted) -> Option<&str> {
    let value = p.header("authorization")?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// Looks the request's Bearer token up the way the front door stores it (SHA-256 of the token).
pub async fn token_owner(engine: &Engine, p: &Pasted) -> Option<TokenOwner> {
    let key = polypay_v2sha256::sign::sha256_hex(bearer(p)?.as_bytes());
    let record = engine
        .record(Protocol::Fintech33, "", "token", &key)
        .await
        .ok()??;
    Some(TokenOwner {
        merchant_id: MerchantId(record.value.get("merchant_id")?.as_str()?.to_string()),
        expires_at: Timestamp(record.value.get("expires_at")?.as_i64()?),
    })
}

/// A JSON value with every object's keys sorted, compact.
fn sorted(v: &Value) -> String {
    match v {
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|a, b| a.0.cmp(b.0));
            let inner: Vec<String> = members
                .iter()
                .map(|(k, v)| format!("{}:{}", Value::String((*k).clone()), sorted(v)))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(sorted).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

/// Plaintexts a merchant's code commonly signs instead of the exact encrypted bytes.
fn variants(plain: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Ok(v) = serde_json::from_str::<Value>(plain) {
        out.push((
            "the JSON re-serialised compactly".to_string(),
            v.to_string(),
        ));
        out.push(("the JSON with its keys sorted".to_string(), sorted(&v)));
        out.push((
            "the JSON pretty-printed".to_string(),
            serde_json::to_string_pretty(&v).unwrap_or_default(),
        ));
    }
    out.push((
        "the plaintext with surrounding whitespace trimmed".into(),
        plain.trim().to_string(),
    ));
    out
}

fn other(hash: SignHash) -> SignHash {
    match hash {
        SignHash::Sha256 => SignHash::Sha1,
        SignHash::Sha1 => SignHash::Sha256,
    }
}

pub fn analyze(p: &Pasted, m: &Merchant, token: Option<&TokenOwner>) -> Report {
    let mut r = Report::new(Protocol::Fintech33, Some(m));
    r.note(
        "33 Fintech requests carry no timestamp; the Bearer token is valid for 7200 s after issue.",
    );
    match token {
        Some(t) if t.expires_at.0 > p.now_ms => r.note(format!("Bearer token: valid until {}.", super::super::layout::time(t.expires_at))),
        Some(t) => r.note(format!("Bearer token: expired at {}; polypay answers 401.", super::super::layout::time(t.expires_at))),
        None => r.note("Bearer token: missing or unknown; polypay answers 401 before looking at the signature."),
    }
    let creds = &m.credentials.fintech33;
    let aes = creds.aes_key.expose();
    r.keys.push(KeyUse::new(
        format!("aesKey of appId {}", creds.app_id),
        aes.as_bytes(),
    ));
    let (cipher, hash) = match cipher_of(m) {
        Ok(c) => c,
        Err(e) => return r.unchecked(format!("The merchant's AES settings are unusable: {e}.")),
    };
    let Some(key) = creds
        .rsa_public_key
        .as_deref()
        .and_then(|k| RsaPublicKey::from_text(k).ok())
    else {
        return r.unchecked("The merchant has no usable registered RSA public key.");
    };
    r.keys.push(KeyUse::new(
        format!(
            "registered RSA public key ({} bits, {})",
            key.modulus_bits(),
            hash.as_str()
        ),
        key.spki_der(),
    ));
    let body: Value = serde_json::from_slice(&p.body).unwrap_or(Value::Null);
    let field = |name: &str| {
        body.get(name)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let (biz, sign) = (field("bizContent"), field("sign"));
    if biz.is_empty() || sign.is_empty() {
        return r.unchecked("The body needs string bizContent and sign members.");
    }
    let Some(plain) = cipher.decrypt_b64(&biz) else {
        let mut r = r
            .unchecked("bizContent does not decrypt with this merchant's AES key and mode (4001).");
        r.signature_ok = Some(false);
        return r;
    };
    let plain = String::from_utf8_lossy(&plain).into_owned();
    r.expected = Some(plain.clone());
    let verify = |h: SignHash, text: &str| key.verify_b64(h, text.as_bytes(), sign.trim());
    let mut candidates = vec![(
        format!(
            "the same plaintext hashed with {} instead of {}",
            other(hash).as_str(),
            hash.as_str()
        ),
        plain.clone(),
    )];
    candidates.extend(variants(&plain));
    // The hash variant is the only one verified with the other hash.
    let first = candidates[0].1.clone();
    let matches = |text: &str| verify(hash, text) || (text == first && verify(other(hash), text));
    let mask = Masker::new(&[(aes, "aesKey")]);
    r.conclude(
        verify(hash, &plain),
        candidates,
        matches,
        p.signed.as_deref(),
        &mask,
    );
    r
}
