//! PassToPay (pass2pay, white-label Jeepay) protocol: wire types, MD5 signing, the server's pure
//! request handling, notification encoding and the merchant-side client SDK.
//!
//! Spec: `shared/protocols/passtopay.md`. Map of the crate:
//! - [`params`]: received parameter maps (JSON/form/query detection, raw value rendering);
//! - [`sign`]: the entry-string sort and MD5 signature;
//! - [`wire`]: serde types, paths, enums, status mapping;
//! - [`validate`]: field formats; [`inbound`]: route → authenticate → validate;
//! - [`envelope`]: error table and signed success responses;
//! - [`notify`]: callbacks, ack rule, retries, redirects; [`client`]: the SDK;
//! - [`server`]: the HTTP glue on the engine (router, cashier redirects, callback encoder).

pub mod client;
pub mod credentials;
pub mod envelope;
pub mod inbound;
pub mod notify;
pub mod params;
pub mod server;
pub mod sign;
pub mod validate;
pub mod wire;

pub use client::{Client, ClientError, PreparedRequest, Verified};
pub use credentials::{AppSecret, Credentials, MerchantSettings};
pub use envelope::{ApiError, HttpResponse, TraceId, render_success};
pub use inbound::{HttpRequest, Inbound, Request, parse_request};
pub use notify::{CallbackData, OutgoingRequest, is_ack};
pub use wire::{Endpoint, NotifyFormat};
