//! `polypay merchant create|list|show|update|rotate|settings`: operate on the database
//! directly (no server needed; running nodes see a change within their one-second merchant
//! cache).

use crate::DbArgs;
use clap::Subcommand;
use polypay_core::MerchantId;
use polypay_engine::{MerchantUpdate, NewMerchant};
use polypay_server::audit::Operator;
use polypay_server::{Mode, Overrides};

#[derive(Subcommand)]
pub enum MerchantCommand {
    /// Create a merchant and print its credentials (once).
    Create {
        #[arg(long)]
        name: String,
        /// Callback URL of the protocols that fall back to the merchant's when an order names
        /// none (BlockATM, 33 Fintech).
        #[arg(long)]
        notify_url: Option<String>,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        db: DbArgs,
    },
    /// List merchants (public identifiers only).
    List {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Show one merchant with its settings and balances (no secrets).
    Show {
        id: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Change a merchant's name, default notify URL, or enabled flag (a disabled merchant's
    /// requests are refused; its queued callbacks still go out).
    Update {
        id: String,
        #[arg(long)]
        name: Option<String>,
        /// The new merchant callback URL (BlockATM, 33 Fintech); an empty one removes it.
        #[arg(long)]
        notify_url: Option<String>,
        /// Accept the merchant's requests again.
        #[arg(long, conflicts_with = "disable")]
        enable: bool,
        /// Refuse the merchant's requests, each in its protocol's own error envelope.
        #[arg(long)]
        disable: bool,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Issue a new value for one secret and print it (once); the old value stops working at
    /// once (within a second on running nodes).
    Rotate {
        id: String,
        /// passtopay.appSecret, blockatm.secretKey, ottpay.signKey, v2sha256.appSecret,
        /// fintech33.appSecret or fintech33.aesKey.
        secret: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// The merchant's statement in one currency: its available balance and the entries on it,
    /// newest first.
    Ledger {
        id: String,
        /// The balance's currency (CNY, USD, …).
        #[arg(long)]
        currency: String,
        /// How many entries (at most 500).
        #[arg(long, default_value_t = 50)]
        limit: i64,
        /// Only entries older than this one (the `next_before` of the previous page).
        #[arg(long)]
        before: Option<i64>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Register the public key the merchant signs with: BlockATM V1's P-256 key or 33
    /// Fintech's RSA key (PEM or base64 DER), read from a file (`-`: standard input).
    PublicKey {
        id: String,
        /// blockatm or fintech33.
        protocol: String,
        /// The key file (`-` reads standard input).
        file: std::path::PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Print one protocol's settings of a merchant, or replace them with a JSON object (the
    /// options are in docs/protocols.md; `{}` restores the defaults).
    Settings {
        id: String,
        /// passtopay, blockatm, ottpay, v2sha256 or fintech33.
        protocol: String,
        /// The new settings, e.g. '{"refund_delay_ms": 5000}'; without it they are printed.
        json: Option<String>,
        #[command(flatten)]
        db: DbArgs,
    },
}

pub async fn run(cmd: MerchantCommand) -> anyhow::Result<()> {
    match cmd {
        MerchantCommand::Create {
            name,
            notify_url,
            json,
            db,
        } => {
            let mut config = db.load(Overrides::default())?;
            // What it makes depends on the mode (sandbox keys or none), so it records the mode
            // on a database that has none yet, as a node does.
            let boot = polypay_server::bootstrap_node(&mut config).await?;
            let new = NewMerchant {
                name,
                notify_url,
                generate_keys: config.mode == Mode::Sandbox,
            };
            let (m, keys) = boot.engine.prepare_merchant(new)?;
            let detail = serde_json::json!({"name": m.name});
            Operator::cli()
                .engine(
                    &boot.engine,
                    "merchant.create",
                    ("merchant", m.id.as_str()),
                    Some(&m.id),
                    detail,
                )
                .store_merchant(&m)
                .await?;
            let platform = polypay_server::bootstrap::platform(&boot.engine, &config).await?;
            let out = polypay_server::admin::merchant_created_json(&m, keys.as_ref(), &platform);
            if json {
                println!("{}", serde_json::to_string(&out)?);
            } else {
                println!(
                    "created merchant {} ({}); credentials (shown once):",
                    m.id, m.name
                );
                println!("{}", serde_json::to_string_pretty(&out["credentials"])?);
            }
            boot.engine.store().close();
            Ok(())
        }
        MerchantCommand::List { json, db } => {
            let boot = polypay_server::bootstrap(&mut db.load_existing()?).await?;
            let list = boot.engine.merchants().await?;
            if json {
                let v: Vec<_> = list
                    .iter()
                    .map(polypay_server::admin::merchant_summary)
                    .collect();
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                for m in &list {
                    println!(
                        "{}  {}  created {}",
                        m.id,
                        m.name,
                        m.created_at.to_rfc3339()
                    );
                }
            }
            Ok(())
        }
        MerchantCommand::Settings {
            id,
            protocol,
            json,
            db,
        } => {
            use polypay_server::admin::{checked_protocol_settings, protocol_named};
            let protocol = protocol_named(&protocol).map_err(anyhow::Error::msg)?;
            let boot = polypay_server::bootstrap(&mut db.load_existing()?).await?;
            let id = MerchantId(id);
            let m = match json {
                Some(text) => {
                    let value: serde_json::Value = serde_json::from_str(&text)
                        .map_err(|e| anyhow::anyhow!("settings are not JSON: {e}"))?;
                    checked_protocol_settings(protocol, &value).map_err(anyhow::Error::msg)?;
                    let detail =
                        serde_json::json!({"protocol": protocol.as_str(), "settings": value});
                    Operator::cli()
                        .engine(
                            &boot.engine,
                            "merchant.settings",
                            ("merchant", id.as_str()),
                            Some(&id),
                            detail,
                        )
                        .set_merchant_settings(&id, protocol.as_str(), value)
                        .await?
                }
                None => boot.engine.merchant(&id).await?,
            };
            let current = m.settings.get(protocol.as_str()).cloned();
            let current = current.unwrap_or_else(|| serde_json::json!({}));
            println!("{}", serde_json::to_string_pretty(&current)?);
            boot.engine.store().close();
            Ok(())
        }
        MerchantCommand::Update {
            id,
            name,
            notify_url,
            enable,
            disable,
            db,
        } => {
            let change = MerchantUpdate {
                name,
                notify_url: notify_url.map(Some),
                enabled: (enable || disable).then_some(enable),
            };
            if change == MerchantUpdate::default() {
                anyhow::bail!(
                    "nothing to change: give --name, --notify-url, --enable or --disable"
                );
            }
            let boot = polypay_server::bootstrap(&mut db.load_existing()?).await?;
            let id = MerchantId(id);
            let detail = polypay_server::audit::profile_change(&change);
            let m = Operator::cli()
                .engine(
                    &boot.engine,
                    "merchant.update",
                    ("merchant", id.as_str()),
                    Some(&id),
                    detail,
                )
                .update_merchant_profile(&id, change)
                .await?;
            let v = polypay_server::admin::merchant_summary(&m);
            println!("{}", serde_json::to_string_pretty(&v)?);
            boot.engine.store().close();
            Ok(())
        }
        MerchantCommand::Rotate { id, secret, db } => {
            let which =
                polypay_server::admin::rotatable_named(&secret).map_err(anyhow::Error::msg)?;
            let boot = polypay_server::bootstrap(&mut db.load_existing()?).await?;
            let id = MerchantId(id);
            let detail = serde_json::json!({"secret": which.as_str()});
            let (m, value) = Operator::cli()
                .engine(
                    &boot.engine,
                    "merchant.rotate",
                    ("merchant", id.as_str()),
                    Some(&id),
                    detail,
                )
                .rotate_secret(&id, which)
                .await?;
            let answer =
                serde_json::json!({"id": m.id, "secret": which.as_str(), "value": value.expose()});
            println!("{}", serde_json::to_string_pretty(&answer)?);
            boot.engine.store().close();
            Ok(())
        }
        MerchantCommand::Ledger {
            id,
            currency,
            limit,
            before,
            json,
            db,
        } => {
            let currency =
                polypay_server::admin::currency_named(&currency).map_err(anyhow::Error::msg)?;
            let boot = polypay_server::bootstrap(&mut db.load_existing()?).await?;
            let id = MerchantId(id);
            let (available, entries) = boot
                .engine
                .ledger_statement(&id, currency, before, limit)
                .await?;
            boot.engine.store().close();
            let statement =
                polypay_server::admin::statement_json(&id, currency, available, &entries, limit);
            if json {
                println!("{}", serde_json::to_string_pretty(&statement)?);
                return Ok(());
            }
            println!(
                "available {} {}",
                statement["available"].as_str().unwrap_or(""),
                currency.code()
            );
            for (n, e) in &entries {
                println!(
                    "{n:>8}  {}  {:>16}  {:<20}  {}",
                    e.created_at.to_rfc3339(),
                    e.amount.to_decimal_string(),
                    e.kind,
                    e.object_id
                );
            }
            if let Some(next) = statement["next_before"].as_i64() {
                println!("older entries: --before {next}");
            }
            Ok(())
        }
        MerchantCommand::PublicKey {
            id,
            protocol,
            file,
            db,
        } => {
            use polypay_server::admin::protocol_named;
            let protocol = protocol_named(&protocol).map_err(anyhow::Error::msg)?;
            let text = if file.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin())?
            } else {
                std::fs::read_to_string(&file)
                    .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?
            };
            let key = polypay_server::protocols::checked_public_key(protocol, &text)
                .map_err(anyhow::Error::msg)?;
            let boot = polypay_server::bootstrap(&mut db.load_existing()?).await?;
            let id = MerchantId(id);
            let detail = serde_json::json!({"protocol": protocol.as_str(), "public_key": key});
            let m = Operator::cli()
                .engine(
                    &boot.engine,
                    "merchant.public_key",
                    ("merchant", id.as_str()),
                    Some(&id),
                    detail,
                )
                .set_public_key(&id, protocol, Some(key.clone()))
                .await?;
            let answer =
                serde_json::json!({"id": m.id, "protocol": protocol.as_str(), "publicKey": key});
            println!("{}", serde_json::to_string_pretty(&answer)?);
            boot.engine.store().close();
            Ok(())
        }
        MerchantCommand::Show { id, db } => {
            let boot = polypay_server::bootstrap(&mut db.load_existing()?).await?;
            let m = boot.engine.merchant(&MerchantId(id)).await?;
            let mut v = polypay_server::admin::merchant_summary(&m);
            let balances = boot.engine.balances(&m.id).await?;
            v["balances"] = balances.iter().map(|b| serde_json::json!({"currency": b.currency.code(), "available": b.to_decimal_string()})).collect();
            println!("{}", serde_json::to_string_pretty(&v)?);
            Ok(())
        }
    }
}
