//! What a protocol front door needs besides the engine: where polypay is reachable, whether it
//! runs as a sandbox, and the platform's own key pairs.

use crate::keys::PemPair;

/// Shared, read-only facts about this polypay environment.
#[derive(Debug, Clone)]
pub struct Platform {
    /// Externally visible base URL without a trailing slash (cashier links, QR images).
    pub public_base_url: String,
    /// Sandbox mode: cashier actions, control API, scenario rules.
    pub sandbox: bool,
    /// The platform's EC P-256 pair (BlockATM V1 webhook signatures).
    pub ec_key: PemPair,
    /// The platform's RSA-2048 pair (33 Fintech responses and webhooks).
    pub rsa_key: PemPair,
}

impl Platform {
    /// The hosted cashier page of a payment.
    pub fn cashier_url(&self, cashier_token: &str) -> String {
        format!("{}/cashier/{cashier_token}", self.public_base_url)
    }
}
