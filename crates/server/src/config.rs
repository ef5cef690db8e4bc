//! Configuration: built-in defaults, then an optional TOML file, then `POLYPAY_*` environment
//! variables, then command-line flags; validated once into a typed [`Config`].

use polypay_core::Secret;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Sandbox (cashier actions, control API, generated merchant keys) or gateway (none of those).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Sandbox,
    Gateway,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Sandbox => "sandbox",
            Mode::Gateway => "gateway",
        }
    }

    pub(crate) fn parse(text: &str) -> anyhow::Result<Mode> {
        match text {
            "sandbox" => Ok(Mode::Sandbox),
            "gateway" => Ok(Mode::Gateway),
            other => anyhow::bail!("mode must be sandbox or gateway, not {other:?}"),
        }
    }
}

/// The validated configuration every component reads.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub mode: Mode,
    /// Whether the mode was asked for (file, environment or flag) rather than defaulted: a
    /// defaulted one gives way to the installation's ([`Config::adopt_mode`]).
    pub mode_chosen: bool,
    /// The externally visible base URL (cashier links, QR codes), without a trailing slash.
    pub public_base_url: String,
    /// Why the defaulted base URL may not reach this node from elsewhere (a listener on every
    /// interface), said at start; `None` when it was set or the listen address is the link's.
    pub public_base_url_note: Option<String>,
    pub admin_token: Option<Secret>,
    pub master_key: Option<Secret>,
    pub body_limit_bytes: usize,
    pub request_timeout_ms: u64,
    /// How long a connection may take to send a request's head, and stay idle between
    /// requests ([`crate::listen`]).
    pub header_timeout_ms: u64,
    /// At shutdown, how long open connections are still served (each answer says
    /// `Connection: close`) before idle ones are closed ([`crate::listen`]).
    pub shutdown_drain_ms: u64,
    /// Connections a node holds open at once.
    pub max_connections: usize,
    pub store_writers: usize,
    pub store_max_batch: usize,
    /// How often the expiry sweeper runs.
    pub sweep_interval_ms: u64,
    /// Allow callbacks to loopback/private addresses (the sandbox default; never in gateway mode by default).
    pub allow_private_callbacks: bool,
    /// Whether `allow_private_callbacks` was asked for rather than defaulted from the mode.
    pub allow_private_callbacks_chosen: bool,
    /// Callback attempts in flight at once on this node.
    pub callback_concurrency: usize,
    /// A cap on one callback attempt's time limit; unset, each protocol's own (its spec's:
    /// 20 s for PassToPay, 10 s for the others).
    pub callback_timeout_ms: Option<u64>,
    /// Callback history (deliveries, attempt logs, their outbox events) is deleted this many
    /// days after it finished; 0 keeps it for ever.
    pub callback_retention_days: u64,
    pub log_json: bool,
    /// Sandbox: how long a payout stays `processing` before it succeeds by itself.
    pub payout_delay_ms: i64,
    /// Sandbox: amounts ending in .01 / .02 / .03 decline / hold / succeed after 5 s.
    pub amount_rules: bool,
    /// Sandbox: every open payment succeeds by itself this long after creation.
    pub auto_succeed_after_ms: Option<i64>,
}

/// Every setting as optional, in the shape of the TOML file; also what env and flags fill in.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Overrides {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub mode: Option<String>,
    pub public_base_url: Option<String>,
    pub admin_token: Option<String>,
    pub master_key: Option<String>,
    pub body_limit_bytes: Option<usize>,
    pub request_timeout_ms: Option<u64>,
    pub header_timeout_ms: Option<u64>,
    pub shutdown_drain_ms: Option<u64>,
    pub max_connections: Option<usize>,
    pub store_writers: Option<usize>,
    pub store_max_batch: Option<usize>,
    pub sweep_interval_ms: Option<u64>,
    pub allow_private_callbacks: Option<bool>,
    pub callback_concurrency: Option<usize>,
    pub callback_timeout_ms: Option<u64>,
    pub callback_retention_days: Option<u64>,
    pub log_json: Option<bool>,
    pub payout_delay_ms: Option<u64>,
    pub amount_rules: Option<bool>,
    pub auto_succeed_after_ms: Option<u64>,
}

/// The connection cap when none is set: 4096, or three quarters of the process's open-file
/// limit when that is lower (the rest is for the database, the log and callbacks in flight), so
/// that the cap, not a failing `accept`, is what holds connections back.
fn default_max_connections() -> usize {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit only writes the struct it is handed, which lives across the call.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0 {
            return connections_for_open_files(limit.rlim_cur);
        }
    }
    MAX_CONNECTIONS_DEFAULT
}

const MAX_CONNECTIONS_DEFAULT: usize = 4096;

/// Three quarters of an open-file limit, between 64 and [`MAX_CONNECTIONS_DEFAULT`].
fn connections_for_open_files(soft_limit: u64) -> usize {
    let soft = usize::try_from(soft_limit).unwrap_or(usize::MAX);
    (soft / 4)
        .saturating_mul(3)
        .clamp(64, MAX_CONNECTIONS_DEFAULT)
}

/// The shortest admin token a node accepts.
pub const MIN_ADMIN_TOKEN_CHARS: usize = 16;

impl Overrides {
    /// Later layers win: `self` is overlaid by `other` field by field. Both are taken apart
    /// field by field, so a setting added to [`Overrides`] cannot be left out here.
    pub fn overlay(self, other: Overrides) -> Overrides {
        let Overrides {
            listen,
            data_dir,
            database_url,
            mode,
            public_base_url,
            admin_token,
            master_key,
            body_limit_bytes,
            request_timeout_ms,
            header_timeout_ms,
            shutdown_drain_ms,
            max_connections,
            store_writers,
            store_max_batch,
            sweep_interval_ms,
            allow_private_callbacks,
            callback_concurrency,
            callback_timeout_ms,
            callback_retention_days,
            log_json,
            payout_delay_ms,
            amount_rules,
            auto_succeed_after_ms,
        } = other;
        Overrides {
            listen: listen.or(self.listen),
            data_dir: data_dir.or(self.data_dir),
            database_url: database_url.or(self.database_url),
            mode: mode.or(self.mode),
            public_base_url: public_base_url.or(self.public_base_url),
            admin_token: admin_token.or(self.admin_token),
            master_key: master_key.or(self.master_key),
            body_limit_bytes: body_limit_bytes.or(self.body_limit_bytes),
            request_timeout_ms: request_timeout_ms.or(self.request_timeout_ms),
            header_timeout_ms: header_timeout_ms.or(self.header_timeout_ms),
            shutdown_drain_ms: shutdown_drain_ms.or(self.shutdown_drain_ms),
            max_connections: max_connections.or(self.max_connections),
            store_writers: store_writers.or(self.store_writers),
            store_max_batch: store_max_batch.or(self.store_max_batch),
            sweep_interval_ms: sweep_interval_ms.or(self.sweep_interval_ms),
            allow_private_callbacks: allow_private_callbacks.or(self.allow_private_callbacks),
            callback_concurrency: callback_concurrency.or(self.callback_concurrency),
            callback_timeout_ms: callback_timeout_ms.or(self.callback_timeout_ms),
            callback_retention_days: callback_retention_days.or(self.callback_retention_days),
            log_json: log_json.or(self.log_json),
            payout_delay_ms: payout_delay_ms.or(self.payout_delay_ms),
            amount_rules: amount_rules.or(self.amount_rules),
            auto_succeed_after_ms: auto_succeed_after_ms.or(self.auto_succeed_after_ms),
        }
    }

    pub fn from_toml_file(path: &Path) -> anyhow::Result<Overrides> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }

    /// Reads `POLYPAY_<FIELD>` variables through `get` (a closure, so tests need no real env).
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> anyhow::Result<Overrides> {
        let s = |k: &str| get(&format!("POLYPAY_{k}")).filter(|v| !v.is_empty());
        let num = |k: &str| -> anyhow::Result<Option<u64>> {
            s(k).map(|v| {
                v.trim().parse().map_err(|_| {
                    let shown: String = v.chars().take(40).collect();
                    anyhow::anyhow!(
                        "POLYPAY_{k} (the `{}` setting) must be a whole number, not {shown:?}",
                        k.to_ascii_lowercase()
                    )
                })
            })
            .transpose()
        };
        let flag = |k: &str| -> anyhow::Result<Option<bool>> {
            s(k).map(|v| match v.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => Ok(true),
                "0" | "false" | "no" | "off" => Ok(false),
                _ => Err(anyhow::anyhow!(
                    "POLYPAY_{k} must be true or false (or 1/0, yes/no, on/off)"
                )),
            })
            .transpose()
        };
        Ok(Overrides {
            listen: s("LISTEN"),
            data_dir: s("DATA_DIR").map(PathBuf::from),
            database_url: s("DATABASE_URL"),
            mode: s("MODE"),
            public_base_url: s("PUBLIC_BASE_URL"),
            admin_token: s("ADMIN_TOKEN"),
            master_key: s("MASTER_KEY"),
            body_limit_bytes: num("BODY_LIMIT_BYTES")?.map(|v| v as usize),
            request_timeout_ms: num("REQUEST_TIMEOUT_MS")?,
            header_timeout_ms: num("HEADER_TIMEOUT_MS")?,
            shutdown_drain_ms: num("SHUTDOWN_DRAIN_MS")?,
            max_connections: num("MAX_CONNECTIONS")?.map(|v| v as usize),
            store_writers: num("STORE_WRITERS")?.map(|v| v as usize),
            store_max_batch: num("STORE_MAX_BATCH")?.map(|v| v as usize),
            sweep_interval_ms: num("SWEEP_INTERVAL_MS")?,
            allow_private_callbacks: flag("ALLOW_PRIVATE_CALLBACKS")?,
            callback_concurrency: num("CALLBACK_CONCURRENCY")?.map(|v| v as usize),
            callback_timeout_ms: num("CALLBACK_TIMEOUT_MS")?,
            callback_retention_days: num("CALLBACK_RETENTION_DAYS")?,
            log_json: flag("LOG_JSON")?,
            payout_delay_ms: num("PAYOUT_DELAY_MS")?,
            amount_rules: flag("AMOUNT_RULES")?,
            auto_succeed_after_ms: num("AUTO_SUCCEED_AFTER_MS")?,
        })
        .and_then(|o| {
            // Read by the BlockATM router itself (an env-only setting); checked here so a bad
            // value stops the start instead of leaving the spec's default in place.
            match s("BLOCKATM_RATE_LIMIT_PER_MINUTE").map(|v| v.trim().parse::<u32>()) {
                Some(Err(_)) => anyhow::bail!(
                    "POLYPAY_BLOCKATM_RATE_LIMIT_PER_MINUTE must be a whole number from 0 (off) to {}",
                    u32::MAX
                ),
                _ => Ok(o),
            }
        })
    }

    /// Each numeric setting within its bounds: a value past them (0 ms timeouts, a body limit
    /// of 0, a delay that would overflow) starts no node that cannot work, and says why.
    fn check_bounds(&self) -> anyhow::Result<()> {
        const HOUR_MS: u64 = 3_600_000;
        const CENTURY_MS: u64 = 100 * 366 * 24 * HOUR_MS;
        let as_u64 = |v: Option<usize>| v.map(|n| n as u64);
        let bounds: [(&str, Option<u64>, u64, u64); 13] = [
            (
                "body_limit_bytes",
                as_u64(self.body_limit_bytes),
                1024,
                1 << 30,
            ),
            ("request_timeout_ms", self.request_timeout_ms, 100, HOUR_MS),
            ("header_timeout_ms", self.header_timeout_ms, 100, HOUR_MS),
            ("shutdown_drain_ms", self.shutdown_drain_ms, 0, 60_000),
            (
                "max_connections",
                as_u64(self.max_connections),
                1,
                1_000_000,
            ),
            ("store_writers", as_u64(self.store_writers), 1, 64),
            ("store_max_batch", as_u64(self.store_max_batch), 1, 65_536),
            ("sweep_interval_ms", self.sweep_interval_ms, 1, HOUR_MS),
            (
                "callback_concurrency",
                as_u64(self.callback_concurrency),
                1,
                10_000,
            ),
            (
                "callback_timeout_ms",
                self.callback_timeout_ms,
                100,
                600_000,
            ),
            (
                "callback_retention_days",
                self.callback_retention_days,
                0,
                36_600,
            ),
            ("payout_delay_ms", self.payout_delay_ms, 0, CENTURY_MS),
            (
                "auto_succeed_after_ms",
                self.auto_succeed_after_ms,
                0,
                CENTURY_MS,
            ),
        ];
        for (name, value, min, max) in bounds {
            if let Some(v) = value.filter(|v| !(min..=max).contains(v)) {
                anyhow::bail!(
                    "{name} (POLYPAY_{}) must be from {min} to {max} (got {v})",
                    name.to_ascii_uppercase()
                );
            }
        }
        Ok(())
    }

    /// Applies defaults and validates.
    pub fn resolve(self) -> anyhow::Result<Config> {
        self.check_bounds()?;
        let listen: SocketAddr = self
            .listen
            .as_deref()
            .unwrap_or("127.0.0.1:8080")
            .parse()
            .map_err(|_| anyhow::anyhow!("listen must be an address like 127.0.0.1:8080"))?;
        let data_dir = self
            .data_dir
            .unwrap_or_else(|| PathBuf::from("polypay-data"));
        let database_url = self
            .database_url
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("polypay.db").display()));
        polypay_store::Backend::from_url(&database_url)?;
        let mode = Mode::parse(self.mode.as_deref().unwrap_or("sandbox"))?;
        // A listener on every interface has no address a link can name: the default link then
        // names this machine's loopback, and the start says how to set the real one.
        let everywhere = listen.ip().is_unspecified();
        let defaulted = match everywhere {
            true => format!("http://127.0.0.1:{}", listen.port()),
            false => format!("http://{listen}"),
        };
        let public_base_url_note = (everywhere && self.public_base_url.is_none()).then(|| {
            format!(
                "listening on every interface ({listen}) without public_base_url: cashier links \
                 and QR codes name {defaulted}, which only this machine reaches; set \
                 --public-base-url (POLYPAY_PUBLIC_BASE_URL) to the address customers use"
            )
        });
        let public_base_url = self
            .public_base_url
            .unwrap_or(defaulted)
            .trim_end_matches('/')
            .to_string();
        if !(public_base_url.starts_with("http://") || public_base_url.starts_with("https://")) {
            anyhow::bail!("public_base_url must start with http:// or https://");
        }
        if let Some(token) = &self.admin_token {
            if token.chars().count() < MIN_ADMIN_TOKEN_CHARS {
                // An empty token would match a request that sends none.
                anyhow::bail!(
                    "admin_token must be at least {MIN_ADMIN_TOKEN_CHARS} characters (it is the \
                     key to the admin API and the console); leave it unset to have one generated"
                );
            }
            if token.trim() != token {
                // The console's sign-in trims what it is given, and a header cannot carry it.
                anyhow::bail!("admin_token must not begin or end with whitespace");
            }
        }
        Ok(Config {
            listen,
            data_dir,
            database_url,
            mode,
            mode_chosen: self.mode.is_some(),
            public_base_url,
            public_base_url_note,
            admin_token: self.admin_token.map(Secret::new),
            master_key: self.master_key.map(Secret::new),
            body_limit_bytes: self.body_limit_bytes.unwrap_or(2 << 20),
            request_timeout_ms: self.request_timeout_ms.unwrap_or(30_000),
            header_timeout_ms: self.header_timeout_ms.unwrap_or(30_000),
            shutdown_drain_ms: self.shutdown_drain_ms.unwrap_or(500),
            max_connections: self.max_connections.unwrap_or_else(default_max_connections),
            store_writers: self.store_writers.unwrap_or(2),
            store_max_batch: self.store_max_batch.unwrap_or(256),
            sweep_interval_ms: self.sweep_interval_ms.unwrap_or(1_000),
            allow_private_callbacks: self
                .allow_private_callbacks
                .unwrap_or(mode == Mode::Sandbox),
            allow_private_callbacks_chosen: self.allow_private_callbacks.is_some(),
            callback_concurrency: self.callback_concurrency.unwrap_or(64),
            callback_timeout_ms: self.callback_timeout_ms,
            callback_retention_days: self.callback_retention_days.unwrap_or(90),
            log_json: self.log_json.unwrap_or(false),
            payout_delay_ms: self.payout_delay_ms.unwrap_or(10_000) as i64,
            amount_rules: self.amount_rules.unwrap_or(true),
            auto_succeed_after_ms: self.auto_succeed_after_ms.map(|v| v as i64),
        })
    }
}

impl Config {
    /// Takes the mode of the installation this node joins (its database records the mode of
    /// the first node that served it). Every node of an installation runs in the same mode: a
    /// sandbox node would complete a gateway's payments by its scenario rules. A mode asked
    /// for that differs is refused; a defaulted one gives way, and so does the callback
    /// address rule that follows from it.
    pub fn adopt_mode(&mut self, installation: Mode) -> anyhow::Result<()> {
        if installation == self.mode {
            return Ok(());
        }
        if self.mode_chosen {
            anyhow::bail!(
                "this database belongs to a {i}-mode installation, but this run asked for {m} \
                 mode: every node and command of an installation runs in the same mode. Run \
                 it with POLYPAY_MODE={i} (serve also takes --mode {i}), or with no mode at \
                 all to take the installation's; a {m}-mode installation needs a database of \
                 its own (to change this one's mode, stop every node and delete the record: \
                 DELETE FROM platform_secrets WHERE name = 'installation_mode')",
                i = installation.as_str(),
                m = self.mode.as_str(),
            );
        }
        self.mode = installation;
        if !self.allow_private_callbacks_chosen {
            self.allow_private_callbacks = installation == Mode::Sandbox;
        }
        Ok(())
    }

    /// The sandbox scenarios this configuration asks for (`None` in gateway mode).
    pub fn scenarios(&self) -> Option<polypay_engine::Scenarios> {
        (self.mode == Mode::Sandbox).then_some(polypay_engine::Scenarios {
            amount_rules: self.amount_rules,
            auto_succeed_after_ms: self.auto_succeed_after_ms,
        })
    }

    /// Defaults < file < environment < flags.
    pub fn load(file: Option<&Path>, flags: Overrides) -> anyhow::Result<Config> {
        let file = file
            .map(Overrides::from_toml_file)
            .transpose()?
            .unwrap_or_default();
        let env = Overrides::from_env(|k| std::env::var(k).ok())?;
        Overrides::default()
            .overlay(file)
            .overlay(env)
            .overlay(flags)
            .resolve()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_defaulted_mode_gives_way_to_the_installations_and_a_chosen_one_does_not() {
        let mut defaulted = Overrides::default().resolve().unwrap();
        assert_eq!(
            (defaulted.mode, defaulted.mode_chosen),
            (Mode::Sandbox, false)
        );
        defaulted.adopt_mode(Mode::Gateway).unwrap();
        assert_eq!(defaulted.mode, Mode::Gateway);
        assert!(
            !defaulted.allow_private_callbacks,
            "a gateway's callback rule follows"
        );

        let allowed = Overrides {
            allow_private_callbacks: Some(true),
            ..Default::default()
        };
        let mut c = allowed.resolve().unwrap();
        c.adopt_mode(Mode::Gateway).unwrap();
        assert!(c.allow_private_callbacks, "asked for, kept");

        let sandbox = Overrides {
            mode: Some("sandbox".into()),
            ..Default::default()
        };
        let mut chosen = sandbox.resolve().unwrap();
        chosen.adopt_mode(Mode::Sandbox).unwrap();
        let err = chosen.adopt_mode(Mode::Gateway).unwrap_err().to_string();
        assert!(
            err.contains("belongs to a gateway-mode installation")
                && err.contains("this run asked for sandbox mode"),
            "{err}"
        );
        assert_eq!(chosen.mode, Mode::Sandbox);
    }

    #[test]
    fn layers_apply_in_order() {
        let file: Overrides =
            toml::from_str("listen = \"0.0.0.0:1\"\nmode = \"gateway\"\nsweep_interval_ms = 5")
                .unwrap();
        let env = Overrides::from_env(|k| (k == "POLYPAY_LISTEN").then(|| "0.0.0.0:2".to_string()))
            .unwrap();
        let flags = Overrides {
            sweep_interval_ms: Some(7),
            ..Default::default()
        };
        let c = Overrides::default()
            .overlay(file)
            .overlay(env)
            .overlay(flags)
            .resolve()
            .unwrap();
        assert_eq!(c.listen.port(), 2);
        assert_eq!(c.mode, Mode::Gateway);
        assert_eq!(c.sweep_interval_ms, 7);
        assert!(
            !c.allow_private_callbacks,
            "gateway refuses private callbacks by default"
        );
        assert_eq!(c.database_url, "sqlite://polypay-data/polypay.db");
    }

    /// The sandbox settings went through no layer at all until `overlay` was made exhaustive:
    /// `POLYPAY_AUTO_SUCCEED_AFTER_MS` and friends were read, then dropped.
    #[test]
    fn every_setting_passes_through_the_layers() {
        let file: Overrides = toml::from_str("payout_delay_ms = 5\namount_rules = false").unwrap();
        let env = Overrides::from_env(|k| {
            (k == "POLYPAY_AUTO_SUCCEED_AFTER_MS").then(|| "2500".to_string())
        })
        .unwrap();
        let c = Overrides::default()
            .overlay(file)
            .overlay(env)
            .overlay(Overrides::default())
            .resolve()
            .unwrap();
        assert_eq!(
            (c.payout_delay_ms, c.amount_rules, c.auto_succeed_after_ms),
            (5, false, Some(2500))
        );
    }

    #[test]
    fn bad_values_are_refused_and_secrets_hidden() {
        assert!(
            Overrides {
                listen: Some("nope".into()),
                ..Default::default()
            }
            .resolve()
            .is_err()
        );
        assert!(
            Overrides {
                database_url: Some("mysql://x".into()),
                ..Default::default()
            }
            .resolve()
            .is_err()
        );
        assert!(toml::from_str::<Overrides>("typo = 1").is_err());
        // Values a node cannot work with, each refused by name and bound.
        for (toml, why) in [
            (
                "request_timeout_ms = 0",
                "request_timeout_ms (POLYPAY_REQUEST_TIMEOUT_MS) must be from 100 to 3600000 (got 0)",
            ),
            ("header_timeout_ms = 0", "header_timeout_ms"),
            ("body_limit_bytes = 0", "body_limit_bytes"),
            ("callback_timeout_ms = 0", "callback_timeout_ms"),
            ("callback_concurrency = 0", "callback_concurrency"),
            ("max_connections = 0", "max_connections"),
            ("shutdown_drain_ms = 99999999999", "shutdown_drain_ms"),
            ("payout_delay_ms = 9223372036854775807", "payout_delay_ms"),
            (
                "auto_succeed_after_ms = 9223372036854775807",
                "auto_succeed_after_ms",
            ),
        ] {
            let o: Overrides = toml::from_str(toml).unwrap();
            let refused = o.resolve().unwrap_err().to_string();
            assert!(refused.contains(why), "{toml}: {refused}");
        }
        let env = |k: &str, v: &'static str| {
            let k = k.to_owned();
            Overrides::from_env(move |name| (name == k).then(|| v.to_owned()))
        };
        assert!(
            env("POLYPAY_PAYOUT_DELAY_MS", "18446744073709551615")
                .unwrap()
                .resolve()
                .is_err()
        );
        assert!(env("POLYPAY_BLOCKATM_RATE_LIMIT_PER_MINUTE", "-5").is_err());
        assert!(env("POLYPAY_BLOCKATM_RATE_LIMIT_PER_MINUTE", "0").is_ok());
        assert!(
            env("POLYPAY_CALLBACK_CONCURRENCY", "1")
                .unwrap()
                .resolve()
                .is_ok()
        );
        // Every interface: the default link names loopback, and the start says so.
        let c = env("POLYPAY_LISTEN", "0.0.0.0:9100")
            .unwrap()
            .resolve()
            .unwrap();
        assert_eq!(c.public_base_url, "http://127.0.0.1:9100");
        assert!(
            c.public_base_url_note
                .unwrap()
                .contains("--public-base-url")
        );
        let c = env("POLYPAY_LISTEN", "127.0.0.1:9100")
            .unwrap()
            .resolve()
            .unwrap();
        assert_eq!(
            (c.public_base_url.as_str(), c.public_base_url_note),
            ("http://127.0.0.1:9100", None)
        );
        for (on, want) in [
            ("TRUE", true),
            ("On", true),
            (" yes ", true),
            ("OFF", false),
        ] {
            let o = env("POLYPAY_LOG_JSON", on).unwrap();
            assert_eq!(o.log_json, Some(want), "{on:?}");
        }
        assert!(env("POLYPAY_LOG_JSON", "enabled").is_err());
        let c = Overrides {
            admin_token: Some("tok-123-of-16-chars".into()),
            ..Default::default()
        }
        .resolve()
        .unwrap();
        assert!(!format!("{c:?}").contains("tok-123"));
        assert_eq!(super::connections_for_open_files(1024), 768);
        assert_eq!(super::connections_for_open_files(20_000), 4096);
        assert_eq!(super::connections_for_open_files(u64::MAX), 4096);
        assert_eq!(super::connections_for_open_files(16), 64);
        for short in [
            "",
            "tok-123",
            " tok-123-of-16-chars",
            "tok-123-of-16-chars\n",
        ] {
            let refused = Overrides {
                admin_token: Some(short.into()),
                ..Default::default()
            }
            .resolve();
            assert!(refused.is_err(), "{short:?} accepted");
        }
        assert!(
            toml::from_str::<Overrides>("admin_token = \"\"")
                .unwrap()
                .resolve()
                .is_err(),
            "an empty token in the file opens every admin route"
        );
        let refused =
            Overrides::from_env(|k| (k == "POLYPAY_REQUEST_TIMEOUT_MS").then(|| "5s".into()));
        assert_eq!(
            refused.unwrap_err().to_string(),
            "POLYPAY_REQUEST_TIMEOUT_MS (the `request_timeout_ms` setting) must be a whole number, not \"5s\"",
            "non-numeric env is refused, with the setting's name"
        );
        let spaced =
            Overrides::from_env(|k| (k == "POLYPAY_REQUEST_TIMEOUT_MS").then(|| " 500 ".into()));
        assert_eq!(spaced.unwrap().request_timeout_ms, Some(500));
    }
}
