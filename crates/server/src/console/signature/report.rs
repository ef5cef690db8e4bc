//! What the signature debugger tells the operator: the verdict, the time-window verdict, the key
//! used (by fingerprint), the expected string-to-sign, the one the request implies, and where the
//! two differ. Secrets are masked out of every string before it is stored here, so nothing
//! rendered or logged from a [`Report`] can contain one.

use polypay_core::{Merchant, Protocol};

/// The first 8 hex digits of SHA-256 of a key: enough to tell keys apart, useless to an attacker.
pub fn fingerprint(key: &[u8]) -> String {
    let hex = polypay_v2sha256::sign::sha256_hex(key);
    hex[..8].to_string()
}

/// Replaces every occurrence of the given secrets with a named placeholder.
pub struct Masker {
    secrets: Vec<(String, String)>,
}

impl Masker {
    /// `secrets`: (secret value, the name shown in its place).
    pub fn new(secrets: &[(&str, &str)]) -> Masker {
        let secrets = secrets
            .iter()
            .filter(|(value, _)| !value.is_empty())
            .map(|(value, name)| (value.to_string(), format!("‹{name}›")))
            .collect();
        Masker { secrets }
    }

    pub fn mask(&self, text: &str) -> String {
        self.secrets
            .iter()
            .fold(text.to_string(), |acc, (secret, name)| {
                acc.replace(secret.as_str(), name)
            })
    }
}

/// A key that took part, named and fingerprinted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyUse {
    pub label: String,
    pub fingerprint: String,
}

impl KeyUse {
    pub fn new(label: impl Into<String>, key: &[u8]) -> KeyUse {
        KeyUse {
            label: label.into(),
            fingerprint: fingerprint(key),
        }
    }
}

/// The string the request implies it signed, and how polypay found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Implied {
    pub text: String,
    pub how: String,
}

/// The whole explanation of one pasted request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub protocol: Protocol,
    /// Merchant id and name.
    pub merchant: Option<(String, String)>,
    pub keys: Vec<KeyUse>,
    /// `Some(true)` valid, `Some(false)` wrong, `None` not checkable (missing parts).
    pub signature_ok: Option<bool>,
    /// One sentence on the signature.
    pub verdict: String,
    /// `Some((within, sentence))`, or `None` when the protocol has no time window.
    pub window: Option<(bool, String)>,
    /// The string polypay expected to be signed (secrets masked).
    pub expected: Option<String>,
    pub implied: Option<Implied>,
    pub notes: Vec<String>,
    /// What the operator pasted as the signed string, masked (to show it back safely).
    pub pasted: Option<String>,
}

impl Report {
    pub fn new(protocol: Protocol, merchant: Option<&Merchant>) -> Report {
        Report {
            protocol,
            merchant: merchant.map(|m| (m.id.to_string(), m.name.clone())),
            keys: Vec::new(),
            signature_ok: None,
            verdict: String::new(),
            window: None,
            expected: None,
            implied: None,
            notes: Vec::new(),
            pasted: None,
        }
    }

    /// Ends the analysis early: the signature cannot be checked, and why.
    pub fn unchecked(mut self, why: impl Into<String>) -> Report {
        self.signature_ok = None;
        self.verdict = why.into();
        self
    }

    pub fn note(&mut self, text: impl Into<String>) {
        self.notes.push(text.into());
    }

    /// Records the outcome of checking the expected string and, when it failed, the first
    /// candidate (a usual mistake) the presented signature does verify over, else what was
    /// pasted, as the implied string. `matches` sees the raw strings; only masked ones are kept.
    pub fn conclude(
        &mut self,
        ok: bool,
        candidates: Vec<(String, String)>,
        matches: impl Fn(&str) -> bool,
        pasted: Option<&str>,
        mask: &Masker,
    ) {
        self.signature_ok = Some(ok);
        self.pasted = pasted.map(|t| mask.mask(t));
        if ok {
            self.verdict = "The signature is valid.".into();
            return;
        }
        self.verdict = "The signature does not match the expected string.".into();
        if let Some((how, text)) = candidates.into_iter().find(|(_, text)| matches(text)) {
            self.verdict
                .push_str(&format!(" It does verify over a variant: {how}."));
            let text = mask.mask(&text);
            self.implied = Some(Implied { text, how });
        } else if let Some(text) = pasted.filter(|t| !t.is_empty()) {
            let how = if matches(text) {
                self.verdict.push_str(
                    " It verifies over the string you pasted: the request differs from what was signed (see where they differ).",
                );
                "pasted by you; the signature verifies over it"
            } else {
                "pasted by you; the signature does not verify over it either (another key?)"
            };
            self.implied = Some(Implied {
                text: mask.mask(text),
                how: how.to_string(),
            });
        } else {
            self.verdict.push_str(
                " No usual mistake reproduces it: the key differs, or the request changed after signing. \
                 Paste the string your code signed to compare.",
            );
        }
    }

    /// The explanation in one short line for the debug log (no secrets, no full strings).
    pub fn summary(&self) -> String {
        let keys: Vec<String> = self
            .keys
            .iter()
            .map(|k| format!("{} {}", k.label, k.fingerprint))
            .collect();
        let differ = match (&self.expected, &self.implied) {
            (Some(e), Some(i)) => match super::diff::first_difference(e, &i.text) {
                Some(at) => format!("; differs from the implied string at char {at} ({})", i.how),
                None => String::new(),
            },
            _ => String::new(),
        };
        format!(
            "{}: {} keys [{}]; window: {}{differ}",
            self.protocol,
            self.verdict,
            keys.join(", "),
            self.window.as_ref().map_or("none", |(_, w)| w.as_str()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_and_keys_fingerprinted() {
        let m = Masker::new(&[("s3cr3t", "appSecret"), ("", "empty")]);
        assert_eq!(m.mask("a=1&key=s3cr3t"), "a=1&key=‹appSecret›");
        let k = KeyUse::new("appSecret", b"s3cr3t");
        assert_eq!(k.fingerprint.len(), 8);
        assert!(!k.fingerprint.contains("s3cr3t"));
    }

    #[test]
    fn a_matching_variant_becomes_the_implied_string() {
        let mut r = Report::new(Protocol::Passtopay, None);
        let candidates = vec![
            ("a".to_string(), "x".to_string()),
            ("b".to_string(), "y".to_string()),
        ];
        r.conclude(false, candidates, |t| t == "y", None, &Masker::new(&[]));
        assert_eq!(r.signature_ok, Some(false));
        assert_eq!(r.implied.as_ref().map(|i| i.how.as_str()), Some("b"));
        assert!(r.summary().contains("passtopay"));
    }
}
