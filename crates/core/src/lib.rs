//! polypay's core model: money, ids, merchants, payments, payouts, refunds and their state machines.
//!
//! Pure: no IO, no async, no provider wire formats. Every transition is a function
//! `state x command -> new state` that returns a typed error when the move is illegal.

pub mod clock;
pub mod error;
pub mod id;
pub mod merchant;
pub mod money;
pub mod payment;
pub mod payout;
pub mod refund;
pub mod settings;
pub mod signature;
pub mod state;
pub mod text;

pub use clock::{Clock, FixedClock, SystemClock, Timestamp};
pub use error::CoreError;
pub use id::{MerchantId, PaymentId, PayoutId, RefundId};
pub use merchant::{Credentials, Merchant, Protocol, Secret};
pub use money::{Currency, Money, MoneyError};
pub use payment::{Payment, PaymentCommand};
pub use payout::{Payout, PayoutCommand};
pub use refund::Refund;
pub use settings::SettingsCheck;
pub use signature::SignatureRejected;
pub use state::{PaymentState, PayoutState, RefundState, TransitionError};
