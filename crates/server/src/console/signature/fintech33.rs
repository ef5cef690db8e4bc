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

/// A JSON value as read, members in their order (serde_json's `Value` sorts them).
enum Json {
    Null,
    Bool(bool),
    Number(String),
    Str(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl<'de> serde::Deserialize<'de> for Json {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Json, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Json;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_unit<E>(self) -> Result<Json, E> {
                Ok(Json::Null)
            }
            fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
                Ok(Json::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
                Ok(Json::Number(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
                Ok(Json::Number(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Json, E> {
                Ok(Json::Number(Value::from(v).to_string()))
            }
            fn visit_str<E>(self, v: &str) -> Result<Json, E> {
                Ok(Json::Str(v.to_owned()))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut a: A) -> Result<Json, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = a.next_element()? {
                    items.push(item);
                }
                Ok(Json::Array(items))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut a: A) -> Result<Json, A::Error> {
                let mut members = Vec::new();
                while let Some((k, v)) = a.next_entry::<String, Json>()? {
                    members.push((k, v));
                }
                Ok(Json::Object(members))
            }
        }
        d.deserialize_any(Visit)
    }
}

/// How a JSON library writes a value: separators, key order, which characters it escapes.
#[derive(Clone, Copy)]
struct Style {
    /// Between members (`,` or `, `) and after a key (`:` or `: `).
    comma: &'static str,
    colon: &'static str,
    sorted: bool,
    /// Non-ASCII as `\uXXXX` (UTF-16 units).
    ascii: bool,
    /// `/` as `\/` (PHP).
    slash: bool,
}

const COMPACT: Style = Style {
    comma: ",",
    colon: ":",
    sorted: false,
    ascii: false,
    slash: false,
};

fn write(v: &Json, style: Style, out: &mut String) {
    match v {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Number(n) => out.push_str(n),
        Json::Str(s) => quote(s, style, out),
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(style.comma);
                }
                write(item, style, out);
            }
            out.push(']');
        }
        Json::Object(members) => {
            let mut order: Vec<&(String, Json)> = members.iter().collect();
            if style.sorted {
                order.sort_by(|a, b| a.0.cmp(&b.0));
            }
            out.push('{');
            for (i, (k, v)) in order.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(style.comma);
                }
                quote(k, style, out);
                out.push_str(style.colon);
                write(v, style, out);
            }
            out.push('}');
        }
    }
}

fn quote(s: &str, style: Style, out: &mut String) {
    use std::fmt::Write as _;
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '/' if style.slash => out.push_str("\\/"),
            c if (c as u32) < 0x20 || (style.ascii && !c.is_ascii()) => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn styled(v: &Json, style: Style) -> String {
    let mut out = String::new();
    write(v, style, &mut out);
    out
}

/// Plaintexts a merchant's code commonly signs instead of the exact encrypted bytes: the
/// JSON re-serialised by a library (spec §10), or trimmed.
fn variants(plain: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Ok(v) = serde_json::from_str::<Json>(plain) {
        let python = Style {
            comma: ", ",
            colon: ": ",
            ascii: true,
            ..COMPACT
        };
        for (what, style) in [
            (
                "the JSON re-serialised compactly (JSON.stringify, Jackson)",
                COMPACT,
            ),
            (
                "the JSON as Python's json.dumps writes it (\", \" and \": \", non-ASCII as \\u)",
                python,
            ),
            (
                "the JSON as Python's json.dumps(…, ensure_ascii=False) writes it (\", \" and \": \")",
                Style {
                    ascii: false,
                    ..python
                },
            ),
            (
                "the JSON as PHP's json_encode writes it (\\/ and non-ASCII as \\u)",
                Style {
                    ascii: true,
                    slash: true,
                    ..COMPACT
                },
            ),
            (
                "the JSON with its keys sorted",
                Style {
                    sorted: true,
                    ..COMPACT
                },
            ),
        ] {
            out.push((what.to_string(), styled(&v, style)));
        }
    }
    if let Ok(v) = serde_json::from_str::<Value>(plain) {
        out.push((
            "the JSON pretty-printed".to_string(),
            serde_json::to_string_pretty(&v).unwrap_or_default(),
        ));
    }
    out.push((
        "the plaintext with surrounding whitespace trimmed".into(),
        plain.trim().to_string(),
    ));
    // One text per mistake: the first name that produces it.
    let mut seen = std::collections::HashSet::new();
    out.retain(|(_, text)| text != plain && seen.insert(text.clone()));
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
