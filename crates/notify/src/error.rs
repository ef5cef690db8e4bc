//! The notifier's error type. Messages carry ids and causes, never request headers or bodies.

use polypay_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No delivery has this id.
    #[error("delivery {0} not found")]
    NotFound(i64),
    /// A resend of a delivery that has no request, and the protocol still sends none for it.
    #[error("delivery {0} has no callback to send: {1}")]
    NotSendable(i64, String),
    /// The protocol's encoder failed.
    #[error("callback encoding failed: {0}")]
    Encode(String),
    /// A blocking task of the dispatcher failed.
    #[error("dispatcher task failed: {0}")]
    Task(String),
}
