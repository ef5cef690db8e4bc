//! The level-2 transaction-data object: an order-preserving parse that keeps every value as written.
//!
//! The summary md5 (spec §3.1) needs things a `serde_json::Value` loses: the exact text of number
//! tokens (`1.50` must not become `1.5`), the exact text of nested values, and duplicate keys (which
//! must be rejected, not silently collapsed). So the object is parsed into `(key, raw value)` pairs
//! with serde_json's `RawValue`, and each raw value is classified once.

use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::fmt;

/// One value of the data object, as the md5 rules of spec §3.1 see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataValue {
    /// A JSON string, escapes resolved.
    Str(String),
    /// A JSON number, the token exactly as written (`100`, `1.50`, `1e3`).
    Number(String),
    Bool(bool),
    Null,
    /// An object or array, its exact JSON text.
    Nested(String),
}

impl DataValue {
    /// What this value contributes to the summary string `S`.
    fn summary_part(&self) -> &str {
        match self {
            DataValue::Str(text) | DataValue::Number(text) | DataValue::Nested(text) => text,
            DataValue::Bool(true) => "true",
            DataValue::Bool(false) => "false",
            DataValue::Null => "",
        }
    }

    fn classify(raw: &RawValue) -> Result<DataValue, serde_json::Error> {
        let text = raw.get().trim_matches(|c: char| c.is_ascii_whitespace());
        Ok(match text.as_bytes().first() {
            Some(b'"') => DataValue::Str(serde_json::from_str(text)?),
            Some(b't') => DataValue::Bool(true),
            Some(b'f') => DataValue::Bool(false),
            Some(b'n') => DataValue::Null,
            Some(b'{' | b'[') => DataValue::Nested(text.to_owned()),
            // RawValue only ever holds valid JSON, so anything else is a number token.
            _ => DataValue::Number(text.to_owned()),
        })
    }
}

/// Why a data text is not an acceptable data object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DataError {
    /// Not JSON, or JSON that is not an object.
    #[error("data is not a JSON object")]
    NotObject,
    /// The same key appears twice (spec §3.1: rejected).
    #[error("duplicate key: {0}")]
    DuplicateKey(String),
}

/// A flat data object in the sender's key order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DataObject {
    entries: Vec<(String, DataValue)>,
}

impl DataObject {
    /// Parses the plaintext of a `data` field. Syntax errors win over duplicate keys, so a
    /// malformed text is always reported as malformed (spec §4 row 8 before row 9).
    pub fn parse(text: &str) -> Result<DataObject, DataError> {
        let pairs: Pairs<'_> = serde_json::from_str(text).map_err(|_| DataError::NotObject)?;
        let mut entries = Vec::with_capacity(pairs.0.len());
        for (key, raw) in pairs.0 {
            let value = DataValue::classify(raw).map_err(|_| DataError::NotObject)?;
            entries.push((key, value));
        }
        let mut keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
        keys.sort_unstable();
        if let Some(pair) = keys.windows(2).find(|pair| pair[0] == pair[1]) {
            return Err(DataError::DuplicateKey(pair[0].to_owned()));
        }
        Ok(DataObject { entries })
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&DataValue> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The entries in the sender's order.
    pub fn entries(&self) -> &[(String, DataValue)] {
        &self.entries
    }

    /// The summary string `S` of spec §3.1: values only, keys sorted by UTF-8 bytes.
    pub fn summary_string(&self) -> String {
        let mut sorted: Vec<&(String, DataValue)> = self.entries.iter().collect();
        // `str` ordering is byte ordering of the UTF-8 encoding, exactly what §3.1 asks for.
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        sorted.iter().map(|(_, v)| v.summary_part()).collect()
    }

    /// The object as a `serde_json` map in which every scalar is a string (numbers as written,
    /// booleans as `true`/`false`, null dropped). Clients use it to read typed responses leniently:
    /// the real provider is not bound to polypay's all-strings rendering.
    pub fn to_string_map(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut map = serde_json::Map::new();
        for (key, value) in &self.entries {
            let json = match value {
                DataValue::Null => continue,
                DataValue::Nested(text) => {
                    serde_json::from_str(text).unwrap_or(serde_json::Value::Null)
                }
                other => serde_json::Value::String(other.summary_part().to_owned()),
            };
            map.insert(key.clone(), json);
        }
        map
    }
}

/// The raw `(key, value)` pairs of a JSON object, duplicates kept.
struct Pairs<'a>(Vec<(String, &'a RawValue)>);

impl<'de> serde::Deserialize<'de> for Pairs<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(PairsVisitor)
    }
}

struct PairsVisitor;

impl<'de> Visitor<'de> for PairsVisitor {
    type Value = Pairs<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut pairs = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, &'de RawValue>()? {
            pairs.push((key, value));
        }
        Ok(Pairs(pairs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_number_tokens_and_sorts_by_bytes() {
        let data = DataObject::parse(r#"{"amount":100,"order_id":"A1","rate":1.50,"Tip":"0"}"#)
            .expect("valid");
        assert_eq!(data.summary_string(), "0100A11.50");
    }

    #[test]
    fn renders_literals_and_nested_values() {
        let data =
            DataObject::parse(r#"{"a":true,"b":false,"c":null,"d":[1, 2],"e":{"x":"y"},"f":""}"#)
                .expect("valid");
        assert_eq!(data.summary_string(), r#"truefalse[1, 2]{"x":"y"}"#);
    }

    #[test]
    fn resolves_escapes_in_strings() {
        let data = DataObject::parse(r#"{"name":"\u5f20\u4e09","u":"a\/b"}"#).expect("valid");
        assert_eq!(data.summary_string(), "张三a/b");
    }

    #[test]
    fn rejects_duplicates_and_non_objects() {
        assert_eq!(
            DataObject::parse(r#"{"a":"1","b":"2","a":"3"}"#),
            Err(DataError::DuplicateKey("a".into()))
        );
        assert_eq!(DataObject::parse("[1]"), Err(DataError::NotObject));
        assert_eq!(DataObject::parse(r#""x""#), Err(DataError::NotObject));
        assert_eq!(
            DataObject::parse(r#"{"a":"1"} x"#),
            Err(DataError::NotObject)
        );
        // A syntax error later in the text wins over an earlier duplicate key.
        assert_eq!(
            DataObject::parse(r#"{"a":"1","a":"2","b":}"#),
            Err(DataError::NotObject)
        );
    }

    #[test]
    fn string_map_renders_scalars_as_strings() {
        let data = DataObject::parse(r#"{"a":5,"b":"x","c":null,"d":true}"#).expect("valid");
        let map = data.to_string_map();
        assert_eq!(map["a"], "5");
        assert_eq!(map["b"], "x");
        assert_eq!(map["d"], "true");
        assert!(!map.contains_key("c"));
    }
}
