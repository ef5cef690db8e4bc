//! The state every handler shares: engine, configuration, admin token, metrics.

use crate::config::{Config, Mode};
use polypay_core::{Secret, SystemClock};
use polypay_engine::{Engine, Platform};
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub inner: Arc<AppInner>,
}

pub struct AppInner {
    pub engine: Engine,
    pub config: Config,
    /// The sandbox-adjustable clock the engine reads (time travel moves it).
    pub clock: Arc<SystemClock>,
    pub admin_token: Secret,
    /// Base URL, mode and platform key pairs, shared with the protocol front doors.
    pub platform: Arc<Platform>,
    /// Each protocol's callback and redirect encoder.
    pub notifiers: Vec<Arc<dyn polypay_notify::ProtocolNotifier>>,
    /// The events none of them sends (they get no delivery row).
    pub silent: Arc<polypay_store::SilentEvents>,
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    /// The key of the cashier's CSRF tokens ([`crate::cashier`]), derived once from the
    /// platform's EC private key, so every node of an installation has the same.
    pub cashier_csrf_key: aws_lc_rs::hmac::Key,
    /// This node among the installation's: `<host>-<pid>-<random>`, the holder of its callback
    /// and sweep leases.
    pub node_id: String,
    /// Wrong admin tokens per client address ([`crate::auth_throttle`]).
    pub auth_throttle: crate::auth_throttle::AuthThrottle,
}

/// A name for this node, unique among the installation's: the host, the process and a random
/// part (two nodes in one process, as in tests, differ too).
fn node_id() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "polypay".into());
    format!(
        "{host}-{}-{}",
        std::process::id(),
        polypay_engine::random_hex(3)
    )
}

impl AppState {
    /// The state of a bootstrapped node, with every protocol's notifier.
    pub fn new(
        boot: crate::bootstrap::Bootstrapped,
        config: Config,
        platform: Arc<Platform>,
        metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    ) -> AppState {
        let notifiers = crate::protocols::notifiers(&platform);
        let cashier_csrf_key = crate::cashier::csrf_key(&platform);
        AppState {
            inner: Arc::new(AppInner {
                engine: boot.engine,
                config,
                clock: boot.clock,
                admin_token: boot.admin_token,
                silent: Arc::new(polypay_notify::silent_events(&notifiers)),
                notifiers,
                platform,
                metrics,
                cashier_csrf_key,
                node_id: node_id(),
                auth_throttle: Default::default(),
            }),
        }
    }

    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn mode(&self) -> Mode {
        self.inner.config.mode
    }

    /// The encoder of one protocol, if it is mounted.
    pub fn notifier(
        &self,
        protocol: polypay_core::Protocol,
    ) -> Option<&Arc<dyn polypay_notify::ProtocolNotifier>> {
        self.inner
            .notifiers
            .iter()
            .find(|n| n.protocol() == protocol)
    }

    /// The events no mounted protocol sends a callback for (they get no delivery row).
    pub fn silent_events(&self) -> &Arc<polypay_store::SilentEvents> {
        &self.inner.silent
    }

    /// Constant-time check of a presented admin bearer token.
    pub fn admin_token_matches(&self, presented: &str) -> bool {
        use subtle::ConstantTimeEq;
        let expected = self.inner.admin_token.expose().as_bytes();
        presented.len() == expected.len() && bool::from(presented.as_bytes().ct_eq(expected))
    }
}
