//! The receive-window check of spec 3.5: request time against the server's `now`, both in Unix ms.

/// Default receive window when the request sends none (ms).
pub const DEFAULT_RECV_WINDOW_MS: u64 = 30_000;
/// Largest receive window a request may ask for (ms).
pub const MAX_RECV_WINDOW_MS: u64 = 60_000;
/// Default tolerance for request times ahead of the server clock (ms).
pub const DEFAULT_SKEW_MS: u64 = 1_000;

/// Why a time or window header was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    /// `BlockATM-Request-Time` is not a plain decimal number of milliseconds.
    #[error("malformed request time")]
    BadTime,
    /// The receive window is not digits, is 0, or exceeds [`MAX_RECV_WINDOW_MS`] (`000102`).
    #[error("illegal receive window")]
    BadWindow,
    /// The request is older than the window (`000105`).
    #[error("request time outside the receive window")]
    Stale,
    /// The request claims a time too far ahead of the server (`000105`).
    #[error("request time in the future")]
    Future,
}

/// Parses `BlockATM-Request-Time`: 1 to 19 ASCII digits.
pub fn parse_request_time(text: &str) -> Result<u64, WindowError> {
    parse_digits(text).ok_or(WindowError::BadTime)
}

/// Parses the receive window header value (`None` = header absent → default).
pub fn parse_recv_window(text: Option<&str>) -> Result<u64, WindowError> {
    let Some(text) = text else {
        return Ok(DEFAULT_RECV_WINDOW_MS);
    };
    match parse_digits(text) {
        Some(ms) if (1..=MAX_RECV_WINDOW_MS).contains(&ms) => Ok(ms),
        _ => Err(WindowError::BadWindow),
    }
}

/// Accepts `t` when `now - t <= window` and `t <= now + skew`.
pub fn check_window(t: u64, now_ms: u64, window_ms: u64, skew_ms: u64) -> Result<(), WindowError> {
    if t > now_ms.saturating_add(skew_ms) {
        return Err(WindowError::Future);
    }
    if now_ms.saturating_sub(t) > window_ms {
        return Err(WindowError::Stale);
    }
    Ok(())
}

fn parse_digits(text: &str) -> Option<u64> {
    // `u64::from_str` would also take a leading `+`; the headers are digits only.
    if text.is_empty() || text.len() > 19 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_edges() {
        let now = 1_743_060_268_000;
        assert_eq!(check_window(now - 30_000, now, 30_000, 1_000), Ok(()));
        assert_eq!(
            check_window(now - 30_001, now, 30_000, 1_000),
            Err(WindowError::Stale)
        );
        assert_eq!(check_window(now + 1_000, now, 30_000, 1_000), Ok(()));
        assert_eq!(
            check_window(now + 1_001, now, 30_000, 1_000),
            Err(WindowError::Future)
        );
        assert_eq!(
            check_window(now + 1, now, 30_000, 0),
            Err(WindowError::Future)
        );
    }

    #[test]
    fn recv_window_values() {
        assert_eq!(parse_recv_window(None), Ok(30_000));
        assert_eq!(parse_recv_window(Some("60000")), Ok(60_000));
        assert_eq!(parse_recv_window(Some("1")), Ok(1));
        for bad in ["0", "60001", "", "+5", "5s", "-1", "99999999999999999999"] {
            assert_eq!(
                parse_recv_window(Some(bad)),
                Err(WindowError::BadWindow),
                "{bad}"
            );
        }
    }

    #[test]
    fn request_time_digits_only() {
        assert_eq!(parse_request_time("1743060268000"), Ok(1_743_060_268_000));
        for bad in ["", " 1", "1.0", "+1", "0x10", "12345678901234567890"] {
            assert_eq!(parse_request_time(bad), Err(WindowError::BadTime), "{bad}");
        }
    }
}
