//! The store facade: open by URL, migrate, and run reads and group-committed writes.

use crate::checkpoint::{self, Commits};
use crate::claims::Claims;
use crate::db::Db;
use crate::error::StoreError;
use crate::pg::PgConn;
use crate::pool::Pool;
use crate::sql::Conn;
use crate::sqlite::SqliteConn;
use crate::vault::Vault;
use crate::writer::{Connect, Job, Locks, TypedJob, Writer};
use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};

/// Which database a store talks to, parsed from its URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// `sqlite://relative/path.db` or `sqlite:///absolute/path.db`
    Sqlite(PathBuf),
    /// `postgres://…` or `postgresql://…`, handed to the driver as is.
    Postgres(String),
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Backend, StoreError> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(StoreError::Config("sqlite:// URL without a path".into()));
            }
            Ok(Backend::Sqlite(PathBuf::from(path)))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres(url.to_string()))
        } else {
            Err(StoreError::Config(
                "database URL must start with sqlite:// or postgres://".into(),
            ))
        }
    }

    /// The backend's name, for logs and health output (never the URL: it may hold a password).
    pub fn kind(&self) -> &'static str {
        match self {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    fn connector(&self) -> Connect {
        match self.clone() {
            Backend::Sqlite(path) => {
                Arc::new(move || Ok(Box::new(SqliteConn::open(&path)?) as Box<dyn Conn>))
            }
            Backend::Postgres(url) => {
                Arc::new(move || Ok(Box::new(PgConn::connect(&url)?) as Box<dyn Conn>))
            }
        }
    }
}

/// Tuning knobs of a store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Writer threads (SQLite always uses one: it has one writer lock).
    pub writers: usize,
    /// Most jobs one transaction carries.
    pub max_batch: usize,
    /// Read connections.
    pub readers: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            // Two: on a 2-core machine PostgreSQL creates ran 17% faster than with four (larger
            // batches, fewer commits), and one writer was slower still (docs/performance.md).
            writers: 2,
            max_batch: 256,
            readers: 8,
        }
    }
}

/// The database, shared by every request. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
    /// Set on a handle from [`Store::audited`]: appended by each of its write jobs.
    audit: Option<Arc<crate::db::AuditEntry>>,
}

struct Inner {
    jobs: Mutex<Option<Sender<Box<dyn Job>>>>,
    readers: Pool,
    vault: Arc<Vault>,
    backend: Backend,
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
    /// SQLite: the writer's commit count, watched by the checkpointer thread (which stops
    /// once every copy is dropped: this one and the writer's).
    commits: Mutex<Option<Arc<Commits>>>,
    checkpointer: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Writer threads, each with its own connection (jobs of different writers run at once).
    writers: usize,
    /// Migrations this open applied.
    migrated: usize,
    /// Batches its writers lost to another transaction (see [`Store::batch_conflicts`]).
    conflicts: Arc<std::sync::atomic::AtomicU64>,
}

impl Store {
    /// Opens (creating and migrating as needed) the database at `url`.
    pub fn open(url: &str, vault: Vault, options: StoreOptions) -> Result<Store, StoreError> {
        let backend = Backend::from_url(url)?;
        if let Backend::Sqlite(path) = &backend {
            create_parent(path)?;
        }
        let connect = backend.connector();
        let now = jiff::Timestamp::now().as_millisecond();
        let migrated = off_runtime(|| {
            let mut conn = connect()?;
            crate::migrate::migrate(conn.as_mut(), now)
        })?;
        let vault = Arc::new(vault);
        let (tx, rx) = std::sync::mpsc::channel::<Box<dyn Job>>();
        let rx = Arc::new(Mutex::new(rx));
        let writers = match backend {
            Backend::Sqlite(_) => 1,
            Backend::Postgres(_) => options.writers.max(1),
        };
        let mut threads = Vec::new();
        let mut checkpointer = None;
        let conflicts = Arc::new(std::sync::atomic::AtomicU64::new(0));
        // Shown from the start (at 0), so a scrape tells "no conflicts" from "not measured".
        metrics::counter!("polypay_store_batch_conflicts_total").increment(0);
        let (writer_connect, commits) = match backend {
            Backend::Sqlite(_) => {
                let commits = Arc::new(Commits::default());
                let handle = checkpoint::start(connect.clone(), &commits)
                    .map_err(|e| StoreError::Config(format!("cannot start checkpointer: {e}")))?;
                checkpointer = Some(handle);
                let plain = connect.clone();
                let writer_connect: Connect = Arc::new(move || {
                    let mut c = plain()?;
                    let pragma = format!(
                        "PRAGMA wal_autocheckpoint={}",
                        checkpoint::WRITER_AUTOCHECKPOINT
                    );
                    c.query(&pragma, &[])?;
                    Ok(c)
                });
                (writer_connect, Some(commits))
            }
            Backend::Postgres(_) => (connect.clone(), None),
        };
        for i in 0..writers {
            let writer = Writer {
                connect: writer_connect.clone(),
                jobs: rx.clone(),
                vault: vault.clone(),
                max_batch: options.max_batch.max(1),
                commits: commits.clone(),
                claims: matches!(backend, Backend::Sqlite(_)).then(Claims::new),
                conflicts: conflicts.clone(),
            };
            let handle = std::thread::Builder::new()
                .name(format!("polypay-writer-{i}"))
                .spawn(move || writer.run())
                .map_err(|e| StoreError::Config(format!("cannot start writer: {e}")))?;
            threads.push(handle);
        }
        let inner = Inner {
            jobs: Mutex::new(Some(tx)),
            readers: Pool::new(connect, options.readers.max(1)),
            vault,
            backend,
            threads: Mutex::new(threads),
            commits: Mutex::new(commits),
            checkpointer: Mutex::new(checkpointer),
            writers,
            migrated,
            conflicts,
        };
        Ok(Store {
            inner: Arc::new(inner),
            audit: None,
        })
    }

    /// Writer threads: how many write jobs can run at once (SQLite: one).
    pub fn writers(&self) -> usize {
        self.inner.writers
    }

    pub fn backend(&self) -> &Backend {
        &self.inner.backend
    }

    /// Write batches that failed on a conflict with another transaction (a PostgreSQL
    /// deadlock or serialization failure) since the store opened; their jobs were run again.
    /// Also the metric `polypay_store_batch_conflicts_total`.
    pub fn batch_conflicts(&self) -> u64 {
        self.inner
            .conflicts
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How many migrations opening the store applied (0: the schema was already current).
    pub fn migrations_applied(&self) -> usize {
        self.inner.migrated
    }

    pub fn vault(&self) -> &Vault {
        &self.inner.vault
    }

    /// Runs `f` in a group-committed write transaction; resolves after the commit is durable.
    /// `f` may run more than once (a failed batch is retried job by job), so it must not have
    /// side effects outside the database.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnMut(&mut Db<'_>) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.submit(Locks::Plain, f).await
    }

    /// [`Store::write`] for a job that locks what `locks` says (a shared sequence, an object
    /// family, the callback ingestion): a batch runs its jobs in the order of their
    /// [`Locks`], so batches on several writers or nodes take their locks in one order.
    pub async fn write_locking<T, E, F>(&self, locks: Locks, f: F) -> Result<T, E>
    where
        F: FnMut(&mut Db<'_>) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.submit(locks, f).await
    }

    /// A handle to the same database whose every write job also appends `entry` to the audit
    /// log, in the job's own transaction: the entry commits with the change or not at all (a
    /// job that fails leaves neither). For an operator's action, made with one write job.
    pub fn audited(&self, entry: crate::db::AuditEntry) -> Store {
        Store {
            inner: self.inner.clone(),
            audit: Some(Arc::new(entry)),
        }
    }

    async fn submit<T, E, F>(&self, locks: Locks, mut f: F) -> Result<T, E>
    where
        F: FnMut(&mut Db<'_>) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        if let Some(entry) = self.audit.clone() {
            let audited = move |db: &mut Db<'_>| {
                let out = f(db)?;
                db.append_audit(&entry)?;
                Ok(out)
            };
            return self.submit_job(locks, audited).await;
        }
        self.submit_job(locks, f).await
    }

    async fn submit_job<T, E, F>(&self, locks: Locks, f: F) -> Result<T, E>
    where
        F: FnMut(&mut Db<'_>) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let (reply, wait) = tokio::sync::oneshot::channel();
        let job: Box<dyn Job> = Box::new(TypedJob {
            locks,
            f,
            out: None,
            reply: Some(reply),
        });
        let sent = match self.inner.jobs.lock() {
            Ok(guard) => guard
                .as_ref()
                .map(|tx| tx.send(job).is_ok())
                .unwrap_or(false),
            Err(_) => false,
        };
        if !sent {
            return Err(E::from(StoreError::Closed));
        }
        wait.await.unwrap_or(Err(E::from(StoreError::Closed)))
    }

    /// Runs `f` on a read connection (committed data only).
    pub async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut Db<'_>) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let _permit = self
            .inner
            .readers
            .permits
            .acquire()
            .await
            .map_err(|_| E::from(StoreError::Closed))?;
        let inner = self.inner.clone();
        let joined = tokio::task::spawn_blocking(move || {
            let mut conn = inner.readers.take().map_err(E::from)?;
            let mut db = Db::new(conn.as_mut(), &inner.vault, false);
            let out = f(&mut db);
            let broken = db.take_failure().is_some();
            if !broken {
                inner.readers.give_back(conn);
            }
            out
        })
        .await;
        joined.unwrap_or_else(|e| {
            Err(E::from(StoreError::Backend(format!(
                "read task failed: {e}"
            ))))
        })
    }

    /// Stops accepting writes and waits until every queued write has committed.
    pub fn close(&self) {
        if let Ok(mut jobs) = self.inner.jobs.lock() {
            jobs.take();
        }
        let threads = self
            .inner
            .threads
            .lock()
            .map(|mut t| std::mem::take(&mut *t))
            .unwrap_or_default();
        for t in threads {
            let _ = t.join();
        }
        // The writers are done: the last copy of the commit count goes, and the checkpointer
        // is woken to notice.
        if let Ok(mut commits) = self.inner.commits.lock() {
            commits.take();
        }
        let checkpointer = self
            .inner
            .checkpointer
            .lock()
            .ok()
            .and_then(|mut c| c.take());
        if let Some(t) = checkpointer {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

/// Runs `f` on a plain thread. The synchronous PostgreSQL client runs its own small runtime,
/// which must never be started (or dropped) on a thread that is inside tokio.
pub(crate) fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| s.spawn(f).join()).unwrap_or_else(|p| std::panic::resume_unwind(p))
}

/// A new SQLite database's directory and file, both private to their owner
/// ([`crate::vault::create_private_dir`], [`crate::vault::create_private_file`]).
fn create_parent(path: &Path) -> Result<(), StoreError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::vault::create_private_dir(dir)?;
    }
    if path.as_os_str() == ":memory:" {
        return Ok(());
    }
    crate::vault::warn_if_open(
        path,
        "the SQLite database (payers' details, sealed secrets); `chmod 600` it and its -wal and -shm files",
    );
    crate::vault::create_private_file(path)
}
