//! The connection-request listener of a simulated CPE: HTTP GET on 127.0.0.1, HTTP Digest
//! against the tree's `ManagementServer.ConnectionRequestUsername/Password`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use super::{Inner, Reachability, Simulator};
use crate::digest::{AuthError, DigestServer, StoredCredentials, parse_authorization};

/// The realm of the simulated CPEs' connection-request challenges.
pub const REALM: &str = "ferroacs-sim";

pub(crate) async fn start(sim: &Simulator) -> std::io::Result<SocketAddr> {
    if let Some(addr) = sim.lock().cr.addr {
        return Ok(addr);
    }
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let token: [u8; 6] = rand::random();
    let path = format!("/cr/{}", hex::encode(token));
    {
        let mut st = sim.lock();
        if let Some(addr) = st.cr.addr {
            return Ok(addr);
        }
        st.cr.addr = Some(addr);
        st.cr.path = path.clone();
        let name = format!("{}ManagementServer.ConnectionRequestURL", st.tree.root());
        st.set_fixed_value(&name, &format!("http://{addr}{path}"));
    }
    let digest = Arc::new(DigestServer::new(REALM, DigestServer::generate_secret()));
    let weak = Arc::downgrade(&sim.inner);
    let task = tokio::spawn(async move {
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(x) => x,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            };
            let reach = match weak.upgrade() {
                Some(inner) => {
                    let mut st = inner.state.lock().unwrap_or_else(|e| e.into_inner());
                    if st.cr.reach != Reachability::Reachable {
                        st.cr.attempts += 1;
                    }
                    st.cr.reach
                }
                None => break,
            };
            match reach {
                Reachability::Refuse => {
                    drop(stream);
                    continue;
                }
                Reachability::Blackhole => {
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_secs(120)).await;
                        drop(stream);
                    });
                    continue;
                }
                Reachability::Reachable => {}
            }
            let weak = weak.clone();
            let digest = digest.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req| {
                    let resp = handle(&weak, &digest, &req);
                    async move { Ok::<_, Infallible>(resp) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    *sim.inner.listener.lock().unwrap_or_else(|e| e.into_inner()) = Some(task.abort_handle());
    Ok(addr)
}

fn respond(status: StatusCode, challenges: Vec<String>) -> Response<Full<Bytes>> {
    let mut b = Response::builder().status(status);
    for c in challenges {
        b = b.header(hyper::header::WWW_AUTHENTICATE, c);
    }
    b.body(Full::new(Bytes::new()))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

fn handle(
    weak: &Weak<Inner>,
    digest: &DigestServer,
    req: &Request<Incoming>,
) -> Response<Full<Bytes>> {
    let Some(inner) = weak.upgrade() else {
        return respond(StatusCode::SERVICE_UNAVAILABLE, Vec::new());
    };
    let mut st = inner.state.lock().unwrap_or_else(|e| e.into_inner());
    st.cr.attempts += 1;
    if req.method() != hyper::Method::GET {
        return respond(StatusCode::METHOD_NOT_ALLOWED, Vec::new());
    }
    if req.uri().path() != st.cr.path {
        return respond(StatusCode::NOT_FOUND, Vec::new());
    }
    let ms = format!("{}ManagementServer.", st.tree.root());
    let get = |k: &str| {
        st.tree
            .get(&format!("{ms}{k}"))
            .map(|n| n.value.to_string())
            .unwrap_or_default()
    };
    let (user, pass) = (
        get("ConnectionRequestUsername"),
        get("ConnectionRequestPassword"),
    );
    if !(user.is_empty() && pass.is_empty()) {
        let header = req
            .headers()
            .get(hyper::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let verdict = match header.map(parse_authorization) {
            None => Err(AuthError::Missing),
            Some(Err(e)) => Err(e),
            Some(Ok(creds)) if creds.username() != user => Err(AuthError::UnknownUser),
            Some(Ok(creds)) => {
                let stored = StoredCredentials::derive(&user, &pass, REALM);
                digest.verify(&creds, "GET", &stored)
            }
        };
        match verdict {
            Ok(()) => {}
            Err(AuthError::Stale) => {
                return respond(StatusCode::UNAUTHORIZED, digest.challenge(true));
            }
            Err(_) => return respond(StatusCode::UNAUTHORIZED, digest.challenge(false)),
        }
    }
    st.cr.accepted += 1;
    st.push_event("6 CONNECTION REQUEST", "");
    drop(st);
    inner.notify.notify_waiters();
    respond(StatusCode::OK, Vec::new())
}
