//! Token amounts: decimal text with at most 6 fractional digits (USDT/USDC exponent), never rounded.

use crate::sign::Json;
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;
use std::fmt;

/// Fractional digits of API amounts (the core exponent of USDT and USDC).
pub const EXPONENT: u32 = 6;
const SCALE: u64 = 1_000_000;

/// A positive-or-zero amount in millionths of a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Amount(u64);

/// Why an amount text was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("not a plain decimal number")]
    Format,
    #[error("more than 6 significant fractional digits")]
    Precision,
    #[error("amount too large")]
    Overflow,
}

impl Amount {
    /// The amount of `micros` millionths.
    pub const fn from_micros(micros: u64) -> Amount {
        Amount(micros)
    }

    /// The value in millionths.
    pub const fn micros(self) -> u64 {
        self.0
    }

    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// Parses plain decimal text: digits, optionally `.` and digits; no sign, exponent or blanks.
    /// Trailing zeros past the 6th fractional digit are accepted (no value is lost); any other
    /// digit there is excess precision and refused rather than rounded.
    pub fn parse(text: &str) -> Result<Amount, AmountError> {
        let (int, frac) = text.split_once('.').unwrap_or((text, ""));
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(int) || (text.contains('.') && !digits(frac)) {
            return Err(AmountError::Format);
        }
        let (kept, excess) = frac.split_at(frac.len().min(EXPONENT as usize));
        if excess.bytes().any(|b| b != b'0') {
            return Err(AmountError::Precision);
        }
        let int: u64 = int.parse().map_err(|_| AmountError::Overflow)?;
        let mut micros = 0u64;
        for (i, b) in kept.bytes().enumerate() {
            micros += u64::from(b - b'0') * 10u64.pow(EXPONENT - 1 - i as u32);
        }
        int.checked_mul(SCALE)
            .and_then(|v| v.checked_add(micros))
            .map(Amount)
            .ok_or(AmountError::Overflow)
    }

    /// Reads an amount from a JSON number token or a string (E1/E4 take both).
    pub fn from_json(value: &Json) -> Result<Amount, AmountError> {
        match value {
            Json::Number(token) | Json::String(token) => Amount::parse(token),
            _ => Err(AmountError::Format),
        }
    }

    /// The amount as a JSON number with the same digits as [`Display`](fmt::Display)
    /// (query responses), e.g. `13.41`.
    pub fn as_number(self) -> AmountNumber {
        AmountNumber(self)
    }
}

/// Plain decimal without exponent, trailing fractional zeros or a bare `.` (`2000`, `13.41`).
impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (int, frac) = (self.0 / SCALE, self.0 % SCALE);
        if frac == 0 {
            return write!(f, "{int}");
        }
        let frac = format!("{frac:06}");
        write!(f, "{int}.{}", frac.trim_end_matches('0'))
    }
}

/// Serializes as a JSON string (webhooks: `"amount":"13.41"`).
impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// An [`Amount`] serialized as a JSON number token (`"amount":13.41`), without a float round trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AmountNumber(pub Amount);

impl Serialize for AmountNumber {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let raw = RawValue::from_string(self.0.to_string()).map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_render() {
        for (text, micros, shown) in [
            ("44", 44_000_000, "44"),
            ("100.5", 100_500_000, "100.5"),
            ("13.410037", 13_410_037, "13.410037"),
            ("1.00000000", 1_000_000, "1"),
            ("0.000001", 1, "0.000001"),
            ("2000.10", 2_000_100_000, "2000.1"),
            ("0", 0, "0"),
        ] {
            let amount = Amount::parse(text).unwrap();
            assert_eq!(amount.micros(), micros, "{text}");
            assert_eq!(amount.to_string(), shown, "{text}");
        }
    }

    #[test]
    fn refuses_bad_text() {
        assert_eq!(Amount::parse("1.0000001"), Err(AmountError::Precision));
        assert_eq!(Amount::parse("0.1234567"), Err(AmountError::Precision));
        for bad in [
            "", ".5", "5.", "-1", "+1", "1e5", " 1", "1,5", "0x10", "1.2.3",
        ] {
            assert_eq!(Amount::parse(bad), Err(AmountError::Format), "{bad}");
        }
        assert_eq!(Amount::parse("18446744073710"), Err(AmountError::Overflow));
    }

    #[test]
    fn json_forms() {
        let number = serde_json::to_string(&Amount::parse("13.41").unwrap().as_number()).unwrap();
        assert_eq!(number, "13.41");
        let text = serde_json::to_string(&Amount::parse("2000").unwrap()).unwrap();
        assert_eq!(text, "\"2000\"");
        assert!(Amount::from_json(&Json::Bool(true)).is_err());
        assert_eq!(
            Amount::from_json(&Json::Number("1.50".into()))
                .unwrap()
                .micros(),
            1_500_000
        );
    }
}
