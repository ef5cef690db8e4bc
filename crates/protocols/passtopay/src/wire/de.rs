//! Lenient integer (de)serializers: PassToPay sends integers as JSON numbers or digit strings
//! (and every form/query value is a string), so typed structs accept both.

use serde::{Deserialize, Deserializer, Serializer, de::Error};

#[derive(Deserialize)]
#[serde(untagged)]
enum IntOrString {
    Int(i64),
    Text(String),
}

fn to_int<E: Error>(value: IntOrString) -> Result<i64, E> {
    match value {
        IntOrString::Int(n) => Ok(n),
        IntOrString::Text(t) => t
            .parse::<i64>()
            .map_err(|_| E::custom(format!("expected an integer, got {t:?}"))),
    }
}

/// A required integer given as a number or a string of digits.
pub fn int<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    to_int(IntOrString::deserialize(d)?)
}

/// An optional integer; an empty string counts as absent.
pub fn opt_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Option::<IntOrString>::deserialize(d)? {
        None => Ok(None),
        Some(IntOrString::Text(t)) if t.is_empty() => Ok(None),
        Some(v) => to_int(v).map(Some),
    }
}

/// Serializes an integer as a JSON string (`reqTime`, `registerTime` in client requests, as the
/// provider's samples send them).
pub fn int_as_string<S: Serializer>(value: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&value.to_string())
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct T {
        #[serde(deserialize_with = "super::int")]
        a: i64,
        #[serde(default, deserialize_with = "super::opt_int")]
        b: Option<i64>,
    }

    #[test]
    fn accepts_numbers_and_digit_strings() {
        let t: T = serde_json::from_str(r#"{"a":"12","b":3}"#).unwrap();
        assert_eq!((t.a, t.b), (12, Some(3)));
        let t: T = serde_json::from_str(r#"{"a":12,"b":""}"#).unwrap();
        assert_eq!((t.a, t.b), (12, None));
        let t: T = serde_json::from_str(r#"{"a":1}"#).unwrap();
        assert_eq!(t.b, None);
        assert!(serde_json::from_str::<T>(r#"{"a":"x"}"#).is_err());
    }
}
