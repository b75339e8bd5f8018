//! Starting and stopping a ferroacs server (used by `ferroacs serve` and by the tests).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

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
    pub store: DynStore,
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
    let state = AppState::new(store.clone(), api_config(args, api_addr));
    let (stop, stop_rx) = watch::channel(false);
    let grace = Duration::from_secs(args.shutdown_grace);
    let router = api::router(state);
    let mut rx = stop_rx.clone();
    let api_task = tokio::spawn(async move {
        server::serve(
            api_listener,
            tls,
            router,
            async move {
                let _ = rx.wait_for(|v| *v).await;
            },
            grace,
        )
        .await;
    });
    tracing::info!(addr = %api_addr, backend = store.backend(), "inventory API listening");
    Ok(Running {
        api_addr,
        store,
        stop,
        tasks: vec![api_task],
    })
}
