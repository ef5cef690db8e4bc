//! The polypay node a bench phase measures: the full router plus the bench-only echo route on
//! 127.0.0.1:0, over its own database (a file in the bench's temp dir, or a scratch schema of
//! the PostgreSQL database given with `--database-url`), so each phase starts from an empty store.

use polypay_server::{AppState, Overrides};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Where the phases' databases live.
#[derive(Debug, Clone)]
pub enum Database {
    /// A fresh SQLite file per phase in this directory (the default: the bench's temp dir).
    SqliteDir(PathBuf),
    /// `--database-url sqlite://FILE`: the main phase uses FILE, later phases a sibling file.
    SqliteFile(PathBuf),
    /// A scratch schema per phase in this PostgreSQL database (dropped when the node stops).
    Postgres(String),
}

impl Database {
    pub fn from_args(url: Option<&str>, temp: &Path) -> Database {
        match url {
            Some(url) if url.starts_with("postgres") => Database::Postgres(url.to_string()),
            Some(url) => Database::SqliteFile(PathBuf::from(url.trim_start_matches("sqlite://"))),
            None => Database::SqliteDir(temp.to_path_buf()),
        }
    }
}

/// A running node.
pub struct Node {
    pub state: AppState,
    pub addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    served: tokio::task::JoinHandle<()>,
    scratch: Option<(String, String)>,
}

impl Node {
    /// Starts a node for `phase` on the current runtime (the bench's server runtime).
    pub async fn start(db: &Database, phase: &str, temp: &Path) -> anyhow::Result<Node> {
        let data_dir = temp.join(phase);
        std::fs::create_dir_all(&data_dir)?;
        let (url, scratch) = match db {
            Database::SqliteDir(dir) => (
                format!("sqlite://{}", dir.join(format!("{phase}.db")).display()),
                None,
            ),
            Database::SqliteFile(file) => (sibling(file, phase), None),
            Database::Postgres(base) => {
                let name = format!("bench_{phase}_{}", polypay_engine::random_hex(4));
                let (b, n) = (base.clone(), name.clone());
                let url = tokio::task::spawn_blocking(move || {
                    polypay_store::seed::create_scratch_schema(&b, &n)
                })
                .await??;
                (url, Some((base.clone(), name)))
            }
        };
        let (state, addr, stop, served) = serve(&data_dir, &url).await?;
        Ok(Node {
            state,
            addr,
            stop,
            served,
            scratch,
        })
    }

    /// Stops serving, waits for every queued write to commit, drops a scratch schema.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        // Idle keep-alive connections close at once; don't wait on a straggler forever.
        let mut served = self.served;
        if tokio::time::timeout(std::time::Duration::from_secs(5), &mut served)
            .await
            .is_err()
        {
            served.abort();
        }
        let store = self.state.engine().store().clone();
        let scratch = self.scratch;
        tokio::task::spawn_blocking(move || {
            store.close();
            if let Some((base, name)) = scratch {
                polypay_store::seed::drop_scratch_schema(&base, &name)?;
            }
            Ok::<_, anyhow::Error>(())
        })
        .await?
    }
}

fn sibling(file: &Path, phase: &str) -> String {
    let path = if phase == "main" {
        file.to_path_buf()
    } else {
        file.with_file_name(format!("bench-{phase}.db"))
    };
    format!("sqlite://{}", path.display())
}

type Served = (
    AppState,
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
);

async fn serve(data_dir: &Path, database_url: &str) -> anyhow::Result<Served> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    // The store and callback tuning knobs come from the same `POLYPAY_*` variables as
    // `polypay serve` (so a setting can be measured before it is deployed); where the node
    // lives and how it is reached are the bench's own.
    let env = Overrides::from_env(|k| std::env::var(k).ok())?;
    let overrides = Overrides {
        store_writers: env.store_writers,
        store_max_batch: env.store_max_batch,
        callback_concurrency: env.callback_concurrency,
        callback_timeout_ms: env.callback_timeout_ms,
        listen: Some(addr.to_string()),
        data_dir: Some(data_dir.to_path_buf()),
        database_url: Some(database_url.to_string()),
        admin_token: Some(polypay_engine::random_hex(16)),
        mode: Some("sandbox".into()),
        amount_rules: Some(false),
        // The callback phase's receiver is on 127.0.0.1 (a sandbox node allows that by default;
        // said explicitly so the bench never depends on it).
        allow_private_callbacks: Some(true),
        ..Default::default()
    };
    let mut config = overrides.resolve()?;
    let boot = polypay_server::bootstrap_node(&mut config).await?;
    let platform = polypay_server::bootstrap::platform(&boot.engine, &config).await?;
    let state = AppState::new(boot, config, platform, None);
    // The baseline route exists only in this process: the same server, minus all the work.
    let echo = axum::Router::new().route(
        "/__bench/echo",
        axum::routing::post(|body: axum::body::Bytes| async move {
            ([("content-type", "application/json")], body)
        }),
    );
    let router = polypay_server::build_router(state.clone()).merge(echo);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let limits = polypay_server::listen::ConnectionLimits::of(state.config());
    let served = tokio::spawn(polypay_server::listen::serve(
        listener,
        router,
        limits,
        async move {
            let _ = stopped.await;
        },
    ));
    Ok((state, addr, stop, served))
}
