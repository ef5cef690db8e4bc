//! Merchant callbacks: the per-protocol encoding contract ([`ProtocolNotifier`]) and the
//! dispatcher that delivers outbox events durably, signed, and retried on each protocol's schedule.

pub mod protocol;

pub use protocol::{CallbackRequest, ProtocolNotifier};
