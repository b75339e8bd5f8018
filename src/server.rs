//! Listeners: plain TCP or TLS (rustls), HTTP/1.1 and HTTP/2, graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

/// Who is on the other end of a connection; handlers read it as a request extension.
#[derive(Debug, Clone, Copy)]
pub struct ConnInfo {
    pub id: u64,
    pub peer: SocketAddr,
    /// The listener's own address (where the client reached us).
    pub local: SocketAddr,
    pub tls: bool,
}

static NEXT_CONN: AtomicU64 = AtomicU64::new(1);

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("reading {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("no private key found in {0}")]
    NoKey(String),
    #[error("no certificate found in {0}")]
    NoCert(String),
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
}

/// Builds a TLS acceptor from PEM files (certificate chain and private key).
pub fn tls_acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, TlsError> {
    let read = |p: &Path| {
        std::fs::read(p).map_err(|source| TlsError::Io {
            path: p.display().to_string(),
            source,
        })
    };
    let cert_pem = read(cert)?;
    let key_pem = read(key)?;
    let certs: Vec<_> = rustls_pemfile::certs(&mut cert_pem.as_slice())
        .collect::<Result<_, _>>()
        .map_err(|source| TlsError::Io {
            path: cert.display().to_string(),
            source,
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCert(cert.display().to_string()));
    }
    let key = rustls_pemfile::private_key(&mut key_pem.as_slice())
        .map_err(|source| TlsError::Io {
            path: key.display().to_string(),
            source,
        })?
        .ok_or_else(|| TlsError::NoKey(key.display().to_string()))?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// HTTP versions a listener speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// HTTP/1.1 and HTTP/2 (the API).
    Auto,
    /// HTTP/1.1 only (the CWMP endpoint: CPEs speak 1.1, and not sniffing for HTTP/2 saves a
    /// buffer per connection).
    Http1,
}

trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static> Io for T {}

/// Serves `router` on `listener` until `shutdown` resolves, then lets in-flight requests finish
/// (up to `drain`).
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    router: Router,
    protocol: Protocol,
    shutdown: impl Future<Output = ()>,
    drain: Duration,
) {
    let graceful = GracefulShutdown::new();
    // Thousands of CPE connections are open at once: per-connection buffers stay at hyper's
    // minimum (bodies stream through them), and clients that never finish their headers go.
    // Half-close: without it hyper reads ahead for EOF while each request is handled, into a
    // second 8 KiB buffer (the first one still holds the body): with 10,000 CPEs in sessions
    // that was 158 MB of the 302 MB heap peak (heaptrack). A request is handled to the end
    // even if its client went away; the response write then fails.
    let mut auto_builder = auto::Builder::new(TokioExecutor::new());
    auto_builder
        .http1()
        .half_close(true)
        .max_buf_size(8 * 1024)
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30));
    let mut h1_builder = hyper::server::conn::http1::Builder::new();
    h1_builder
        .half_close(true)
        .max_buf_size(8 * 1024)
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30));
    let builders = Arc::new((auto_builder, h1_builder));
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(v) => v,
                Err(e) => {
                    // Out of descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let local = stream.local_addr().unwrap_or(peer);
        let info = ConnInfo {
            id: NEXT_CONN.fetch_add(1, Ordering::Relaxed),
            peer,
            local,
            tls: tls.is_some(),
        };
        let svc = router
            .clone()
            .map_request(move |mut req: Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(info);
                req
            });
        let svc = TowerToHyperService::new(svc);
        let builders = builders.clone();
        let watcher = graceful.watcher();
        let acceptor = tls.clone();
        tokio::spawn(async move {
            let io: Box<dyn Io> = match acceptor {
                None => Box::new(stream),
                Some(acceptor) => {
                    match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream))
                        .await
                    {
                        Ok(Ok(s)) => Box::new(s),
                        Ok(Err(e)) => {
                            tracing::debug!(peer = %info.peer, error = %e, "TLS handshake failed");
                            return;
                        }
                        Err(_) => return,
                    }
                }
            };
            let io = TokioIo::new(io);
            let result = match protocol {
                Protocol::Http1 => watcher
                    .watch(builders.1.serve_connection(io, svc))
                    .await
                    .map_err(Into::into),
                Protocol::Auto => {
                    watcher
                        .watch(
                            builders
                                .0
                                .serve_connection_with_upgrades(io, svc)
                                .into_owned(),
                        )
                        .await
                }
            };
            if let Err(e) = result {
                tracing::debug!(peer = %info.peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(drain, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some connections were still open after the drain period");
    }
}
