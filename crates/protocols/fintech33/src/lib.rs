//! 33 Fintech (`fintech33`): the `/api/v2/pay` envelope with AES `bizContent` and RSA `sign`,
//! served to merchants and spoken by the merchant SDK.
//!
//! Layout: [`wire`] (serde types, amounts, times, status mapping), [`sign`] (AES, RSA, keys,
//! seal/open of an envelope), [`credentials`] (merchant settings, token store interface),
//! [`inbound`] (server request parsing in the §3.4 order, error envelopes), [`validate`]
//! (service field validation of §5), [`render`] (response bytes), [`notify`] (webhook encoding,
//! ack rule, retry schedule), [`client`] (merchant SDK).
//!
//! Wired to the engine: [`settings`] (per-merchant options and credentials from the core
//! model), [`order_record`] (what an order keeps in `attrs`), [`server`] (the axum front door)
//! and [`callbacks`] (the webhook [`polypay_notify::ProtocolNotifier`]).

pub mod callbacks;
mod checkout;
pub mod client;
mod cpu;
pub mod credentials;
pub mod inbound;
pub mod notify;
pub mod order_record;
pub mod render;
pub mod server;
pub mod settings;
pub mod sign;
pub mod validate;
pub mod wire;

pub use client::{BusinessFailure, Client, ClientError, MerchantKeys, PreparedRequest, Verified};
pub use credentials::{CredentialLookup, Credentials, TokenGrant};
pub use inbound::{EnvelopeError, Inbound, InboundError, ServiceRequest, parse_request};
pub use notify::{HttpRequest, encode_webhook, is_ack};
pub use render::{HttpResponse, render_business_error, render_success, render_token_response};
pub use sign::{AesMode, BizCipher, PlatformKeys, RsaPrivateKey, RsaPublicKey, SignHash};
pub use validate::{BusinessError, ErrorCode};
pub use wire::{Amount, OrderStatus, ResponseData, Service};

/// Errors of key handling, cryptography and encoding (configuration-time or internal).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid AES key: must be standard base64 of exactly 32 bytes")]
    InvalidAesKey,
    #[error("invalid AES IV: must be standard base64 of exactly 16 bytes")]
    InvalidAesIv,
    #[error("invalid RSA key: {0}")]
    InvalidKey(&'static str),
    #[error("RSA modulus of {0} bits is outside the accepted 2048..=8192")]
    KeyTooSmall(u32),
    #[error("cryptographic operation failed: {0}")]
    Crypto(&'static str),
    #[error("invalid merchant setting: {0}")]
    InvalidSetting(&'static str),
    #[error("JSON encoding failed: {0}")]
    Json(#[from] serde_json::Error),
}
