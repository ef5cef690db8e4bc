//! Application services: the one place money moves.
//!
//! Every operation is a single group-committed store job: load, apply the core transition,
//! append ledger entries and outbox events, commit — and only then answer the caller.

pub mod console;
pub mod error;
pub mod events;
pub mod keys;
pub mod ledger;
pub mod merchant;
pub mod payment;
pub mod payout;
pub mod platform;
pub mod records;
pub mod refund;
pub mod sandbox;

pub use error::EngineError;
pub use merchant::{NewMerchant, SandboxKeys};
pub use payment::NewPayment;
pub use payout::NewPayout;
pub use platform::Platform;
pub use refund::NewRefund;
pub use sandbox::{Scenario, Scenarios};

use polypay_core::Clock;
use polypay_store::Store;
use rand::RngCore;
use std::sync::Arc;

/// The engine, shared by every protocol front door, the cashier, the sandbox and the sweepers.
#[derive(Clone)]
pub struct Engine {
    store: Store,
    clock: Arc<dyn Clock>,
    /// Sandbox scenarios; `None` in gateway mode.
    scenarios: Option<Scenarios>,
}

impl Engine {
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Engine {
        Engine {
            store,
            clock,
            scenarios: None,
        }
    }

    /// Turns on sandbox scenarios (amount rules, auto-success).
    pub fn with_scenarios(mut self, scenarios: Scenarios) -> Engine {
        self.scenarios = Some(scenarios);
        self
    }

    pub fn scenarios(&self) -> Option<Scenarios> {
        self.scenarios
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }
}

/// `n` random bytes as lowercase hex (ids, tokens).
pub fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A random decimal string of exactly `digits` digits, not starting with 0 (provider-style ids).
pub fn random_digits(digits: usize) -> String {
    let mut rng = rand::rngs::OsRng;
    (0..digits)
        .map(|i| {
            let d = if i == 0 {
                1 + rng.next_u32() % 9
            } else {
                rng.next_u32() % 10
            };
            char::from(b'0' + d as u8)
        })
        .collect()
}
