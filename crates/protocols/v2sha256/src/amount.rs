//! Decimal-string amounts (§5.1): strict parsing into integer minor units, never rounding, and
//! rendering with exactly the currency's number of decimals.

use std::fmt;

/// Integer digits allowed before the point (regex A: `0|[1-9][0-9]{0,14}`).
const MAX_INTEGER_DIGITS: usize = 15;

/// Why a wire amount was refused; the Display text is the `<reason>` of a PARAM_ERROR.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("must be a decimal string like \"100.05\"")]
    Syntax,
    #[error("must have at most {0} decimal places")]
    TooManyDecimals(u32),
    #[error("must be greater than 0")]
    NotPositive,
    #[error("is too large")]
    Overflow,
}

/// A request amount that matched the shape of regex A and is > 0, but is not yet tied to a
/// currency. refund/create needs this: the refund's currency (and so its exponent) is the
/// payment's, which only the business layer knows.
#[derive(Clone, PartialEq, Eq)]
pub struct DecimalAmount {
    integer: String,
    fraction: String,
}

impl DecimalAmount {
    /// Checks `^(0|[1-9][0-9]{0,14})(\.[0-9]+)?$` and value > 0. The decimal count is checked
    /// later against the currency by [`DecimalAmount::to_minor`].
    pub fn parse(text: &str) -> Result<DecimalAmount, AmountError> {
        let (integer, fraction) = match text.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (text, None),
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let leading_zero = integer.len() > 1 && integer.starts_with('0');
        if !digits(integer) || leading_zero || fraction.is_some_and(|f| !digits(f)) {
            return Err(AmountError::Syntax);
        }
        if integer.len() > MAX_INTEGER_DIGITS {
            return Err(AmountError::Overflow);
        }
        let fraction = fraction.unwrap_or("");
        if integer.bytes().chain(fraction.bytes()).all(|b| b == b'0') {
            return Err(AmountError::NotPositive);
        }
        Ok(DecimalAmount {
            integer: integer.to_owned(),
            fraction: fraction.to_owned(),
        })
    }

    /// Minor units for a currency with `exponent` decimals; more decimals than that is an error
    /// (never rounded).
    pub fn to_minor(&self, exponent: u32) -> Result<i64, AmountError> {
        if self.fraction.len() > exponent as usize {
            return Err(AmountError::TooManyDecimals(exponent));
        }
        let padding = exponent as usize - self.fraction.len();
        let digits = self.integer.bytes().chain(self.fraction.bytes());
        let mut minor: i64 = 0;
        for d in digits.chain(std::iter::repeat_n(b'0', padding)) {
            minor = minor
                .checked_mul(10)
                .and_then(|m| m.checked_add(i64::from(d - b'0')))
                .ok_or(AmountError::Overflow)?;
        }
        Ok(minor)
    }
}

impl fmt::Debug for DecimalAmount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DecimalAmount({self})")
    }
}

impl fmt::Display for DecimalAmount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.integer)?;
        if !self.fraction.is_empty() {
            write!(f, ".{}", self.fraction)?;
        }
        Ok(())
    }
}

/// Parses a request amount for a currency with `exponent` decimals (regex A with E = exponent).
pub fn parse_amount(text: &str, exponent: u32) -> Result<i64, AmountError> {
    DecimalAmount::parse(text)?.to_minor(exponent)
}

/// Renders minor units with exactly `exponent` decimals: `10005, 2 -> "100.05"`, `0 -> "0.00"`.
pub fn format_amount(minor: i64, exponent: u32) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let digits = minor.unsigned_abs().to_string();
    let e = exponent as usize;
    if e == 0 {
        return format!("{sign}{digits}");
    }
    let padded = format!("{digits:0>width$}", width = e + 1);
    let (integer, fraction) = padded.split_at(padded.len() - e);
    format!("{sign}{integer}.{fraction}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_regex_a() {
        assert_eq!(parse_amount("100.05", 2), Ok(10005));
        assert_eq!(parse_amount("100.5", 2), Ok(10050));
        assert_eq!(parse_amount("7", 2), Ok(700));
        assert_eq!(parse_amount("0.01", 2), Ok(1));
        assert_eq!(
            parse_amount("999999999999999.99", 2),
            Ok(99_999_999_999_999_999)
        );
    }

    #[test]
    fn refuses_everything_else() {
        for bad in [
            "", ".5", "1.", "01", "00.5", "+1", "-1", "1e2", " 1", "1 ", "1,00", "１",
        ] {
            assert_eq!(parse_amount(bad, 2), Err(AmountError::Syntax), "{bad:?}");
        }
        assert_eq!(
            parse_amount("1.005", 2),
            Err(AmountError::TooManyDecimals(2))
        );
        assert_eq!(parse_amount("1.5", 0), Err(AmountError::TooManyDecimals(0)));
        assert_eq!(parse_amount("0", 2), Err(AmountError::NotPositive));
        assert_eq!(parse_amount("0.00", 2), Err(AmountError::NotPositive));
        assert_eq!(
            parse_amount("1000000000000000", 2),
            Err(AmountError::Overflow)
        );
    }

    #[test]
    fn formats_exactly_e_decimals() {
        assert_eq!(format_amount(10005, 2), "100.05");
        assert_eq!(format_amount(10000, 2), "100.00");
        assert_eq!(format_amount(0, 2), "0.00");
        assert_eq!(format_amount(5, 2), "0.05");
        assert_eq!(format_amount(-5, 2), "-0.05");
        assert_eq!(format_amount(42, 0), "42");
        assert_eq!(format_amount(1, 3), "0.001");
    }

    #[test]
    fn decimal_amount_defers_the_exponent() {
        let a = DecimalAmount::parse("12.345").unwrap();
        assert_eq!(a.to_string(), "12.345");
        assert_eq!(a.to_minor(3), Ok(12345));
        assert_eq!(a.to_minor(2), Err(AmountError::TooManyDecimals(2)));
    }
}
