//! A lean virtual CPE for load: one HTTP/1.1 connection, Digest computed directly from a cached
//! challenge (one nonce per worker, counting `nc` up), Informs from a template, and just enough
//! answers to the ACS's requests. Allocation-light so the load generator leaves the CPU to the ACS.

use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{
    AUTHORIZATION, CONNECTION, CONTENT_TYPE, COOKIE, HOST, SET_COOKIE, WWW_AUTHENTICATE,
};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use md5::{Digest as _, Md5};
use tokio::net::TcpStream;

use super::stats::Tally;
use crate::cwmp::{self, Body, Envelope, Header, Limits};

/// The Digest challenge a worker answers with (nonces are not tied to a user).
#[derive(Debug, Clone)]
struct Challenge {
    realm: String,
    nonce: String,
    opaque: Option<String>,
    nc: u32,
    cnonce: String,
}

fn param(ch: &str, name: &str) -> Option<String> {
    let lower = ch.to_ascii_lowercase();
    let pat = format!("{name}=");
    let mut from = 0;
    while let Some(p) = lower[from..].find(&pat) {
        let at = from + p;
        if at == 0 || matches!(lower.as_bytes()[at - 1], b' ' | b',') {
            let rest = &ch[at + pat.len()..];
            return Some(match rest.strip_prefix('"') {
                Some(q) => q.split('"').next().unwrap_or("").to_string(),
                None => rest.split(',').next().unwrap_or("").trim().to_string(),
            });
        }
        from = at + 1;
    }
    None
}

fn md5_hex(parts: &[&[u8]]) -> String {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    hex::encode(h.finalize())
}

/// What a device does in sessions.
pub struct DeviceRef<'a> {
    pub username: &'a str,
    pub password: &'a str,
    pub inform: Bytes,
    /// A request of the CPE's own (a TransferComplete) sent after the InformResponse.
    pub cpe_request: Option<Bytes>,
}

/// The outcome of one session.
#[derive(Debug, Default)]
pub struct Outcome {
    /// SetParameterValues the ACS sent (name, value).
    pub set: Vec<(String, String)>,
    /// CommandKey of a Reboot the ACS asked for (the CPE comes back with `M Reboot`).
    pub reboot: Option<String>,
    /// A Download the ACS asked for (the CPE fetches it and reports a TransferComplete).
    pub download: Option<cwmp::Download>,
    pub exchanges: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum VcpeError {
    #[error("connect: {0}")]
    Connect(String),
    #[error("http: {0}")]
    Http(String),
    #[error("status {0}")]
    Status(u16),
    #[error("protocol: {0}")]
    Protocol(&'static str),
}

impl VcpeError {
    pub fn kind(&self) -> String {
        match self {
            VcpeError::Connect(_) => "connect".into(),
            VcpeError::Http(_) => "http".into(),
            VcpeError::Status(s) => format!("status {s}"),
            VcpeError::Protocol(p) => format!("protocol: {p}"),
        }
    }
}

pub struct Vcpe {
    addr: SocketAddr,
    host: String,
    path: String,
    ha2: String,
    sender: Option<SendRequest<Full<Bytes>>>,
    challenge: Option<Challenge>,
    cookie: Option<String>,
}

impl Vcpe {
    pub fn new(addr: SocketAddr, path: &str) -> Vcpe {
        Vcpe {
            addr,
            host: addr.to_string(),
            path: path.to_string(),
            ha2: md5_hex(&[b"POST:", path.as_bytes()]),
            sender: None,
            challenge: None,
            cookie: None,
        }
    }

    async fn connect(&mut self) -> Result<(), VcpeError> {
        let stream = TcpStream::connect(self.addr)
            .await
            .map_err(|e| VcpeError::Connect(e.to_string()))?;
        let _ = stream.set_nodelay(true);
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| VcpeError::Connect(e.to_string()))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        self.sender = Some(sender);
        Ok(())
    }

    fn authorization(&mut self, user: &str, password: &str) -> Option<String> {
        let ch = self.challenge.as_mut()?;
        ch.nc += 1;
        let nc = format!("{:08x}", ch.nc);
        let ha1 = md5_hex(&[
            user.as_bytes(),
            b":",
            ch.realm.as_bytes(),
            b":",
            password.as_bytes(),
        ]);
        let response = md5_hex(&[
            ha1.as_bytes(),
            b":",
            ch.nonce.as_bytes(),
            b":",
            nc.as_bytes(),
            b":",
            ch.cnonce.as_bytes(),
            b":auth:",
            self.ha2.as_bytes(),
        ]);
        let mut h = format!(
            "Digest username=\"{user}\", realm=\"{}\", nonce=\"{}\", uri=\"{}\", algorithm=MD5, response=\"{response}\", qop=auth, nc={nc}, cnonce=\"{}\"",
            ch.realm, ch.nonce, self.path, ch.cnonce
        );
        if let Some(o) = &ch.opaque {
            h.push_str(&format!(", opaque=\"{o}\""));
        }
        Some(h)
    }

    /// One POST; reconnects once when the connection was closed under us.
    async fn post(
        &mut self,
        body: Bytes,
        auth: Option<String>,
        close: bool,
    ) -> Result<(StatusCode, hyper::HeaderMap, Bytes), VcpeError> {
        for attempt in 0..2 {
            if self.sender.as_ref().is_none_or(|s| s.is_closed()) {
                self.connect().await?;
            }
            let Some(sender) = self.sender.as_mut() else {
                return Err(VcpeError::Protocol("no connection"));
            };
            if sender.ready().await.is_err() {
                self.sender = None;
                continue;
            }
            let mut req = Request::builder()
                .method(Method::POST)
                .uri(self.path.as_str())
                .header(HOST, self.host.as_str());
            if !body.is_empty() {
                req = req
                    .header(CONTENT_TYPE, "text/xml; charset=\"utf-8\"")
                    .header("SOAPAction", "");
            }
            if let Some(a) = &auth {
                req = req.header(AUTHORIZATION, a.as_str());
            }
            if let Some(c) = &self.cookie {
                req = req.header(COOKIE, c.as_str());
            }
            if close {
                req = req.header(CONNECTION, "close");
            }
            let req = req
                .body(Full::new(body.clone()))
                .map_err(|e| VcpeError::Http(e.to_string()))?;
            match sender.send_request(req).await {
                Ok(resp) => {
                    let (parts, incoming) = resp.into_parts();
                    let bytes = incoming
                        .collect()
                        .await
                        .map_err(|e| VcpeError::Http(e.to_string()))?
                        .to_bytes();
                    if close {
                        self.sender = None;
                    }
                    return Ok((parts.status, parts.headers, bytes));
                }
                Err(e)
                    if attempt == 0
                        && (e.is_canceled() || e.is_closed() || e.is_incomplete_message()) =>
                {
                    self.sender = None;
                }
                Err(e) => {
                    self.sender = None;
                    return Err(VcpeError::Http(e.to_string()));
                }
            }
        }
        Err(VcpeError::Protocol("connection kept closing"))
    }

    fn take_challenge(&mut self, headers: &hyper::HeaderMap, worker_cnonce: &str) {
        for v in headers.get_all(WWW_AUTHENTICATE) {
            let Ok(v) = v.to_str() else { continue };
            if !v.trim_start().to_ascii_lowercase().starts_with("digest")
                || v.to_ascii_uppercase().contains("SHA-256")
            {
                continue;
            }
            if let (Some(realm), Some(nonce)) = (param(v, "realm"), param(v, "nonce")) {
                self.challenge = Some(Challenge {
                    realm,
                    nonce,
                    opaque: param(v, "opaque"),
                    nc: 0,
                    cnonce: worker_cnonce.to_string(),
                });
                return;
            }
        }
    }

    /// A complete session: Inform (answering a Digest challenge when needed), the empty POST,
    /// answers to the ACS's requests, until its 204. `close` asks the ACS to close the
    /// connection after the session.
    pub async fn session(
        &mut self,
        dev: &DeviceRef<'_>,
        close: bool,
        cnonce: &str,
        tally: &mut Tally,
    ) -> Result<Outcome, VcpeError> {
        let mut out = Outcome::default();
        self.cookie = None;
        let t = Instant::now();
        let mut status;
        let mut headers;
        let mut body;
        let mut tries = 0;
        loop {
            let auth = self.authorization(dev.username, dev.password);
            let t0 = Instant::now();
            (status, headers, body) = self.post(dev.inform.clone(), auth, false).await?;
            out.exchanges += 1;
            if status != StatusCode::UNAUTHORIZED {
                tally.sample("inform exchange", t0.elapsed());
                break;
            }
            tally.sample("401 exchange", t0.elapsed());
            tries += 1;
            if tries > 2 {
                return Err(VcpeError::Status(401));
            }
            self.take_challenge(&headers, cnonce);
        }
        if status != StatusCode::OK {
            return Err(VcpeError::Status(status.as_u16()));
        }
        if let Some(c) = headers.get(SET_COOKIE).and_then(|v| v.to_str().ok()) {
            self.cookie = c.split(';').next().map(str::to_string);
        }
        if !body.windows(14).any(|w| w == b"InformResponse") {
            return Err(VcpeError::Protocol("no InformResponse"));
        }
        if let Some(req) = &dev.cpe_request {
            let t0 = Instant::now();
            (status, _, body) = self.post(req.clone(), None, false).await?;
            out.exchanges += 1;
            tally.sample("cpe request exchange", t0.elapsed());
            if status != StatusCode::OK {
                return Err(VcpeError::Status(status.as_u16()));
            }
            if !body.windows(24).any(|w| w == b"TransferCompleteResponse") {
                return Err(VcpeError::Protocol("no TransferCompleteResponse"));
            }
        }
        let mut next = Bytes::new();
        for _ in 0..64 {
            let t0 = Instant::now();
            let last = next.is_empty() && close;
            (status, _, body) = self.post(next.clone(), None, last).await?;
            out.exchanges += 1;
            tally.sample(
                if next.is_empty() {
                    "empty POST exchange"
                } else {
                    "response exchange"
                },
                t0.elapsed(),
            );
            match status {
                StatusCode::NO_CONTENT => {
                    tally.sample("session", t.elapsed());
                    return Ok(out);
                }
                StatusCode::OK => {}
                s => return Err(VcpeError::Status(s.as_u16())),
            }
            let req = cwmp::parse(&body, &Limits::default())
                .map_err(|_| VcpeError::Protocol("unreadable ACS request"))?;
            let answer = match &req.body {
                Body::SetParameterValues { list, .. } => {
                    out.set
                        .extend(list.iter().map(|p| (p.name.clone(), p.value.clone())));
                    Body::SetParameterValuesResponse { status: 0 }
                }
                Body::GetParameterValues(names) => Body::GetParameterValuesResponse(
                    names
                        .iter()
                        .map(|n| cwmp::ParameterValue::typed(n.clone(), "", "xsd:string"))
                        .collect(),
                ),
                Body::Reboot { command_key } => {
                    out.reboot = Some(command_key.clone());
                    Body::RebootResponse
                }
                Body::FactoryReset => Body::FactoryResetResponse,
                Body::Download(d) => {
                    out.download = Some(d.clone());
                    // Fetched after the session, as a CPE does: not complete yet.
                    Body::DownloadResponse {
                        status: 1,
                        start_time: None,
                        complete_time: None,
                    }
                }
                Body::GetParameterNames { .. } => Body::GetParameterNamesResponse(Vec::new()),
                other => Body::Fault(cwmp::Fault::new(9000, other.method_name())),
            };
            next = Bytes::from(cwmp::to_vec(&Envelope::new(
                req.ns,
                Header {
                    id: req.header.id,
                    ..Header::default()
                },
                answer,
            )));
        }
        Err(VcpeError::Protocol("the ACS never ended the session"))
    }

    /// Drops the connection (the next session opens a new one).
    pub fn disconnect(&mut self) {
        self.sender = None;
    }
}
