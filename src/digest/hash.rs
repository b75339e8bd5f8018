//! Digest algorithms, the RFC 7616 response computation and HMAC-SHA256.
//!
//! Everything here works on stack buffers: no allocation on the verification path.

use std::fmt;
use std::str::FromStr;

use md5::Md5;
use sha2::{Digest, Sha256, Sha512_256};

use super::AuthError;

/// The `algorithm` parameter of a Digest challenge or response.
///
/// Parsed case-insensitively; an absent `algorithm` means [`Algorithm::Md5`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Algorithm {
    #[default]
    Md5,
    Md5Sess,
    Sha256,
    Sha256Sess,
    /// SHA-512/256: only used on the client side (the credential store keeps no HA1 for it).
    Sha512_256,
    Sha512_256Sess,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HashKind {
    Md5,
    Sha256,
    Sha512_256,
}

impl Algorithm {
    /// Parses an `algorithm` token, ignoring ASCII case (`md5`, `SHA-256-sess`, also `SHA256`).
    pub fn parse(s: &str) -> Option<Self> {
        const TABLE: [(&str, Algorithm); 8] = [
            ("MD5", Algorithm::Md5),
            ("MD5-sess", Algorithm::Md5Sess),
            ("SHA-256", Algorithm::Sha256),
            ("SHA-256-sess", Algorithm::Sha256Sess),
            ("SHA-512-256", Algorithm::Sha512_256),
            ("SHA-512-256-sess", Algorithm::Sha512_256Sess),
            ("SHA256", Algorithm::Sha256),
            ("SHA256-sess", Algorithm::Sha256Sess),
        ];
        let s = s.trim();
        TABLE
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(s))
            .map(|&(_, alg)| alg)
    }

    /// The canonical RFC 7616 spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Md5Sess => "MD5-sess",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha256Sess => "SHA-256-sess",
            Algorithm::Sha512_256 => "SHA-512-256",
            Algorithm::Sha512_256Sess => "SHA-512-256-sess",
        }
    }

    /// True for the `-sess` variants (HA1 = H(H(user:realm:password):nonce:cnonce)).
    pub fn is_sess(self) -> bool {
        matches!(
            self,
            Algorithm::Md5Sess | Algorithm::Sha256Sess | Algorithm::Sha512_256Sess
        )
    }

    /// Digest output length in bytes (hex strings are twice as long).
    pub fn output_len(self) -> usize {
        match self.kind() {
            HashKind::Md5 => 16,
            HashKind::Sha256 | HashKind::Sha512_256 => 32,
        }
    }

    pub(crate) fn kind(self) -> HashKind {
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => HashKind::Md5,
            Algorithm::Sha256 | Algorithm::Sha256Sess => HashKind::Sha256,
            Algorithm::Sha512_256 | Algorithm::Sha512_256Sess => HashKind::Sha512_256,
        }
    }

    /// Preference order when a client picks among challenges (higher is stronger).
    pub(crate) fn strength(self) -> u8 {
        match self.kind() {
            HashKind::Md5 => 1,
            HashKind::Sha256 => 2,
            HashKind::Sha512_256 => 3,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = AuthError;

    fn from_str(s: &str) -> Result<Self, AuthError> {
        Algorithm::parse(s).ok_or(AuthError::UnsupportedAlgorithm)
    }
}

/// A digest output (16 or 32 bytes) kept on the stack.
#[derive(Clone, Copy)]
pub(crate) struct Output {
    buf: [u8; 32],
    len: usize,
}

impl Output {
    fn from_digest<D: Digest>(d: D) -> Self {
        let r = d.finalize();
        let mut buf = [0u8; 32];
        buf[..r.len()].copy_from_slice(&r);
        Output { buf, len: r.len() }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// Lowercase hex into `buf`, returning the used part.
    pub(crate) fn hex_into<'b>(&self, buf: &'b mut [u8; 64]) -> &'b [u8] {
        let out = &mut buf[..self.len * 2];
        hex::encode_to_slice(self.as_bytes(), out).expect("buffer sized for the digest");
        out
    }

    pub(crate) fn to_hex(self) -> String {
        hex::encode(self.as_bytes())
    }
}

/// `qop`-dependent part of the response: `nc:cnonce:qop`, exactly as sent on the wire.
pub(crate) struct QopPart<'x> {
    pub nc: &'x str,
    pub cnonce: &'x str,
    pub qop: &'x str,
}

/// Inputs of the RFC 7616 section 3.4.1 response computation.
pub(crate) struct ResponseInput<'x> {
    /// hex(H(username:realm:password)), lowercase.
    pub ha1_hex: &'x [u8],
    pub nonce: &'x str,
    /// Set for the `-sess` algorithms.
    pub sess_cnonce: Option<&'x str>,
    /// Absent for RFC 2069 requests.
    pub qop: Option<QopPart<'x>>,
    pub method: &'x str,
    pub uri: &'x str,
}

fn response_with<D: Digest>(inp: &ResponseInput<'_>) -> Output {
    let mut sess_buf = [0u8; 64];
    let ha1: &[u8] = match inp.sess_cnonce {
        Some(cnonce) => Output::from_digest(
            D::new()
                .chain_update(inp.ha1_hex)
                .chain_update(b":")
                .chain_update(inp.nonce)
                .chain_update(b":")
                .chain_update(cnonce),
        )
        .hex_into(&mut sess_buf),
        None => inp.ha1_hex,
    };
    let mut ha2_buf = [0u8; 64];
    let ha2 = Output::from_digest(
        D::new()
            .chain_update(inp.method)
            .chain_update(b":")
            .chain_update(inp.uri),
    )
    .hex_into(&mut ha2_buf);

    let mut d = D::new();
    d.update(ha1);
    d.update(b":");
    d.update(inp.nonce);
    d.update(b":");
    if let Some(q) = &inp.qop {
        d.update(q.nc);
        d.update(b":");
        d.update(q.cnonce);
        d.update(b":");
        d.update(q.qop);
        d.update(b":");
    }
    d.update(ha2);
    Output::from_digest(d)
}

/// The `response` value (binary) for `alg`.
pub(crate) fn response(alg: Algorithm, inp: &ResponseInput<'_>) -> Output {
    match alg.kind() {
        HashKind::Md5 => response_with::<Md5>(inp),
        HashKind::Sha256 => response_with::<Sha256>(inp),
        HashKind::Sha512_256 => response_with::<Sha512_256>(inp),
    }
}

fn hash_parts_with<D: Digest>(parts: &[&[u8]]) -> Output {
    let mut d = D::new();
    for p in parts {
        d.update(p);
    }
    Output::from_digest(d)
}

/// H(parts joined) for `alg`'s hash function.
pub(crate) fn hash_parts(alg: Algorithm, parts: &[&[u8]]) -> Output {
    match alg.kind() {
        HashKind::Md5 => hash_parts_with::<Md5>(parts),
        HashKind::Sha256 => hash_parts_with::<Sha256>(parts),
        HashKind::Sha512_256 => hash_parts_with::<Sha512_256>(parts),
    }
}

/// H(username:realm:password), the HA1 the credential store keeps.
pub(crate) fn ha1(alg: Algorithm, username: &str, realm: &str, password: &str) -> Output {
    hash_parts(
        alg,
        &[
            username.as_bytes(),
            b":",
            realm.as_bytes(),
            b":",
            password.as_bytes(),
        ],
    )
}

/// HMAC-SHA256 (RFC 2104) with the padded key states precomputed.
#[derive(Clone)]
pub struct HmacSha256 {
    inner: Sha256,
    outer: Sha256,
}

impl HmacSha256 {
    pub fn new(key: &[u8]) -> Self {
        let mut block = [0u8; 64];
        if key.len() > 64 {
            block[..32].copy_from_slice(&Sha256::digest(key));
        } else {
            block[..key.len()].copy_from_slice(key);
        }
        let mut ipad = [0x36u8; 64];
        let mut opad = [0x5cu8; 64];
        for i in 0..64 {
            ipad[i] ^= block[i];
            opad[i] ^= block[i];
        }
        HmacSha256 {
            inner: Sha256::new_with_prefix(ipad),
            outer: Sha256::new_with_prefix(opad),
        }
    }

    /// HMAC over the concatenation of `parts`.
    pub fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut inner = self.inner.clone();
        for p in parts {
            inner.update(p);
        }
        let inner = inner.finalize();
        let mut outer = self.outer.clone();
        outer.update(inner);
        outer.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_rfc4231_case_2() {
        let mac = HmacSha256::new(b"Jefe").mac(&[b"what do ya want ", b"for nothing?"]);
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn hmac_rfc4231_case_6_long_key() {
        let key = [0xaau8; 131];
        let mac =
            HmacSha256::new(&key).mac(&[b"Test Using Larger Than Block-Size Key - Hash Key First"]);
        assert_eq!(
            hex::encode(mac),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn algorithm_names() {
        for alg in [
            Algorithm::Md5,
            Algorithm::Md5Sess,
            Algorithm::Sha256,
            Algorithm::Sha256Sess,
            Algorithm::Sha512_256,
            Algorithm::Sha512_256Sess,
        ] {
            assert_eq!(Algorithm::parse(alg.as_str()), Some(alg));
            assert_eq!(
                Algorithm::parse(&alg.as_str().to_ascii_lowercase()),
                Some(alg)
            );
        }
        assert_eq!(Algorithm::parse(" sha-256 "), Some(Algorithm::Sha256));
        assert_eq!(Algorithm::parse("SHA-1"), None);
        assert_eq!("md5-SESS".parse::<Algorithm>(), Ok(Algorithm::Md5Sess));
    }

    #[test]
    fn rfc7616_md5_vector() {
        let ha1 = ha1(
            Algorithm::Md5,
            "Mufasa",
            "http-auth@example.org",
            "Circle of Life",
        );
        let mut buf = [0u8; 64];
        let r = response(
            Algorithm::Md5,
            &ResponseInput {
                ha1_hex: ha1.hex_into(&mut buf),
                nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
                sess_cnonce: None,
                qop: Some(QopPart {
                    nc: "00000001",
                    cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
                    qop: "auth",
                }),
                method: "GET",
                uri: "/dir/index.html",
            },
        );
        assert_eq!(r.to_hex(), "8ca523f5e9506fed4657c9700eebdbec");
    }
}
