//! `polypay client <protocol> …`: the merchant side of each protocol from the command line —
//! sign requests, send them, print the response and whether its signature verified.

pub mod blockatm;
pub mod fintech33;
pub mod ottpay;
pub mod passtopay;
pub mod v2sha256;

use anyhow::{Context, bail};
use clap::Subcommand;
use serde_json::Value;
use std::io::Read;
use std::path::Path;

#[derive(Subcommand)]
pub enum ClientCommand {
    /// PassToPay (Jeepay family): MD5-signed JSON.
    #[command(subcommand)]
    Passtopay(passtopay::Command),
    /// BlockATM: HMAC-SHA256 (V2) / ECDSA (V1) headers.
    #[command(subcommand)]
    Blockatm(blockatm::Command),
    /// OTT Pay processV2: md5 + AES-128-ECB.
    #[command(subcommand)]
    Ottpay(ottpay::Command),
    /// V2_SHA256 Authorization header gateway.
    #[command(subcommand)]
    V2sha256(v2sha256::Command),
    /// 33 Fintech: bearer token, AES bizContent, RSA sign.
    #[command(subcommand)]
    Fintech33(fintech33::Command),
}

pub async fn run(cmd: ClientCommand) -> anyhow::Result<()> {
    match cmd {
        ClientCommand::Passtopay(c) => passtopay::run(c).await,
        ClientCommand::Blockatm(c) => blockatm::run(c).await,
        ClientCommand::Ottpay(c) => ottpay::run(c).await,
        ClientCommand::V2sha256(c) => v2sha256::run(c).await,
        ClientCommand::Fintech33(c) => fintech33::run(c).await,
    }
}

/// A request or callback body: the file at `source`, or standard input for `-`.
pub(crate) fn read_input(source: impl AsRef<Path>) -> anyhow::Result<Vec<u8>> {
    let source = source.as_ref();
    if source == Path::new("-") {
        let mut buf = Vec::new();
        std::io::stdin().read_to_end(&mut buf)?;
        return Ok(buf);
    }
    std::fs::read(source).with_context(|| format!("reading {}", source.display()))
}

/// For a callback body that did not verify: says on stderr when the file ends in a line break
/// and the body verifies without it ([`newline_hint`]).
pub(crate) fn explain_final_newline(body: &[u8], verifies: impl Fn(&[u8]) -> bool) {
    if let Some(hint) = newline_hint(body, verifies) {
        eprintln!("{hint}");
    }
}

/// For a callback body that did not verify: when the file ends in a line break and the body
/// verifies without it, a hint that says so. Editors and `echo` add that line break; the sender
/// signed the exact bytes it sent, so the check itself stays strict.
fn newline_hint(body: &[u8], verifies: impl Fn(&[u8]) -> bool) -> Option<&'static str> {
    let trimmed = body
        .strip_suffix(b"\r\n")
        .or_else(|| body.strip_suffix(b"\n"))?;
    verifies(trimmed).then_some(
        "hint: the body verifies without the line break at the end of the file; the sender \
         signed the exact bytes it sent, so save the body without a final newline \
         (printf '%s' …, or curl -o)",
    )
}

/// `protocol`'s credentials object in a credentials file: the JSON `polypay merchant create
/// --json` prints (`credentials.<protocol>`), a `{"<protocol>": …}` file, or the bare object.
pub(crate) fn credentials_block(path: &Path, protocol: &str) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
    let v: Value = serde_json::from_str(&text).with_context(|| format!("{}", path.display()))?;
    let block = v
        .pointer(&format!("/credentials/{protocol}"))
        .or_else(|| v.get(protocol))
        .unwrap_or(&v);
    if !block.is_object() {
        bail!("{}: no {protocol} credentials object", path.display());
    }
    Ok(block.clone())
}

#[cfg(test)]
mod tests {
    use super::newline_hint;

    #[test]
    fn a_final_line_break_the_sender_did_not_sign_gets_a_hint() {
        let signed = |b: &[u8]| b == br#"{"a":1}"#;
        assert!(newline_hint(b"{\"a\":1}\n", signed).is_some());
        assert!(newline_hint(b"{\"a\":1}\r\n", signed).is_some());
        // No final line break, or a body that fails without it too: nothing to hint.
        assert!(newline_hint(b"{\"a\":1}", signed).is_none());
        assert!(newline_hint(b"{\"a\":2}\n", signed).is_none());
    }
}
