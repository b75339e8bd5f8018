//! The ACS side: the CWMP endpoint CPEs talk to, its sessions, the operations it carries out,
//! and the background jobs that keep the inventory's view of devices true.

pub mod auth;
pub mod connreq;
pub mod downloads;
pub mod endpoint;
pub mod facts;
pub mod keys;
pub mod planner;
pub mod session;
pub mod writer;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;

use crate::digest::{DigestServer, StoredCredentials};
use crate::store::DynStore;

use auth::CpeAuth;
use connreq::ConnectionRequester;
use keys::Keys;
use session::SessionTable;
use writer::WriteQueue;

/// Settings of the CWMP side.
#[derive(Debug, Clone)]
pub struct CwmpConfig {
    pub realm: String,
    /// Signs Digest nonces; default: a key shared by every instance through the database.
    pub nonce_secret: Option<[u8; 32]>,
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
    /// Connection requests go only to addresses in these networks (empty: anywhere).
    pub connection_request_allow: Vec<IpNet>,
    pub connection_request_timeout: Duration,
    /// A device is not woken twice within this.
    pub connection_request_interval: Duration,
    /// First retry delay after a fault; doubles per attempt, capped at an hour.
    pub retry_backoff: Duration,
    /// How long a sent reboot or factory reset waits for the CPE to come back before resending.
    pub operation_timeout: Duration,
    /// How long a sent Download waits for its TransferComplete before it counts as failed.
    pub download_timeout: Duration,
    pub sync_batch: usize,
    /// Base URL CPEs reach the CWMP listener at (for firmware URLs); default: the Host they used.
    pub public_url: Option<String>,
    pub data_dir: PathBuf,
    /// Transcripts kept per device in debug mode.
    pub keep_session_logs: i64,
}

impl Default for CwmpConfig {
    fn default() -> Self {
        CwmpConfig {
            realm: "ferroacs".into(),
            nonce_secret: None,
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
            connection_request_timeout: Duration::from_secs(5),
            connection_request_interval: Duration::from_secs(10),
            retry_backoff: Duration::from_secs(60),
            operation_timeout: Duration::from_secs(300),
            download_timeout: Duration::from_secs(3600),
            sync_batch: 100,
            public_url: None,
            data_dir: PathBuf::from("data"),
            keep_session_logs: 10,
        }
    }
}

/// Requests processed at once (two cores keep busy with far fewer).
const MAX_INFLIGHT: usize = 256;

/// Everything a CWMP request handler needs.
pub struct Acs {
    pub store: DynStore,
    pub config: CwmpConfig,
    pub auth: CpeAuth,
    pub sessions: SessionTable,
    pub writer: WriteQueue,
    pub keys: Keys,
    pub connreq: Arc<ConnectionRequester>,
    /// Requests being worked on at once; the others wait with their body still in the socket,
    /// so thousands of concurrent CPEs cost little memory.
    pub inflight: tokio::sync::Semaphore,
}

impl Acs {
    /// Builds the ACS and starts its background tasks (writers, session reaper, sweeper).
    pub fn start(store: DynStore, config: CwmpConfig, keys: Keys) -> Arc<Acs> {
        let digest = DigestServer::new(
            config.realm.clone(),
            config.nonce_secret.unwrap_or(keys.nonce),
        );
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
        let connreq = Arc::new(ConnectionRequester::new(
            store.clone(),
            keys.clone(),
            config.connection_request_allow.clone(),
            config.connection_request_timeout,
            config.connection_request_interval,
        ));
        let acs = Arc::new(Acs {
            store,
            config,
            auth,
            sessions: SessionTable::default(),
            writer,
            keys,
            connreq,
            inflight: tokio::sync::Semaphore::new(MAX_INFLIGHT),
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
        let every = acs.config.sweep_interval.max(Duration::from_millis(100));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                let Some(acs) = weak.upgrade() else { return };
                acs.sweep().await;
                match acs.store.maintain().await {
                    Ok(t) if !t.is_empty() => {
                        tracing::info!(tables = ?t, "database statistics refreshed")
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "database maintenance failed"),
                }
            }
        });
        acs
    }

    /// Marks Down the devices that stopped informing and fails downloads never confirmed.
    /// Each statement is conditional, so instances sweeping together change each row once.
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
        let timeout = self.config.download_timeout.as_micros() as i64;
        match self
            .store
            .expire_downloads(crate::time::now_micros(), timeout)
            .await
        {
            Ok(n) if n > 0 => tracing::warn!(
                devices = n,
                "firmware downloads never confirmed: recorded as failed"
            ),
            Err(e) => tracing::warn!(error = %e, "download expiry failed"),
            _ => {}
        }
        total
    }
}
