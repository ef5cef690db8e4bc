//! The `polypay` binary: serve, migrate, and the operator's merchant commands.

mod audit;
mod bench;
mod callbacks;
mod client;
mod export;
mod merchant;
mod sandbox;
mod settle;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use polypay_server::{AppState, Config, Overrides};
use std::path::PathBuf;

/// mimalloc: the request path allocates many small short-lived objects across threads, which
/// glibc's allocator serves with measurably more CPU (see docs/performance.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "polypay",
    version,
    about = "A self-hosted payment gateway speaking five providers' protocols"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (SQLite in ./polypay-data by default; sandbox mode).
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate(DbArgs),
    /// Create, list and show merchants.
    #[command(subcommand)]
    Merchant(merchant::MerchantCommand),
    /// List merchant callbacks and their attempts, show one, re-send one.
    #[command(subcommand)]
    Callbacks(callbacks::CallbacksCommand),
    /// Act as a merchant: sign requests for a protocol, send them, verify responses and callbacks.
    #[command(subcommand)]
    Client(Box<client::ClientCommand>),
    /// Drive the sandbox: complete payments, settle payouts and refunds, move the clock.
    Sandbox(sandbox::SandboxArgs),
    /// Apply a file of rail reports (one JSON object per line) through the settlement API.
    Settle(settle::SettleArgs),
    /// Write payments, payouts or refunds matching filters as CSV or JSON Lines (reconciliation).
    Export(export::ExportArgs),
    /// Show the audit log of operator changes (admin API, console, these commands), newest first.
    Audit(audit::AuditArgs),
    /// Measure create-payment throughput and latency per protocol against a bare baseline.
    Bench(bench::BenchArgs),
}

/// Where the data lives; shared by every command that opens the database.
#[derive(Args, Clone, Default)]
pub struct DbArgs {
    /// TOML configuration file (defaults < file < POLYPAY_* env < flags).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Directory for the SQLite database, the master key file and the demo credentials.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// sqlite://path or postgres://user@host/db
    #[arg(long)]
    database_url: Option<String>,
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Address to listen on.
    #[arg(long)]
    listen: Option<String>,
    /// sandbox or gateway.
    #[arg(long)]
    mode: Option<String>,
    /// The externally visible base URL (for cashier links).
    #[arg(long)]
    public_base_url: Option<String>,
}

impl DbArgs {
    pub fn load(&self, extra: Overrides) -> anyhow::Result<Config> {
        let flags = Overrides {
            data_dir: self.data_dir.clone(),
            database_url: self.database_url.clone(),
            ..Default::default()
        };
        Config::load(self.config.as_deref(), extra.overlay(flags))
    }

    /// The configuration of a command that works on an existing installation: on SQLite the
    /// database file must be there, so a command run from the wrong directory says so instead
    /// of creating an empty installation (and a master key) where it stands.
    pub fn load_existing(&self) -> anyhow::Result<Config> {
        let config = self.load(Overrides::default())?;
        if let Some(path) = config.database_url.strip_prefix("sqlite://")
            && !std::path::Path::new(path).exists()
        {
            anyhow::bail!(
                "no polypay database at {path}: run this where `polypay serve` keeps its data, \
                 or pass --data-dir or --database-url"
            );
        }
        Ok(config)
    }
}

/// Runs the command; a failure prints its message and causes (never a backtrace, even with
/// `RUST_BACKTRACE` set: these are answers for the user, not crashes) and exits with status 1.
fn main() -> std::process::ExitCode {
    quiet_on_closed_stdout();
    let cli = Cli::parse();
    let result = match cli.command {
        // The bench builds its own runtimes (server and load generator apart).
        Command::Bench(args) => bench::run(args),
        other => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(anyhow::Error::from)
            .and_then(|rt| rt.block_on(run(other))),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// A command whose reader went away (`polypay callbacks show 6 | head`) ends as a Unix tool
/// does, with status 141 (killed by SIGPIPE) and nothing printed, instead of a panic and a
/// backtrace. Rust ignores SIGPIPE so that network writes fail with an error instead of killing
/// the process (the clients need that); `println!` then panics on the closed pipe.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        // std's words: "failed printing to stdout: Broken pipe (os error 32)".
        if message.starts_with("failed printing to std") && message.ends_with("(os error 32)") {
            std::process::exit(141);
        }
        default(info);
    }));
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => serve(args).await,
        Command::Migrate(db) => {
            let mut config = db.load(Overrides::default())?;
            init_tracing(&config);
            let boot = polypay_server::bootstrap(&mut config).await?;
            let store = boot.engine.store();
            let kind = store.backend().kind();
            let newest = store.read(|db| db.newest_migration()).await?;
            let known = polypay_store::schema_version();
            if newest > known {
                // `bootstrap` refused one whose newer migrations do not allow this version.
                println!(
                    "database schema {newest} is newer than this polypay's {known}; its newer \
                     migrations let this version run on it ({kind})"
                );
                store.close();
                return Ok(());
            }
            match store.migrations_applied() {
                0 => println!("database is up to date ({kind})"),
                n => println!("applied {n} migration(s); database is up to date ({kind})"),
            }
            store.close();
            Ok(())
        }
        Command::Merchant(cmd) => merchant::run(cmd).await,
        Command::Callbacks(cmd) => callbacks::run(cmd).await,
        Command::Client(cmd) => client::run(*cmd).await,
        Command::Sandbox(args) => sandbox::run(args).await,
        Command::Settle(args) => settle::run(args).await,
        Command::Export(args) => export::run(args).await,
        Command::Audit(args) => audit::run(args).await,
        Command::Bench(_) => anyhow::bail!("bench starts its own runtimes"),
    }
}

fn init_tracing(config: &Config) {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let filter = match (
        std::env::var("POLYPAY_LOG"),
        EnvFilter::try_from_env("POLYPAY_LOG"),
    ) {
        (_, Ok(filter)) => filter,
        (Ok(set), Err(e)) if !set.is_empty() => {
            eprintln!("POLYPAY_LOG={set:?} is not a log filter ({e}); logging at info");
            EnvFilter::new("info")
        }
        _ => EnvFilter::new("info"),
    };
    // Colours for a terminal only: a log file or collector gets plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    if config.log_json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let extra = Overrides {
        listen: args.listen,
        mode: args.mode,
        public_base_url: args.public_base_url,
        ..Default::default()
    };
    let mut config = args.db.load(extra)?;
    init_tracing(&config);
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .ok();
    let boot = polypay_server::bootstrap_node(&mut config).await?;
    let demo = polypay_server::bootstrap::ensure_demo_merchant(&boot.engine, &config).await?;
    let platform = polypay_server::bootstrap::platform(&boot.engine, &config).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(
        mode = config.mode.as_str(),
        backend = boot.engine.store().backend().kind(),
        %addr,
        "polypay listening"
    );
    if config.allow_private_callbacks {
        let why = match config.allow_private_callbacks_chosen {
            true => "allow_private_callbacks is set",
            false => "the sandbox default; set POLYPAY_ALLOW_PRIVATE_CALLBACKS=false to refuse",
        };
        tracing::warn!("callbacks to loopback and private addresses are ALLOWED ({why})");
    }
    if let Some(note) = &config.public_base_url_note {
        tracing::warn!("{note}");
    }
    polypay_server::admin::warn_settings_problems(&boot.engine).await;
    print_banner(&config, &boot, demo.as_ref(), addr);
    if boot.admin_token_unshown
        && let Err(e) = polypay_server::bootstrap::admin_token_shown(&boot.engine).await
    {
        tracing::warn!(error = %e, "could not record the admin token shown; the next start shows it again");
    }
    let state = AppState::new(boot, config, platform, metrics);
    polypay_server::serve(state, listener).await
}

/// First-start information goes to stdout once (not to the log, which must never hold secrets).
fn print_banner(
    config: &Config,
    boot: &polypay_server::Bootstrapped,
    demo: Option<&serde_json::Value>,
    addr: std::net::SocketAddr,
) {
    println!(
        "polypay {} mode on http://{addr}  (health: /healthz, admin API: /admin/v1, metrics: /metrics)",
        config.mode.as_str()
    );
    if boot.master_key_generated {
        println!(
            "generated a master key at {} (keep it: it decrypts every stored secret)",
            polypay_store::Vault::key_file(&config.data_dir).display()
        );
    }
    if boot.admin_token_unshown {
        println!(
            "admin token (shown once; set POLYPAY_ADMIN_TOKEN to choose your own): {}",
            boot.admin_token.expose()
        );
    }
    if let Some(demo) = demo {
        println!(
            "created the demo merchant; its credentials are in {}:",
            config.data_dir.join("demo-merchant.json").display()
        );
        println!(
            "{}",
            serde_json::to_string_pretty(&demo["credentials"]).unwrap_or_default()
        );
    }
}
