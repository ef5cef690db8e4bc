//! The five protocol front doors, mounted at their specs' paths, and their callback encoders.
//!
//! Each protocol crate exports `server::router(Engine, Arc<Platform>) -> Router` and
//! `server::notifier(Arc<Platform>) -> Arc<dyn ProtocolNotifier>`. Their responses pass
//! through [`crate::signature_log`], which explains refused signatures at debug level.

use crate::signature_log::SignatureLogLayer;
use axum::Router;
use axum::body::Body;
use polypay_core::Protocol;
use polypay_engine::{Engine, Platform};
use polypay_notify::ProtocolNotifier;
use serde_json::Value;
use std::sync::Arc;
use tower_http::map_request_body::MapRequestBodyLayer;

/// Every protocol's routes, merged; a refused signature is explained in the debug log.
pub fn routers(engine: &Engine, platform: &Arc<Platform>, body_limit: usize) -> Router {
    let (e, p) = (engine, platform);
    // A protocol with a body limit of its own (spec: 1 MiB) has its bodies bounded, and
    // drained past it, at that limit too, so its refusal is not answered mid-upload.
    let own = |router: Router, limit: usize| {
        let limit = limit.min(body_limit);
        router.layer(MapRequestBodyLayer::new(move |body: Body| {
            crate::bounded::bounded(body, limit)
        }))
    };
    Router::new()
        .merge(polypay_passtopay::server::router(e.clone(), p.clone()))
        .merge(polypay_blockatm::server::router(e.clone(), p.clone()))
        .merge(own(
            polypay_ottpay::server::router(e.clone(), p.clone()),
            polypay_ottpay::wire::MAX_BODY_BYTES,
        ))
        .merge(own(
            polypay_v2sha256::server::router(e.clone(), p.clone()),
            polypay_v2sha256::inbound::MAX_BODY_BYTES,
        ))
        .merge(own(
            polypay_fintech33::server::router(e.clone(), p.clone()),
            polypay_fintech33::inbound::MAX_BODY_BYTES,
        ))
        .layer(SignatureLogLayer::new(e.clone(), p.clone()))
}

/// Protocol-owned state past its life, deleted on every node's sweep (both modes): 33 Fintech's
/// expired tokens. Returns how many records went.
pub async fn housekeeping(engine: &Engine) -> Result<u64, polypay_engine::EngineError> {
    polypay_fintech33::server::purge_expired_tokens(engine).await
}

/// Checks a new per-merchant settings block of `protocol` before it is stored: unknown options
/// and values of the wrong shape are refused, each named with what it takes.
/// Whether the sandbox moves a new payout to processing at once (the specs' sandbox sections):
/// V2_SHA256's worker picks payouts up immediately and PassToPay's transfers are processing
/// from creation, while a BlockATM payout stays pending until it succeeds (its processing
/// status reads "locked", which only the control API or a rule sets). OTT Pay and 33 Fintech
/// make no payouts.
pub fn sandbox_processes_payouts(protocol: Protocol) -> bool {
    match protocol {
        Protocol::Blockatm => false,
        Protocol::Passtopay | Protocol::V2sha256 | Protocol::Ottpay | Protocol::Fintech33 => true,
    }
}

/// Checks a public key a merchant registers for `protocol` and answers the form stored:
/// BlockATM V1's P-256 key as base64 SubjectPublicKeyInfo DER (the form its demo hands out),
/// 33 Fintech's RSA key (2048 to 8192 bits, §3.2: checked at registration) as SPKI PEM. Each
/// takes PEM or base64 DER, as its spec says.
pub fn checked_public_key(protocol: Protocol, text: &str) -> Result<String, String> {
    if text.contains("PRIVATE KEY") {
        return Err(
            "this is a private key, which stays with the merchant: register its \
             public key (openssl pkey -in key.pem -pubout)"
                .into(),
        );
    }
    match protocol {
        Protocol::Blockatm => polypay_blockatm::sign::EcPublicKey::parse(text)
            .map(|key| key.to_base64())
            .map_err(|_| {
                let kind = polypay_blockatm::sign::EcPublicKey::mismatch(text)
                    .unwrap_or("not a P-256 public key");
                format!(
                    "{kind}: BlockATM V1 takes a P-256 (prime256v1) key, as PEM (BEGIN \
                     PUBLIC KEY) or base64 SubjectPublicKeyInfo DER"
                )
            }),
        Protocol::Fintech33 => polypay_fintech33::RsaPublicKey::from_text(text)
            .map(|key| key.to_spki_pem())
            .map_err(|e| format!("not a usable RSA public key: {e}")),
        other => Err(format!(
            "{} takes no public key (blockatm and fintech33 do)",
            other.as_str()
        )),
    }
}

/// What a payment's protocol records from a gateway rail's success report beside its
/// reference (`details` of the settlement API), merged as cashier marks are: BlockATM's
/// sender and block time ([`polypay_blockatm::orders::settlement_marks`]), OTT Pay's payer
/// ([`polypay_ottpay::server::settlement_marks`]). The other protocols take none.
pub fn settlement_marks(
    payment: &polypay_core::Payment,
    details: &serde_json::Map<String, Value>,
) -> Result<serde_json::Map<String, Value>, String> {
    match payment.protocol {
        Protocol::Blockatm => polypay_blockatm::orders::settlement_marks(payment, details),
        Protocol::Ottpay => polypay_ottpay::server::settlement_marks(details),
        _ if details.is_empty() => Ok(serde_json::Map::new()),
        other => Err(format!("{} takes no details", other.as_str())),
    }
}

pub fn check_settings(protocol: Protocol, value: &Value) -> Result<(), String> {
    match protocol {
        Protocol::Passtopay => polypay_passtopay::MerchantSettings::check(value),
        Protocol::Blockatm => polypay_blockatm::merchant::Settings::check(value),
        Protocol::Ottpay => polypay_ottpay::server::MerchantSettings::check(value),
        Protocol::V2sha256 => polypay_v2sha256::settings::Settings::check(value),
        Protocol::Fintech33 => polypay_fintech33::settings::MerchantSettings::check(value),
    }
}

/// Every protocol's callback and redirect encoder.
pub fn notifiers(platform: &Arc<Platform>) -> Vec<Arc<dyn ProtocolNotifier>> {
    vec![
        polypay_passtopay::server::notifier(platform.clone()),
        polypay_blockatm::server::notifier(platform.clone()),
        polypay_ottpay::server::notifier(platform.clone()),
        polypay_v2sha256::server::notifier(platform.clone()),
        polypay_fintech33::server::notifier(platform.clone()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// BlockATM's spec key (its T1 pair), registered as PEM, is stored in the base64 SPKI DER
    /// form its demo hands out; another curve or a broken key is refused with what to give.
    #[test]
    fn a_blockatm_key_is_stored_as_base64_spki() {
        let spki = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEsjqDDEF5uuVoAFCxftskpMszLQMro888rFlrowcTzVibc4J2PgDywFZYXc6x21yHcenJ2bCZ/03XkMrbKqqEwA==";
        let pem = format!("-----BEGIN PUBLIC KEY-----\n{spki}\n-----END PUBLIC KEY-----\n");
        assert_eq!(
            checked_public_key(Protocol::Blockatm, &pem).as_deref(),
            Ok(spki)
        );
        assert_eq!(
            checked_public_key(Protocol::Blockatm, spki).as_deref(),
            Ok(spki)
        );
        let broken = checked_public_key(Protocol::Blockatm, &spki[..40]).unwrap_err();
        assert!(broken.starts_with("not a P-256 public key"), "{broken}");
        // A P-384 key (openssl ecparam -name secp384r1 -genkey | openssl ec -pubout).
        let p384 = "MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEmecWy1jLXjOqNJC4Jrjv8AOE0/DUIDKbPg8TFA8CVjG00J6aWcG9H+2tpS1pvyh/39WE0bcznjjhZ3nxTECQVohLtFRgNjdSX6nwM6WlKrpcRrNTghRsHQG6M43E2Pqq";
        let other = checked_public_key(Protocol::Blockatm, p384).unwrap_err();
        assert!(other.starts_with("an EC key on another curve"), "{other}");
        let private = checked_public_key(Protocol::Fintech33, "-----BEGIN PRIVATE KEY-----\nMII\n")
            .unwrap_err();
        assert!(private.starts_with("this is a private key"), "{private}");
        let ottpay = checked_public_key(Protocol::Ottpay, spki).unwrap_err();
        assert!(ottpay.contains("ottpay takes no public key"), "{ottpay}");
    }
}
