//! BlockATM protocol: wire types, signing, the server's pure front door, webhook encoding and the merchant SDK.
//!
//! The contract is `/work/shared/protocols/blockatm.md`; section numbers in comments refer to it.
//! Everything here is pure except [`client::Client`]'s send methods and [`server`] (the HTTP glue
//! over the engine): clocks are passed in as `now` (Unix milliseconds) so the server, the
//! notifier and the tests drive time explicitly.

pub mod amount;
pub mod callbacks;
pub mod client;
pub mod inbound;
pub mod merchant;
pub mod network;
pub mod notify;
pub mod orders;
pub mod ratelimit;
pub mod server;
pub mod sign;
pub mod wire;

mod error;

pub use error::Error;

/// Header carrying the merchant's API key.
pub const HEADER_API_KEY: &str = "BlockATM-API-Key";
/// Header carrying the request (or webhook) time in Unix milliseconds, appended to the string to sign.
pub const HEADER_REQUEST_TIME: &str = "BlockATM-Request-Time";
/// Header carrying the lowercase-hex HMAC-SHA256 signature (V2).
pub const HEADER_SIGNATURE_V2: &str = "BlockATM-Signature-V2";
/// Header carrying the base64 DER ECDSA P-256 signature (V1).
pub const HEADER_SIGNATURE_V1: &str = "BlockATM-Signature-V1";
/// Receive-window header; wins over [`HEADER_RECV_WINDOW_ALT`] when both are sent.
pub const HEADER_REC_WINDOW: &str = "BlockATM-Rec_Window";
/// Second spelling of the receive-window header.
pub const HEADER_RECV_WINDOW_ALT: &str = "BlockATM-RECV_WINDOW";
/// Webhook header naming the event kind (`Payment` / `Payout`).
pub const HEADER_EVENT: &str = "BlockATM-Event";

/// Looks a header up by name, case-insensitively; the first occurrence wins.
pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}
