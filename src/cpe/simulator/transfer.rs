//! Downloads and uploads a simulated CPE performs after a session: plain HTTP to loopback
//! addresses only, Basic or Digest when the ACS gave credentials.

use std::time::Duration;

use sha2::{Digest as _, Sha256};

use super::{PendingTransfer, State};
use crate::cwmp::{
    AutonomousTransferComplete, CwmpTime, Download, FaultStruct, TransferComplete, Upload,
};
use crate::digest::client_authorization;

/// Largest file a simulated CPE downloads.
pub const MAX_DOWNLOAD_BYTES: u64 = 256 * 1024 * 1024;

/// One download or upload attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferRecord {
    pub is_download: bool,
    pub command_key: String,
    pub file_type: String,
    pub url: String,
    /// Bytes received (downloads) or sent (uploads).
    pub size: u64,
    /// SHA-256 (hex) of what was received; empty for uploads and failures before the body.
    pub sha256: String,
    /// `None` on success, else (code, message) as sent in TransferComplete.
    pub fault: Option<(u32, String)>,
    /// The firmware version installed, when a registered image was downloaded.
    pub installed_version: Option<String>,
}

type Failure = (u32, String);

pub(crate) struct Fetched {
    pub(crate) size: u64,
    pub(crate) sha256: String,
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

fn check_url(raw: &str) -> Result<url::Url, Failure> {
    let url = url::Url::parse(raw).map_err(|e| (9010, format!("invalid URL {raw:?}: {e}")))?;
    if url.scheme() != "http" {
        return Err((9013, format!("unsupported protocol {}", url.scheme())));
    }
    if !is_loopback(&url) {
        return Err((
            9010,
            format!("refused: {raw} is not a loopback URL (simulated CPEs stay on 127.0.0.0/8)"),
        ));
    }
    Ok(url)
}

fn http_client() -> Result<reqwest::Client, Failure> {
    crate::install_crypto_provider();
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(0)
        .redirect(reqwest::redirect::Policy::custom(|attempt| {
            if attempt.previous().len() < 5 && is_loopback(attempt.url()) {
                attempt.follow()
            } else {
                attempt.stop()
            }
        }))
        .build()
        .map_err(|e| (9002, format!("HTTP client: {e}")))
}

/// Sends a request, answering one 401 with the credentials when given.
async fn send(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &url::Url,
    username: &str,
    password: &str,
    body: Option<Vec<u8>>,
    auth_fault: u32,
) -> Result<reqwest::Response, Failure> {
    let build = |auth: Option<String>| {
        let mut r = http.request(method.clone(), url.clone());
        if let Some(b) = &body {
            r = r.body(b.clone());
        }
        if let Some(a) = auth {
            r = r.header(reqwest::header::AUTHORIZATION, a);
        }
        r
    };
    let contact = |e: reqwest::Error| (9010, format!("file server: {e}"));
    let resp = build(None).send().await.map_err(contact)?;
    if resp.status() != reqwest::StatusCode::UNAUTHORIZED {
        return Ok(resp);
    }
    if username.is_empty() && password.is_empty() {
        return Err((
            auth_fault,
            "file server asked for credentials, none given".into(),
        ));
    }
    let challenges: Vec<String> = resp
        .headers()
        .get_all(reqwest::header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect();
    let refs: Vec<&str> = challenges.iter().map(String::as_str).collect();
    let uri = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    let auth = client_authorization(&refs, method.as_str(), &uri, username, password, 1, None)
        .map_err(|e| (auth_fault, format!("file server authentication: {e}")))?;
    let resp = build(Some(auth)).send().await.map_err(contact)?;
    if resp.status() == reqwest::StatusCode::UNAUTHORIZED {
        return Err((auth_fault, "file server refused the credentials".into()));
    }
    Ok(resp)
}

pub(crate) async fn download(d: &Download) -> Result<Fetched, Failure> {
    let url = check_url(&d.url)?;
    let http = http_client()?;
    let mut resp = send(
        &http,
        reqwest::Method::GET,
        &url,
        &d.username,
        &d.password,
        None,
        9012,
    )
    .await?;
    let status = resp.status();
    if !status.is_success() {
        return Err((9010, format!("HTTP {status} from the file server")));
    }
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                size += chunk.len() as u64;
                if size > MAX_DOWNLOAD_BYTES {
                    return Err((9010, "file larger than the simulator accepts".into()));
                }
                hasher.update(&chunk);
            }
            Ok(None) => break,
            Err(e) => return Err((9010, format!("download interrupted: {e}"))),
        }
    }
    Ok(Fetched {
        size,
        sha256: hex::encode(hasher.finalize()),
    })
}

pub(crate) async fn upload(u: &Upload, body: Vec<u8>) -> Result<u64, Failure> {
    let url = check_url(&u.url).map_err(|(c, m)| (if c == 9010 { 9011 } else { c }, m))?;
    let http = http_client().map_err(|(_, m)| (9011, m))?;
    let len = body.len() as u64;
    let resp = send(
        &http,
        reqwest::Method::PUT,
        &url,
        &u.username,
        &u.password,
        Some(body),
        9012,
    )
    .await
    .map_err(|(c, m)| (if c == 9010 { 9011 } else { c }, m))?;
    let status = resp.status();
    if !status.is_success() {
        return Err((9011, format!("HTTP {status} from the file server")));
    }
    Ok(len)
}

impl State {
    pub(crate) fn downloaded(
        &mut self,
        d: &Download,
        result: Result<Fetched, Failure>,
        start: CwmpTime,
        complete: CwmpTime,
    ) {
        let mut record = TransferRecord {
            is_download: true,
            command_key: d.command_key.clone(),
            file_type: d.file_type.clone(),
            url: d.url.clone(),
            size: 0,
            sha256: String::new(),
            fault: None,
            installed_version: None,
        };
        let fault = match result {
            Err(f) => Some(f),
            Ok(f) => {
                record.size = f.size;
                record.sha256 = f.sha256.clone();
                if d.file_size != 0 && f.size != d.file_size {
                    Some((
                        9018,
                        format!(
                            "file corrupted: received {} bytes, FileSize is {}",
                            f.size, d.file_size
                        ),
                    ))
                } else {
                    None
                }
            }
        };
        if fault.is_none() && d.file_type.trim_start().starts_with('1') {
            // A firmware image: install it and boot it.
            if let Some(v) = self.firmware.get(&record.sha256).cloned() {
                self.identity.software_version = v.clone();
                self.apply_identity();
                record.installed_version = Some(v);
            }
            self.reboot(None);
        }
        record.fault = fault.clone();
        let size = record.size;
        self.transfer_log.push(record);
        let fault = fault.map(|(code, string)| FaultStruct { code, string });
        let autonomous = self.autonomous_reports.then(|| AutonomousTransferComplete {
            announce_url: String::new(),
            transfer_url: d.url.clone(),
            is_download: true,
            file_type: d.file_type.clone(),
            file_size: size,
            target_file_name: d.target_file_name.clone(),
            fault: fault.clone(),
            start_time: Some(start.clone()),
            complete_time: Some(complete.clone()),
        });
        self.transfers.push(PendingTransfer {
            tc: TransferComplete {
                command_key: d.command_key.clone(),
                fault,
                start_time: Some(start),
                complete_time: Some(complete),
            },
            event: if autonomous.is_some() {
                ""
            } else {
                "M Download"
            },
            autonomous,
        });
    }

    pub(crate) fn uploaded(
        &mut self,
        u: &Upload,
        result: Result<u64, Failure>,
        start: CwmpTime,
        complete: CwmpTime,
    ) {
        let (size, fault) = match result {
            Ok(n) => (n, None),
            Err(f) => (0, Some(f)),
        };
        self.transfer_log.push(TransferRecord {
            is_download: false,
            command_key: u.command_key.clone(),
            file_type: u.file_type.clone(),
            url: u.url.clone(),
            size,
            sha256: String::new(),
            fault: fault.clone(),
            installed_version: None,
        });
        self.transfers.push(PendingTransfer {
            tc: TransferComplete {
                command_key: u.command_key.clone(),
                fault: fault.map(|(code, string)| FaultStruct { code, string }),
                start_time: Some(start),
                complete_time: Some(complete),
            },
            event: "M Upload",
            autonomous: None,
        });
    }
}
