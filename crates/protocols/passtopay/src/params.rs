//! The received parameter map: body-format detection (spec 2) and value rendering (spec 3.2).
//!
//! Every value keeps the exact text the signature is computed over (JSON numbers as their token,
//! objects/arrays as their raw bytes) together with the JSON kind it arrived as, so validation can
//! reject a structured value where a scalar is expected.

use percent_encoding::percent_decode;
use serde_json::value::RawValue;
use std::collections::BTreeMap;

/// How a parameter arrived; form and query values are always [`ParamKind::Text`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    Text,
    String,
    Number,
    Bool,
    Object,
    Array,
}

impl ParamKind {
    /// Objects and arrays are only acceptable where the spec expects JSON text (`channelExtra`).
    pub fn is_structured(self) -> bool {
        matches!(self, ParamKind::Object | ParamKind::Array)
    }
}

/// One received value: its rendered text (3.2) and kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub text: String,
    pub kind: ParamKind,
}

/// The body could not be turned into a parameter map.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("body is not a JSON object")]
    Json,
    #[error("form body is not valid UTF-8 after percent-decoding")]
    FormEncoding,
}

/// Which decoder a body goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    Json,
    Form,
}

/// Received parameters by name; JSON `null` members are absent, as if never sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    entries: BTreeMap<String, Param>,
}

impl Params {
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses a request the way polypay's server does (spec 2): an empty body means the URL query
    /// string carries the parameters; otherwise the body alone does, in the detected format.
    pub fn from_request(
        content_type: Option<&str>,
        body: &[u8],
        query: &str,
    ) -> Result<Self, BodyError> {
        if body.is_empty() {
            return Self::from_form(query.as_bytes());
        }
        match detect_format(content_type, body) {
            BodyFormat::Json => Self::from_json(body),
            BodyFormat::Form => Self::from_form(body),
        }
    }

    /// Parses one JSON object; a duplicate member's last occurrence wins.
    pub fn from_json(body: &[u8]) -> Result<Self, BodyError> {
        // BTreeMap insertion keeps the last duplicate, which is the rule we want.
        let raw: BTreeMap<String, Box<RawValue>> =
            serde_json::from_slice(body).map_err(|_| BodyError::Json)?;
        let mut params = Params::new();
        for (name, value) in raw {
            if let Some(param) = render_raw(&value)? {
                params.entries.insert(name, param);
            }
        }
        Ok(params)
    }

    /// Parses `a=1&b=2`: split on `&`, then on the first `=`; `+` is a space; first name wins.
    pub fn from_form(body: &[u8]) -> Result<Self, BodyError> {
        let mut params = Params::new();
        for piece in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
            let (name, value) = match piece.iter().position(|b| *b == b'=') {
                Some(i) => (&piece[..i], &piece[i + 1..]),
                None => (piece, &piece[piece.len()..]),
            };
            let name = form_decode(name)?;
            let value = form_decode(value)?;
            params.entries.entry(name).or_insert(Param {
                text: value,
                kind: ParamKind::Text,
            });
        }
        Ok(params)
    }

    /// Overlays `other` on `self` (other wins), as the client does for query + body callbacks.
    pub fn merge_from(&mut self, other: Params) {
        self.entries.extend(other.entries);
    }

    pub fn insert_text(&mut self, name: &str, text: &str) {
        self.entries.insert(
            name.to_owned(),
            Param {
                text: text.to_owned(),
                kind: ParamKind::Text,
            },
        );
    }

    pub fn get(&self, name: &str) -> Option<&Param> {
        self.entries.get(name)
    }

    /// The value's text when present and non-empty ("required" means exactly this).
    pub fn text(&self, name: &str) -> Option<&str> {
        self.get(name)
            .map(|p| p.text.as_str())
            .filter(|t| !t.is_empty())
    }

    pub fn contains(&self, name: &str) -> bool {
        self.text(name).is_some()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every `(name, text)` pair, `sign` included; the signer drops `sign` and empties itself.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries
            .iter()
            .map(|(k, v)| (k.as_str(), v.text.as_str()))
    }

    /// The map as a JSON object of strings, for deserializing typed wire structs whose integer
    /// fields accept digit strings (see [`crate::wire::de`]). Empty values are left out, so an
    /// optional field sent as `""` reads as absent.
    pub fn to_string_object(&self) -> serde_json::Value {
        let map = self
            .entries
            .iter()
            .filter(|(_, v)| !v.text.is_empty())
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.text.clone())))
            .collect();
        serde_json::Value::Object(map)
    }
}

/// Spec 2 detection: the media type decides when it is JSON or form; otherwise sniff for `{`.
pub fn detect_format(content_type: Option<&str>, body: &[u8]) -> BodyFormat {
    let media = content_type
        .and_then(|ct| ct.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase());
    match media.as_deref() {
        Some("application/json") => BodyFormat::Json,
        Some("application/x-www-form-urlencoded") => BodyFormat::Form,
        _ => match body.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') => BodyFormat::Json,
            _ => BodyFormat::Form,
        },
    }
}

/// Renders one raw JSON member per spec 3.2; `None` for `null`.
fn render_raw(value: &RawValue) -> Result<Option<Param>, BodyError> {
    let raw = value.get().trim();
    let (text, kind) = match raw.as_bytes().first() {
        Some(b'"') => (
            serde_json::from_str::<String>(raw).map_err(|_| BodyError::Json)?,
            ParamKind::String,
        ),
        Some(b'n') => return Ok(None),
        Some(b't' | b'f') => (raw.to_owned(), ParamKind::Bool),
        Some(b'{') => (raw.to_owned(), ParamKind::Object),
        Some(b'[') => (raw.to_owned(), ParamKind::Array),
        Some(_) => (raw.to_owned(), ParamKind::Number),
        None => return Err(BodyError::Json),
    };
    Ok(Some(Param { text, kind }))
}

fn form_decode(bytes: &[u8]) -> Result<String, BodyError> {
    let spaced: Vec<u8> = bytes
        .iter()
        .map(|b| if *b == b'+' { b' ' } else { *b })
        .collect();
    let decoded: Vec<u8> = percent_decode(&spaced).collect();
    String::from_utf8(decoded).map_err(|_| BodyError::FormEncoding)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text<'a>(p: &'a Params, name: &str) -> &'a str {
        p.get(name).map(|x| x.text.as_str()).unwrap_or("<absent>")
    }

    #[test]
    fn json_numbers_keep_their_token_and_objects_their_bytes() {
        let body =
            br#"{"a":8.0,"b":1e3,"c":{ "x" : [1, 2] },"d":"s\u00e9","e":null,"f":true,"g":""}"#;
        let p = Params::from_json(body).unwrap();
        assert_eq!(text(&p, "a"), "8.0");
        assert_eq!(text(&p, "b"), "1e3");
        assert_eq!(text(&p, "c"), r#"{ "x" : [1, 2] }"#);
        assert_eq!(p.get("c").unwrap().kind, ParamKind::Object);
        assert_eq!(text(&p, "d"), "sé");
        assert!(p.get("e").is_none());
        assert_eq!(text(&p, "f"), "true");
        assert_eq!(text(&p, "g"), "");
        assert!(!p.contains("g"));
    }

    #[test]
    fn json_duplicate_last_wins_and_null_erases() {
        let p = Params::from_json(br#"{"a":"1","a":"2","b":"x","b":null}"#).unwrap();
        assert_eq!(text(&p, "a"), "2");
        assert!(p.get("b").is_none());
    }

    #[test]
    fn json_must_be_an_object() {
        assert_eq!(Params::from_json(b"[1]"), Err(BodyError::Json));
        assert_eq!(Params::from_json(b"{\"a\":1"), Err(BodyError::Json));
        assert_eq!(Params::from_json(b"{} x"), Err(BodyError::Json));
    }

    #[test]
    fn form_first_wins_plus_is_space_names_literal() {
        let body = b"a=1&a=2&b=x+y%2Bz&channelExtra[payDataType]=codeUrl&c&d=e=f&&s=%E5%95%86";
        let p = Params::from_form(body).unwrap();
        assert_eq!(text(&p, "a"), "1");
        assert_eq!(text(&p, "b"), "x y+z");
        assert_eq!(text(&p, "channelExtra[payDataType]"), "codeUrl");
        assert_eq!(text(&p, "c"), "");
        assert_eq!(text(&p, "d"), "e=f");
        assert_eq!(text(&p, "s"), "商");
        assert_eq!(Params::from_form(b"a=%FF"), Err(BodyError::FormEncoding));
    }

    #[test]
    fn detection() {
        let json = Some("application/json; charset=utf-8");
        assert_eq!(detect_format(json, b"a=1"), BodyFormat::Json);
        let form = Some("Application/X-WWW-Form-Urlencoded");
        assert_eq!(detect_format(form, b"{}"), BodyFormat::Form);
        assert_eq!(detect_format(None, b"  \n{"), BodyFormat::Json);
        assert_eq!(detect_format(Some("text/plain"), b"a=1"), BodyFormat::Form);
    }

    #[test]
    fn empty_body_reads_the_query_string_nonempty_body_ignores_it() {
        let p = Params::from_request(Some("application/json"), b"", "a=1&b=2").unwrap();
        assert_eq!(text(&p, "b"), "2");
        let p = Params::from_request(None, b"{\"c\":3}", "a=1").unwrap();
        assert!(p.get("a").is_none());
        assert_eq!(text(&p, "c"), "3");
    }
}
