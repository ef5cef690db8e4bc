//! OTT Pay processV2 (spec `protocols/ottpay.md`): wire types, the two-level md5 + AES-128-ECB
//! protection, the server's pure request handling, callback encoding and the merchant-side client.
//!
//! Entry points: [`inbound::parse_request`] (server), [`inbound::render_success`] and
//! [`envelope::OttError::render`] (answers), [`notify::encode_callback`] (callbacks),
//! [`client::Client`] (merchant SDK), [`server::router`] and [`server::notifier`] (the HTTP
//! front door on the engine and the callback encoder).

pub mod callbacks;
pub mod client;
pub mod data;
pub mod envelope;
pub mod inbound;
pub mod notify;
pub mod server;
pub mod sign;
mod validate;
pub mod wire;

#[cfg(test)]
mod vectors;

pub use client::{Client, ClientCredentials, ClientError, PreparedRequest, Reply};
pub use envelope::{HttpResponse, OttError, ResponseData};
pub use inbound::{Authenticated, Credentials, InboundRequest, OttRequest, parse_request};
pub use sign::SignKey;
