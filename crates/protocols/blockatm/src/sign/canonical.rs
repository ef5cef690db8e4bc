//! The string to sign of spec 3.2: a JSON tree that keeps number tokens as written, and its flattening.

use crate::Error;
use serde_json::value::RawValue;
use std::cmp::Ordering;
use std::collections::HashMap;

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

/// Builds the tree in one pass over text serde_json has already validated, nested at most
/// [`MAX_DEPTH`] levels. A `RawValue` is validated without serde_json's recursion limit, so
/// the limit is this walk's own: before it, a body of a million `[` (2 MiB) recursed a million
/// times, past the end of the thread's stack, before its signature was checked. Each level
/// once also read its own members with serde and handed them down as raw text, parsing a
/// subtree once per level above it.
fn from_raw(raw: &RawValue) -> Result<Json, serde_json::Error> {
    let mut walk = Walk {
        text: raw.get(),
        at: 0,
        depth: 0,
    };
    walk.value()
}

/// Arrays and objects nest at most this deep (serde_json's own limit for the values it builds).
pub const MAX_DEPTH: usize = 128;

/// A cursor over validated JSON text.
struct Walk<'a> {
    text: &'a str,
    at: usize,
    /// Arrays and objects open around the cursor.
    depth: usize,
}

impl Walk<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    /// Consumes `byte` (after whitespace); anything else is text serde_json would not have
    /// passed, reported as an error rather than trusted.
    fn expect(&mut self, byte: u8) -> Result<(), serde_json::Error> {
        self.skip_whitespace();
        match self.peek() {
            Some(b) if b == byte => {
                self.at += 1;
                Ok(())
            }
            _ => Err(self.broken()),
        }
    }

    fn broken(&self) -> serde_json::Error {
        serde::de::Error::custom(format!("unexpected JSON text at byte {}", self.at))
    }

    /// Enters an array or object.
    fn descend(&mut self) -> Result<(), serde_json::Error> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(serde::de::Error::custom(format!(
                "nested more than {MAX_DEPTH} levels deep"
            )));
        }
        self.at += 1;
        Ok(())
    }

    fn value(&mut self) -> Result<Json, serde_json::Error> {
        self.skip_whitespace();
        let value = match self.peek().ok_or_else(|| self.broken())? {
            b'{' | b'[' => self.container()?,
            b'"' => Json::String(self.string()?),
            b'n' => self.literal("null", Json::Null)?,
            b't' => self.literal("true", Json::Bool(true))?,
            b'f' => self.literal("false", Json::Bool(false))?,
            _ => {
                let start = self.at;
                while matches!(
                    self.peek(),
                    Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
                ) {
                    self.at += 1;
                }
                if self.at == start {
                    return Err(self.broken());
                }
                Json::Number(self.text[start..self.at].to_owned())
            }
        };
        Ok(value)
    }

    /// An array or object, the cursor at its opening bracket.
    fn container(&mut self) -> Result<Json, serde_json::Error> {
        let opening = self.peek();
        self.descend()?;
        let value = match opening {
            Some(b'{') => {
                let mut out: Vec<(String, Json)> = Vec::new();
                // An index keeps last-wins de-duplication linear for bodies with many keys.
                let mut index: HashMap<String, usize> = HashMap::new();
                let mut done = self.closes_at_once(b'}');
                while !done {
                    self.skip_whitespace();
                    let key = self.string()?;
                    self.expect(b':')?;
                    let value = self.value()?;
                    match index.get(&key) {
                        Some(&at) => out[at].1 = value,
                        None => {
                            index.insert(key.clone(), out.len());
                            out.push((key, value));
                        }
                    }
                    done = self.list_ends(b'}')?;
                }
                Json::Object(out)
            }
            _ => {
                let mut items = Vec::new();
                let mut done = self.closes_at_once(b']');
                while !done {
                    items.push(self.value()?);
                    done = self.list_ends(b']')?;
                }
                Json::Array(items)
            }
        };
        self.depth -= 1;
        Ok(value)
    }

    /// Right after an opening bracket: consumes `close` if the array or object is empty.
    fn closes_at_once(&mut self, close: u8) -> bool {
        self.skip_whitespace();
        let empty = self.peek() == Some(close);
        if empty {
            self.at += 1;
        }
        empty
    }

    /// After a member or item: `true` at the closing `close`, `false` after a `,`.
    fn list_ends(&mut self, close: u8) -> Result<bool, serde_json::Error> {
        self.skip_whitespace();
        match self.peek() {
            Some(b',') => {
                self.at += 1;
                Ok(false)
            }
            Some(b) if b == close => {
                self.at += 1;
                Ok(true)
            }
            _ => Err(self.broken()),
        }
    }

    fn literal(&mut self, word: &str, value: Json) -> Result<Json, serde_json::Error> {
        let rest = self.text.as_bytes().get(self.at..).unwrap_or_default();
        match rest.starts_with(word.as_bytes()) {
            true => {
                self.at += word.len();
                Ok(value)
            }
            false => Err(self.broken()),
        }
    }

    /// A string token, unescaped by serde_json.
    fn string(&mut self) -> Result<String, serde_json::Error> {
        let start = self.at;
        if self.peek() != Some(b'"') {
            return Err(self.broken());
        }
        self.at += 1;
        loop {
            match self.peek().ok_or_else(|| self.broken())? {
                b'\\' => self.at += 2,
                b'"' => break,
                _ => self.at += 1,
            }
        }
        self.at += 1;
        let token = self.text.get(start..self.at).ok_or_else(|| self.broken())?;
        serde_json::from_str(token)
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

#[cfg(test)]
mod tests {
    use super::Json;

    fn s(text: &str) -> Json {
        Json::String(text.into())
    }

    #[test]
    fn the_tree_keeps_tokens_order_and_last_duplicates() {
        let body = r#" { "b" : 1.50 , "a":[ 1e5, -0, "x\"y\u00e9\ud83d\ude00", null, true, false, {} , [] ],
            "b": {"k": "v", "k": "w", "z": {"deep": [ {"n": 2} ]}}, "u": "€" } "#;
        let tree = Json::parse(body.as_bytes()).unwrap();
        let expected = Json::Object(vec![
            (
                "b".into(),
                Json::Object(vec![
                    ("k".into(), s("w")),
                    (
                        "z".into(),
                        Json::Object(vec![(
                            "deep".into(),
                            Json::Array(vec![Json::Object(vec![(
                                "n".into(),
                                Json::Number("2".into()),
                            )])]),
                        )]),
                    ),
                ]),
            ),
            (
                "a".into(),
                Json::Array(vec![
                    Json::Number("1e5".into()),
                    Json::Number("-0".into()),
                    s("x\"y\u{e9}\u{1F600}"),
                    Json::Null,
                    Json::Bool(true),
                    Json::Bool(false),
                    Json::Object(vec![]),
                    Json::Array(vec![]),
                ]),
            ),
            ("u".into(), s("\u{20ac}")),
        ]);
        assert_eq!(tree, expected);
        assert!(Json::parse(b"{\"a\":}").is_err());
        assert!(Json::parse(b"{\"a\":1} x").is_err());
    }

    #[test]
    fn deep_nesting_parses_once() {
        let depth = 120;
        let body = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
        let mut tree = Json::parse(body.as_bytes()).unwrap();
        for _ in 0..depth {
            let Json::Array(mut items) = tree else {
                panic!("not an array")
            };
            tree = items.pop().unwrap();
        }
        assert_eq!(tree, Json::Number("1".into()));
        // Past the limit: refused, not recursed into. A body of a million levels (2 MiB)
        // once overflowed the stack.
        for depth in [super::MAX_DEPTH + 1, 1_000_000] {
            let deeper = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
            assert!(Json::parse(deeper.as_bytes()).is_err(), "{depth}");
            let objects = format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
            assert!(Json::parse(objects.as_bytes()).is_err(), "{depth}");
        }
    }
}
