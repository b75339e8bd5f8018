//! HTTP Digest (RFC 7616 / RFC 2069) and Basic authentication.
//!
//! Pure and synchronous: no I/O, no database.
//!
//! * Server side (the CWMP endpoint authenticating CPEs): [`DigestServer`] issues challenges
//!   with stateless HMAC-signed nonces and verifies [`parse_authorization`] results against
//!   [`StoredCredentials`] (HA1 values and a salted Basic hash, never the clear password).
//!   Replays are caught by a bounded [`NonceTracker`].
//! * Client side (connection requests, CPE simulators): [`client_authorization`] answers a 401,
//!   [`basic_authorization`] builds a Basic header.
//!
//! Tolerates what real CPEs send: lowercase schemes, bare or quoted values, `uri=""`,
//! RFC 2069 responses without `qop`/`nc`/`cnonce`, one nonce reused with `nc=00000001` and a
//! fresh cnonce on every request, and a new TCP connection (or another instance sharing the
//! secret) after the 401.

mod authorization;
mod client;
mod credentials;
mod hash;
mod params;
mod server;
mod tracker;

pub use authorization::{
    BasicCredentials, Credentials, DigestCredentials, Qop, parse_authorization,
};
pub use client::{basic_authorization, client_authorization};
pub use credentials::StoredCredentials;
pub use hash::{Algorithm, HmacSha256};
pub use server::{
    Clock, DEFAULT_NONCE_TTL, DigestServer, ManualClock, SystemClock, check_digest_response,
};
pub use tracker::{DEFAULT_REPLAY_CAPACITY, NonceTracker};

/// Why authentication failed. Answer [`AuthError::Stale`] with `challenge(true)` and every
/// other error with `challenge(false)` (or a 400 for [`AuthError::Malformed`] if preferred).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization` header (or an empty one); on the client side, no challenge.
    #[error("no credentials")]
    Missing,
    #[error("malformed authorization header: {0}")]
    Malformed(&'static str),
    /// Neither Digest nor Basic.
    #[error("unsupported authentication scheme")]
    UnsupportedScheme,
    /// Unknown `algorithm`, or none stored for it.
    #[error("unsupported digest algorithm")]
    UnsupportedAlgorithm,
    /// `qop` other than `auth`.
    #[error("unsupported qop")]
    UnsupportedQop,
    /// No such user (for the caller's store lookup), or a Basic username that does not match.
    #[error("unknown user")]
    UnknownUser,
    #[error("wrong realm")]
    WrongRealm,
    /// The nonce was not issued with our secret and realm (forged, tampered, or foreign).
    #[error("invalid nonce")]
    InvalidNonce,
    /// Validly signed nonce, correct response, but expired: re-challenge with `stale=true`.
    #[error("stale nonce")]
    Stale,
    /// Wrong Digest response or Basic password.
    #[error("bad credentials")]
    BadResponse,
    /// `nc` not greater than the last accepted for this nonce and cnonce.
    #[error("replayed nonce count")]
    Replay,
    #[error("basic authentication not allowed")]
    BasicNotAllowed,
    /// The stored HA1 does not have the algorithm's length.
    #[error("invalid stored credentials")]
    InvalidStoredCredentials,
    /// Client side: no Digest (usable algorithm and qop) or Basic challenge offered.
    #[error("no usable challenge")]
    NoUsableChallenge,
}
