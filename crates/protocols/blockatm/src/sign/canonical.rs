//! The string to sign of spec 3.2: a JSON tree that keeps number tokens as written, and its flattening.

use crate::Error;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;

/// A parsed JSON value that keeps what serde_json's `Value` loses and 3.2 needs:
/// number tokens exactly as written (`1.50`, `1e5`) and, for objects, last-wins duplicate keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Json {
    Null,
    Bool(bool),
    /// The number token as it appears in the body.
    Number(String),
    String(String),
    Array(Vec<Json>),
    /// Members in first-appearance order; a repeated key keeps its last value (3.2 step 1).
    Object(Vec<(String, Json)>),
}

impl Json {
    /// Parses JSON text. serde_json validates the syntax; its recursion limit bounds nesting.
    pub fn parse(text: &[u8]) -> Result<Json, Error> {
        let raw: &RawValue = serde_json::from_slice(text)?;
        Ok(from_raw(raw)?)
    }

    /// The member `name` of an object (`None` for non-objects and absent members).
    pub fn get(&self, name: &str) -> Option<&Json> {
        match self {
            Json::Object(members) => members.iter().find(|(k, _)| k == name).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The scalar's text as 3.2 step 4 renders it; `None` for null, arrays and objects.
    pub fn scalar_text(&self) -> Option<&str> {
        match self {
            Json::Bool(true) => Some("true"),
            Json::Bool(false) => Some("false"),
            Json::Number(token) | Json::String(token) => Some(token),
            _ => None,
        }
    }
}

fn from_raw(raw: &RawValue) -> Result<Json, serde_json::Error> {
    let text = raw.get();
    Ok(match text.as_bytes().first() {
        Some(b'{') => {
            let Members(members) = serde_json::from_str(text)?;
            let mut out: Vec<(String, Json)> = Vec::with_capacity(members.len());
            // An index keeps last-wins de-duplication linear for bodies with many keys.
            let mut index: HashMap<String, usize> = HashMap::with_capacity(members.len());
            for (key, value) in members {
                let value = from_raw(value)?;
                match index.get(&key) {
                    Some(&at) => out[at].1 = value,
                    None => {
                        index.insert(key.clone(), out.len());
                        out.push((key, value));
                    }
                }
            }
            Json::Object(out)
        }
        Some(b'[') => {
            let items: Vec<&RawValue> = serde_json::from_str(text)?;
            Json::Array(items.into_iter().map(from_raw).collect::<Result<_, _>>()?)
        }
        Some(b'"') => Json::String(serde_json::from_str(text)?),
        Some(b'n') => Json::Null,
        Some(b't') => Json::Bool(true),
        Some(b'f') => Json::Bool(false),
        _ => Json::Number(text.to_owned()),
    })
}

/// An object's members in body order, duplicates included (serde's maps would fold them silently).
struct Members<'a>(Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for Members<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MembersVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for MembersVisitor<'a> {
            type Value = Members<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Members<'a>, M::Error> {
                let mut members = Vec::new();
                while let Some(entry) = map.next_entry::<String, &'de RawValue>()? {
                    members.push(entry);
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(MembersVisitor(std::marker::PhantomData))
    }
}

/// Orders keys by UTF-16 code units as the provider's Java `TreeMap` does; Rust's `str` order
/// (code points) differs for characters above U+FFFF against U+E000..U+FFFF.
pub fn utf16_cmp(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

/// Parses a POST body into its top-level object per 3.2 step 1: empty (or blank) body and `null`
/// mean "no parameters"; anything but an object is refused.
pub fn parse_body(body: &[u8]) -> Result<Json, Error> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Json::Object(Vec::new()));
    }
    match Json::parse(body)? {
        Json::Null => Ok(Json::Object(Vec::new())),
        object @ Json::Object(_) => Ok(object),
        _ => Err(Error::NotAnObject),
    }
}

/// The canonical string of a POST body (3.2): flattened, sorted parameters, then `time=<t>`.
pub fn canonical_post(body: &Json, time: &str) -> String {
    let mut items = Vec::new();
    if let Json::Object(members) = body {
        // Step 5: only the top-level `sign` is excluded; a nested one is ordinary data.
        emit_object(members.iter().filter(|(k, _)| k != "sign"), &mut items);
    }
    with_time(items.join("&"), time)
}

/// The canonical string of a GET request: the raw query in sent order, untouched, then `time=<t>`.
pub fn canonical_get(raw_query: Option<&str>, time: &str) -> String {
    with_time(raw_query.unwrap_or("").to_owned(), time)
}

fn with_time(mut params: String, time: &str) -> String {
    if !params.is_empty() {
        params.push('&');
    }
    params.push_str("time=");
    params.push_str(time);
    params
}

fn emit_object<'a>(members: impl Iterator<Item = &'a (String, Json)>, out: &mut Vec<String>) {
    let mut sorted: Vec<&(String, Json)> = members.collect();
    sorted.sort_by(|a, b| utf16_cmp(&a.0, &b.0));
    for (key, value) in sorted {
        match value {
            Json::Null => {}
            // Nested members are written without the parent's name, at the parent's position.
            Json::Object(inner) => emit_object(inner.iter(), out),
            Json::Array(items) => emit_array(items, out),
            scalar => out.push(format!("{key}={}", scalar.scalar_text().unwrap_or(""))),
        }
    }
}

fn emit_array(items: &[Json], out: &mut Vec<String>) {
    for item in items {
        match item {
            Json::Null => {}
            Json::Object(inner) => emit_object(inner.iter(), out),
            Json::Array(nested) => emit_array(nested, out),
            // Bare scalars in arrays carry no `key=` (provider demo behaviour).
            scalar => out.push(scalar.scalar_text().unwrap_or("").to_owned()),
        }
    }
}
