//! Connection requests: the ACS asks a CPE to open a session now (HTTP GET to its
//! ConnectionRequestURL with Digest, using the credentials the ACS derives for it), and probes
//! liveness the same way. Only addresses in the configured networks are contacted, and a device
//! is not asked again within `min_interval`.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use ipnet::IpNet;
use reqwest::header::{AUTHORIZATION, WWW_AUTHENTICATE};

use super::keys::Keys;
use crate::digest::client_authorization;
use crate::store::{DynStore, Scope};
use crate::time::now_micros;

#[derive(Debug, thiserror::Error)]
pub enum CrError {
    #[error("no connection request URL known")]
    NoUrl,
    #[error("invalid connection request URL {0:?}")]
    BadUrl(String),
    #[error("{0} is outside the allowed connection-request networks")]
    NotAllowed(IpAddr),
    #[error("unreachable: {0}")]
    Unreachable(String),
    #[error("refused: HTTP {0}")]
    Status(u16),
}

pub struct ConnectionRequester {
    store: DynStore,
    keys: Keys,
    allow: Arc<Vec<IpNet>>,
    timeout: Duration,
    min_interval: Duration,
    recent: Mutex<HashMap<i64, Instant>>,
    /// One client for every request (building one loads the TLS root store: costly).
    client: Option<reqwest::Client>,
}

/// The URL to request, if the allow-list lets the ACS go there (names are checked when they
/// are resolved, by [`AllowedResolver`]).
fn check_target(allow: &[IpNet], url: &str) -> Result<reqwest::Url, CrError> {
    let parsed = reqwest::Url::parse(url).map_err(|_| CrError::BadUrl(url.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(CrError::BadUrl(url.to_string()));
    }
    let host = parsed
        .host_str()
        .ok_or_else(|| CrError::BadUrl(url.to_string()))?;
    if let Ok(ip) = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        && !allow.is_empty()
        && !allow.iter().any(|n| n.contains(&ip))
    {
        return Err(CrError::NotAllowed(ip));
    }
    Ok(parsed)
}

/// Resolves host names for connection requests, keeping only allowed addresses: a name can
/// never lead the ACS outside the allowed networks.
struct AllowedResolver {
    allow: Arc<Vec<IpNet>>,
}

impl reqwest::dns::Resolve for AllowedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow = self.allow.clone();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0))
                .await?
                .filter(|a| allow.is_empty() || allow.iter().any(|n| n.contains(&a.ip())))
                .collect();
            if addrs.is_empty() {
                return Err(format!(
                    "{} has no address in the allowed connection-request networks",
                    name.as_str()
                )
                .into());
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

impl ConnectionRequester {
    pub fn new(
        store: DynStore,
        keys: Keys,
        allow: Vec<IpNet>,
        timeout: Duration,
        min_interval: Duration,
    ) -> ConnectionRequester {
        let allow = Arc::new(allow);
        crate::install_crypto_provider();
        let client = reqwest::Client::builder()
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            // Each request reaches the CPE afresh (a kept-alive connection says nothing about
            // whether it is reachable now).
            .pool_max_idle_per_host(0)
            .dns_resolver(Arc::new(AllowedResolver {
                allow: allow.clone(),
            }))
            .build()
            .map_err(
                |e| tracing::error!(error = %e, "connection requests disabled: no HTTP client"),
            )
            .ok();
        ConnectionRequester {
            store,
            keys,
            allow,
            timeout,
            min_interval,
            recent: Mutex::new(HashMap::new()),
            client,
        }
    }

    /// Sends one connection request and waits for the CPE's answer.
    pub async fn request(
        &self,
        device_id: i64,
        url: &str,
        timeout: Duration,
    ) -> Result<(), CrError> {
        let parsed = check_target(&self.allow, url)?;
        let client = self
            .client
            .as_ref()
            .ok_or_else(|| CrError::Unreachable("no HTTP client".into()))?;
        let unreachable = |e: reqwest::Error| {
            CrError::Unreachable(if e.is_timeout() {
                "timed out".into()
            } else {
                e.to_string()
            })
        };
        let first = client
            .get(parsed.clone())
            .timeout(timeout)
            .send()
            .await
            .map_err(unreachable)?;
        let status = first.status().as_u16();
        if status != 401 {
            return if matches!(status, 200 | 204) {
                Ok(())
            } else {
                Err(CrError::Status(status))
            };
        }
        let challenges: Vec<String> = first
            .headers()
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_string))
            .collect();
        let refs: Vec<&str> = challenges.iter().map(String::as_str).collect();
        let (user, pass) = self.keys.connection_request_credentials(device_id);
        let path = match parsed.query() {
            Some(q) => format!("{}?{q}", parsed.path()),
            None => parsed.path().to_string(),
        };
        let auth = client_authorization(&refs, "GET", &path, &user, &pass, 1, None)
            .map_err(|_| CrError::Status(401))?;
        let second = client
            .get(parsed)
            .timeout(timeout)
            .header(AUTHORIZATION, auth)
            .send()
            .await
            .map_err(unreachable)?;
        match second.status().as_u16() {
            200 | 204 => Ok(()),
            s => Err(CrError::Status(s)),
        }
    }

    /// Asks a device with pending work to connect now, in the background; at most once per
    /// `min_interval` per device, and the outcome is recorded on the device.
    pub fn wake(self: &Arc<Self>, device_id: i64) {
        self.wake_many(vec![device_id]);
    }

    fn due(&self, device_id: i64) -> bool {
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        if recent
            .get(&device_id)
            .is_some_and(|t| t.elapsed() < self.min_interval)
        {
            return false;
        }
        if recent.len() > 100_000 {
            let keep = self.min_interval;
            recent.retain(|_, t| t.elapsed() < keep);
        }
        recent.insert(device_id, Instant::now());
        true
    }

    /// Wakes many devices in one background task, a bounded number at a time.
    pub fn wake_many(self: &Arc<Self>, device_ids: Vec<i64>) {
        let due: Vec<i64> = device_ids.into_iter().filter(|id| self.due(*id)).collect();
        if due.is_empty() {
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
            futures_util::stream::iter(due)
                .for_each_concurrent(32, |id| {
                    let this = this.clone();
                    async move { this.wake_now(id).await }
                })
                .await;
        });
    }

    async fn wake_now(&self, device_id: i64) {
        let device = match self.store.get_device(device_id, &Scope::All).await {
            Ok(Some(d)) => d,
            _ => return,
        };
        let Some(url) = device.connection_request_url else {
            return;
        };
        let result = self.request(device_id, &url, self.timeout).await;
        let text = match &result {
            Ok(()) => "ok".to_string(),
            Err(e) => e.to_string(),
        };
        // The same outcome as a minute ago needs no new record (an unreachable CPE behind NAT
        // would otherwise cost a write per queued operation).
        let now = now_micros();
        let unchanged = device.cr_last_result.as_deref() == Some(text.as_str())
            && device.cr_last_attempt.is_some_and(|t| now - t < 60_000_000);
        if unchanged {
            tracing::debug!(device_id, url = %url, result = %text, "connection request");
            return;
        }
        tracing::info!(device_id, url = %url, result = %text, "connection request");
        let _ = self
            .store
            .record_connection_request(device_id, now, &text, false)
            .await;
    }

    /// Probes devices' liveness with connection requests (bounded parallelism and time);
    /// a device that answers is marked Up. Returns the ids that answered.
    pub async fn probe(
        &self,
        devices: Vec<(i64, Option<String>)>,
        timeout: Duration,
        parallel: usize,
    ) -> Vec<i64> {
        let results = futures_util::stream::iter(devices)
            .map(|(id, url)| async move {
                let result = match url {
                    Some(u) => self.request(id, &u, timeout).await,
                    None => Err(CrError::NoUrl),
                };
                let text = match &result {
                    Ok(()) => "ok".to_string(),
                    Err(e) => e.to_string(),
                };
                if !matches!(result, Err(CrError::NoUrl)) {
                    let _ = self
                        .store
                        .record_connection_request(id, now_micros(), &text, result.is_ok())
                        .await;
                }
                (id, result.is_ok())
            })
            .buffer_unordered(parallel.max(1))
            .collect::<Vec<_>>()
            .await;
        results
            .into_iter()
            .filter(|(_, ok)| *ok)
            .map(|(id, _)| id)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_outside_the_allowed_networks_are_refused_before_any_traffic() {
        let allow: Vec<IpNet> = vec!["127.0.0.0/8".parse().unwrap()];
        assert!(check_target(&allow, "http://127.0.0.1:7547/cr").is_ok());
        assert!(matches!(
            check_target(&allow, "http://10.1.2.3:7547/"),
            Err(CrError::NotAllowed(_))
        ));
        assert!(matches!(
            check_target(&allow, "http://[2001:db8::1]:7547/"),
            Err(CrError::NotAllowed(_))
        ));
        assert!(matches!(
            check_target(&allow, "ftp://127.0.0.1/"),
            Err(CrError::BadUrl(_))
        ));
        assert!(matches!(
            check_target(&allow, "not a url"),
            Err(CrError::BadUrl(_))
        ));
        // Names are checked when resolved; an empty list allows everything.
        assert!(check_target(&allow, "http://cpe.example/").is_ok());
        assert!(check_target(&[], "http://10.1.2.3/").is_ok());
    }
}
