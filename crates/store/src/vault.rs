//! Secrets at rest: AES-256-GCM under the master key.
//!
//! The master key comes from `POLYPAY_MASTER_KEY` (64 hex digits or base64 of 32 bytes) or, when
//! absent, from `master.key` in the data directory, generated on first start with mode 0600.
//! A sealed value is `v2:` + base64(nonce || ciphertext || tag), the tag also covering what the
//! value is bound to (the row it is stored in, as associated data): a sealed value copied into
//! another row does not open there. `v1:` values (no binding) from earlier versions still open,
//! and are sealed again as `v2:` at start ([`crate::Db::bind_legacy_secrets`]).

use crate::error::StoreError;
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use std::fmt;
use std::path::Path;

/// Seals and opens secrets with the master key. Debug never prints the key.
pub struct Vault {
    key: LessSafeKey,
    rng: SystemRandom,
    /// Whether an earlier version's unbound (`v1:`) value still opens: until the start-up
    /// pass has bound them all ([`Vault::refuse_unbound`]).
    unbound: std::sync::atomic::AtomicBool,
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Vault(***)")
    }
}

impl Vault {
    pub fn from_key_bytes(bytes: &[u8]) -> Result<Vault, StoreError> {
        let unbound = UnboundKey::new(&AES_256_GCM, bytes)
            .map_err(|_| StoreError::Config("master key must be 32 bytes".into()))?;
        Ok(Vault {
            key: LessSafeKey::new(unbound),
            rng: SystemRandom::new(),
            unbound: std::sync::atomic::AtomicBool::new(true),
        })
    }

    /// Parses a master key given as 64 hex digits or as base64 of 32 bytes.
    pub fn from_text(text: &str) -> Result<Vault, StoreError> {
        let text = text.trim();
        let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            (0..32)
                .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap_or(0))
                .collect()
        } else {
            B64.decode(text)
                .map_err(|_| StoreError::Config("master key is neither hex nor base64".into()))?
        };
        Vault::from_key_bytes(&bytes)
    }

    /// Where [`Vault::load_or_create`] keeps the key in a data dir.
    pub fn key_file(data_dir: &Path) -> std::path::PathBuf {
        data_dir.join("master.key")
    }

    /// Loads `POLYPAY_MASTER_KEY`-style text, or the key file in `data_dir`, creating it (0600) if absent.
    pub fn load_or_create(
        env_value: Option<&str>,
        data_dir: &Path,
    ) -> Result<(Vault, bool), StoreError> {
        if let Some(text) = env_value {
            return Ok((Vault::from_text(text)?, false));
        }
        let path = Vault::key_file(data_dir);
        if path.exists() {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| StoreError::Config(format!("{}: {e}", path.display())))?;
            let vault = Vault::from_text(&text)?;
            warn_if_open(&path, "the master key file; `chmod 600` it");
            return Ok((vault, false));
        }
        let mut key = [0u8; 32];
        SystemRandom::new()
            .fill(&mut key)
            .map_err(|_| StoreError::Config("no randomness".into()))?;
        write_private(&path, &B64.encode(key))?;
        Ok((Vault::from_key_bytes(&key)?, true))
    }

    /// Seals `plaintext` bound to `binding` (the row it is stored in): it opens only with
    /// [`Vault::open_for`] and the same binding.
    pub fn seal_for(&self, binding: &str, plaintext: &[u8]) -> Result<String, StoreError> {
        self.seal_with("v2", Aad::from(binding.as_bytes()), plaintext)
    }

    /// Opens a value sealed for `binding`, or an unbound one of an earlier version (`v1:`).
    pub fn open_for(&self, binding: &str, sealed: &str) -> Result<Vec<u8>, StoreError> {
        if let Some(body) = sealed.strip_prefix("v2:") {
            return self.open_with(Aad::from(binding.as_bytes()), body);
        }
        match sealed.strip_prefix("v1:") {
            Some(_) if !self.unbound.load(std::sync::atomic::Ordering::Relaxed) => {
                Err(StoreError::Sealed)
            }
            Some(body) => self.open_with(Aad::from(&[][..]), body),
            None => Err(unknown_format(sealed)),
        }
    }

    /// From now on an unbound (`v1:`) value does not open either: the database's own were
    /// bound at start ([`crate::Db::bind_legacy_secrets`]), so one found later was put there
    /// since (copied from an old backup into another row, say), and could be anyone's.
    pub fn refuse_unbound(&self) {
        self.unbound
            .store(false, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether `sealed` is bound to its row (not an earlier version's `v1:` value).
    pub fn is_bound(sealed: &str) -> bool {
        sealed.starts_with("v2:")
    }

    /// An earlier version's unbound value, for tests of what polypay still reads.
    #[cfg(test)]
    pub(crate) fn seal_unbound(&self, plaintext: &[u8]) -> Result<String, StoreError> {
        self.seal_with("v1", Aad::from(&[][..]), plaintext)
    }

    fn seal_with(
        &self,
        format: &str,
        aad: Aad<&[u8]>,
        plaintext: &[u8],
    ) -> Result<String, StoreError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng
            .fill(&mut nonce)
            .map_err(|_| StoreError::Config("no randomness".into()))?;
        let mut buf = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), aad, &mut buf)
            .map_err(|_| StoreError::Sealed)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        Ok(format!("{format}:{}", B64.encode(out)))
    }

    fn open_with(&self, aad: Aad<&[u8]>, body: &str) -> Result<Vec<u8>, StoreError> {
        let raw = B64.decode(body).map_err(|_| StoreError::Sealed)?;
        if raw.len() < NONCE_LEN {
            return Err(StoreError::Sealed);
        }
        let (nonce, ct) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| StoreError::Sealed)?;
        let mut buf = ct.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, aad, &mut buf)
            .map_err(|_| StoreError::Sealed)?;
        Ok(plain.to_vec())
    }
}

/// A sealed value in a format this version does not know: `vN:` from a later version (which
/// its operator should be told, rather than that the master key is wrong), or no sealed value.
fn unknown_format(sealed: &str) -> StoreError {
    let later = sealed.split_once(':').map(|(v, _)| v).filter(|v| {
        v.strip_prefix('v')
            .and_then(|n| n.parse::<u16>().ok())
            .is_some_and(|n| n > 2)
    });
    match later {
        Some(v) => StoreError::Config(format!(
            "a secret in this database is sealed in format {v}, which this version of polypay \
             does not know: it was written by a later version; run that version"
        )),
        None => StoreError::Sealed,
    }
}

/// Warns, naming `what`, when other users have any access to `path` (Unix): polypay makes its
/// data directory and files private, but one made before, or by the operator, keeps its mode.
pub fn warn_if_open(path: &Path, what: &str) {
    if let Some(mode) = readable_by_others(path) {
        tracing::warn!(
            path = %path.display(),
            mode = format!("{mode:o}"),
            "other users have access to {what}"
        );
    }
}

/// The file's permission bits when its group or others have any access to it (Unix).
fn readable_by_others(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
        (mode & 0o077 != 0).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Creates a file readable only by its owner (making its directory if need be; never over an
/// existing file), synced to disk with its directory entry before this returns: what it holds
/// (a master key, a merchant's private keys) must outlive a crash of what it is written for.
pub fn write_private(path: &Path, contents: &str) -> Result<(), StoreError> {
    use std::io::Write;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dir(dir)?;
    }
    let written = new_private_file(path).and_then(|mut f| {
        f.write_all(contents.as_bytes())?;
        f.sync_all()
    });
    written.map_err(|e| StoreError::Config(format!("{}: {e}", path.display())))?;
    sync_dir(path.parent().unwrap_or(Path::new(".")));
    Ok(())
}

/// Makes `dir` and any missing parents, each readable only by its owner (Unix: 0700): a data
/// directory holds the database, the master key and a merchant's private keys. A directory
/// that exists keeps its permissions (the operator's choice).
pub fn create_private_dir(dir: &Path) -> Result<(), StoreError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|e| StoreError::Config(format!("cannot create {}: {e}", dir.display())))
}

/// Creates an empty file at `path` readable only by its owner (Unix: 0600) unless one exists:
/// SQLite then opens it as a new database, and makes its `-wal` and `-shm` files with the
/// same permissions (the database holds payers' details and sealed secrets).
pub fn create_private_file(path: &Path) -> Result<(), StoreError> {
    match new_private_file(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::Config(format!("{}: {e}", path.display()))),
    }
}

/// A file created at `path` for writing, readable only by its owner (Unix: 0600); never over
/// an existing one.
fn new_private_file(path: &Path) -> std::io::Result<std::fs::File> {
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    opts.mode(0o600);
    opts.open(path)
}

/// Makes a directory's entries (a file created or renamed in it) durable; best effort.
pub fn sync_dir(dir: &Path) {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_key_file_others_can_read_is_named() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let (_, made) = Vault::load_or_create(None, dir.path()).unwrap();
        assert!(made);
        let path = Vault::key_file(dir.path());
        assert_eq!(readable_by_others(&path), None, "made 0600");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(readable_by_others(&path), Some(0o644));
        // Still opened: the warning is the operator's to act on.
        assert!(!Vault::load_or_create(None, dir.path()).unwrap().1);
    }

    #[cfg(unix)]
    #[test]
    fn a_new_database_and_its_directory_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("data/sub/polypay.db");
        let url = format!("sqlite://{}", db.display());
        let vault = Vault::from_key_bytes(&[7; 32]).unwrap();
        let store = crate::Store::open(&url, vault, Default::default()).unwrap();
        drop(store);
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir.path().join("data")), 0o700);
        assert_eq!(mode(db.parent().unwrap()), 0o700);
        assert_eq!(mode(&db), 0o600);
        // One that exists keeps what its operator gave it.
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o640)).unwrap();
        create_private_file(&db).unwrap();
        assert_eq!(mode(&db), 0o640);
    }

    #[test]
    fn seal_open_round_trip_and_tamper() {
        let v = Vault::from_key_bytes(&[7u8; 32]).unwrap();
        let sealed = v.seal_for("merchants/m1", b"top secret").unwrap();
        assert!(sealed.starts_with("v2:") && !sealed.contains("top secret"));
        assert_eq!(v.open_for("merchants/m1", &sealed).unwrap(), b"top secret");
        let other = Vault::from_key_bytes(&[8u8; 32]).unwrap();
        assert!(matches!(
            other.open_for("merchants/m1", &sealed),
            Err(StoreError::Sealed)
        ));
        // Flip one ciphertext byte: the GCM tag must reject it.
        use base64::Engine as _;
        let mut raw = B64.decode(&sealed[3..]).unwrap();
        raw[NONCE_LEN] ^= 0x01;
        let bad = format!("v2:{}", B64.encode(raw));
        assert!(matches!(
            v.open_for("merchants/m1", &bad),
            Err(StoreError::Sealed)
        ));
    }

    /// A sealed value opens only in the row it was sealed for: copied into another merchant's
    /// row (or passed off as unbound) it is refused, not read as that merchant's.
    #[test]
    fn a_sealed_value_is_bound_to_its_row() {
        let v = Vault::from_key_bytes(&[7u8; 32]).unwrap();
        let sealed = v.seal_for("merchants/m1", b"m1's secret").unwrap();
        for elsewhere in ["merchants/m2", "merchants/m1 ", ""] {
            assert!(
                matches!(v.open_for(elsewhere, &sealed), Err(StoreError::Sealed)),
                "{elsewhere:?}"
            );
        }
        let unbound = sealed.replacen("v2:", "v1:", 1);
        assert!(matches!(
            v.open_for("merchants/m1", &unbound),
            Err(StoreError::Sealed)
        ));
        // An earlier version's unbound value still opens, wherever it is, until the start-up
        // pass has bound the database's own.
        let old = v.seal_unbound(b"old").unwrap();
        assert!(!Vault::is_bound(&old) && Vault::is_bound(&sealed));
        assert_eq!(v.open_for("merchants/m9", &old).unwrap(), b"old");
        v.refuse_unbound();
        assert!(matches!(
            v.open_for("merchants/m9", &old),
            Err(StoreError::Sealed)
        ));
        assert_eq!(v.open_for("merchants/m1", &sealed).unwrap(), b"m1's secret");
    }

    #[test]
    fn a_format_from_a_later_version_is_named_as_such() {
        let v = Vault::from_key_bytes(&[7u8; 32]).unwrap();
        let later = v.seal_for("x", b"x").unwrap().replacen("v2:", "v3:", 1);
        match v.open_for("x", &later) {
            Err(StoreError::Config(m)) => {
                assert!(
                    m.contains("format v3") && m.contains("later version"),
                    "{m}"
                )
            }
            other => panic!("{other:?}"),
        }
        for not_later in ["garbage", "v0:AAAA", "v:AAAA", "vx:AAAA"] {
            assert!(
                matches!(v.open_for("x", not_later), Err(StoreError::Sealed)),
                "{not_later}"
            );
        }
    }

    #[test]
    fn key_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let (a, created) = Vault::load_or_create(None, dir.path()).unwrap();
        assert!(created);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("master.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (b, created) = Vault::load_or_create(None, dir.path()).unwrap();
        assert!(!created);
        assert_eq!(
            b.open_for("k", &a.seal_for("k", b"x").unwrap()).unwrap(),
            b"x"
        );
    }
}
