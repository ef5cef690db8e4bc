//! The mark a protocol front door leaves on a response that refused a request's signature.

use crate::Protocol;

/// Put in the extensions of a response that refused a request because its signature (or
/// digest, or keyed encryption) did not verify, or because it fell outside a time window the
/// protocol checks as part of authentication. The server then explains the rejection in its
/// debug log; the protocol crates need not know about logging. It never reaches the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignatureRejected(pub Protocol);
