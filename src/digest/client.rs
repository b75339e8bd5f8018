//! The HTTP client side: answering a 401 (connection requests, CPE simulators).

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::AuthError;
use super::authorization::Qop;
use super::hash::{self, Algorithm, QopPart, ResponseInput};
use super::params::{self, Item, encode_ext_value, push_quoted};

/// `Basic base64(username:password)`.
pub fn basic_authorization(username: &str, password: &str) -> String {
    let mut raw = String::with_capacity(username.len() + password.len() + 1);
    raw.push_str(username);
    raw.push(':');
    raw.push_str(password);
    let mut out = String::with_capacity(6 + raw.len().div_ceil(3) * 4);
    out.push_str("Basic ");
    STANDARD.encode_string(raw, &mut out);
    out
}

#[derive(Debug, Default)]
struct DigestChallenge<'a> {
    realm: Option<Cow<'a, str>>,
    nonce: Option<Cow<'a, str>>,
    opaque: Option<Cow<'a, str>>,
    algorithm: Option<Cow<'a, str>>,
    qop: Option<Cow<'a, str>>,
    userhash: bool,
}

/// What we would answer a usable challenge with.
#[derive(Debug)]
struct Usable<'a> {
    realm: Cow<'a, str>,
    nonce: Cow<'a, str>,
    opaque: Option<Cow<'a, str>>,
    algorithm: Algorithm,
    /// Echo `algorithm=` (the challenge named one).
    name_algorithm: bool,
    qop_auth: bool,
    userhash: bool,
}

enum Scheme<'a> {
    Digest(DigestChallenge<'a>),
    Basic,
    Other,
}

#[derive(Default)]
struct Selection<'a> {
    best: Option<Usable<'a>>,
    basic: bool,
    saw_any: bool,
    saw_digest: bool,
}

impl<'a> Selection<'a> {
    fn finish(&mut self, scheme: Option<Scheme<'a>>) {
        let Some(scheme) = scheme else { return };
        self.saw_any = true;
        match scheme {
            Scheme::Basic => self.basic = true,
            Scheme::Other => {}
            Scheme::Digest(c) => {
                self.saw_digest = true;
                let Some(usable) = c.usable() else { return };
                let better = self
                    .best
                    .as_ref()
                    .is_none_or(|b| usable.algorithm.strength() > b.algorithm.strength());
                if better {
                    self.best = Some(usable);
                }
            }
        }
    }
}

impl<'a> DigestChallenge<'a> {
    fn set(&mut self, name: &str, value: Cow<'a, str>) {
        let slot = if name.eq_ignore_ascii_case("realm") {
            &mut self.realm
        } else if name.eq_ignore_ascii_case("nonce") {
            &mut self.nonce
        } else if name.eq_ignore_ascii_case("opaque") {
            &mut self.opaque
        } else if name.eq_ignore_ascii_case("algorithm") {
            &mut self.algorithm
        } else if name.eq_ignore_ascii_case("qop") {
            &mut self.qop
        } else {
            if name.eq_ignore_ascii_case("userhash") {
                self.userhash = value.trim().eq_ignore_ascii_case("true");
            }
            return;
        };
        if slot.is_none() {
            *slot = Some(value);
        }
    }

    fn usable(self) -> Option<Usable<'a>> {
        let nonce = self.nonce?;
        let algorithm = match &self.algorithm {
            Some(a) => Algorithm::parse(a)?,
            None => Algorithm::Md5,
        };
        let qop_auth = match &self.qop {
            None => false,
            Some(list) => {
                if !list.split(',').any(|q| Qop::parse(q) == Some(Qop::Auth)) {
                    // Only auth-int (or unknown) offered: we do not hash bodies.
                    return None;
                }
                true
            }
        };
        Some(Usable {
            realm: self.realm.unwrap_or(Cow::Borrowed("")),
            nonce,
            opaque: self.opaque,
            algorithm,
            name_algorithm: self.algorithm.is_some(),
            qop_auth,
            userhash: self.userhash,
        })
    }
}

fn scheme_of(token: &str) -> Scheme<'_> {
    if token.eq_ignore_ascii_case("digest") {
        Scheme::Digest(DigestChallenge::default())
    } else if token.eq_ignore_ascii_case("basic") {
        Scheme::Basic
    } else {
        Scheme::Other
    }
}

/// Builds the `Authorization` value answering a 401.
///
/// `www_authenticate` holds every `WWW-Authenticate` value received (each may itself hold
/// several comma-separated challenges). Picks the strongest usable challenge: Digest
/// SHA-512-256 > SHA-256 > MD5 (first offered wins a tie), and Basic only when no Digest
/// challenge is usable. Supports `qop=auth` and RFC 2069 (no `qop`) challenges, `-sess`
/// algorithms, `userhash` and non-ASCII usernames (`username*`). `nc` is the request count
/// for this nonce (start at 1); `cnonce` defaults to 16 random bytes in hex.
///
/// Errors: [`AuthError::Missing`] without any challenge, [`AuthError::NoUsableChallenge`] when
/// none is Digest (with a usable algorithm and qop) or Basic.
pub fn client_authorization(
    www_authenticate: &[&str],
    method: &str,
    uri: &str,
    username: &str,
    password: &str,
    nc: u32,
    cnonce: Option<&str>,
) -> Result<String, AuthError> {
    let mut sel = Selection::default();
    for value in www_authenticate {
        let mut current: Option<Scheme<'_>> = None;
        let mut has_params = false;
        for item in params::params(value) {
            match item {
                Item::Token(t) => {
                    if matches!(current, Some(Scheme::Other)) && !has_params {
                        // token68 of an unknown scheme (`Negotiate abc`).
                        has_params = true;
                        continue;
                    }
                    sel.finish(current.take());
                    current = Some(scheme_of(t));
                    has_params = false;
                }
                Item::Param(name, v) => {
                    has_params = true;
                    if let Some(Scheme::Digest(c)) = &mut current {
                        c.set(name, v);
                    }
                }
            }
        }
        sel.finish(current);
    }

    if let Some(ch) = sel.best {
        return Ok(digest_authorization(
            &ch, method, uri, username, password, nc, cnonce,
        ));
    }
    if sel.basic {
        return Ok(basic_authorization(username, password));
    }
    if !sel.saw_any {
        return Err(AuthError::Missing);
    }
    Err(AuthError::NoUsableChallenge)
}

fn digest_authorization(
    ch: &Usable<'_>,
    method: &str,
    uri: &str,
    username: &str,
    password: &str,
    nc: u32,
    cnonce: Option<&str>,
) -> String {
    let alg = ch.algorithm;
    let generated;
    let cnonce = match cnonce {
        Some(c) => c,
        None => {
            generated = hex::encode(rand::random::<[u8; 16]>());
            &generated
        }
    };
    let nc_str = format!("{nc:08x}");
    // A -sess HA1 needs a cnonce even for an RFC 2069 challenge: send one then too.
    let send_cnonce = ch.qop_auth || alg.is_sess();

    let mut ha1_buf = [0u8; 64];
    let ha1_hex = hash::ha1(alg, username, &ch.realm, password).hex_into(&mut ha1_buf);
    let response = hash::response(
        alg,
        &ResponseInput {
            ha1_hex,
            nonce: &ch.nonce,
            sess_cnonce: alg.is_sess().then_some(cnonce),
            qop: ch.qop_auth.then_some(QopPart {
                nc: &nc_str,
                cnonce,
                qop: "auth",
            }),
            method,
            uri,
        },
    );

    let mut out = String::with_capacity(
        256 + username.len() + ch.realm.len() + ch.nonce.len() + uri.len() + cnonce.len(),
    );
    out.push_str("Digest ");
    if ch.userhash {
        out.push_str("username=\"");
        out.push_str(
            &hash::hash_parts(alg, &[username.as_bytes(), b":", ch.realm.as_bytes()]).to_hex(),
        );
        out.push('"');
    } else if username.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        out.push_str("username=");
        push_quoted(&mut out, username);
    } else {
        out.push_str("username*=");
        encode_ext_value(&mut out, username);
    }
    out.push_str(", realm=");
    push_quoted(&mut out, &ch.realm);
    out.push_str(", uri=");
    push_quoted(&mut out, uri);
    if ch.name_algorithm {
        out.push_str(", algorithm=");
        out.push_str(alg.as_str());
    }
    out.push_str(", nonce=");
    push_quoted(&mut out, &ch.nonce);
    if ch.qop_auth {
        out.push_str(", nc=");
        out.push_str(&nc_str);
    }
    if send_cnonce {
        out.push_str(", cnonce=");
        push_quoted(&mut out, cnonce);
    }
    if ch.qop_auth {
        out.push_str(", qop=auth");
    }
    out.push_str(", response=\"");
    out.push_str(&response.to_hex());
    out.push('"');
    if let Some(opaque) = &ch.opaque {
        out.push_str(", opaque=");
        push_quoted(&mut out, opaque);
    }
    if ch.userhash {
        out.push_str(", userhash=true");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_CHALLENGE_SHA: &str = r#"Digest
       realm="http-auth@example.org",
       qop="auth, auth-int",
       algorithm=SHA-256,
       nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
       opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#;
    const RFC_CHALLENGE_MD5: &str = r#"Digest
       realm="http-auth@example.org",
       qop="auth, auth-int",
       algorithm=MD5,
       nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
       opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#;
    const CNONCE: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";

    fn answer(challenges: &[&str]) -> String {
        client_authorization(
            challenges,
            "GET",
            "/dir/index.html",
            "Mufasa",
            "Circle of Life",
            1,
            Some(CNONCE),
        )
        .unwrap()
    }

    #[test]
    fn rfc7616_md5_exact_header() {
        assert_eq!(
            answer(&[RFC_CHALLENGE_MD5]),
            "Digest username=\"Mufasa\", realm=\"http-auth@example.org\", \
             uri=\"/dir/index.html\", algorithm=MD5, \
             nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", nc=00000001, \
             cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\", qop=auth, \
             response=\"8ca523f5e9506fed4657c9700eebdbec\", \
             opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""
        );
    }

    #[test]
    fn prefers_sha256_in_any_order() {
        for order in [
            [RFC_CHALLENGE_MD5, RFC_CHALLENGE_SHA],
            [RFC_CHALLENGE_SHA, RFC_CHALLENGE_MD5],
        ] {
            let h = answer(&order);
            assert!(h.contains("algorithm=SHA-256"), "{h}");
            assert!(h.contains(
                "response=\"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1\""
            ));
        }
        // Both in one header value, Basic first.
        let joined = format!("Basic realm=\"x\", {RFC_CHALLENGE_MD5}, {RFC_CHALLENGE_SHA}");
        assert!(answer(&[&joined]).contains("algorithm=SHA-256"));
    }

    #[test]
    fn basic_only_when_no_digest() {
        assert_eq!(
            client_authorization(
                &["Basic realm=\"acs\""],
                "GET",
                "/",
                "Aladdin",
                "open sesame",
                1,
                None
            )
            .unwrap(),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        assert!(answer(&["Basic realm=\"x\"", RFC_CHALLENGE_MD5]).starts_with("Digest "));
        // Digest with an unsupported algorithm: fall back to Basic.
        assert!(
            answer(&["Digest realm=x, nonce=y, algorithm=SHA-1", "basic realm=x"])
                .starts_with("Basic ")
        );
    }

    #[test]
    fn errors() {
        assert_eq!(
            client_authorization(&[], "GET", "/", "u", "p", 1, None),
            Err(AuthError::Missing)
        );
        assert_eq!(
            client_authorization(&["  "], "GET", "/", "u", "p", 1, None),
            Err(AuthError::Missing)
        );
        for bad in [
            "Negotiate abc==",
            "Digest realm=x, algorithm=SHA-1, nonce=y",
            "Digest realm=x, qop=auth-int, nonce=y",
            "Digest realm=x",
        ] {
            assert_eq!(
                client_authorization(&[bad], "GET", "/", "u", "p", 1, None),
                Err(AuthError::NoUsableChallenge),
                "{bad}"
            );
        }
    }

    #[test]
    fn rfc2069_challenge() {
        let h = client_authorization(
            &["digest realm=\"r\", nonce=\"n\""],
            "GET",
            "/cr",
            "u",
            "p",
            1,
            None,
        )
        .unwrap();
        assert!(!h.contains("qop"));
        assert!(!h.contains("nc="));
        assert!(!h.contains("cnonce"));
        assert!(!h.contains("algorithm"));
        // response = MD5(HA1:nonce:HA2)
        let md5 = |s: &str| hex::encode(<md5::Md5 as sha2::Digest>::digest(s));
        let (ha1, ha2) = (md5("u:r:p"), md5("GET:/cr"));
        let expected = md5(&format!("{ha1}:n:{ha2}"));
        assert!(h.contains(&format!("response=\"{expected}\"")), "{h}");
    }

    #[test]
    fn generated_cnonce_and_username_forms() {
        let h = client_authorization(
            &["Digest realm=r, nonce=n, qop=auth"],
            "GET",
            "/",
            "Jäsøn",
            "p",
            2,
            None,
        )
        .unwrap();
        assert!(h.contains("username*=UTF-8''J%C3%A4s%C3%B8n"), "{h}");
        assert!(h.contains("nc=00000002"));
        let cnonce = h
            .split("cnonce=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert_eq!(cnonce.len(), 32);

        let h = client_authorization(
            &["Digest realm=r, nonce=n, qop=auth, userhash=true, algorithm=SHA-256"],
            "GET",
            "/",
            "Mufasa",
            "p",
            1,
            None,
        )
        .unwrap();
        let uh = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b"Mufasa:r"));
        assert!(h.contains(&format!("username=\"{uh}\"")), "{h}");
        assert!(h.ends_with("userhash=true"));

        let h = client_authorization(
            &["Digest realm=r, nonce=n, qop=auth"],
            "GET",
            "/",
            "a\"b",
            "p",
            1,
            None,
        )
        .unwrap();
        assert!(h.starts_with(r#"Digest username="a\"b""#), "{h}");
    }
}
