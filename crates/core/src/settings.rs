//! Checking a protocol's per-merchant options before they are stored.
//!
//! At run time each protocol reads its options leniently where it can (an unusable value keeps
//! the spec's default, so an old stored typo never locks a merchant out). A new block is checked
//! strictly before it is stored (the admin API and `polypay merchant settings`): an unknown key,
//! or a value of the wrong shape, is refused with a message that names each problem and what
//! the option takes. `null` stands for the option's default wherever a protocol reads it so.

use serde_json::Value;

/// One protocol's settings object under check. Chain [`SettingsCheck::option`] once per option
/// the protocol reads, then [`SettingsCheck::finish`].
#[must_use]
pub struct SettingsCheck<'a> {
    value: &'a Value,
    known: Vec<&'static str>,
    problems: Vec<String>,
    null_is_default: bool,
}

impl<'a> SettingsCheck<'a> {
    pub fn new(value: &'a Value) -> SettingsCheck<'a> {
        let problems = match value {
            Value::Object(_) => Vec::new(),
            _ => vec!["settings must be a JSON object".to_owned()],
        };
        SettingsCheck {
            value,
            known: Vec::new(),
            problems,
            null_is_default: true,
        }
    }

    /// The options chained after this one refuse `null` (for a protocol that reads them
    /// strictly: there `null` is not the default but an error).
    pub fn null_refused(mut self) -> Self {
        self.null_is_default = false;
        self
    }

    /// Option `key`, if set, must pass `valid`; `takes` says what it takes ("an integer > 0").
    pub fn option(
        mut self,
        key: &'static str,
        takes: &str,
        valid: impl FnOnce(&Value) -> bool,
    ) -> Self {
        self.known.push(key);
        match self.value.get(key) {
            None => {}
            Some(Value::Null) if self.null_is_default => {}
            Some(v) if valid(v) => {}
            Some(v) => self
                .problems
                .push(format!("{key} must be {takes} (got {})", shown(v))),
        }
        self
    }

    /// A rule across options (e.g. one must be among another's values), once each is valid.
    pub fn rule(mut self, problem: Option<String>) -> Self {
        self.problems.extend(problem);
        self
    }

    /// Every problem found, one per clause; unknown keys last, with the options there are.
    pub fn finish(mut self) -> Result<(), String> {
        if let Value::Object(map) = self.value {
            let mut unknown: Vec<&str> = map
                .keys()
                .map(String::as_str)
                .filter(|k| !self.known.contains(k))
                .collect();
            unknown.sort_unstable();
            if !unknown.is_empty() {
                let options = match self.known.is_empty() {
                    true => "none".to_owned(),
                    false => self.known.join(", "),
                };
                self.problems.push(format!(
                    "unknown option{} {} (options: {options})",
                    if unknown.len() == 1 { "" } else { "s" },
                    unknown.join(", ")
                ));
            }
        }
        match self.problems.is_empty() {
            true => Ok(()),
            false => Err(self.problems.join("; ")),
        }
    }
}

/// A value for a message: JSON text, cut short.
fn shown(v: &Value) -> String {
    let text = v.to_string();
    match text.char_indices().nth(40) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text,
    }
}

/// `true` or `false`.
pub fn is_bool(v: &Value) -> bool {
    v.is_boolean()
}

/// An integer of at least `min`.
pub fn int_at_least(min: i64) -> impl Fn(&Value) -> bool {
    move |v| v.as_i64().is_some_and(|n| n >= min)
}

/// An absolute `http://` or `https://` URL.
pub fn is_http_url(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        let rest = s
            .strip_prefix("https://")
            .or_else(|| s.strip_prefix("http://"));
        rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/'))
            && !s.chars().any(char::is_whitespace)
    })
}

/// A non-empty array whose every item passes `item`.
pub fn non_empty_array_of(item: impl Fn(&Value) -> bool) -> impl Fn(&Value) -> bool {
    move |v| {
        v.as_array()
            .is_some_and(|a| !a.is_empty() && a.iter().all(&item))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(v: &Value) -> Result<(), String> {
        SettingsCheck::new(v)
            .option("ttl", "an integer > 0", int_at_least(1))
            .option("flag", "true or false", is_bool)
            .option("url", "an http(s) URL", is_http_url)
            .finish()
    }

    #[test]
    fn every_problem_is_named() {
        assert_eq!(check(&json!({})), Ok(()));
        assert_eq!(check(&json!({"ttl": 5, "flag": null})), Ok(()));
        assert_eq!(
            check(&json!({"ttl": 0, "flag": "yes", "urll": "x", "b": 1})),
            Err(
                "ttl must be an integer > 0 (got 0); flag must be true or false (got \"yes\"); \
                 unknown options b, urll (options: ttl, flag, url)"
                    .into()
            )
        );
        assert_eq!(
            check(&json!([1])),
            Err("settings must be a JSON object".into())
        );
        let strict = SettingsCheck::new(&json!({"flag": null}))
            .null_refused()
            .option("flag", "true or false", is_bool)
            .finish();
        assert_eq!(strict, Err("flag must be true or false (got null)".into()));
    }

    #[test]
    fn urls_and_long_values() {
        for ok in ["https://a.example/cb", "http://127.0.0.1:9911/n"] {
            assert!(is_http_url(&json!(ok)), "{ok}");
        }
        for bad in [
            "ftp://a",
            "https://",
            "https:///x",
            "a.example",
            "http://a b",
        ] {
            assert!(!is_http_url(&json!(bad)), "{bad}");
        }
        let long = "x".repeat(100);
        let err = check(&json!({"url": long})).unwrap_err();
        assert!(err.ends_with("xxx…)"), "{err}");
        assert!(err.len() < 100, "{err}");
    }
}
