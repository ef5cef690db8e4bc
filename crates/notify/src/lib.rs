//! Merchant callbacks: the per-protocol encoding contract ([`ProtocolNotifier`]) and the
//! dispatcher that delivers outbox events durably, signed, and retried on each protocol's schedule.
//!
//! Flow: every state change appends an outbox event in its own transaction; the [`Dispatcher`]
//! ingests each event into exactly one delivery (encoded at once and stored as it will be sent),
//! leases due deliveries (safe with several nodes on PostgreSQL), sends them under a concurrency
//! bound and the SSRF guard, logs every attempt, and reschedules by the protocol's offsets until
//! acknowledged or dead. [`operator`] is the admin API's and CLI's view of it.

pub mod attempt;
pub mod cashier;
pub mod dispatcher;
pub mod error;
mod ingest;
pub mod metrics;
pub mod operator;
pub mod protocol;
pub mod schedule;
pub mod ssrf;
mod worker;

pub use cashier::{
    CashierAction, CashierChallenge, CashierField, CashierForm, CashierInput, CashierMarks,
};
pub use dispatcher::{DispatchConfig, DispatchReport, Dispatcher};
pub use error::NotifyError;
pub use protocol::{
    CallbackRequest, Encoded, ProtocolNotifier, Skip, silent_events, silent_states,
};
