//! Starting and stopping a ferroacs server (used by `ferroacs serve` and by the tests).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use std::sync::Arc;

use crate::acs::keys::Keys;
use crate::acs::{Acs, CwmpConfig, endpoint};
use crate::api::{self, ApiConfig, AppState};
use crate::config::ServeArgs;
use crate::server;
use crate::store::{self, DynStore};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("binding {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Tls(#[from] server::TlsError),
}

/// A running server: its bound addresses and a handle to stop it.
pub struct Running {
    pub api_addr: SocketAddr,
    pub cwmp_addr: SocketAddr,
    pub store: DynStore,
    pub acs: Arc<Acs>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    /// Stops accepting, lets in-flight requests finish, and waits for the listeners.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }

    /// Resolves when the server was asked to stop.
    pub async fn wait(mut self) {
        for t in std::mem::take(&mut self.tasks) {
            let _ = t.await;
        }
    }

    pub fn stopper(&self) -> watch::Sender<bool> {
        self.stop.clone()
    }
}

pub fn api_config(args: &ServeArgs, api_addr: SocketAddr) -> ApiConfig {
    ApiConfig {
        default_limit: args.default_limit.max(1),
        max_limit: args.max_limit.max(1),
        public_url: args.public_url.clone(),
        listen_addr: api_addr.to_string(),
        tls: args.tls_cert.is_some(),
        realm: args.realm.clone(),
        data_dir: args.data_dir.clone(),
        max_body_bytes: args.max_body_bytes,
        max_firmware_bytes: args.max_firmware_bytes,
        default_inform_interval_s: args.default_inform_interval.max(1),
        down_after_intervals: args.down_after_intervals.max(1),
    }
}

pub fn cwmp_config(args: &ServeArgs, postgres: bool) -> CwmpConfig {
    CwmpConfig {
        realm: args.realm.clone(),
        nonce_secret: args.nonce_secret.map(|s| s.0),
        allow_basic_http: args.allow_basic_over_http,
        session_timeout: Duration::from_secs(args.session_timeout.max(1)),
        max_body_bytes: args.cwmp_max_body_bytes,
        auto_register: args.auto_register,
        bootstrap: args
            .bootstrap_username
            .clone()
            .zip(args.bootstrap_password.clone()),
        auth_cache_ttl: Duration::from_secs(args.auth_cache_ttl),
        writers: match args.writers {
            0 if postgres => 2,
            0 => 1,
            n => n,
        },
        write_batch: args.write_batch.max(1),
        sweep_interval: Duration::from_secs(args.sweep_interval.max(1)),
        default_inform_interval_s: args.default_inform_interval.max(1),
        down_after_intervals: args.down_after_intervals.max(1),
        connection_request_allow: args.connection_request_allow.clone(),
        connection_request_timeout: Duration::from_secs(args.connection_request_timeout.max(1)),
        connection_request_interval: Duration::from_secs(args.connection_request_interval),
        retry_backoff: Duration::from_secs(args.retry_backoff),
        operation_timeout: Duration::from_secs(args.operation_timeout),
        download_timeout: Duration::from_secs(args.download_timeout.max(1)),
        sync_batch: args.sync_batch.max(1),
        public_url: args.cwmp_public_url.clone(),
        data_dir: args.data_dir.clone(),
        keep_session_logs: args.keep_session_logs.max(1),
    }
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { addr, source })
}

/// Opens and migrates the store, binds the listeners and starts serving.
pub async fn start(args: &ServeArgs) -> Result<Running, StartError> {
    let store = store::open(&args.db.database_url).await?;
    store.migrate().await?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(c), Some(k)) => Some(server::tls_acceptor(c, k)?),
        _ => None,
    };
    let api_listener = bind(args.api_listen).await?;
    let api_addr = api_listener
        .local_addr()
        .map_err(|source| StartError::Bind {
            addr: args.api_listen,
            source,
        })?;
    let cwmp_listener = bind(args.cwmp_listen).await?;
    let cwmp_addr = cwmp_listener
        .local_addr()
        .map_err(|source| StartError::Bind {
            addr: args.cwmp_listen,
            source,
        })?;
    let keys = Keys::load(&store).await?;
    let acs = Acs::start(
        store.clone(),
        cwmp_config(args, store.backend() == "postgres"),
        keys,
    );
    let mut state = AppState::new(store.clone(), api_config(args, api_addr));
    state.connreq = Some(acs.connreq.clone());
    state.probe_timeout = Duration::from_secs(args.probe_timeout.max(1));
    let (stop, stop_rx) = watch::channel(false);
    let grace = Duration::from_secs(args.shutdown_grace);
    let mut tasks = Vec::new();
    for (listener, router, protocol) in [
        (api_listener, api::router(state), server::Protocol::Auto),
        (
            cwmp_listener,
            endpoint::router(acs.clone()),
            server::Protocol::Http1,
        ),
    ] {
        let mut rx = stop_rx.clone();
        let tls = tls.clone();
        tasks.push(tokio::spawn(async move {
            server::serve(
                listener,
                tls,
                router,
                protocol,
                async move {
                    let _ = rx.wait_for(|v| *v).await;
                },
                grace,
            )
            .await;
        }));
    }
    tracing::info!(addr = %api_addr, backend = store.backend(), "inventory API listening");
    tracing::info!(addr = %cwmp_addr, "CWMP endpoint listening");
    Ok(Running {
        api_addr,
        cwmp_addr,
        store,
        acs,
        stop,
        tasks,
    })
}
