//! `polypay client blockatm …` (not implemented yet: the protocol's phase 2 replaces this file).

use clap::Subcommand;

#[derive(Subcommand)]
pub enum Command {
    /// Not implemented yet.
    Pending,
}

pub async fn run(_cmd: Command) -> anyhow::Result<()> {
    anyhow::bail!("polypay client blockatm is not implemented yet")
}
