//! Keys the ACS derives device secrets from: connection-request credentials (never stored: the
//! ACS recomputes them) and signed, expiring firmware download URLs. The keys themselves are
//! generated once and shared by every instance through the database.

use subtle::ConstantTimeEq;

use crate::digest::{DigestServer, HmacSha256};
use crate::store::{DynStore, StoreError};

#[derive(Clone)]
pub struct Keys {
    connection_request: HmacSha256,
    download: HmacSha256,
    /// Default Digest nonce key (unless configured), shared by every instance.
    pub nonce: [u8; 32],
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(..)")
    }
}

fn decode32(hex_str: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    if let Ok(b) = hex::decode(hex_str) {
        let n = b.len().min(32);
        out[..n].copy_from_slice(&b[..n]);
    }
    out
}

impl Keys {
    pub async fn load(store: &DynStore) -> Result<Keys, StoreError> {
        let get = async |name: &str| -> Result<[u8; 32], StoreError> {
            let fresh = hex::encode(DigestServer::generate_secret());
            Ok(decode32(&store.secret(name, &fresh).await?))
        };
        let cr = get("connection_request_key").await?;
        let dl = get("download_key").await?;
        let nonce = get("digest_nonce_key").await?;
        Ok(Keys {
            connection_request: HmacSha256::new(&cr),
            download: HmacSha256::new(&dl),
            nonce,
        })
    }

    /// Keys not shared with anyone (tests).
    pub fn random() -> Keys {
        Keys {
            connection_request: HmacSha256::new(&DigestServer::generate_secret()),
            download: HmacSha256::new(&DigestServer::generate_secret()),
            nonce: DigestServer::generate_secret(),
        }
    }

    /// The username and password the ACS sets on a CPE for connection requests.
    pub fn connection_request_credentials(&self, device_id: i64) -> (String, String) {
        let mac = self
            .connection_request
            .mac(&[b"cr:", device_id.to_string().as_bytes()]);
        (format!("ferroacs-{device_id}"), hex::encode(&mac[..12]))
    }

    fn download_sig(&self, device_id: i64, image_id: i64, expires: i64) -> String {
        let msg = format!("dl:{device_id}:{image_id}:{expires}");
        hex::encode(&self.download.mac(&[msg.as_bytes()])[..16])
    }

    /// Path (under the CWMP listener) of a firmware image for one device, valid until `expires`
    /// (Unix seconds).
    pub fn download_path(
        &self,
        device_id: i64,
        image_id: i64,
        expires: i64,
        file_name: &str,
    ) -> String {
        let sig = self.download_sig(device_id, image_id, expires);
        let name: String = file_name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        format!("/firmware/{device_id}/{image_id}/{expires}/{sig}/{name}")
    }

    /// Checks a download path's signature and expiry; returns the image id.
    pub fn verify_download(&self, path: &str, now_s: i64) -> Option<(i64, i64)> {
        let mut parts = path.trim_start_matches('/').split('/');
        if parts.next()? != "firmware" {
            return None;
        }
        let device_id: i64 = parts.next()?.parse().ok()?;
        let image_id: i64 = parts.next()?.parse().ok()?;
        let expires: i64 = parts.next()?.parse().ok()?;
        let sig = parts.next()?;
        let expected = self.download_sig(device_id, image_id, expires);
        if !bool::from(sig.as_bytes().ct_eq(expected.as_bytes())) || expires < now_s {
            return None;
        }
        Some((device_id, image_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn download_urls_are_signed_and_expire() {
        let k = Keys::random();
        let p = k.download_path(7, 3, 2_000_000_000, "fw 1.bin");
        assert!(p.ends_with("/fw_1.bin"));
        assert_eq!(k.verify_download(&p, 1_000_000_000), Some((7, 3)));
        assert_eq!(k.verify_download(&p, 2_000_000_001), None, "expired");
        let tampered = p.replace("/7/3/", "/7/4/");
        assert_eq!(k.verify_download(&tampered, 1_000_000_000), None);
        assert_eq!(
            Keys::random().verify_download(&p, 1_000_000_000),
            None,
            "another key"
        );
        let (u, pw) = k.connection_request_credentials(7);
        assert_eq!(u, "ferroacs-7");
        assert_eq!(pw, k.connection_request_credentials(7).1);
        assert_ne!(pw, k.connection_request_credentials(8).1);
    }
}
