//! Persistence for polypay: one [`Store`] over SQLite (embedded default) or PostgreSQL.
//!
//! Only this crate knows SQL. Both backends implement the tiny [`sql::Conn`] trait; every query
//! is written once in [`db::Db`] and runs on either. Writes go through the group-commit
//! [`writer`]: many callers' jobs share one durable transaction, each isolated by a savepoint and
//! answered only after the commit that holds it.

mod checkpoint;
mod claims;
pub mod console;
pub mod db;
pub mod delivery;
pub mod error;
mod migrate;
pub use migrate::schema_version;
mod pg;
mod pool;
pub mod seed;
pub mod sql;
mod sqlite;
mod store;
pub mod testing;
pub mod vault;
mod writer;

pub use db::{
    AuditEntry, AuditFilter, Db, Inserted, LedgerEntry, NonceArgs, OutboxAppend, OutboxEvent,
    PaymentRow, ProtocolRecord,
};
pub use delivery::{
    AfterAttempt, AttemptOutcome, Delivery, DeliveryAttempt, DeliveryFilter, DeliveryState,
    FinishedAttempt, LeaseRequest, NewDelivery, OutboxHorizon, Purged, SilentEvents, StoredRequest,
};
pub use error::StoreError;
pub use store::{Backend, Store, StoreOptions};
pub use vault::Vault;
pub use writer::Locks;
