//! `polypay client <protocol> …`: the merchant side of each protocol from the command line —
//! sign requests, send them, print the response and whether its signature verified.

pub mod blockatm;
pub mod fintech33;
pub mod ottpay;
pub mod passtopay;
pub mod v2sha256;

use clap::Subcommand;

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
