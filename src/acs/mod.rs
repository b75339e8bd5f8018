//! The ACS side: the CWMP endpoint CPEs talk to, its sessions, and the background jobs that keep
//! the inventory's view of devices true.

pub mod auth;
pub mod endpoint;
pub mod facts;
pub mod planner;
pub mod session;
pub mod writer;

use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;

use crate::digest::{DigestServer, StoredCredentials};
use crate::store::DynStore;

use auth::CpeAuth;
use session::SessionTable;
use writer::WriteQueue;

/// Settings of the CWMP side.
#[derive(Debug, Clone)]
pub struct CwmpConfig {
    pub realm: String,
    /// Signs Digest nonces; instances behind one load balancer must share it.
    pub nonce_secret: [u8; 32],
    pub allow_basic_http: bool,
    pub session_timeout: Duration,
    pub max_body_bytes: usize,
    /// Organization unknown devices are created in (with the bootstrap credentials).
    pub auto_register: Option<i64>,
    pub bootstrap: Option<(String, String)>,
    pub auth_cache_ttl: Duration,
    pub writers: usize,
    pub write_batch: usize,
    pub sweep_interval: Duration,
    pub default_inform_interval_s: i64,
    pub down_after_intervals: i64,
    /// Connection requests go only to addresses in these networks.
    pub connection_request_allow: Vec<IpNet>,
}

impl Default for CwmpConfig {
    fn default() -> Self {
        CwmpConfig {
            realm: "ferroacs".into(),
            nonce_secret: DigestServer::generate_secret(),
            allow_basic_http: false,
            session_timeout: Duration::from_secs(30),
            max_body_bytes: 4 << 20,
            auto_register: None,
            bootstrap: None,
            auth_cache_ttl: Duration::from_secs(5),
            writers: 1,
            write_batch: 256,
            sweep_interval: Duration::from_secs(30),
            default_inform_interval_s: 86_400,
            down_after_intervals: 3,
            connection_request_allow: Vec::new(),
        }
    }
}

/// Everything a CWMP request handler needs.
pub struct Acs {
    pub store: DynStore,
    pub config: CwmpConfig,
    pub auth: CpeAuth,
    pub sessions: SessionTable,
    pub writer: WriteQueue,
}

impl Acs {
    /// Builds the ACS and starts its background tasks (writers, session reaper, status sweeper).
    pub fn start(store: DynStore, config: CwmpConfig) -> Arc<Acs> {
        let digest = DigestServer::new(config.realm.clone(), config.nonce_secret);
        let bootstrap = config
            .bootstrap
            .as_ref()
            .map(|(u, p)| StoredCredentials::derive(u, p, &config.realm));
        let auth = CpeAuth::new(
            digest,
            store.clone(),
            bootstrap,
            config.allow_basic_http,
            config.auth_cache_ttl,
        );
        let writer = WriteQueue::start(store.clone(), config.writers, config.write_batch);
        let acs = Arc::new(Acs {
            store,
            config,
            auth,
            sessions: SessionTable::default(),
            writer,
        });
        let weak = Arc::downgrade(&acs);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                let Some(acs) = weak.upgrade() else { return };
                let n = acs.sessions.expire(acs.config.session_timeout);
                if n > 0 {
                    tracing::debug!(expired = n, "idle CWMP sessions dropped");
                }
            }
        });
        let weak = Arc::downgrade(&acs);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(
                weak.upgrade()
                    .map(|a| a.config.sweep_interval)
                    .unwrap_or_default()
                    .max(Duration::from_millis(100)),
            );
            loop {
                tick.tick().await;
                let Some(acs) = weak.upgrade() else { return };
                acs.sweep().await;
            }
        });
        acs
    }

    /// Marks Down the devices that stopped informing, in bounded batches.
    pub async fn sweep(&self) -> u64 {
        let mut total = 0;
        loop {
            let now = crate::time::now_micros();
            match self
                .store
                .sweep_down(
                    now,
                    self.config.default_inform_interval_s,
                    self.config.down_after_intervals,
                    1000,
                )
                .await
            {
                Ok(n) => {
                    total += n;
                    if n < 1000 {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "status sweep failed");
                    break;
                }
            }
        }
        if total > 0 {
            tracing::info!(devices = total, "marked Down after missing their Informs");
        }
        total
    }
}
