//! Money as integer minor units of a currency, and the currency table.
//!
//! Amounts never pass through floating point: decimal strings are parsed digit by digit
//! and excess precision is an error, never rounded away.

use serde::{Deserialize, Serialize};
use std::fmt;

/// One row of the currency table: ISO-style code and the number of minor-unit digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CurrencyInfo {
    pub code: &'static str,
    pub exponent: u32,
}

/// The currencies polypay knows. Extend the table to add one; nothing else changes.
pub const CURRENCIES: &[CurrencyInfo] = &[
    CurrencyInfo {
        code: "CNY",
        exponent: 2,
    },
    CurrencyInfo {
        code: "USD",
        exponent: 2,
    },
    CurrencyInfo {
        code: "CAD",
        exponent: 2,
    },
    CurrencyInfo {
        code: "INR",
        exponent: 2,
    },
    CurrencyInfo {
        code: "HKD",
        exponent: 2,
    },
    CurrencyInfo {
        code: "USDT",
        exponent: 6,
    },
    CurrencyInfo {
        code: "USDC",
        exponent: 6,
    },
];

/// A currency of the table (an index into [`CURRENCIES`], so it is `Copy` and cheap to compare).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency(u8);

impl Currency {
    pub const CNY: Currency = Currency(0);
    pub const USD: Currency = Currency(1);
    pub const CAD: Currency = Currency(2);
    pub const INR: Currency = Currency(3);
    pub const HKD: Currency = Currency(4);
    pub const USDT: Currency = Currency(5);
    pub const USDC: Currency = Currency(6);

    /// Looks a code up, ASCII-case-insensitively (`cny` and `CNY` are the same currency).
    pub fn from_code(code: &str) -> Option<Currency> {
        CURRENCIES
            .iter()
            .position(|c| c.code.eq_ignore_ascii_case(code))
            .map(|i| Currency(i as u8))
    }

    pub fn code(self) -> &'static str {
        CURRENCIES[self.0 as usize].code
    }

    /// Number of digits after the decimal point in the currency's minor unit.
    pub fn exponent(self) -> u32 {
        CURRENCIES[self.0 as usize].exponent
    }

    pub fn all() -> impl Iterator<Item = Currency> {
        (0..CURRENCIES.len()).map(|i| Currency(i as u8))
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = String::deserialize(d)?;
        Currency::from_code(&code)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown currency {code}")))
    }
}

/// Why an amount was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("not a decimal amount")]
    Malformed,
    #[error("more than {0} decimal places")]
    TooPrecise(u32),
    #[error("amount out of range")]
    Overflow,
    #[error("currency mismatch: {0} and {1}")]
    CurrencyMismatch(Currency, Currency),
}

/// An amount in integer minor units of one currency (fen, cents, or 10^-6 of a stablecoin).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

impl Money {
    pub fn new(minor: i64, currency: Currency) -> Money {
        Money { minor, currency }
    }

    /// Parses an unsigned decimal string (`"100"`, `"100.5"`, `"100.05"`) in major units.
    /// More fractional digits than the currency's exponent is an error, even when they are zeros.
    pub fn parse_decimal(text: &str, currency: Currency) -> Result<Money, MoneyError> {
        let exp = currency.exponent();
        let (int_part, frac_part) = match text.split_once('.') {
            Some((i, f)) if !f.is_empty() => (i, f),
            Some(_) => return Err(MoneyError::Malformed),
            None => (text, ""),
        };
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if int_part.is_empty() || !all_digits(int_part) || !all_digits(frac_part) {
            return Err(MoneyError::Malformed);
        }
        if frac_part.len() > exp as usize {
            return Err(MoneyError::TooPrecise(exp));
        }
        let mut minor: i64 = 0;
        let padded = frac_part
            .bytes()
            .chain(std::iter::repeat(b'0'))
            .take(exp as usize);
        for digit in int_part.bytes().chain(padded) {
            minor = minor
                .checked_mul(10)
                .and_then(|m| m.checked_add(i64::from(digit - b'0')))
                .ok_or(MoneyError::Overflow)?;
        }
        Ok(Money { minor, currency })
    }

    /// Renders the amount in major units with exactly the currency's number of decimals.
    pub fn to_decimal_string(&self) -> String {
        format_minor(self.minor, self.currency.exponent(), false)
    }

    /// Renders the amount in major units without trailing fractional zeros (`99.9`, `100`).
    pub fn to_short_decimal_string(&self) -> String {
        format_minor(self.minor, self.currency.exponent(), true)
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let minor = self
            .minor
            .checked_add(other.minor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money { minor, ..self })
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let minor = self
            .minor
            .checked_sub(other.minor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money { minor, ..self })
    }

    fn same_currency(self, other: Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch(self.currency, other.currency))
        }
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.to_decimal_string(), self.currency)
    }
}

fn format_minor(minor: i64, exponent: u32, trim: bool) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    if exponent == 0 {
        return format!("{sign}{abs}");
    }
    let scale = 10u64.pow(exponent);
    let frac = format!("{:0width$}", abs % scale, width = exponent as usize);
    let frac = if trim {
        frac.trim_end_matches('0')
    } else {
        &frac
    };
    if frac.is_empty() {
        format!("{sign}{}", abs / scale)
    } else {
        format!("{sign}{}.{frac}", abs / scale)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_and_rejects_precision() {
        assert_eq!(
            Money::parse_decimal("100.05", Currency::INR).unwrap().minor,
            10005
        );
        assert_eq!(
            Money::parse_decimal("100.5", Currency::INR).unwrap().minor,
            10050
        );
        assert_eq!(
            Money::parse_decimal("7", Currency::USDT).unwrap().minor,
            7_000_000
        );
        assert_eq!(
            Money::parse_decimal("1.001", Currency::USD),
            Err(MoneyError::TooPrecise(2))
        );
        assert_eq!(
            Money::parse_decimal("1.000", Currency::USD),
            Err(MoneyError::TooPrecise(2))
        );
        for bad in ["", ".5", "5.", "-1", "+1", "1e3", "1,00", " 1", "0x10"] {
            assert_eq!(
                Money::parse_decimal(bad, Currency::USD),
                Err(MoneyError::Malformed),
                "{bad}"
            );
        }
        assert_eq!(
            Money::parse_decimal("92233720368547758.08", Currency::USD),
            Err(MoneyError::Overflow)
        );
    }

    #[test]
    fn formats() {
        let m = Money::new(10031, Currency::USD);
        assert_eq!(m.to_decimal_string(), "100.31");
        assert_eq!(
            Money::new(9990, Currency::USD).to_short_decimal_string(),
            "99.9"
        );
        assert_eq!(
            Money::new(10000, Currency::USD).to_short_decimal_string(),
            "100"
        );
        assert_eq!(
            Money::new(1, Currency::USDT).to_decimal_string(),
            "0.000001"
        );
        assert_eq!(Money::new(-5, Currency::CNY).to_decimal_string(), "-0.05");
        assert_eq!(Currency::from_code("usdt"), Some(Currency::USDT));
        assert_eq!(Currency::from_code("XXX"), None);
    }

    #[test]
    fn mismatched_currencies_do_not_add() {
        let a = Money::new(1, Currency::USD);
        let b = Money::new(1, Currency::CNY);
        assert!(matches!(
            a.checked_add(b),
            Err(MoneyError::CurrencyMismatch(..))
        ));
    }

    fn currency() -> impl Strategy<Value = Currency> {
        (0..CURRENCIES.len()).prop_map(|i| Currency(i as u8))
    }

    proptest! {
        #[test]
        fn decimal_round_trip(minor in 0i64..i64::MAX, c in currency()) {
            let m = Money::new(minor, c);
            prop_assert_eq!(Money::parse_decimal(&m.to_decimal_string(), c), Ok(m));
            prop_assert_eq!(Money::parse_decimal(&m.to_short_decimal_string(), c), Ok(m));
        }

        #[test]
        fn add_then_sub_is_identity(a in -(1i64<<60)..(1i64<<60), b in -(1i64<<60)..(1i64<<60), c in currency()) {
            let (x, y) = (Money::new(a, c), Money::new(b, c));
            prop_assert_eq!(x.checked_add(y).unwrap().checked_sub(y).unwrap(), x);
            prop_assert_eq!(x.checked_add(y), y.checked_add(x));
        }

        #[test]
        fn overflow_is_an_error_not_a_wrap(a in any::<i64>(), b in any::<i64>()) {
            let r = Money::new(a, Currency::USD).checked_add(Money::new(b, Currency::USD));
            match a.checked_add(b) {
                Some(s) => prop_assert_eq!(r.unwrap().minor, s),
                None => prop_assert_eq!(r, Err(MoneyError::Overflow)),
            }
        }
    }
}
