//! ferroacs: a TR-069/CWMP Auto-Configuration Server with an embedded device inventory.

pub mod acs;
pub mod api;
pub mod app;
pub mod cli;
pub mod config;
pub mod cpe;
pub mod cwmp;
pub mod digest;
pub mod error;
pub mod loadgen;
pub mod server;
pub mod settings;
pub mod store;
pub mod time;

/// Selects ring as the process's TLS crypto provider (one provider for rustls, reqwest and
/// sqlx; aws-lc-rs would need cmake to build). Idempotent.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
