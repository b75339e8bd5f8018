//! Parsing of the `Authorization` request header.

use std::borrow::Cow;
use std::fmt;

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use super::AuthError;
use super::hash::Algorithm;
use super::params::{self, Item};

/// Standard alphabet, padding optional: some CPEs drop the `=`.
const BASIC_B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The `qop` a Digest response used (parsed case-insensitively).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Qop {
    Auth,
    AuthInt,
}

impl Qop {
    pub fn parse(s: &str) -> Option<Qop> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("auth") {
            Some(Qop::Auth)
        } else if s.eq_ignore_ascii_case("auth-int") {
            Some(Qop::AuthInt)
        } else {
            None
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Qop::Auth => "auth",
            Qop::AuthInt => "auth-int",
        }
    }
}

/// Parsed `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials<'a> {
    Digest(DigestCredentials<'a>),
    Basic(BasicCredentials),
}

impl Credentials<'_> {
    /// The username to look the device up by (for Digest with `userhash=true`, the hash).
    pub fn username(&self) -> &str {
        match self {
            Credentials::Digest(d) => &d.username,
            Credentials::Basic(b) => &b.username,
        }
    }
}

/// The parameters of a Digest `Authorization` header, borrowed from the header where possible.
///
/// `nc` and `qop` are also kept exactly as sent, because the response hash covers the
/// client's spelling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestCredentials<'a> {
    /// From `username`, or decoded from `username*` (RFC 8187).
    pub username: Cow<'a, str>,
    pub realm: Cow<'a, str>,
    pub nonce: Cow<'a, str>,
    /// As sent; may be empty (`uri=""`) and is not compared with the request target.
    pub uri: Cow<'a, str>,
    pub response: Cow<'a, str>,
    /// Absent = MD5.
    pub algorithm: Algorithm,
    /// Absent = RFC 2069 (then `nc` is `None`).
    pub qop: Option<Qop>,
    pub nc: Option<u32>,
    pub cnonce: Option<Cow<'a, str>>,
    pub opaque: Option<Cow<'a, str>>,
    /// RFC 7616 `userhash=true`: `username` is `H(username:realm)`.
    pub userhash: bool,
    pub(crate) qop_raw: Option<Cow<'a, str>>,
    pub(crate) nc_raw: Option<Cow<'a, str>>,
}

impl DigestCredentials<'_> {
    /// `qop` exactly as the client sent it.
    pub fn qop_raw(&self) -> Option<&str> {
        self.qop_raw.as_deref()
    }

    /// `nc` exactly as the client sent it.
    pub fn nc_raw(&self) -> Option<&str> {
        self.nc_raw.as_deref()
    }

    /// Detaches from the header buffer.
    pub fn into_owned(self) -> DigestCredentials<'static> {
        fn own(c: Cow<'_, str>) -> Cow<'static, str> {
            Cow::Owned(c.into_owned())
        }
        DigestCredentials {
            username: own(self.username),
            realm: own(self.realm),
            nonce: own(self.nonce),
            uri: own(self.uri),
            response: own(self.response),
            algorithm: self.algorithm,
            qop: self.qop,
            nc: self.nc,
            cnonce: self.cnonce.map(own),
            opaque: self.opaque.map(own),
            userhash: self.userhash,
            qop_raw: self.qop_raw.map(own),
            nc_raw: self.nc_raw.map(own),
        }
    }
}

/// Basic credentials (decoded).
#[derive(Clone, PartialEq, Eq)]
pub struct BasicCredentials {
    pub username: String,
    pub password: String,
}

impl fmt::Debug for BasicCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BasicCredentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Parses an `Authorization` header value (Digest or Basic, scheme case-insensitive).
///
/// Tolerant: quoted or bare values, commas inside quotes, odd spacing, `uri=""`, unknown
/// parameters ignored, first occurrence of a repeated parameter wins. Requires `username`
/// (or `username*`), `realm`, `nonce` and `response`; with a `qop`, also `nc` and `cnonce`.
/// A missing `uri` is taken as empty.
pub fn parse_authorization(header: &str) -> Result<Credentials<'_>, AuthError> {
    let (scheme, rest) = params::split_scheme(header).ok_or(AuthError::Missing)?;
    if scheme.eq_ignore_ascii_case("digest") {
        parse_digest(rest).map(Credentials::Digest)
    } else if scheme.eq_ignore_ascii_case("basic") {
        parse_basic(rest).map(Credentials::Basic)
    } else {
        Err(AuthError::UnsupportedScheme)
    }
}

fn parse_basic(token: &str) -> Result<BasicCredentials, AuthError> {
    let token = token.trim();
    if token.is_empty() {
        return Err(AuthError::Malformed("empty Basic credentials"));
    }
    let bytes = BASIC_B64
        .decode(token)
        .map_err(|_| AuthError::Malformed("Basic credentials are not base64"))?;
    let s = String::from_utf8(bytes)
        .map_err(|_| AuthError::Malformed("Basic credentials are not UTF-8"))?;
    let colon = s
        .find(':')
        .ok_or(AuthError::Malformed("Basic credentials without ':'"))?;
    let mut username = s;
    let password = username[colon + 1..].to_owned();
    username.truncate(colon);
    Ok(BasicCredentials { username, password })
}

fn set<'a>(slot: &mut Option<Cow<'a, str>>, value: Cow<'a, str>) {
    if slot.is_none() {
        *slot = Some(value);
    }
}

fn parse_digest(rest: &str) -> Result<DigestCredentials<'_>, AuthError> {
    let mut username = None;
    let mut username_ext = None;
    let mut realm = None;
    let mut nonce = None;
    let mut uri = None;
    let mut response = None;
    let mut algorithm = None;
    let mut qop = None;
    let mut nc = None;
    let mut cnonce = None;
    let mut opaque = None;
    let mut userhash = None;

    for item in params::params(rest) {
        let Item::Param(name, value) = item else {
            continue;
        };
        let slot = match name.len() {
            2 if name.eq_ignore_ascii_case("nc") => &mut nc,
            3 if name.eq_ignore_ascii_case("uri") => &mut uri,
            3 if name.eq_ignore_ascii_case("qop") => &mut qop,
            5 if name.eq_ignore_ascii_case("realm") => &mut realm,
            5 if name.eq_ignore_ascii_case("nonce") => &mut nonce,
            6 if name.eq_ignore_ascii_case("cnonce") => &mut cnonce,
            6 if name.eq_ignore_ascii_case("opaque") => &mut opaque,
            8 if name.eq_ignore_ascii_case("username") => &mut username,
            8 if name.eq_ignore_ascii_case("response") => &mut response,
            8 if name.eq_ignore_ascii_case("userhash") => &mut userhash,
            9 if name.eq_ignore_ascii_case("username*") => &mut username_ext,
            9 if name.eq_ignore_ascii_case("algorithm") => &mut algorithm,
            _ => continue,
        };
        set(slot, value);
    }

    let username = match (username, username_ext) {
        (Some(u), _) => u,
        (None, Some(ext)) => Cow::Owned(
            params::decode_ext_value(&ext).ok_or(AuthError::Malformed("undecodable username*"))?,
        ),
        (None, None) => return Err(AuthError::Malformed("missing username")),
    };
    let realm = realm.ok_or(AuthError::Malformed("missing realm"))?;
    let nonce = nonce.ok_or(AuthError::Malformed("missing nonce"))?;
    let response = response.ok_or(AuthError::Malformed("missing response"))?;
    let algorithm = match algorithm {
        Some(a) => Algorithm::parse(&a).ok_or(AuthError::UnsupportedAlgorithm)?,
        None => Algorithm::Md5,
    };
    let qop_parsed = match &qop {
        Some(q) => Some(Qop::parse(q).ok_or(AuthError::UnsupportedQop)?),
        None => None,
    };
    let nc_parsed = if qop_parsed.is_some() {
        let raw = nc
            .as_deref()
            .ok_or(AuthError::Malformed("qop without nc"))?;
        if cnonce.is_none() {
            return Err(AuthError::Malformed("qop without cnonce"));
        }
        Some(parse_nc(raw).ok_or(AuthError::Malformed("nc is not hexadecimal"))?)
    } else {
        // RFC 2069: nc means nothing without qop.
        nc = None;
        None
    };
    if algorithm.is_sess() && cnonce.is_none() {
        return Err(AuthError::Malformed("-sess algorithm without cnonce"));
    }

    Ok(DigestCredentials {
        username,
        realm,
        nonce,
        uri: uri.unwrap_or(Cow::Borrowed("")),
        response,
        algorithm,
        qop: qop_parsed,
        nc: nc_parsed,
        cnonce,
        opaque,
        userhash: userhash.is_some_and(|v| v.trim().eq_ignore_ascii_case("true")),
        qop_raw: qop,
        nc_raw: nc,
    })
}

/// 1 to 16 hex digits (leading zeros allowed) fitting in a u32.
fn parse_nc(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 16 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(s, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(h: &str) -> DigestCredentials<'_> {
        match parse_authorization(h).unwrap() {
            Credentials::Digest(d) => d,
            other => panic!("not digest: {other:?}"),
        }
    }

    #[test]
    fn parses_rfc7616_example() {
        let d = digest(
            r#"Digest username="Mufasa",
       realm="http-auth@example.org",
       uri="/dir/index.html",
       algorithm=MD5,
       nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
       nc=00000001,
       cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
       qop=auth,
       response="8ca523f5e9506fed4657c9700eebdbec",
       opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#,
        );
        assert_eq!(d.username, "Mufasa");
        assert_eq!(d.realm, "http-auth@example.org");
        assert_eq!(d.uri, "/dir/index.html");
        assert_eq!(d.algorithm, Algorithm::Md5);
        assert_eq!(d.qop, Some(Qop::Auth));
        assert_eq!(d.nc, Some(1));
        assert_eq!(d.nc_raw(), Some("00000001"));
        assert_eq!(
            d.opaque.as_deref(),
            Some("FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS")
        );
        assert!(matches!(d.username, Cow::Borrowed(_)));
    }

    #[test]
    fn rfc2069_drops_nc() {
        let d = digest(r#"digest username=u, realm=r, nonce=n, uri="", response=abc, nc=5"#);
        assert_eq!(d.qop, None);
        assert_eq!(d.nc, None);
        assert_eq!(d.nc_raw(), None);
        assert_eq!(d.uri, "");
    }

    #[test]
    fn qop_requires_nc_and_cnonce() {
        assert_eq!(
            parse_authorization("Digest username=u,realm=r,nonce=n,response=x,qop=auth,cnonce=c"),
            Err(AuthError::Malformed("qop without nc"))
        );
        assert_eq!(
            parse_authorization("Digest username=u,realm=r,nonce=n,response=x,qop=auth,nc=1"),
            Err(AuthError::Malformed("qop without cnonce"))
        );
        assert_eq!(
            parse_authorization(
                "Digest username=u,realm=r,nonce=n,response=x,qop=auth,nc=zz,cnonce=c"
            ),
            Err(AuthError::Malformed("nc is not hexadecimal"))
        );
        assert_eq!(
            parse_authorization("Digest username=u,realm=r,nonce=n,response=x,qop=bogus"),
            Err(AuthError::UnsupportedQop)
        );
    }

    #[test]
    fn missing_fields() {
        for (h, why) in [
            ("Digest realm=r,nonce=n,response=x", "missing username"),
            ("Digest username=u,nonce=n,response=x", "missing realm"),
            ("Digest username=u,realm=r,response=x", "missing nonce"),
            ("Digest username=u,realm=r,nonce=n", "missing response"),
        ] {
            assert_eq!(
                parse_authorization(h),
                Err(AuthError::Malformed(why)),
                "{h}"
            );
        }
        assert_eq!(parse_authorization(""), Err(AuthError::Missing));
        assert_eq!(
            parse_authorization("Digest"),
            Err(AuthError::Malformed("missing username"))
        );
        assert_eq!(
            parse_authorization("Bearer abc"),
            Err(AuthError::UnsupportedScheme)
        );
        assert_eq!(
            parse_authorization("Digest username=u,realm=r,nonce=n,response=x,algorithm=SHA-1"),
            Err(AuthError::UnsupportedAlgorithm)
        );
    }

    #[test]
    fn username_star_and_userhash() {
        let d = digest(
            "Digest username*=UTF-8''J%C3%A4s%C3%B8n, realm=r, nonce=n, response=x, userhash=TRUE",
        );
        assert_eq!(d.username, "Jäsøn");
        assert!(d.userhash);
    }

    #[test]
    fn basic() {
        // "Aladdin:open sesame"
        let c = parse_authorization("basic   QWxhZGRpbjpvcGVuIHNlc2FtZQ==  ").unwrap();
        assert_eq!(
            c,
            Credentials::Basic(BasicCredentials {
                username: "Aladdin".into(),
                password: "open sesame".into()
            })
        );
        assert_eq!(c.username(), "Aladdin");
        // Unpadded.
        assert!(parse_authorization("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ").is_ok());
        assert!(format!("{c:?}").contains("<redacted>"));
        assert!(!format!("{c:?}").contains("sesame"));
        assert!(matches!(
            parse_authorization("Basic !!!"),
            Err(AuthError::Malformed(_))
        ));
        assert!(matches!(
            parse_authorization("Basic Zm9v"), // "foo"
            Err(AuthError::Malformed(_))
        ));
        assert!(matches!(
            parse_authorization("Basic"),
            Err(AuthError::Malformed(_))
        ));
    }

    #[test]
    fn into_owned_detaches() {
        let owned = {
            let h = String::from(r#"Digest username="a\"b", realm=r, nonce=n, response=x"#);
            digest(&h).into_owned()
        };
        assert_eq!(owned.username, "a\"b");
    }
}
