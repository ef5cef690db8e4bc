//! The `V2_SHA256` signatures (§3): the newline-joined string-to-sign hashed with plain SHA-256
//! (requests, responses, webhooks), the `Authorization` header, the sync-redirect signature, and
//! the credentials they use. Every comparison of digests is constant-time.

use aws_lc_rs::digest;
use rand::RngCore;
use std::fmt;
use subtle::ConstantTimeEq;

/// The authorization scheme name (compared case-insensitively when parsing).
pub const SCHEME: &str = "V2_SHA256";

/// What the gateway issues a merchant: the application id and its secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub app_id: String,
    pub app_secret: String,
}

impl fmt::Debug for Credentials {
    // The secret is a line of every hashed message: leaking it is leaking the key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("app_id", &self.app_id)
            .field("app_secret", &"<redacted>")
            .finish()
    }
}

impl Credentials {
    pub fn new(app_id: impl Into<String>, app_secret: impl Into<String>) -> Credentials {
        Credentials {
            app_id: app_id.into(),
            app_secret: app_secret.into(),
        }
    }

    /// The exact bytes hashed for a message (§3.2; §3.3 with the status as `line3`):
    /// `appId\nappSecret\nline3\nurl\ntimestamp\nnonce\nbody\n`.
    pub fn content(
        &self,
        line3: &str,
        url: &str,
        timestamp: &str,
        nonce: &str,
        body: &[u8],
    ) -> Vec<u8> {
        let lines: [&[u8]; 7] = [
            self.app_id.as_bytes(),
            self.app_secret.as_bytes(),
            line3.as_bytes(),
            url.as_bytes(),
            timestamp.as_bytes(),
            nonce.as_bytes(),
            body,
        ];
        let mut out = Vec::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
        for line in lines {
            out.extend_from_slice(line);
            out.push(b'\n');
        }
        out
    }

    /// `sign` of a message: lower-case hex SHA-256 of [`Credentials::content`].
    pub fn sign(
        &self,
        line3: &str,
        url: &str,
        timestamp: &str,
        nonce: &str,
        body: &[u8],
    ) -> String {
        sha256_hex(&self.content(line3, url, timestamp, nonce, body))
    }

    /// The complete `Authorization` header of a message signed by these credentials.
    pub fn authorize(
        &self,
        line3: &str,
        url: &str,
        timestamp_ms: u64,
        nonce: &str,
        body: &[u8],
    ) -> AuthorizationHeader {
        let timestamp = timestamp_ms.to_string();
        let sign = self.sign(line3, url, &timestamp, nonce, body);
        AuthorizationHeader {
            app_id: self.app_id.clone(),
            sign,
            timestamp,
            nonce: nonce.to_owned(),
        }
    }

    /// Checks a received header's `sign` against this message, in constant time.
    pub fn verify(
        &self,
        header: &AuthorizationHeader,
        line3: &str,
        url: &str,
        body: &[u8],
    ) -> bool {
        let expected = self.sign(line3, url, &header.timestamp, &header.nonce, body);
        signs_match(&expected, &header.sign)
    }
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(digest::digest(&digest::SHA256, bytes))
}

/// Compares a computed lower-case hex sign with a received one: case-insensitive (§3.1), constant
/// time over the 64 characters. A received value that is not 64 hex characters never matches.
pub fn signs_match(expected_lower: &str, received: &str) -> bool {
    if received.len() != 64 || !received.bytes().all(|b| b.is_ascii_hexdigit()) {
        return false;
    }
    let received = received.to_ascii_lowercase();
    bool::from(expected_lower.as_bytes().ct_eq(received.as_bytes()))
}

/// A fresh nonce as polypay sends it: 32 lower-case hex characters from the OS-seeded RNG.
pub fn fresh_nonce() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// §3.1: 16–64 printable ASCII characters (0x21–0x7E) other than `,` and `"`.
pub fn is_valid_nonce(nonce: &str) -> bool {
    (16..=64).contains(&nonce.len())
        && nonce
            .bytes()
            .all(|b| (0x21..=0x7e).contains(&b) && b != b',' && b != b'"')
}

/// §3.1: `^[0-9]{1,15}$` milliseconds.
pub fn parse_timestamp(text: &str) -> Option<u64> {
    let ok = (1..=15).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit());
    if ok { text.parse().ok() } else { None }
}

/// The four credentials of `Authorization: V2_SHA256 appId=…,sign=…,timestamp=…,nonce=…`,
/// as the exact strings sent (they are signed as text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationHeader {
    pub app_id: String,
    pub sign: String,
    pub timestamp: String,
    pub nonce: String,
}

impl AuthorizationHeader {
    /// The header value as polypay writes it: no spaces after commas, no quotes.
    pub fn value(&self) -> String {
        format!(
            "{SCHEME} appId={},sign={},timestamp={},nonce={}",
            self.app_id, self.sign, self.timestamp, self.nonce
        )
    }

    /// Parses a header value by the rules of §3.1; the error names the broken rule.
    pub fn parse(value: &str) -> Result<AuthorizationHeader, &'static str> {
        let value = value.trim_matches([' ', '\t']);
        let scheme = value
            .get(..SCHEME.len())
            .filter(|s| s.eq_ignore_ascii_case(SCHEME));
        let rest = value
            .get(SCHEME.len()..)
            .filter(|_| scheme.is_some())
            .ok_or("scheme")?;
        let params = rest
            .strip_prefix(' ')
            .ok_or("scheme")?
            .trim_start_matches(' ');
        let mut found: [Option<String>; 4] = Default::default();
        let mut seen: Vec<&str> = Vec::new();
        for part in params.split(',') {
            let (key, raw) = part
                .trim_matches([' ', '\t'])
                .split_once('=')
                .ok_or("pair")?;
            if seen.contains(&key) {
                return Err("repeated key");
            }
            seen.push(key);
            let slot = match key {
                "appId" => 0,
                "sign" => 1,
                "timestamp" => 2,
                "nonce" => 3,
                _ => continue,
            };
            found[slot] = Some(unquote(raw.trim_matches([' ', '\t'])).to_owned());
        }
        let [Some(app_id), Some(sign), Some(timestamp), Some(nonce)] = found else {
            return Err("missing key");
        };
        Ok(AuthorizationHeader {
            app_id,
            sign,
            timestamp,
            nonce,
        })
    }
}

/// Removes one pair of surrounding double quotes.
fn unquote(value: &str) -> &str {
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value)
}

/// The one `Authorization` header among (name, value) pairs; `None` when absent or repeated.
pub fn single_authorization<N: AsRef<str>, V: AsRef<str>>(headers: &[(N, V)]) -> Option<&str> {
    let mut values = headers
        .iter()
        .filter(|(n, _)| n.as_ref().eq_ignore_ascii_case("authorization"))
        .map(|(_, v)| v.as_ref());
    let first = values.next()?;
    if values.next().is_some() {
        None
    } else {
        Some(first)
    }
}

/// §3.5 string-to-sign of a redirect: non-empty parameters sorted by key (byte order) as raw
/// `key=value` joined by `&`, then `&appSecret=<secret>`.
pub fn redirect_content(params: &[(&str, String)], app_secret: &str) -> String {
    let mut kept: Vec<&(&str, String)> = params.iter().filter(|(_, v)| !v.is_empty()).collect();
    kept.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut out = String::new();
    for (key, value) in kept {
        out.push_str(key);
        out.push('=');
        out.push_str(value);
        out.push('&');
    }
    out.push_str("appSecret=");
    out.push_str(app_secret);
    out
}

/// §3.5 `sign` of a redirect.
pub fn redirect_sign(params: &[(&str, String)], app_secret: &str) -> String {
    sha256_hex(redirect_content(params, app_secret).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_the_secret() {
        let c = Credentials::new("app", "s3cr3t-value");
        let shown = format!("{c:?}");
        assert!(
            shown.contains("app") && !shown.contains("s3cr3t"),
            "{shown}"
        );
    }

    #[test]
    fn header_parsing_rules() {
        let ok = |v: &str| {
            AuthorizationHeader::parse(v).map(|h| (h.app_id, h.sign, h.timestamp, h.nonce))
        };
        let want = Ok(("a".into(), "s".into(), "1".into(), "n".into()));
        assert_eq!(ok("V2_SHA256 appId=a,sign=s,timestamp=1,nonce=n"), want);
        assert_eq!(
            ok("v2_sha256   appId=a, sign=s ,\ttimestamp=\"1\",nonce= n ,x=y"),
            want
        );
        assert_eq!(ok("V2_SHA256 nonce=n,timestamp=1,sign=s,appId=a"), want);
        // `=` inside a value: split at the first one only.
        assert_eq!(
            ok("V2_SHA256 appId=a,sign=s,timestamp=1,nonce=n=").map(|t| t.3),
            Ok("n=".into())
        );
        for bad in [
            "",
            "V2_SHA256",
            "V2_SHA256appId=a,sign=s,timestamp=1,nonce=n",
            "HMAC appId=a,sign=s,timestamp=1,nonce=n",
            "V2_SHA256 appId=a,sign=s,timestamp=1",
            "V2_SHA256 appId=a,appId=a,sign=s,timestamp=1,nonce=n",
            "V2_SHA256 appId=a,x=1,x=2,sign=s,timestamp=1,nonce=n",
            "V2_SHA256 appId=a,sign=s,timestamp=1,nonce=n,junk",
            "V2_SHA256 AppId=a,sign=s,timestamp=1,nonce=n",
        ] {
            assert!(AuthorizationHeader::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn signs_compare_case_insensitively_and_only_as_64_hex() {
        let s = sha256_hex(b"x");
        assert!(signs_match(&s, &s));
        assert!(signs_match(&s, &s.to_ascii_uppercase()));
        assert!(!signs_match(&s, &s[..63]));
        assert!(!signs_match(&s, &format!("{}g", &s[..63])));
    }

    #[test]
    fn nonce_and_timestamp_rules() {
        assert!(is_valid_nonce("CEAE7940ADEEE91C5A1207F1BB78BE7F"));
        assert!(is_valid_nonce(&"~".repeat(64)) && is_valid_nonce(&"a".repeat(16)));
        assert!(!is_valid_nonce(&"a".repeat(15)) && !is_valid_nonce(&"a".repeat(65)));
        assert!(!is_valid_nonce("aaaaaaaaaaaaaaa,") && !is_valid_nonce("aaaaaaaaaaaaaaa\""));
        assert!(!is_valid_nonce("aaaaaaaa aaaaaaa") && !is_valid_nonce("aaaaaaaaaaaaaaaé"));
        let n = fresh_nonce();
        assert!(
            n.len() == 32
                && n.bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_ne!(n, fresh_nonce());
        assert_eq!(parse_timestamp("1715670758482"), Some(1_715_670_758_482));
        assert_eq!(
            parse_timestamp("999999999999999"),
            Some(999_999_999_999_999)
        );
        for bad in ["", "1234567890123456", "-1", "+1", "1.0", " 1"] {
            assert_eq!(parse_timestamp(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn exactly_one_authorization_header() {
        let one = [("authorization", "x"), ("host", "h")];
        assert_eq!(single_authorization(&one), Some("x"));
        assert_eq!(
            single_authorization(&[("Authorization", "x"), ("AUTHORIZATION", "y")]),
            None
        );
        assert_eq!(single_authorization::<&str, &str>(&[]), None);
    }
}
