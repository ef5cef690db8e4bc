//! Widget URL signing of spec 3.6: the signed cashier query (`/cashier?…&signature=…`), V2 and V1.

use super::{EcPublicKey, EcSigningKey, Scheme, hmac_hex, hmac_verify};
use crate::Error;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// What JavaScript's `encodeURIComponent` leaves alone: alphanumerics and `-_.!~*'()`.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// The name of the query parameter carrying the URL signature.
pub const SIGNATURE_PARAM: &str = "signature";

/// `encodeURIComponent(text)`.
pub fn encode_uri_component(text: &str) -> String {
    utf8_percent_encode(text, URI_COMPONENT).to_string()
}

/// The query string the provider's `generateUrlForSigning(opts)` produces: options in the given
/// order, names and values `encodeURIComponent`-encoded, `None` values skipped.
pub fn query_from_params(params: &[(&str, Option<&str>)]) -> String {
    params
        .iter()
        .filter_map(|(name, value)| {
            value.map(|v| format!("{}={}", encode_uri_component(name), encode_uri_component(v)))
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Splits a raw query into `&`-separated components and their raw names (text before the first `=`).
fn components(query: &str) -> impl Iterator<Item = (&str, &str)> {
    query
        .split('&')
        .map(|c| (c.split_once('=').map_or(c, |(n, _)| n), c))
}

/// The V2 message: the raw query (no `?`) in URL order without its `signature` components.
pub fn v2_message(query: &str) -> String {
    components(query)
        .filter(|(name, _)| *name != SIGNATURE_PARAM)
        .map(|(_, component)| component)
        .collect::<Vec<_>>()
        .join("&")
}

/// polypay's fallback V2 message: every name and value percent-decoded (`+` = space).
///
/// `None` unless the decoded text, read as a raw query itself, names the same parameters with
/// the same values, so that the one signed text has one reading whichever form it was signed
/// in. That rules out a decoded name holding `=` or `&` and a decoded value holding `&`
/// (decoding would move a parameter boundary: `et%3D1700000000000` is one parameter named
/// `et=1700000000000` to the parser, yet decodes to the signed `et=1700000000000`, so a link
/// could lose its expiry and keep its signature), and `%` or `+` anywhere (a link signed raw
/// with `John%20Doe` could be sent as `John%2520Doe`: it decodes to the signed text, and the
/// server would read `John%20Doe`).
pub fn v2_decoded_message(query: &str) -> Option<String> {
    let mut parts = Vec::new();
    for (_, component) in components(query).filter(|(name, _)| *name != SIGNATURE_PARAM) {
        let (name, value) = component.split_once('=').unwrap_or((component, ""));
        let name = form_decode(name);
        if name.contains(['=', '&', '%', '+']) {
            return None;
        }
        match component.contains('=') {
            true => {
                let value = form_decode(value);
                if value.contains(['&', '%', '+']) {
                    return None;
                }
                parts.push(format!("{name}={value}"));
            }
            false => parts.push(name),
        }
    }
    Some(parts.join("&"))
}

/// The V1 message: `URLSearchParams.toString()` of the query without `signature`.
pub fn v1_message(query: &str) -> String {
    url_search_params(query)
        .into_iter()
        .filter(|(name, _)| name != SIGNATURE_PARAM)
        .map(|(n, v)| format!("{}={}", form_encode(&n), form_encode(&v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// WHATWG `application/x-www-form-urlencoded` parsing: empty components dropped, `+` = space.
pub fn url_search_params(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|c| !c.is_empty())
        .map(|c| match c.split_once('=') {
            Some((n, v)) => (form_decode(n), form_decode(v)),
            None => (form_decode(c), String::new()),
        })
        .collect()
}

/// Percent-decodes with `+` as space, replacing invalid UTF-8 as browsers do.
pub fn form_decode(text: &str) -> String {
    let spaced = text.replace('+', " ");
    percent_decode_str(&spaced).decode_utf8_lossy().into_owned()
}

/// WHATWG form serialization: alphanumerics and `*-._` kept, space → `+`, the rest `%XX` uppercase.
pub fn form_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(char::from(byte))
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

fn append_signature(query: &str, encoded_signature: &str) -> String {
    if query.is_empty() {
        format!("{SIGNATURE_PARAM}={encoded_signature}")
    } else {
        format!("{query}&{SIGNATURE_PARAM}={encoded_signature}")
    }
}

/// Signs a widget query (without `?`) with the Secret Key: returns it with `&signature=<hex>`.
pub fn sign_query_v2(query: &str, secret: &str) -> String {
    let signature = hmac_hex(secret, &v2_message(query));
    append_signature(&v2_message(query), &signature)
}

/// Signs a widget query with a P-256 key: returns it with the URL-encoded base64 signature.
pub fn sign_query_v1(query: &str, key: &EcSigningKey) -> Result<String, Error> {
    let signature = key.sign(&v1_message(query))?;
    Ok(append_signature(
        &v2_message(query),
        &encode_uri_component(&signature),
    ))
}

/// Why a widget URL signature was refused (all map to cashier error 1003).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WidgetSignatureError {
    #[error("signature parameter missing")]
    Missing,
    #[error("signature parameter repeated")]
    Repeated,
    #[error("V1 signature but no EC key registered")]
    NoKey,
    #[error("signature mismatch")]
    Mismatch,
}

/// The decoded `signature` parameter. `+` stays `+`: base64 never contains spaces, and merchants
/// append it both encoded and raw.
pub fn signature_param(query: &str) -> Result<String, WidgetSignatureError> {
    let mut found = components(query).filter(|(name, _)| *name == SIGNATURE_PARAM);
    let (_, component) = found.next().ok_or(WidgetSignatureError::Missing)?;
    if found.next().is_some() {
        return Err(WidgetSignatureError::Repeated);
    }
    let raw = component.split_once('=').map_or("", |(_, v)| v);
    Ok(percent_decode_str(raw).decode_utf8_lossy().into_owned())
}

/// Verifies a signed widget query (without `?`): 64 hex chars → V2 (raw message, then the
/// decoded fallback), anything else → V1 with the merchant's EC key.
pub fn verify_query(
    query: &str,
    secret: &str,
    ec_key: Option<&EcPublicKey>,
) -> Result<Scheme, WidgetSignatureError> {
    let signature = signature_param(query)?;
    if signature.len() == 64 && signature.bytes().all(|b| b.is_ascii_hexdigit()) {
        let ok = hmac_verify(secret, &v2_message(query), &signature)
            || v2_decoded_message(query).is_some_and(|m| hmac_verify(secret, &m, &signature));
        return if ok {
            Ok(Scheme::V2Hmac)
        } else {
            Err(WidgetSignatureError::Mismatch)
        };
    }
    let key = ec_key.ok_or(WidgetSignatureError::NoKey)?;
    if key.verify(&v1_message(query), &signature) {
        Ok(Scheme::V1Ecdsa)
    } else {
        Err(WidgetSignatureError::Mismatch)
    }
}
