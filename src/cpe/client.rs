//! The HTTP side of a CPE: POSTs to an ACS with Digest or Basic authentication and session
//! cookies, with switches for the quirks real CPEs have (no cookies, a new TCP connection per
//! request, RFC 2069 Digest, Basic only).

use bytes::Bytes;
use md5::Md5;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, SET_COOKIE, WWW_AUTHENTICATE};
use sha2::Digest as _;

use crate::digest::{basic_authorization, client_authorization};

/// How the CPE answers a 401.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthMode {
    /// The strongest Digest offered (SHA-256 over MD5), with qop=auth.
    #[default]
    Digest,
    /// MD5 Digest with qop=auth.
    DigestMd5,
    /// RFC 2069 Digest: MD5, no qop, nc or cnonce.
    Digest2069,
    /// Basic only.
    Basic,
}

#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub url: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub auth: AuthMode,
    /// Send back the session cookie the ACS sets.
    pub echo_cookies: bool,
    /// Open a new TCP connection for every request.
    pub new_connection_per_request: bool,
    /// Send Authorization only on the Inform, not on the later requests of a session.
    pub auth_only_on_inform: bool,
    /// Extra root certificate (PEM) for https URLs.
    pub root_cert_pem: Option<Vec<u8>>,
}

impl ClientOptions {
    pub fn new(url: impl Into<String>) -> ClientOptions {
        ClientOptions {
            url: url.into(),
            username: None,
            password: None,
            auth: AuthMode::Digest,
            echo_cookies: true,
            new_connection_per_request: false,
            auth_only_on_inform: false,
            root_cert_pem: None,
        }
    }

    pub fn credentials(mut self, username: &str, password: &str) -> ClientOptions {
        self.username = Some(username.to_string());
        self.password = Some(password.to_string());
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("HTTP: {0}")]
    Http(#[from] reqwest::Error),
    #[error("the ACS asked for credentials and none are configured")]
    NoCredentials,
    #[error("authentication: {0}")]
    Auth(#[from] crate::digest::AuthError),
    #[error("TLS certificate: {0}")]
    Certificate(String),
}

/// What the ACS answered.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Bytes,
    /// How many 401 challenges were answered to get it.
    pub challenges: u32,
}

pub struct CpeClient {
    opts: ClientOptions,
    http: reqwest::Client,
    cookie: Option<String>,
    challenge: Vec<String>,
    nc: u32,
}

fn md5_hex(s: &str) -> String {
    hex::encode(Md5::digest(s.as_bytes()))
}

/// The value of `name` in a challenge (quoted or not).
fn challenge_param(challenge: &str, name: &str) -> Option<String> {
    let lower = challenge.to_ascii_lowercase();
    let mut from = 0;
    while let Some(pos) = lower[from..].find(&format!("{name}=")) {
        let at = from + pos;
        let before_ok = at == 0 || matches!(lower.as_bytes()[at - 1], b' ' | b',');
        let rest = &challenge[at + name.len() + 1..];
        if before_ok {
            return Some(match rest.strip_prefix('"') {
                Some(q) => q.split('"').next().unwrap_or("").to_string(),
                None => rest.split(',').next().unwrap_or("").trim().to_string(),
            });
        }
        from = at + 1;
    }
    None
}

impl CpeClient {
    pub fn new(opts: ClientOptions) -> Result<CpeClient, ClientError> {
        crate::install_crypto_provider();
        Ok(CpeClient {
            http: Self::http_client(&opts)?,
            opts,
            cookie: None,
            challenge: Vec::new(),
            nc: 0,
        })
    }

    fn http_client(opts: &ClientOptions) -> Result<reqwest::Client, ClientError> {
        let mut b = reqwest::Client::builder().timeout(std::time::Duration::from_secs(30));
        if opts.new_connection_per_request {
            b = b.pool_max_idle_per_host(0);
        }
        if let Some(pem) = &opts.root_cert_pem {
            let cert = reqwest::Certificate::from_pem(pem)
                .map_err(|e| ClientError::Certificate(e.to_string()))?;
            b = b.add_root_certificate(cert);
        }
        Ok(b.build()?)
    }

    /// Closes the TCP connection(s) and forgets the session and the last challenge, as a CPE
    /// that crashes or reboots mid-session does. The next request opens a new connection.
    pub fn drop_connection(&mut self) {
        if let Ok(http) = Self::http_client(&self.opts) {
            // Dropping the old client drops its pool, closing idle connections.
            self.http = http;
        }
        self.cookie = None;
        self.challenge.clear();
        self.nc = 0;
    }

    pub fn options(&self) -> &ClientOptions {
        &self.opts
    }

    /// Forgets the session (cookie) but keeps the last challenge, as a CPE does between sessions.
    pub fn end_session(&mut self) {
        self.cookie = None;
    }

    pub fn cookie(&self) -> Option<&str> {
        self.cookie.as_deref()
    }

    fn authorization(&mut self) -> Result<Option<String>, ClientError> {
        if self.challenge.is_empty() {
            return Ok(None);
        }
        let (Some(user), Some(pass)) = (self.opts.username.clone(), self.opts.password.clone())
        else {
            return Err(ClientError::NoCredentials);
        };
        self.nc += 1;
        let path = reqwest::Url::parse(&self.opts.url)
            .map(|u| u.path().to_string())
            .unwrap_or_else(|_| "/".into());
        let value = match self.opts.auth {
            AuthMode::Basic => basic_authorization(&user, &pass),
            AuthMode::Digest => {
                let ch: Vec<&str> = self.challenge.iter().map(String::as_str).collect();
                client_authorization(&ch, "POST", &path, &user, &pass, self.nc, None)?
            }
            AuthMode::DigestMd5 => {
                let ch: Vec<&str> = self
                    .challenge
                    .iter()
                    .filter(|c| {
                        !c.to_ascii_uppercase().contains("SHA-256")
                            && c.trim_start().to_ascii_lowercase().starts_with("digest")
                    })
                    .map(String::as_str)
                    .collect();
                client_authorization(&ch, "POST", &path, &user, &pass, self.nc, None)?
            }
            AuthMode::Digest2069 => {
                let md5 = self
                    .challenge
                    .iter()
                    .find(|c| {
                        c.trim_start().to_ascii_lowercase().starts_with("digest")
                            && !c.to_ascii_uppercase().contains("SHA-256")
                    })
                    .ok_or(crate::digest::AuthError::NoUsableChallenge)?;
                let realm = challenge_param(md5, "realm").unwrap_or_default();
                let nonce = challenge_param(md5, "nonce").unwrap_or_default();
                let ha1 = md5_hex(&format!("{user}:{realm}:{pass}"));
                let ha2 = md5_hex(&format!("POST:{path}"));
                let response = md5_hex(&format!("{ha1}:{nonce}:{ha2}"));
                format!(
                    "Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{path}\", response=\"{response}\""
                )
            }
        };
        Ok(Some(value))
    }

    async fn send_once(
        &mut self,
        body: &Bytes,
        with_auth: bool,
    ) -> Result<reqwest::Response, ClientError> {
        let mut req = self.http.post(&self.opts.url).body(body.clone());
        if !body.is_empty() {
            req = req
                .header(CONTENT_TYPE, "text/xml; charset=\"utf-8\"")
                .header("SOAPAction", "");
        }
        if self.opts.echo_cookies
            && let Some(c) = &self.cookie
        {
            req = req.header(COOKIE, c.clone());
        }
        if with_auth && let Some(a) = self.authorization()? {
            req = req.header(AUTHORIZATION, a);
        }
        let resp = req.send().await?;
        if let Some(sc) = resp.headers().get(SET_COOKIE).and_then(|v| v.to_str().ok()) {
            self.cookie = sc.split(';').next().map(|s| s.trim().to_string());
        }
        Ok(resp)
    }

    /// POSTs `body`; answers up to two 401 challenges (a stale nonce, then the real one).
    pub async fn post(
        &mut self,
        body: impl Into<Bytes>,
        is_inform: bool,
    ) -> Result<Reply, ClientError> {
        let body = body.into();
        let with_auth = is_inform || !self.opts.auth_only_on_inform;
        let mut challenges = 0;
        loop {
            let resp = self.send_once(&body, with_auth || challenges > 0).await?;
            let status = resp.status().as_u16();
            if status == 401 && challenges < 2 {
                self.challenge = resp
                    .headers()
                    .get_all(WWW_AUTHENTICATE)
                    .iter()
                    .filter_map(|v| v.to_str().ok().map(str::to_string))
                    .collect();
                self.nc = 0;
                let _ = resp.bytes().await;
                challenges += 1;
                continue;
            }
            let body = resp.bytes().await?;
            return Ok(Reply {
                status,
                body,
                challenges,
            });
        }
    }
}
