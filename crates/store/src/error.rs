//! The store's error type. Messages never carry row data (which may hold secrets).

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL or options are unusable.
    #[error("configuration: {0}")]
    Config(String),
    /// The backend failed; the text is the driver's message (no parameters, no row data).
    #[error("database: {0}")]
    Backend(String),
    /// A conflict the caller may simply try again (deadlock, serialization failure).
    #[error("database conflict, retry: {0}")]
    Retryable(String),
    /// A stored row could not be decoded.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// A sealed secret could not be opened (wrong master key or tampered data).
    #[error("secret cannot be decrypted: wrong master key?")]
    Sealed,
    /// The writer is gone (shutting down).
    #[error("store is closed")]
    Closed,
    /// A credit would take a balance past what it can hold (`i64` minor units); nothing of it
    /// was written.
    #[error("the {0} balance cannot hold this credit")]
    BalanceLimit(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Backend(e.to_string())
    }
}

impl From<postgres::Error> for StoreError {
    fn from(e: postgres::Error) -> Self {
        use postgres::error::SqlState;
        let text = postgres_text(&e);
        match e.code() {
            Some(c)
                if *c == SqlState::T_R_DEADLOCK_DETECTED
                    || *c == SqlState::T_R_SERIALIZATION_FAILURE =>
            {
                StoreError::Retryable(text)
            }
            _ => StoreError::Backend(text),
        }
    }
}

/// The driver's error with what caused it: its own text is only the kind ("db error", "error
/// connecting to server"). A server error adds its message, never its detail (which may quote
/// row values); any other adds its causes (`Connection refused`, a TLS or I/O failure).
fn postgres_text(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{e}: {}", db.message());
    }
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.ends_with(&more) {
            text = format!("{text}: {more}");
        }
        cause = c.source();
    }
    text
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}
