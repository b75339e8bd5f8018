//! Credentials as the store keeps them: never the clear password.

use std::fmt;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::hash::{self, Algorithm};

/// Version tag of [`StoredCredentials::basic_hash`]: `sha256$<salt hex>$<hex(SHA-256(salt || password))>`.
const BASIC_V1: &str = "sha256";
const SALT_LEN: usize = 16;
const MAX_SALT_LEN: usize = 64;

/// What the credential store keeps for one device (or one connection-request login).
///
/// The HA1 values are bound to the realm they were derived with: changing the ACS realm
/// invalidates them (Digest only; Basic keeps working).
#[derive(Clone, PartialEq, Eq)]
pub struct StoredCredentials {
    pub username: String,
    /// `hex(MD5(username:realm:password))`, lowercase; empty disables MD5 Digest.
    pub ha1_md5: String,
    /// `hex(SHA-256(username:realm:password))`, lowercase; empty disables SHA-256 Digest.
    pub ha1_sha256: String,
    /// Salted password hash for Basic, `sha256$<salt hex>$<hash hex>`; empty disables Basic.
    pub basic_hash: String,
}

impl StoredCredentials {
    /// Derives everything the store keeps from a clear password (provisioning time only).
    pub fn derive(username: &str, password: &str, realm: &str) -> Self {
        StoredCredentials {
            username: username.to_owned(),
            ha1_md5: hash::ha1(Algorithm::Md5, username, realm, password).to_hex(),
            ha1_sha256: hash::ha1(Algorithm::Sha256, username, realm, password).to_hex(),
            basic_hash: Self::hash_basic_password(password),
        }
    }

    /// A fresh salted hash of `password` in the [`basic_hash`](Self::basic_hash) format.
    pub fn hash_basic_password(password: &str) -> String {
        let salt: [u8; SALT_LEN] = rand::random();
        let digest = Sha256::new()
            .chain_update(salt)
            .chain_update(password.as_bytes())
            .finalize();
        let mut out = String::with_capacity(BASIC_V1.len() + 2 + SALT_LEN * 2 + 64);
        out.push_str(BASIC_V1);
        out.push('$');
        out.push_str(&hex::encode(salt));
        out.push('$');
        out.push_str(&hex::encode(digest));
        out
    }

    /// Checks a Basic password against [`basic_hash`](Self::basic_hash) in constant time
    /// (with respect to the password and the hash; the format itself is not secret).
    /// Returns false for an empty or unrecognised hash.
    pub fn verify_basic(&self, password: &str) -> bool {
        let mut parts = self.basic_hash.split('$');
        let (Some(BASIC_V1), Some(salt_hex), Some(hash_hex), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return false;
        };
        let mut salt = [0u8; MAX_SALT_LEN];
        let salt_len = salt_hex.len() / 2;
        if salt_hex.len() % 2 != 0
            || salt_len > MAX_SALT_LEN
            || hex::decode_to_slice(salt_hex, &mut salt[..salt_len]).is_err()
        {
            return false;
        }
        let mut expected = [0u8; 32];
        if hex::decode_to_slice(hash_hex, &mut expected).is_err() {
            return false;
        }
        let actual = Sha256::new()
            .chain_update(&salt[..salt_len])
            .chain_update(password.as_bytes())
            .finalize();
        bool::from(actual[..].ct_eq(&expected))
    }

    /// The stored HA1 (hex) for `alg`'s hash function, if any.
    pub fn ha1(&self, alg: Algorithm) -> Option<&str> {
        let ha1 = match alg.kind() {
            hash::HashKind::Md5 => &self.ha1_md5,
            hash::HashKind::Sha256 => &self.ha1_sha256,
            hash::HashKind::Sha512_256 => return None,
        };
        (!ha1.is_empty()).then_some(ha1.as_str())
    }
}

impl fmt::Debug for StoredCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredCredentials")
            .field("username", &self.username)
            .field("ha1_md5", &"<redacted>")
            .field("ha1_sha256", &"<redacted>")
            .field("basic_hash", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derive_matches_rfc7616_ha1() {
        let c = StoredCredentials::derive("Mufasa", "Circle of Life", "http-auth@example.org");
        // HA1 = MD5("Mufasa:http-auth@example.org:Circle of Life")
        assert_eq!(c.ha1_md5.len(), 32);
        assert_eq!(c.ha1_sha256.len(), 64);
        assert_eq!(
            c.ha1_md5,
            hex::encode(md5::Md5::digest(
                b"Mufasa:http-auth@example.org:Circle of Life"
            ))
        );
        assert_eq!(c.ha1(Algorithm::Sha256Sess), Some(c.ha1_sha256.as_str()));
        assert_eq!(c.ha1(Algorithm::Sha512_256), None);
    }

    #[test]
    fn basic_hash_roundtrip() {
        let c = StoredCredentials::derive("cpe", "s3cr3t:with:colons", "ferroacs");
        assert!(c.basic_hash.starts_with("sha256$"));
        assert!(c.verify_basic("s3cr3t:with:colons"));
        assert!(!c.verify_basic("s3cr3t:with:colon"));
        assert!(!c.verify_basic(""));
        // Salted: two derivations differ.
        let d = StoredCredentials::derive("cpe", "s3cr3t:with:colons", "ferroacs");
        assert_ne!(c.basic_hash, d.basic_hash);
    }

    #[test]
    fn basic_hash_rejects_garbage() {
        let mut c = StoredCredentials::derive("cpe", "pw", "r");
        for bad in [
            "",
            "pw",
            "sha256$",
            "sha256$zz$00",
            "sha256$00$00",
            "md5$00$00",
            "sha256$0$00",
        ] {
            c.basic_hash = bad.into();
            assert!(!c.verify_basic("pw"), "{bad}");
        }
    }

    #[test]
    fn debug_is_redacted() {
        let c = StoredCredentials::derive("cpe", "pw", "r");
        let s = format!("{c:?}");
        assert!(!s.contains(&c.ha1_md5));
        assert!(s.contains("cpe"));
    }
}
