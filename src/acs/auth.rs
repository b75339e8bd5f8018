//! Authenticating CPEs: HTTP Digest (and Basic over TLS, or over HTTP when allowed) against the
//! inventory's stored digests, or against the bootstrap credentials of auto-registration.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::digest::{AuthError, Credentials, DigestServer, StoredCredentials, parse_authorization};
use crate::store::{CwmpDevice, DynStore, StoreError};

/// Who a request authenticated as.
#[derive(Debug, Clone)]
pub enum Principal {
    /// A device by its own username.
    Device(Box<CwmpDevice>),
    /// The shared bootstrap account (the device is found by its DeviceId).
    Bootstrap,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthFailure {
    /// Answer 401 with fresh challenges (`stale=true` for an expired nonce).
    #[error("authentication required ({reason})")]
    Challenge { stale: bool, reason: &'static str },
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub struct CpeAuth {
    pub digest: DigestServer,
    store: DynStore,
    bootstrap: Option<StoredCredentials>,
    allow_basic_http: bool,
    cache_ttl: Duration,
    cache: Mutex<HashMap<String, (Instant, Option<CwmpDevice>)>>,
}

fn challenge(reason: &'static str) -> AuthFailure {
    AuthFailure::Challenge {
        stale: false,
        reason,
    }
}

impl CpeAuth {
    pub fn new(
        digest: DigestServer,
        store: DynStore,
        bootstrap: Option<StoredCredentials>,
        allow_basic_http: bool,
        cache_ttl: Duration,
    ) -> CpeAuth {
        CpeAuth {
            digest,
            store,
            bootstrap,
            allow_basic_http,
            cache_ttl,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The WWW-Authenticate values of a 401 on this transport.
    pub fn challenges(&self, stale: bool, tls: bool) -> Vec<String> {
        let mut c = self.digest.challenge(stale);
        if tls || self.allow_basic_http {
            c.push(format!("Basic realm=\"{}\"", self.digest.realm()));
        }
        c
    }

    /// The device a username names, through a short-lived cache (a write made for the session
    /// re-checks the credentials in SQL, so a stale entry never writes).
    async fn lookup(&self, username: &str) -> Result<Option<CwmpDevice>, StoreError> {
        if !self.cache_ttl.is_zero() {
            let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((at, dev)) = cache.get(username)
                && at.elapsed() < self.cache_ttl
            {
                return Ok(dev.clone());
            }
        }
        let dev = self.store.cwmp_device_by_username(username).await?;
        if !self.cache_ttl.is_zero() {
            let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            if cache.len() > 200_000 {
                let ttl = self.cache_ttl;
                cache.retain(|_, (at, _)| at.elapsed() < ttl);
            }
            cache.insert(username.to_string(), (Instant::now(), dev.clone()));
        }
        Ok(dev)
    }

    /// Refreshes a cached device with the state a session's write returned, keeping the entry's
    /// age (credentials still expire on schedule). Without it the cache would keep serving the
    /// parameter hash of the device's first contact, and every later Inform would rewrite all
    /// its parameters.
    pub fn remember(&self, fresh: &CwmpDevice) {
        let Some(username) = fresh.username.as_deref() else {
            return;
        };
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, Some(dev))) = cache.get_mut(username)
            && dev.id == fresh.id
            && dev.ha1_sha256 == fresh.ha1_sha256
        {
            *dev = fresh.clone();
        }
    }

    /// Forgets a cached device (its credentials turned out to have changed).
    pub fn evict(&self, username: &str) {
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(username);
    }

    /// Verifies an `Authorization` header of a POST.
    pub async fn authenticate(
        &self,
        header: Option<&str>,
        tls: bool,
    ) -> Result<Principal, AuthFailure> {
        let header = header.ok_or_else(|| challenge("no credentials"))?;
        let creds =
            parse_authorization(header).map_err(|_| challenge("malformed authorization header"))?;
        if let Credentials::Basic(_) = &creds
            && !(tls || self.allow_basic_http)
        {
            return Err(challenge("Basic over plain HTTP is not allowed"));
        }
        let username = creds.username().to_string();
        let (stored, principal) = match self.lookup(&username).await? {
            Some(dev) => {
                let stored = StoredCredentials {
                    username: username.clone(),
                    ha1_md5: dev.ha1_md5.clone().unwrap_or_default(),
                    ha1_sha256: dev.ha1_sha256.clone().unwrap_or_default(),
                    basic_hash: dev.basic_hash.clone().unwrap_or_default(),
                };
                (stored, Principal::Device(Box::new(dev)))
            }
            None => match &self.bootstrap {
                Some(b) if b.username == username => (b.clone(), Principal::Bootstrap),
                _ => return Err(challenge("unknown username")),
            },
        };
        let verdict = match &creds {
            Credentials::Digest(d) => self.digest.verify_digest(d, "POST", &stored),
            Credentials::Basic(b) if stored.verify_basic(&b.password) => Ok(()),
            Credentials::Basic(_) => Err(AuthError::BadResponse),
        };
        match verdict {
            Ok(()) => Ok(principal),
            Err(AuthError::Stale) => Err(AuthFailure::Challenge {
                stale: true,
                reason: "stale nonce",
            }),
            Err(AuthError::Replay) => Err(challenge("replayed nonce count")),
            Err(AuthError::BadResponse) => {
                // Maybe the password changed since the cache entry was made.
                self.evict(&username);
                Err(challenge("wrong password"))
            }
            Err(_) => Err(challenge("invalid credentials")),
        }
    }
}
