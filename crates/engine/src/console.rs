//! Operator actions the console offers on merchants: rotating one protocol secret.
//!
//! A rotation replaces exactly one secret with a freshly issued one (same shape as at onboarding)
//! in one write job; the new value is returned once for the operator to hand over, never stored
//! in the clear.

use crate::error::EngineError;
use crate::{Engine, merchant::issue_credentials};
use polypay_core::{Credentials, Merchant, MerchantId, Secret};

/// A merchant secret an operator can rotate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RotatableSecret {
    PassToPayAppSecret,
    BlockAtmSecretKey,
    OttPaySignKey,
    V2Sha256AppSecret,
    Fintech33AppSecret,
    Fintech33AesKey,
}

impl RotatableSecret {
    pub const ALL: [RotatableSecret; 6] = [
        RotatableSecret::PassToPayAppSecret,
        RotatableSecret::BlockAtmSecretKey,
        RotatableSecret::OttPaySignKey,
        RotatableSecret::V2Sha256AppSecret,
        RotatableSecret::Fintech33AppSecret,
        RotatableSecret::Fintech33AesKey,
    ];

    /// `protocol.field`, in the credential names merchants see.
    pub fn as_str(self) -> &'static str {
        match self {
            RotatableSecret::PassToPayAppSecret => "passtopay.appSecret",
            RotatableSecret::BlockAtmSecretKey => "blockatm.secretKey",
            RotatableSecret::OttPaySignKey => "ottpay.signKey",
            RotatableSecret::V2Sha256AppSecret => "v2sha256.appSecret",
            RotatableSecret::Fintech33AppSecret => "fintech33.appSecret",
            RotatableSecret::Fintech33AesKey => "fintech33.aesKey",
        }
    }

    pub fn parse(text: &str) -> Option<RotatableSecret> {
        RotatableSecret::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
    }

    /// The slot this secret lives in.
    fn slot(self, c: &mut Credentials) -> &mut Secret {
        match self {
            RotatableSecret::PassToPayAppSecret => &mut c.passtopay.app_secret,
            RotatableSecret::BlockAtmSecretKey => &mut c.blockatm.secret_key,
            RotatableSecret::OttPaySignKey => &mut c.ottpay.sign_key,
            RotatableSecret::V2Sha256AppSecret => &mut c.v2sha256.app_secret,
            RotatableSecret::Fintech33AppSecret => &mut c.fintech33.app_secret,
            RotatableSecret::Fintech33AesKey => &mut c.fintech33.aes_key,
        }
    }
}

impl Engine {
    /// Replaces one secret of a merchant with a freshly issued one; returns the updated merchant
    /// and the new secret (to be shown once). Every other credential stays as it was.
    pub async fn rotate_secret(
        &self,
        id: &MerchantId,
        which: RotatableSecret,
    ) -> Result<(Merchant, Secret), EngineError> {
        let mut fresh = issue_credentials();
        let secret = which.slot(&mut fresh).clone();
        let new = secret.clone();
        let m = self
            .change_merchant(id, move |m| *which.slot(&mut m.credentials) = new.clone())
            .await?;
        Ok((m, secret))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_slots_are_distinct() {
        let mut c = issue_credentials();
        for s in RotatableSecret::ALL {
            assert_eq!(RotatableSecret::parse(s.as_str()), Some(s));
            *s.slot(&mut c) = Secret::new(s.as_str());
        }
        for s in RotatableSecret::ALL {
            assert_eq!(s.slot(&mut c).expose(), s.as_str());
        }
    }
}
