//! Times as `yyyy-MM-dd HH:mm:ss.SSS+0000` in UTC (§3.5).

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;

/// Formats `ts` in UTC with milliseconds (truncated, as Java's `SimpleDateFormat` does).
pub fn format_time(ts: Timestamp) -> String {
    let dt = TimeZone::UTC.to_datetime(ts);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:03}+0000",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        dt.subsec_nanosecond() / 1_000_000
    )
}

/// Parses exactly the format of [`format_time`] (offset must be `+0000`).
pub fn parse_time(text: &str) -> Option<Timestamp> {
    let b = text.as_bytes();
    let shape_ok = b.len() == 28
        && text.is_ascii()
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b' '
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'.'
        && &text[23..] == "+0000";
    if !shape_ok {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i32> {
        let part = &text[range];
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())
            .flatten()
    };
    let dt = DateTime::new(
        i16::try_from(num(0..4)?).ok()?,
        i8::try_from(num(5..7)?).ok()?,
        i8::try_from(num(8..10)?).ok()?,
        i8::try_from(num(11..13)?).ok()?,
        i8::try_from(num(14..16)?).ok()?,
        i8::try_from(num(17..19)?).ok()?,
        num(20..23)? * 1_000_000,
    )
    .ok()?;
    TimeZone::UTC.to_timestamp(dt).ok()
}

/// `#[serde(with = …)]` adapter for timestamp fields.
pub(crate) mod serde_text {
    use jiff::Timestamp;
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(ts: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_time(*ts))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let text = String::deserialize(d)?;
        super::parse_time(&text).ok_or_else(|| D::Error::custom("invalid time"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_with_millis() {
        let ts: Timestamp = "2024-01-01T12:12:12.345678Z".parse().unwrap();
        assert_eq!(format_time(ts), "2024-01-01 12:12:12.345+0000");
        let ts: Timestamp = "2024-01-01T20:12:12+08:00".parse().unwrap();
        assert_eq!(format_time(ts), "2024-01-01 12:12:12.000+0000");
    }

    #[test]
    fn parses_round_trip_and_rejects_other_offsets() {
        let ts = parse_time("2024-01-01 12:12:12.345+0000").unwrap();
        assert_eq!(format_time(ts), "2024-01-01 12:12:12.345+0000");
        assert_eq!(parse_time("2024-01-01 12:12:12.345+0800"), None);
        assert_eq!(parse_time("2024-01-01T12:12:12.345+0000"), None);
        assert_eq!(parse_time("2024-13-01 12:12:12.345+0000"), None);
    }
}
