//! The `V2_SHA256` white-label gateway protocol (spec `protocols/v2sha256.md`): wire types, the
//! SHA-256 `Authorization` scheme, the server's pure request handling, webhook and redirect
//! encoding, the merchant-side client SDK, and the HTTP glue to the engine.
//!
//! Entry points: [`server::router`] and [`server::notifier`] (what polypay's server mounts);
//! [`inbound::handle`] (server: route, authenticate, validate) returning an
//! [`inbound::Inbound`] whose [`inbound::Authenticated`] renders signed answers;
//! [`envelope::ApiError`] (error envelopes); [`notify::encode_callback`] and
//! [`notify::redirect_url`] (notifications); [`client::Client`] (merchant SDK).

pub mod amount;
pub mod callbacks;
mod checkout;
pub mod client;
pub mod envelope;
pub mod error;
pub mod inbound;
pub mod notify;
pub mod objects;
pub mod server;
pub mod settings;
pub mod sign;
pub mod validate;
pub mod wire;

pub use amount::{AmountError, DecimalAmount, format_amount, parse_amount};
pub use client::{ApiResponse, Client, PreparedRequest, VerifiedCallback};
pub use envelope::{ApiError, AuthFailure, ErrorCode, HttpResponse};
pub use error::Error;
pub use inbound::{
    Authenticated, HttpRequest, Inbound, MerchantProfile, NonceClaim, ServerContext, handle,
};
pub use notify::{CallbackRequest, encode_callback, is_ack, redirect_url};
pub use sign::{AuthorizationHeader, Credentials};
pub use validate::{ApiRequest, CurrencyRule, Lookup};
pub use wire::{Callback, Endpoint, RedirectParams, ResponseData};
