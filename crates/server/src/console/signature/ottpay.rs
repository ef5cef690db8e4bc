//! OTT Pay processV2 (spec §3): `data` is decrypted with the AES key derived from the received
//! `md5` and the merchant's signKey; the expected string is the summary `S` of the decrypted
//! values (keys in byte order, values only) whose MD5 must equal `md5`. There is no timestamp.

use super::Pasted;
use super::report::{KeyUse, Masker, Report};
use polypay_core::{Merchant, Protocol};
use polypay_ottpay::SignKey;
use polypay_ottpay::data::{DataObject, DataValue};
use polypay_ottpay::sign::{
    OpenError, decode_base64_lenient, decrypt_data, md5_matches, summary_md5,
};
use serde_json::{Map, Value};

/// The level-1 object: plain JSON, or JSON text in base64 (spec §2).
fn level1(body: &[u8]) -> Option<Map<String, Value>> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace())?;
    let json = if *first == b'{' {
        body.to_vec()
    } else {
        decode_base64_lenient(body)?
    };
    match serde_json::from_slice(&json).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

pub fn key_id(p: &Pasted) -> Option<String> {
    level1(&p.body)?
        .get("merchant_id")?
        .as_str()
        .map(str::to_string)
}

fn part(v: &DataValue) -> &str {
    match v {
        DataValue::Str(t) | DataValue::Number(t) | DataValue::Nested(t) => t,
        DataValue::Bool(true) => "true",
        DataValue::Bool(false) => "false",
        DataValue::Null => "",
    }
}

/// Summary strings a merchant's code commonly builds instead of `S`.
fn variants(data: &DataObject, sign_key: &str) -> Vec<(String, String)> {
    let mut sorted: Vec<&(String, DataValue)> = data.entries().iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut folded = sorted.clone();
    folded.sort_by_key(|(k, _)| k.to_lowercase());
    let values = |entries: &[&(String, DataValue)], sep: &str| {
        entries
            .iter()
            .map(|(_, v)| part(v))
            .collect::<Vec<_>>()
            .join(sep)
    };
    let pairs = |sep: &str| {
        sorted
            .iter()
            .map(|(k, v)| format!("{k}={}", part(v)))
            .collect::<Vec<_>>()
            .join(sep)
    };
    let as_sent: Vec<&(String, DataValue)> = data.entries().iter().collect();
    let with_null = sorted
        .iter()
        .map(|(_, v)| {
            if matches!(v, DataValue::Null) {
                "null"
            } else {
                part(v)
            }
        })
        .collect::<String>();
    vec![
        (
            "values in the order sent, not sorted".into(),
            values(&as_sent, ""),
        ),
        ("keys sorted case-insensitively".into(), values(&folded, "")),
        ("values joined with &".into(), values(&sorted, "&")),
        ("key=value pairs joined with &".into(), pairs("&")),
        ("key=value pairs without separators".into(), pairs("")),
        ("null rendered as \"null\"".into(), with_null),
        (
            "the signKey appended".into(),
            values(&sorted, "") + sign_key,
        ),
    ]
}

pub fn analyze(p: &Pasted, m: &Merchant) -> Report {
    let mut r = Report::new(Protocol::Ottpay, Some(m));
    r.note("OTT Pay requests carry no timestamp or nonce: replays are stopped by unique order numbers only.");
    let secret = m.credentials.ottpay.sign_key.expose();
    let mask = Masker::new(&[(secret, "signKey")]);
    r.keys.push(KeyUse::new(
        format!(
            "signKey of merchant_id {}",
            m.credentials.ottpay.merchant_id
        ),
        secret.as_bytes(),
    ));
    let Some(l1) = level1(&p.body) else {
        return r.unchecked("The body is not a level-1 JSON object (nor base64 of one).");
    };
    let field = |name: &str| {
        l1.get(name)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let (data, md5) = (field("data"), field("md5"));
    if data.is_empty() || md5.is_empty() {
        return r.unchecked("The request needs non-empty data and md5 fields.");
    }
    let object = match decrypt_data(&data, &md5, &SignKey::new(secret)) {
        Ok(o) => o,
        Err(OpenError::DuplicateKey(k)) => {
            return r.unchecked(format!("data decrypts, but key {k:?} appears twice."));
        }
        Err(_) => {
            let mut r = r.unchecked(
                "data cannot be decrypted with the AES key derived from the md5 sent and this merchant's signKey: \
                 the signKey differs, or data was encrypted under a key derived from another md5.",
            );
            r.signature_ok = Some(false);
            return r;
        }
    };
    r.note(format!(
        "Decrypted data: {}",
        Value::Object(object.to_string_map())
    ));
    let expected = object.summary_string();
    r.expected = Some(mask.mask(&expected));
    let matches = |text: &str| md5_matches(&md5, &polypay_passtopay::sign::md5_upper_hex(text));
    let ok = md5_matches(&md5, &summary_md5(&object));
    r.conclude(
        ok,
        variants(&object, secret),
        matches,
        p.signed.as_deref(),
        &mask,
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_reorder_and_decorate_the_values() {
        let d = DataObject::parse(r#"{"b":"2","A":"1","a":null}"#).unwrap();
        assert_eq!(d.summary_string(), "12");
        let v = variants(&d, "K");
        assert_eq!(v[0].1, "21");
        assert_eq!(v[3].1, "A=1&a=&b=2");
        assert_eq!(v[5].1, "1null2");
        assert_eq!(v[6].1, "12K");
    }
}
