//! The ACS side: challenges with stateless signed nonces, and response verification.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;

use super::AuthError;
use super::authorization::{Credentials, DigestCredentials, Qop};
use super::credentials::StoredCredentials;
use super::hash::{self, Algorithm, HmacSha256, QopPart, ResponseInput};
use super::params::push_quoted;
use super::tracker::{DEFAULT_REPLAY_CAPACITY, NonceTracker};

/// Default nonce lifetime.
pub const DEFAULT_NONCE_TTL: Duration = Duration::from_secs(300);

/// How far in the future a nonce timestamp may be (clock skew between instances sharing
/// the secret) before it is treated as stale.
const MAX_FUTURE_SKEW_SECS: u64 = 60;

/// Nonce = base64url(timestamp u64 BE || 12 random bytes || first 16 bytes of
/// HMAC-SHA256(secret, NONCE_DOMAIN || len(realm) || realm || timestamp || random)).
const NONCE_RAW_LEN: usize = 36;
const NONCE_LEN: usize = 48;
const NONCE_SIGNED_LEN: usize = 20;
const NONCE_DOMAIN: &[u8] = b"ferroacs digest nonce v1\0";
const OPAQUE_DOMAIN: &[u8] = b"ferroacs digest opaque v1\0";

/// Source of the current time (Unix seconds). Injected so tests can move time.
pub trait Clock: Send + Sync {
    fn now_unix(&self) -> u64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }
}

/// A clock that only moves when told to (tests, simulations).
#[derive(Debug, Default)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    pub fn new(now_unix: u64) -> Self {
        ManualClock(AtomicU64::new(now_unix))
    }

    pub fn set(&self, now_unix: u64) {
        self.0.store(now_unix, Ordering::Relaxed);
    }

    pub fn advance(&self, by: Duration) {
        self.0.fetch_add(by.as_secs(), Ordering::Relaxed);
    }
}

impl Clock for ManualClock {
    fn now_unix(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Digest (and optionally Basic) authentication of CPEs by the ACS.
///
/// Nonces are stateless: any instance holding the same `secret` and `realm` accepts them, so
/// a CPE may answer the 401 on a new TCP connection or reach another instance. Replays
/// (same nonce, cnonce and a non-increasing `nc`) are caught per instance by a bounded
/// [`NonceTracker`].
///
/// Typical flow for a request with an `Authorization` header:
///
/// ```
/// use ferroacs::digest::{AuthError, DigestServer, StoredCredentials, parse_authorization};
///
/// let server = DigestServer::new("ferroacs", [7u8; 32]);
/// # let stored = StoredCredentials::derive("cpe", "pw", "ferroacs");
/// # let challenges = server.challenge(false);
/// # let challenges: Vec<&str> = challenges.iter().map(String::as_str).collect();
/// # let header = ferroacs::digest::client_authorization(&challenges, "POST", "/", "cpe", "pw", 1, None).unwrap();
/// let result = parse_authorization(&header).and_then(|creds| {
///     // Look the device up by creds.username() in the store (UnknownUser if absent).
///     server.verify(&creds, "POST", &stored)
/// });
/// match result {
///     Ok(()) => { /* authenticated */ }
///     Err(AuthError::Stale) => { /* 401 with server.challenge(true) */ }
///     Err(_) => { /* 401 with server.challenge(false) */ }
/// }
/// # assert!(result.is_ok());
/// ```
pub struct DigestServer {
    realm: String,
    key: HmacSha256,
    nonce_ttl_secs: u64,
    clock: Arc<dyn Clock>,
    tracker: NonceTracker,
    allow_basic: bool,
    /// `Digest realm="…", qop="auth", algorithm=SHA-256, nonce="`
    prefix_sha256: String,
    prefix_md5: String,
    /// `", opaque="…"`
    suffix: String,
}

impl DigestServer {
    /// A server for `realm` with a 32-byte nonce-signing `secret` (share it between instances),
    /// a 300 s nonce TTL, the system clock and Basic disabled.
    pub fn new(realm: impl Into<String>, secret: [u8; 32]) -> Self {
        let realm = realm.into();
        let key = HmacSha256::new(&secret);
        let opaque_mac = key.mac(&[OPAQUE_DOMAIN, realm.as_bytes()]);
        let opaque = URL_SAFE_NO_PAD.encode(&opaque_mac[..18]);

        let prefix = |alg: Algorithm| {
            let mut s = String::with_capacity(realm.len() + 64);
            s.push_str("Digest realm=");
            push_quoted(&mut s, &realm);
            s.push_str(", qop=\"auth\", algorithm=");
            s.push_str(alg.as_str());
            s.push_str(", nonce=\"");
            s
        };
        let prefix_sha256 = prefix(Algorithm::Sha256);
        let prefix_md5 = prefix(Algorithm::Md5);
        let suffix = format!("\", opaque=\"{opaque}\"");

        DigestServer {
            realm,
            key,
            nonce_ttl_secs: DEFAULT_NONCE_TTL.as_secs(),
            clock: Arc::new(SystemClock),
            tracker: NonceTracker::new(DEFAULT_NONCE_TTL, DEFAULT_REPLAY_CAPACITY),
            allow_basic: false,
            prefix_sha256,
            prefix_md5,
            suffix,
        }
    }

    /// A random secret, for a single instance (nonces do not survive a restart then).
    pub fn generate_secret() -> [u8; 32] {
        rand::random()
    }

    /// Nonce lifetime (at least one second). Resets the replay tracker.
    pub fn with_nonce_ttl(mut self, ttl: Duration) -> Self {
        self.nonce_ttl_secs = ttl.as_secs().max(1);
        self.tracker = NonceTracker::new(self.nonce_ttl(), self.tracker.capacity());
        self
    }

    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Whether [`verify`](Self::verify) accepts Basic credentials (default: no).
    pub fn with_basic(mut self, allow: bool) -> Self {
        self.allow_basic = allow;
        self
    }

    /// (nonce, cnonce) pairs the replay tracker remembers per generation. Resets the tracker.
    pub fn with_replay_capacity(mut self, capacity: usize) -> Self {
        self.tracker = NonceTracker::new(self.nonce_ttl(), capacity);
        self
    }

    pub fn realm(&self) -> &str {
        &self.realm
    }

    pub fn nonce_ttl(&self) -> Duration {
        Duration::from_secs(self.nonce_ttl_secs)
    }

    pub fn allows_basic(&self) -> bool {
        self.allow_basic
    }

    pub fn tracker(&self) -> &NonceTracker {
        &self.tracker
    }

    /// `WWW-Authenticate` values for a 401: SHA-256 first, then MD5, sharing one fresh nonce,
    /// both with `qop="auth"` and `opaque`, plus `stale=true` when asked.
    pub fn challenge(&self, stale: bool) -> Vec<String> {
        let nonce = self.new_nonce();
        let build = |prefix: &str| {
            let mut s = String::with_capacity(prefix.len() + NONCE_LEN + self.suffix.len() + 12);
            s.push_str(prefix);
            s.push_str(&nonce);
            s.push_str(&self.suffix);
            if stale {
                s.push_str(", stale=true");
            }
            s
        };
        vec![build(&self.prefix_sha256), build(&self.prefix_md5)]
    }

    /// `Basic realm="…"`, for callers that also offer Basic (send it after the Digest ones).
    pub fn basic_challenge(&self) -> String {
        let mut s = String::with_capacity(self.realm.len() + 16);
        s.push_str("Basic realm=");
        push_quoted(&mut s, &self.realm);
        s
    }

    /// A fresh signed nonce.
    pub fn new_nonce(&self) -> String {
        let now = self.clock.now_unix();
        let mut raw = [0u8; NONCE_RAW_LEN];
        raw[..8].copy_from_slice(&now.to_be_bytes());
        rand::fill(&mut raw[8..NONCE_SIGNED_LEN]);
        let mac = self.nonce_mac(&raw[..NONCE_SIGNED_LEN]);
        raw[NONCE_SIGNED_LEN..].copy_from_slice(&mac[..NONCE_RAW_LEN - NONCE_SIGNED_LEN]);
        URL_SAFE_NO_PAD.encode(raw)
    }

    fn nonce_mac(&self, signed: &[u8]) -> [u8; 32] {
        self.key.mac(&[
            NONCE_DOMAIN,
            &(self.realm.len() as u64).to_be_bytes(),
            self.realm.as_bytes(),
            signed,
        ])
    }

    /// Checks the nonce signature; returns its timestamp.
    fn nonce_timestamp(&self, nonce: &str) -> Result<u64, AuthError> {
        if nonce.len() != NONCE_LEN {
            return Err(AuthError::InvalidNonce);
        }
        let mut raw = [0u8; NONCE_RAW_LEN];
        match URL_SAFE_NO_PAD.decode_slice(nonce, &mut raw) {
            Ok(NONCE_RAW_LEN) => {}
            _ => return Err(AuthError::InvalidNonce),
        }
        let mac = self.nonce_mac(&raw[..NONCE_SIGNED_LEN]);
        let tag = &mac[..NONCE_RAW_LEN - NONCE_SIGNED_LEN];
        if !bool::from(tag.ct_eq(&raw[NONCE_SIGNED_LEN..])) {
            return Err(AuthError::InvalidNonce);
        }
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&raw[..8]);
        Ok(u64::from_be_bytes(ts))
    }

    /// Verifies Digest credentials against the stored HA1 for `method` (e.g. `"POST"`).
    ///
    /// Order: realm ([`AuthError::WrongRealm`]), nonce signature ([`AuthError::InvalidNonce`]),
    /// [`check_digest_response`] (algorithm/qop support, [`AuthError::BadResponse`]), nonce age
    /// ([`AuthError::Stale`]: the password was right, re-challenge with `stale=true`), then
    /// `nc` replay ([`AuthError::Replay`], recorded only for correct responses).
    /// The `uri` parameter is hashed as sent and never compared with the request target.
    /// RFC 2069 requests (no `qop`) are accepted without replay tracking.
    pub fn verify_digest(
        &self,
        creds: &DigestCredentials<'_>,
        method: &str,
        stored: &StoredCredentials,
    ) -> Result<(), AuthError> {
        if *creds.realm != *self.realm {
            return Err(AuthError::WrongRealm);
        }
        let issued = self.nonce_timestamp(&creds.nonce)?;
        check_digest_response(creds, method, stored)?;

        let now = self.clock.now_unix();
        if now.saturating_sub(issued) > self.nonce_ttl_secs
            || issued > now.saturating_add(MAX_FUTURE_SKEW_SECS)
        {
            return Err(AuthError::Stale);
        }

        if let (Some(nc), Some(cnonce)) = (creds.nc, creds.cnonce.as_deref())
            && creds.qop.is_some()
        {
            self.tracker
                .check_and_record(&creds.nonce, cnonce, nc, now)?;
        }
        Ok(())
    }

    /// Verifies either kind of credentials. Basic is refused with
    /// [`AuthError::BasicNotAllowed`] unless enabled with [`with_basic`](Self::with_basic);
    /// its username must equal `stored.username` ([`AuthError::UnknownUser`] otherwise) and
    /// a wrong password gives [`AuthError::BadResponse`].
    pub fn verify(
        &self,
        creds: &Credentials<'_>,
        method: &str,
        stored: &StoredCredentials,
    ) -> Result<(), AuthError> {
        match creds {
            Credentials::Digest(d) => self.verify_digest(d, method, stored),
            Credentials::Basic(b) => {
                if !self.allow_basic {
                    return Err(AuthError::BasicNotAllowed);
                }
                if b.username != stored.username {
                    return Err(AuthError::UnknownUser);
                }
                if stored.verify_basic(&b.password) {
                    Ok(())
                } else {
                    Err(AuthError::BadResponse)
                }
            }
        }
    }
}

/// Checks only the `response` of Digest credentials against the stored HA1, in constant time:
/// no realm, nonce, expiry or replay checks ([`DigestServer::verify_digest`] does those).
///
/// The response is recomputed over `nc`, `qop` and `uri` exactly as the client sent them; if
/// that fails and the client spelled `qop` unusually (`AUTH`), the canonical `auth` is tried
/// too. `response` hex is accepted in either case.
pub fn check_digest_response(
    creds: &DigestCredentials<'_>,
    method: &str,
    stored: &StoredCredentials,
) -> Result<(), AuthError> {
    let alg = creds.algorithm;
    let ha1 = stored.ha1(alg).ok_or(AuthError::UnsupportedAlgorithm)?;
    let qop_raw = match creds.qop {
        None => None,
        Some(Qop::Auth) => Some(creds.qop_raw().unwrap_or("auth")),
        Some(Qop::AuthInt) => return Err(AuthError::UnsupportedQop),
    };
    let (nc, cnonce) = match qop_raw {
        Some(_) => (
            creds
                .nc_raw()
                .ok_or(AuthError::Malformed("qop without nc"))?,
            creds
                .cnonce
                .as_deref()
                .ok_or(AuthError::Malformed("qop without cnonce"))?,
        ),
        None => ("", creds.cnonce.as_deref().unwrap_or("")),
    };
    let sess_cnonce = if alg.is_sess() {
        Some(
            creds
                .cnonce
                .as_deref()
                .ok_or(AuthError::Malformed("-sess algorithm without cnonce"))?,
        )
    } else {
        None
    };

    let out_len = alg.output_len();
    if ha1.len() != out_len * 2 {
        return Err(AuthError::InvalidStoredCredentials);
    }
    let mut ha1_buf = [0u8; 64];
    let ha1_hex = &mut ha1_buf[..out_len * 2];
    ha1_hex.copy_from_slice(ha1.as_bytes());
    ha1_hex.make_ascii_lowercase();

    let mut given = [0u8; 32];
    let given = &mut given[..out_len];
    if creds.response.len() != out_len * 2
        || hex::decode_to_slice(creds.response.as_bytes(), given).is_err()
    {
        return Err(AuthError::BadResponse);
    }

    let matches = |qop: Option<&str>| {
        let expected = hash::response(
            alg,
            &ResponseInput {
                ha1_hex,
                nonce: &creds.nonce,
                sess_cnonce,
                qop: qop.map(|qop| QopPart { nc, cnonce, qop }),
                method,
                uri: &creds.uri,
            },
        );
        bool::from(expected.as_bytes().ct_eq(given))
    };
    if matches(qop_raw) || (qop_raw.is_some_and(|q| q != "auth") && matches(Some("auth"))) {
        Ok(())
    } else {
        Err(AuthError::BadResponse)
    }
}

impl fmt::Debug for DigestServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DigestServer")
            .field("realm", &self.realm)
            .field("nonce_ttl_secs", &self.nonce_ttl_secs)
            .field("allow_basic", &self.allow_basic)
            .field("tracker", &self.tracker)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonce_shape_and_signature() {
        let s = DigestServer::new("r", [1; 32]);
        let n = s.new_nonce();
        assert_eq!(n.len(), NONCE_LEN);
        assert!(
            n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert!(s.nonce_timestamp(&n).is_ok());
        assert_ne!(n, s.new_nonce());
        // Other secret or other realm: not ours.
        assert_eq!(
            DigestServer::new("r", [2; 32]).nonce_timestamp(&n),
            Err(AuthError::InvalidNonce)
        );
        assert_eq!(
            DigestServer::new("r2", [1; 32]).nonce_timestamp(&n),
            Err(AuthError::InvalidNonce)
        );
        // Same secret and realm (another instance): accepted.
        assert!(DigestServer::new("r", [1; 32]).nonce_timestamp(&n).is_ok());
        for bad in ["", "short", &n[..47], &format!("{n}A"), &"A".repeat(48)] {
            assert_eq!(
                s.nonce_timestamp(bad),
                Err(AuthError::InvalidNonce),
                "{bad}"
            );
        }
    }

    #[test]
    fn shareable_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<DigestServer>();
        assert_send_sync::<NonceTracker>();
    }

    #[test]
    fn challenge_format() {
        let clock = Arc::new(ManualClock::new(1_700_000_000));
        let s = DigestServer::new("ferro \"acs\"", [1; 32]).with_clock(clock);
        let c = s.challenge(false);
        assert_eq!(c.len(), 2);
        assert!(
            c[0].starts_with(
                r#"Digest realm="ferro \"acs\"", qop="auth", algorithm=SHA-256, nonce=""#
            ),
            "{}",
            c[0]
        );
        assert!(c[1].contains("algorithm=MD5, nonce="));
        assert!(c[0].contains(", opaque=\""));
        assert!(!c[0].contains("stale"));
        let stale = s.challenge(true);
        assert!(stale.iter().all(|h| h.ends_with(", stale=true")));
        assert_eq!(s.basic_challenge(), r#"Basic realm="ferro \"acs\"""#);
    }
}
