//! Typed identifiers, so a payment id can never be passed where a payout id is expected.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The epoch of Jeepay-style snowflake ids (MyBatis-Plus' and Twitter's):
/// 2010-11-04T01:42:54.657Z in Unix milliseconds. The engine makes such ids, the store's bench
/// seeding imitates them.
pub const SNOWFLAKE_EPOCH_MS: u64 = 1_288_834_974_657;

macro_rules! typed_id {
    ($(#[$m:meta])* $name:ident, $prefix:literal) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// The prefix every id of this kind starts with (`pay_`, `po_`, ...).
            pub const PREFIX: &'static str = $prefix;

            /// Builds an id from its random part (the caller supplies randomness: core does no IO).
            pub fn from_random(random_hex: &str) -> $name {
                $name(format!("{}{}", $prefix, random_hex))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

typed_id!(
    /// A merchant.
    MerchantId, "mch_"
);
typed_id!(
    /// A pay-in.
    PaymentId, "pay_"
);
typed_id!(
    /// A payout (transfer).
    PayoutId, "po_"
);
typed_id!(
    /// A refund of a payment.
    RefundId, "rf_"
);
