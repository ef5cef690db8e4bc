//! What a protocol's hosted cashier asks of the customer: extra order details, the inputs shown
//! before the outcome (a payment method, a test card, a UPI id), an optional verification step
//! (3-D Secure), and what a submitted choice records on the payment.
//!
//! The server renders these generically ([`crate::ProtocolNotifier::cashier_form`]); the protocol
//! checks what comes back ([`crate::ProtocolNotifier::cashier_submit`]). A field left out of a
//! POST takes the value the page pre-fills, so a test that posts only the CSRF token gets what a
//! customer who pressed the button without changing anything gets.

use serde_json::{Map, Value};

/// One input on the cashier page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CashierField {
    /// Radio buttons, `(value, label)`; `selected` is pre-selected (none: the customer must pick).
    Choice {
        name: &'static str,
        label: &'static str,
        options: Vec<(String, String)>,
        selected: Option<String>,
    },
    /// A text box pre-filled with `value` (a sandbox test value; empty: the customer types it).
    Text {
        name: &'static str,
        label: &'static str,
        value: String,
        /// Shown under the box (format, sandbox hint).
        hint: &'static str,
        /// The HTML `autocomplete` token (`cc-number`, `one-time-code`, `off`, …).
        autocomplete: &'static str,
    },
}

impl CashierField {
    /// Radio buttons from `(value, label)` pairs.
    pub fn choice(
        name: &'static str,
        label: &'static str,
        options: &[(&str, &str)],
        selected: Option<&str>,
    ) -> CashierField {
        CashierField::Choice {
            name,
            label,
            options: options
                .iter()
                .map(|(v, l)| ((*v).to_owned(), (*l).to_owned()))
                .collect(),
            selected: selected.map(str::to_owned),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            CashierField::Choice { name, .. } | CashierField::Text { name, .. } => name,
        }
    }

    /// What a POST without this field is taken to mean.
    pub fn default_value(&self) -> Option<&str> {
        match self {
            CashierField::Choice { selected, .. } => selected.as_deref(),
            CashierField::Text { value, .. } => Some(value.as_str()).filter(|v| !v.is_empty()),
        }
    }
}

/// A verification step between the inputs and the outcome buttons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CashierChallenge {
    pub title: &'static str,
    pub text: &'static str,
    /// Never pre-filled: the step is passed only by typing it.
    pub field: CashierField,
}

/// What the cashier shows for one open payment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CashierForm {
    /// Extra rows of the order details, `(label, value)`.
    pub details: Vec<(String, String)>,
    pub fields: Vec<CashierField>,
    /// Parameters of the cashier link carried, hidden, into the action forms (OTT Pay's
    /// `redirect_url` and `selected`).
    pub carried: Vec<(String, String)>,
    pub challenge: Option<CashierChallenge>,
    /// Opening the page leaves the payment `created` (BlockATM: nothing happens on the chain
    /// until the customer pays); other protocols' payments become `pending` when it opens.
    pub stays_created: bool,
    /// Pay leaves the payment `pending` (the transfer seen on the chain, the submitted marks
    /// recorded) and succeeds it this much later: the sandbox's confirmation delay.
    pub confirm_after_ms: Option<i64>,
    /// Shown instead of the buttons while the payment waits (for confirmations); the page
    /// then reloads itself every few seconds until the payment ends.
    pub waiting: Option<String>,
}

/// What the customer pressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CashierAction {
    /// The inputs are complete: go on to the challenge.
    Verify,
    Pay,
    Fail,
    /// Needs no input; a protocol may still record what the link carried.
    Cancel,
}

/// Name/value pairs from a query string or a posted form (the first of a repeated name wins).
#[derive(Debug, Clone, Copy)]
pub struct CashierInput<'a>(pub &'a [(String, String)]);

impl CashierInput<'_> {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Top-level `attrs` members to merge into the payment with the transition.
pub type CashierMarks = Map<String, Value>;

/// `text` as an absolute http(s) URL a browser may be sent to (normalised: characters a
/// `Location` header cannot carry are percent-encoded), or `None`.
pub fn redirect_target(text: &str) -> Option<String> {
    let url = reqwest::Url::parse(text)
        .ok()
        .filter(|_| text.len() <= 2048)?;
    (matches!(url.scheme(), "http" | "https") && url.host().is_some()).then(|| url.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_lookup() {
        let choice = CashierField::Choice {
            name: "m",
            label: "Method",
            options: vec![("A".into(), "a".into())],
            selected: Some("A".into()),
        };
        assert_eq!(choice.default_value(), Some("A"));
        let empty = CashierField::Text {
            name: "otp",
            label: "Code",
            value: String::new(),
            hint: "",
            autocomplete: "one-time-code",
        };
        assert_eq!(empty.default_value(), None);
        let pairs = vec![("a".to_string(), "1".to_string()), ("a".into(), "2".into())];
        assert_eq!(CashierInput(&pairs).get("a"), Some("1"));
        assert_eq!(CashierInput(&pairs).get("b"), None);
    }

    #[test]
    fn redirect_targets_are_http_urls() {
        let ok = "https://m.example/back?x=1";
        assert_eq!(redirect_target(ok).as_deref(), Some(ok));
        assert_eq!(
            redirect_target("http://127.0.0.1:9000/r é").as_deref(),
            Some("http://127.0.0.1:9000/r%20%C3%A9")
        );
        for bad in [
            "javascript:alert(1)",
            "/relative",
            "ftp://h/x",
            "https://",
            "",
        ] {
            assert_eq!(redirect_target(bad), None, "{bad}");
        }
        assert_eq!(
            redirect_target(&format!("https://h/{}", "a".repeat(2048))),
            None
        );
    }
}
