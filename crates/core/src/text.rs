//! Text a request may carry into storage.
//!
//! A polypay decision: text holding a NUL character (U+0000) is refused as an invalid field by
//! every protocol. PostgreSQL's `text` cannot store one, so without the check the same request
//! was accepted on SQLite and failed as a system error on PostgreSQL.

use serde_json::{Map, Value};

/// Whether `c` is a character an operator-facing name or a URL must not hold: a control
/// character (newlines and terminal escapes forge lines in a log or a terminal), an invisible
/// formatting one (zero-width characters, bidirectional overrides that show text reversed,
/// the byte-order mark, the soft hyphen) or one that shows as nothing (the Hangul fillers, the
/// combining grapheme joiner, the blank braille pattern).
pub fn unsafe_char(c: char) -> bool {
    // Unicode's format characters (category Cf), as of Unicode 15, and the line and
    // paragraph separators.
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{0600}'..='\u{0605}'
                | '\u{061C}'
                | '\u{06DD}'
                | '\u{070F}'
                | '\u{0890}'..='\u{0891}'
                | '\u{08E2}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF0}'..='\u{FFFB}'
                | '\u{110BD}'
                | '\u{110CD}'
                | '\u{13430}'..='\u{1343F}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0000}'..='\u{E00FF}'
                | '\u{E01F0}'..='\u{E0FFF}'
                | '\u{034F}'
                | '\u{115F}'..='\u{1160}'
                | '\u{17B4}'..='\u{17B5}'
                | '\u{2800}'
                | '\u{3164}'
                | '\u{FFA0}'
        )
}

/// The path of the first key or string in `value` that holds a NUL (`field`, `parent.child`,
/// `list[2]`), or `None` when there is none.
pub fn nul_field(value: &Value) -> Option<String> {
    walk(value, "")
}

/// [`nul_field`] of a JSON object's members.
pub fn nul_field_in(map: &Map<String, Value>) -> Option<String> {
    walk_map(map, "")
}

fn walk(value: &Value, path: &str) -> Option<String> {
    match value {
        Value::String(s) if s.contains('\0') => Some(path.to_string()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| walk(v, &format!("{path}[{i}]"))),
        Value::Object(map) => walk_map(map, path),
        _ => None,
    }
}

fn walk_map(map: &Map<String, Value>, path: &str) -> Option<String> {
    map.iter().find_map(|(k, v)| {
        let at = if path.is_empty() {
            k.clone()
        } else {
            format!("{path}.{k}")
        };
        if k.contains('\0') {
            return Some(at);
        }
        walk(v, &at)
    })
}

#[cfg(test)]
mod tests {
    use super::nul_field;
    use serde_json::json;

    #[test]
    fn finds_the_first_nul_in_keys_strings_and_nested_values() {
        assert_eq!(
            nul_field(&json!({"a": "x", "n": 1, "b": [true, null]})),
            None
        );
        assert_eq!(nul_field(&json!({"a": "x\u{0}"})).as_deref(), Some("a"));
        assert_eq!(
            nul_field(&json!({"payer": {"name": "ok", "email": "\u{0}"}})).as_deref(),
            Some("payer.email")
        );
        assert_eq!(
            nul_field(&json!({"items": ["a", "b\u{0}"]})).as_deref(),
            Some("items[1]")
        );
        assert_eq!(nul_field(&json!({"k\u{0}": 1})).as_deref(), Some("k\u{0}"));
        // The six characters `\u0000`, escaped in JSON as `\\u0000`, are not a NUL.
        let literal: serde_json::Value = serde_json::from_str(r#"{"a":"\\u0000"}"#).unwrap();
        assert_eq!(nul_field(&literal), None);
        let real: serde_json::Value = serde_json::from_str(r#"{"a":"\u0000"}"#).unwrap();
        assert_eq!(nul_field(&real).as_deref(), Some("a"));
    }
}

/// Text as HTML element content or a quoted attribute value: `&`, `<`, `>`, `"` and `'`
/// escaped (the hosted cashier, the console and BlockATM's amount page all write it so).
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod escape_tests {
    #[test]
    fn every_character_that_ends_text_or_an_attribute_is_escaped() {
        assert_eq!(
            super::escape_html("<a href=\"x\" title='y'>&</a>é"),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;é"
        );
    }
}
