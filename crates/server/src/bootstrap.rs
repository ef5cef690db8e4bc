//! Start-up: data dir, master key, store (migrated), admin token, and the first-start demo merchant.

use crate::config::{Config, Mode};
use polypay_core::{Clock, Secret, SystemClock};
use polypay_engine::{Engine, NewMerchant, Platform};
use polypay_store::{Store, StoreError, StoreOptions, Vault};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What start-up produced, plus what the operator must be told once.
pub struct Bootstrapped {
    pub engine: Engine,
    pub clock: Arc<SystemClock>,
    pub admin_token: Secret,
    /// Set while the generated admin token has never been shown: `serve` prints it, then
    /// records it shown ([`admin_token_shown`]).
    pub admin_token_unshown: bool,
    /// Set when this start generated the master key file.
    pub master_key_generated: bool,
}

/// The platform record of the installation's mode.
const MODE_RECORD: &str = "installation_mode";

/// Opens everything the CLI's commands need, in the installation's mode (which `config` takes,
/// [`Config::adopt_mode`]); a mode asked for is recorded if the database has none yet.
pub async fn bootstrap(config: &mut Config) -> anyhow::Result<Bootstrapped> {
    open(config, false).await
}

/// Opens everything `serve` needs, and what a command whose result depends on the mode needs
/// (`merchant create`): as [`bootstrap`], and the first such run on a database records its
/// mode, asked for or not.
pub async fn bootstrap_node(config: &mut Config) -> anyhow::Result<Bootstrapped> {
    open(config, true).await
}

async fn open(config: &mut Config, serving: bool) -> anyhow::Result<Bootstrapped> {
    // The data dir is made when something is written there (the master key file, the SQLite
    // database, the demo credentials): a PostgreSQL node with its key in the environment
    // leaves no empty directory behind.
    let env_key = config.master_key.as_ref().map(|s| s.expose().to_string());
    polypay_store::vault::warn_if_open(
        &config.data_dir,
        "the data directory (keys, the demo merchant's credentials); `chmod 700` it",
    );
    let (vault, master_key_generated) =
        Vault::load_or_create(env_key.as_deref(), &config.data_dir)?;
    let options = StoreOptions {
        writers: config.store_writers,
        max_batch: config.store_max_batch,
        readers: 8,
    };
    let store = Store::open(&config.database_url, vault, options)?;
    let clock = Arc::new(SystemClock::new());
    let now = clock.now();
    if let Err(e) = store.write(move |db| db.check_vault(now)).await {
        store.close();
        if master_key_generated {
            // A key made for a database that already has one of its own is no use to anyone.
            let _ = std::fs::remove_file(Vault::key_file(&config.data_dir));
        }
        return Err(match e {
            StoreError::Sealed => anyhow::anyhow!(
                "the master key {} is not the one this database's secrets are sealed with: {}",
                key_source(config, master_key_generated),
                match config.master_key {
                    Some(_) => "set POLYPAY_MASTER_KEY to the key its nodes were started with",
                    None =>
                        "point --data-dir at the directory holding its master.key, or set \
                             POLYPAY_MASTER_KEY",
                }
            ),
            other => other.into(),
        });
    }
    // Secrets an earlier version sealed unbound are bound to their rows.
    match store.write(|db| db.bind_legacy_secrets()).await {
        Ok(n) => {
            if n > 0 {
                tracing::info!(secrets = n, "sealed again, each bound to its row");
            }
            // The database's own are bound: an unbound value found from now on was put there.
            store.vault().refuse_unbound();
        }
        Err(e) => {
            store.close();
            return Err(e.into());
        }
    }
    if let Err(e) = installation_mode(&store, config, serving, now).await {
        store.close();
        return Err(e);
    }
    let mut engine = Engine::new(store, clock.clone());
    if let Some(scenarios) = config.scenarios() {
        engine = engine.with_scenarios(scenarios);
        // Sandbox time is the installation's: where time travel left it, not real time.
        let offset = engine.store().read(|db| db.sandbox_clock_offset()).await?;
        clock.follow(offset);
    }
    let (admin_token, admin_token_unshown) = admin_token(&engine, config).await?;
    Ok(Bootstrapped {
        engine,
        clock,
        admin_token,
        admin_token_unshown,
        master_key_generated,
    })
}

/// Takes the installation's mode into `config`; on a database that records none, records
/// `config`'s (the first to record wins, on any node) when it was asked for, or when a node
/// (or `merchant create`, `serving`) starts a new installation. A database in use from before
/// modes were recorded gets no defaulted mode: it may be a gateway whose nodes were started
/// with `--mode`, which this run did not repeat; such a run goes on in its default mode, as
/// before, and says how to record the right one.
async fn installation_mode(
    store: &Store,
    config: &mut Config,
    serving: bool,
    now: polypay_core::Timestamp,
) -> anyhow::Result<()> {
    let mine = config.mode.as_str().as_bytes().to_vec();
    let chosen = config.mode_chosen;
    let recorded = store
        .write(move |db| {
            if let Some(mode) = db.platform_secret(MODE_RECORD)? {
                return Ok(Some(mode));
            }
            if chosen || (serving && !db.has_merchants()?) {
                return db
                    .platform_secret_or_insert(MODE_RECORD, &mine, now)
                    .map(Some);
            }
            Ok(None)
        })
        .await?;
    match recorded {
        Some(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            config.adopt_mode(Mode::parse(&text)?)?;
        }
        None if serving => tracing::warn!(
            mode = config.mode.as_str(),
            "this database records no installation mode (it predates them): running in the \
             default mode; start once with POLYPAY_MODE (or --mode) set to its mode to record it"
        ),
        None => {}
    }
    Ok(())
}

/// Where this run's master key came from, for a message.
fn key_source(config: &Config, generated: bool) -> String {
    let file = Vault::key_file(&config.data_dir);
    match (&config.master_key, generated) {
        (Some(_), _) => "from POLYPAY_MASTER_KEY".into(),
        (None, true) => format!("just generated at {} (now removed)", file.display()),
        (None, false) => format!("in {}", file.display()),
    }
}

/// Names the admin token while it has not been shown: set with the token in one transaction,
/// cleared once `serve` has printed it ([`admin_token_shown`]). A start that dies between the
/// two (or a `merchant create` that made the installation) leaves it, so the next start shows
/// the token instead of keeping it where nobody can read it.
const ADMIN_TOKEN_UNSHOWN: &str = "admin_token_unshown";

/// `POLYPAY_ADMIN_TOKEN` if given; else the token stored (sealed) at first start; else a new one.
/// `true` with a token that has never been shown.
async fn admin_token(engine: &Engine, config: &Config) -> anyhow::Result<(Secret, bool)> {
    if let Some(t) = &config.admin_token {
        return Ok((t.clone(), false));
    }
    let fresh = format!("adm_{}", polypay_engine::random_hex(24));
    let now = engine.clock().now();
    let store = engine.store().clone();
    let candidate = fresh.into_bytes();
    let (stored, unshown) = store
        .write(move |db| {
            let stored = db.platform_secret_or_insert("admin_token", &candidate, now)?;
            if stored == candidate {
                db.platform_secret_or_insert(ADMIN_TOKEN_UNSHOWN, b"1", now)?;
            }
            let unshown = db.platform_secret(ADMIN_TOKEN_UNSHOWN)?.is_some();
            Ok::<_, StoreError>((stored, unshown))
        })
        .await?;
    let token =
        String::from_utf8(stored).map_err(|_| anyhow::anyhow!("stored admin token is not text"))?;
    Ok((Secret::new(token), unshown))
}

/// Records that the generated admin token has been shown: later starts do not print it again.
pub async fn admin_token_shown(engine: &Engine) -> anyhow::Result<()> {
    engine
        .store()
        .write(|db| db.delete_platform_secret(ADMIN_TOKEN_UNSHOWN))
        .await?;
    Ok(())
}

/// The platform record naming the demo merchant: the first node to commit it (together with
/// the merchant) makes the demo merchant.
const DEMO_CLAIM: &str = "demo_merchant_claim";

/// The demo merchant's credentials file in the data dir.
const DEMO_FILE: &str = "demo-merchant.json";

/// Where a demo merchant's credentials wait for its commit: `.demo-merchant.<id>.json`.
fn pending_demo_file(data_dir: &Path, id: &str) -> PathBuf {
    data_dir.join(format!(".demo-merchant.{id}.json"))
}

/// On a sandbox's first start with no merchant, creates `demo` (with sandbox keys) and writes
/// its credentials to `demo-merchant.json` (0600) in the data dir. Returns that JSON.
///
/// The credentials are written (and synced) to a pending file named after the merchant before
/// the merchant is committed, and renamed to `demo-merchant.json` after: a start that dies
/// before the commit leaves a pending file naming no merchant (removed by a later start), one
/// that dies after it leaves the file for the next start to rename (the claim names it, and
/// the next start prints it). The merchant's private keys are never only in the database's
/// past.
///
/// A gateway gets none: its merchants are onboarded by its operator, and a demo merchant
/// would be a working account nobody asked for. Of nodes starting at once on one database,
/// the one that records the platform's claim first makes it: the claim and the merchant are
/// committed together, and only that node renames its file.
pub async fn ensure_demo_merchant(
    engine: &Engine,
    config: &Config,
) -> anyhow::Result<Option<serde_json::Value>> {
    if config.mode != Mode::Sandbox {
        return Ok(None);
    }
    if !engine.merchants().await?.is_empty() {
        return finish_demo_file(engine, &config.data_dir).await;
    }
    let new = NewMerchant {
        name: "demo".into(),
        notify_url: None,
        generate_keys: true,
    };
    let (merchant, keys) = engine.prepare_merchant(new)?;
    let platform = platform(engine, config).await?;
    let json = crate::admin::merchant_created_json(&merchant, keys.as_ref(), &platform);
    let pending = pending_demo_file(&config.data_dir, merchant.id.as_str());
    polypay_store::vault::write_private(&pending, &serde_json::to_string_pretty(&json)?)?;
    let now = engine.clock().now();
    let made = engine
        .store()
        .write(move |db| {
            let mine = merchant.id.as_str().as_bytes();
            let won = db.platform_secret_or_insert(DEMO_CLAIM, mine, now)?;
            if won != mine {
                if db.has_merchants()? {
                    return Ok(false);
                }
                // A claim with no merchant: left by a start of an earlier version, which
                // committed the two apart and died between them. Taken over, unless another
                // node took it over first (then its delete went first and ours finds none).
                if !db.delete_platform_secret(DEMO_CLAIM)?
                    || db.platform_secret_or_insert(DEMO_CLAIM, mine, now)? != mine
                {
                    return Ok(false);
                }
            }
            db.insert_merchant(&merchant)?;
            Ok::<_, StoreError>(true)
        })
        .await?;
    if !made {
        // Another node made it: this file names no merchant.
        let _ = std::fs::remove_file(&pending);
        return Ok(None);
    }
    publish(&pending, &config.data_dir.join(DEMO_FILE))?;
    Ok(Some(json))
}

/// On a start that finds merchants: renames the demo merchant's pending credentials file, left
/// by a start that died between the commit and the rename (the claim names it), and returns
/// its JSON to print; removes pending files that name no merchant.
async fn finish_demo_file(
    engine: &Engine,
    data_dir: &Path,
) -> anyhow::Result<Option<serde_json::Value>> {
    let Ok(entries) = std::fs::read_dir(data_dir) else {
        return Ok(None);
    };
    let pending: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(".demo-merchant.") && n.ends_with(".json"))
        })
        .collect();
    if pending.is_empty() {
        return Ok(None);
    }
    let claim = engine
        .store()
        .read(|db| db.platform_secret(DEMO_CLAIM))
        .await?;
    let made = claim
        .and_then(|c| String::from_utf8(c).ok())
        .map(|id| pending_demo_file(data_dir, &id));
    let mut published = None;
    for file in pending {
        if Some(&file) != made.as_ref() {
            let _ = std::fs::remove_file(&file);
            continue;
        }
        let text = std::fs::read_to_string(&file)?;
        publish(&file, &data_dir.join(DEMO_FILE))?;
        published = serde_json::from_str(&text).ok();
    }
    Ok(published)
}

/// Renames a synced pending file to its final name (replacing what was there) and syncs the
/// directory. Another start may have renamed it already.
fn publish(pending: &Path, to: &Path) -> anyhow::Result<()> {
    match std::fs::rename(pending, to) {
        Err(e) if !(e.kind() == std::io::ErrorKind::NotFound && to.exists()) => {
            Err(anyhow::anyhow!("cannot write {}: {e}", to.display()))
        }
        _ => {
            polypay_store::vault::sync_dir(to.parent().unwrap_or(Path::new(".")));
            Ok(())
        }
    }
}

/// The platform context: base URL, mode, and the platform key pairs (generated on first start).
pub async fn platform(engine: &Engine, config: &Config) -> anyhow::Result<Arc<Platform>> {
    Ok(Arc::new(Platform {
        public_base_url: config.public_base_url.clone(),
        sandbox: config.mode == Mode::Sandbox,
        ec_key: engine.platform_key("ec_p256").await?,
        rsa_key: engine.platform_key("rsa_2048").await?,
    }))
}
