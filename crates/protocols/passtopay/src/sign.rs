//! PassToPay's MD5 signature (spec 3.1): entry-string ordering, string-to-sign, sign and verify.
//!
//! The same algorithm covers requests, responses, notifications and redirects; only the parameter
//! map differs. Callers hand in `(name, rendered value)` pairs; rendering of received values is
//! [`crate::params`]'s job (spec 3.2), rendering of maps polypay builds is [`render_json_scalar`]'s.

use md5::{Digest, Md5};
use std::cmp::Ordering;
use subtle::ConstantTimeEq;

/// The name of the signature parameter, excluded from its own input.
pub const SIGN: &str = "sign";

/// Java `String.CASE_INSENSITIVE_ORDER` as the spec pins it (3.1 step 4).
///
/// UTF-16 code units compared left to right after folding ASCII `A`–`Z` to lower case; the first
/// difference decides, a proper prefix sorts first. Strings equal after folding fall back to
/// plain code-unit order so the sort is total and deterministic (non-ASCII is never folded).
pub fn java_case_insensitive_cmp(a: &str, b: &str) -> Ordering {
    fn fold(unit: u16) -> u16 {
        if (u16::from(b'A')..=u16::from(b'Z')).contains(&unit) {
            unit + 32
        } else {
            unit
        }
    }
    let folded = a.encode_utf16().map(fold).cmp(b.encode_utf16().map(fold));
    folded.then_with(|| a.encode_utf16().cmp(b.encode_utf16()))
}

/// Builds the string to hash: non-empty entries as `name=value&`, sorted as whole entry strings,
/// then `key=<secret>`. `sign` is skipped here so callers may pass every received parameter.
pub fn string_to_sign<'a, I>(entries: I, secret: &str) -> String
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    let mut parts: Vec<String> = entries
        .into_iter()
        .filter(|(name, value)| *name != SIGN && !value.is_empty())
        .map(|(name, value)| format!("{name}={value}&"))
        .collect();
    parts.sort_by(|a, b| java_case_insensitive_cmp(a, b));
    let mut out = parts.concat();
    out.push_str("key=");
    out.push_str(secret);
    out
}

/// MD5 of the UTF-8 bytes, 32 upper-case hex digits.
pub fn md5_upper_hex(text: &str) -> String {
    hex::encode_upper(Md5::digest(text.as_bytes()))
}

/// Signs a parameter map (3.1): the upper-case MD5 of [`string_to_sign`].
pub fn sign<'a, I>(entries: I, secret: &str) -> String
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    md5_upper_hex(&string_to_sign(entries, secret))
}

/// Verifies `received` against the signature of `entries`, ASCII-case-insensitively and in
/// constant time with respect to the signature bytes.
pub fn verify<'a, I>(entries: I, secret: &str, received: &str) -> bool
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    let expected = sign(entries, secret);
    signatures_match(&expected, received)
}

/// Compares an expected upper-case signature with a received one of any case.
pub fn signatures_match(expected_upper: &str, received: &str) -> bool {
    // Folding to upper case first makes the comparison case-insensitive without branching on
    // the secret-dependent bytes; the length check only reveals the (public) length.
    let received = received.to_ascii_uppercase();
    expected_upper.len() == received.len()
        && bool::from(expected_upper.as_bytes().ct_eq(received.as_bytes()))
}

/// Renders a value of a map polypay builds (responses, notifications, client requests):
/// strings verbatim, integers as plain decimal digits; `None` for null (dropped).
pub fn render_json_scalar(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        other => Some(other.to_string()),
    }
}

/// Signs owned `(name, value)` pairs, e.g. the output of [`crate::wire::Fields`].
pub fn sign_pairs(pairs: &[(String, String)], secret: &str) -> String {
    sign(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())), secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "your_secret_key";

    #[test]
    fn s1_plain_entries() {
        let entries = [("key1", "value1"), ("key2", "value2"), ("key3", "value3")];
        assert_eq!(
            string_to_sign(entries, SECRET),
            "key1=value1&key2=value2&key3=value3&key=your_secret_key"
        );
        assert_eq!(sign(entries, SECRET), "4E3957A5BA8B693F93AA6EBDBD388686");
    }

    #[test]
    fn s3_entry_strings_not_names() {
        let entries = [("B", "3"), ("a", "1"), ("a1", "2")];
        assert_eq!(
            string_to_sign(entries, SECRET),
            "a1=2&a=1&B=3&key=your_secret_key"
        );
        assert_eq!(sign(entries, SECRET), "E43B0B049027E972B4420FF4858D2F1F");
    }

    #[test]
    fn s4_underscore_before_letter() {
        let entries = [("aB", "2"), ("a_b", "1")];
        assert_eq!(
            string_to_sign(entries, SECRET),
            "a_b=1&aB=2&key=your_secret_key"
        );
        assert_eq!(sign(entries, SECRET), "5659E30ACA2CB6CAD070929A6C28E46D");
    }

    #[test]
    fn empty_values_and_sign_are_dropped_zero_is_kept() {
        let entries = [("a", ""), ("b", "0"), ("sign", "X"), ("c", " ")];
        assert_eq!(string_to_sign(entries, "k"), "b=0&c= &key=k");
    }

    #[test]
    fn ordering_rules() {
        assert_eq!(java_case_insensitive_cmp("a1=2&", "a=1&"), Ordering::Less);
        assert_eq!(java_case_insensitive_cmp("B=3&", "a=1&"), Ordering::Greater);
        assert_eq!(java_case_insensitive_cmp("ab", "abc"), Ordering::Less);
        // Equal after folding: plain code-unit order ('A' < 'a').
        assert_eq!(java_case_insensitive_cmp("A=1&", "a=1&"), Ordering::Less);
        // Non-ASCII is not folded: 'Ä' (U+00C4) vs 'ä' (U+00E4) by code unit.
        assert_eq!(java_case_insensitive_cmp("ä", "Ä"), Ordering::Greater);
        // UTF-16 order, not UTF-8: U+FF01 (one unit 0xFF01) sorts after a surrogate pair (0xD83D…).
        assert_eq!(
            java_case_insensitive_cmp("\u{FF01}", "😀"),
            Ordering::Greater
        );
    }

    #[test]
    fn verify_is_case_insensitive_and_rejects_mutation() {
        let entries = [("key1", "value1"), ("key2", "value2"), ("key3", "value3")];
        assert!(verify(entries, SECRET, "4E3957A5BA8B693F93AA6EBDBD388686"));
        assert!(verify(entries, SECRET, "4e3957a5ba8b693f93aa6ebdbd388686"));
        assert!(!verify(entries, SECRET, "4E3957A5BA8B693F93AA6EBDBD388687"));
        assert!(!verify(entries, SECRET, "4E3957A5BA8B693F93AA6EBDBD38868"));
        assert!(!verify(
            entries,
            "your_secret_kez",
            "4E3957A5BA8B693F93AA6EBDBD388686"
        ));
    }
}
