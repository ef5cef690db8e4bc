//! The polypay HTTP server: composes the protocol routers, the admin API, health and metrics,
//! the middleware stack (request id, body limit, timeout, tracing, metrics), background sweepers,
//! and graceful shutdown.

pub mod admin;
pub mod app;
pub mod audit;
pub mod auth_throttle;
pub mod bootstrap;
pub mod bounded;
pub mod callbacks;
pub mod cashier;
pub mod config;
pub mod console;
pub mod health;
pub mod listen;
pub mod lists;
pub mod middleware;
pub mod protocols;
pub mod sandbox;
pub mod settle;
pub mod signature_log;
pub mod state;
pub mod testing;

pub use app::{build_router, serve};
pub use bootstrap::{Bootstrapped, bootstrap, bootstrap_node};
pub use config::{Config, Mode, Overrides};
pub use state::AppState;
