//! USD amounts as JSON numbers in major units (§3.5, §5.2): exact parsing and shortest rendering.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use std::fmt;

/// A non-negative USD amount held in cents, so that no float ever touches money.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount {
    cents: u64,
}

impl Amount {
    /// 13 integer digits and 2 fractional digits at most (§5.2).
    pub const MAX_CENTS: u64 = 999_999_999_999_999;

    pub fn from_cents(cents: u64) -> Option<Self> {
        (cents <= Self::MAX_CENTS).then_some(Amount { cents })
    }

    pub fn cents(self) -> u64 {
        self.cents
    }

    /// Parses the decimal text as written: `0|[1-9][0-9]{0,12}` optionally followed by `.` and
    /// one or two digits. No sign, exponent or third decimal: those are rejected, never rounded.
    /// Zero parses; positivity is a validation rule of createOrder, not of the format.
    pub fn parse(text: &str) -> Option<Self> {
        let (int, frac) = match text.split_once('.') {
            Some((int, frac)) => (int, Some(frac)),
            None => (text, None),
        };
        let int_ok = !int.is_empty()
            && int.len() <= 13
            && int.bytes().all(|b| b.is_ascii_digit())
            && (int == "0" || !int.starts_with('0'));
        if !int_ok {
            return None;
        }
        let frac_cents = match frac {
            None => 0,
            Some(f) if (1..=2).contains(&f.len()) && f.bytes().all(|b| b.is_ascii_digit()) => {
                let value: u64 = f.parse().ok()?;
                if f.len() == 1 { value * 10 } else { value }
            }
            Some(_) => return None,
        };
        let units: u64 = int.parse().ok()?;
        Amount::from_cents(units.checked_mul(100)?.checked_add(frac_cents)?)
    }
}

impl fmt::Display for Amount {
    /// Shortest form with at most 2 decimals: `99.99`, `99.9`, `100`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (units, cents) = (self.cents / 100, self.cents % 100);
        match cents {
            0 => write!(f, "{units}"),
            c if c % 10 == 0 => write!(f, "{units}.{}", c / 10),
            c => write!(f, "{units}.{c:02}"),
        }
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // A RawValue keeps the exact decimal text; going through f64 would print `100.0`.
        let raw = RawValue::from_string(self.to_string()).map_err(serde::ser::Error::custom)?;
        raw.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Amount {
    /// Accepts a JSON number as written, or a string holding the same text (§5.2 leniency).
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        let text = raw.get();
        let text = match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
            Some(inner) => inner,
            None => text,
        };
        Amount::parse(text).ok_or_else(|| D::Error::custom("invalid amount"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exactly_as_written() {
        assert_eq!(Amount::parse("99.99").map(Amount::cents), Some(9999));
        assert_eq!(Amount::parse("99.9").map(Amount::cents), Some(9990));
        assert_eq!(Amount::parse("100").map(Amount::cents), Some(10000));
        assert_eq!(Amount::parse("0.01").map(Amount::cents), Some(1));
        assert_eq!(
            Amount::parse("9999999999999.99").map(Amount::cents),
            Some(Amount::MAX_CENTS)
        );
        for bad in [
            "1.005",
            "1e2",
            "-1",
            "",
            ".5",
            "1.",
            "01",
            "10000000000000",
            "1,5",
            " 1",
            "+1",
        ] {
            assert_eq!(Amount::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn renders_shortest_form() {
        let text = |c| Amount::from_cents(c).unwrap().to_string();
        assert_eq!(text(9999), "99.99");
        assert_eq!(text(9990), "99.9");
        assert_eq!(text(10000), "100");
        assert_eq!(text(5), "0.05");
        assert_eq!(text(99933), "999.33");
        assert_eq!(
            serde_json::to_string(&Amount::from_cents(10000)).unwrap(),
            "100"
        );
    }

    #[test]
    fn deserializes_number_or_string() {
        let a: Amount = serde_json::from_str("99.99").unwrap();
        assert_eq!(a.cents(), 9999);
        let a: Amount = serde_json::from_str("\"12.5\"").unwrap();
        assert_eq!(a.cents(), 1250);
        assert!(serde_json::from_str::<Amount>("1.005").is_err());
        assert!(serde_json::from_str::<Amount>("1e2").is_err());
    }
}
