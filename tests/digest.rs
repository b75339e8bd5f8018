//! HTTP Digest / Basic authentication: RFC vectors, client/server interop, replay and
//! expiry handling, tolerant parsing, and interop with the independent `digest_auth` crate.

use std::sync::Arc;
use std::time::Duration;

use ferroacs::digest::{
    Algorithm, AuthError, Credentials, DigestCredentials, DigestServer, ManualClock, Qop,
    StoredCredentials, basic_authorization, check_digest_response, client_authorization,
    parse_authorization,
};

const REALM: &str = "ferroacs";
const SECRET: [u8; 32] = *b"0123456789abcdef0123456789abcdef";
const T0: u64 = 1_750_000_000;
const USER: &str = "00259E-HG8245H-48575443A1B2C3D4";
const PASS: &str = "Zq8!v:3x\"Lp\\0w";

// RFC 7616 section 3.9.1.
const RFC_USER: &str = "Mufasa";
const RFC_REALM: &str = "http-auth@example.org";
const RFC_PASS: &str = "Circle of Life";
const RFC_NONCE: &str = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
const RFC_CNONCE: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
const RFC_OPAQUE: &str = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS";
const RFC_MD5_RESPONSE: &str = "8ca523f5e9506fed4657c9700eebdbec";
const RFC_SHA256_RESPONSE: &str =
    "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1";

fn rfc_challenge(alg: &str) -> String {
    format!(
        "Digest realm=\"{RFC_REALM}\", qop=\"auth, auth-int\", algorithm={alg}, \
         nonce=\"{RFC_NONCE}\", opaque=\"{RFC_OPAQUE}\""
    )
}

fn server() -> (DigestServer, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(T0));
    let server = DigestServer::new(REALM, SECRET).with_clock(clock.clone());
    (server, clock)
}

fn stored() -> StoredCredentials {
    StoredCredentials::derive(USER, PASS, REALM)
}

fn digest(header: &str) -> DigestCredentials<'_> {
    match parse_authorization(header) {
        Ok(Credentials::Digest(d)) => d,
        other => panic!("expected Digest credentials from {header:?}, got {other:?}"),
    }
}

/// What a CPE would send back after a 401 from `server`.
fn answer(challenges: &[String], nc: u32, cnonce: Option<&str>) -> String {
    let refs: Vec<&str> = challenges.iter().map(String::as_str).collect();
    client_authorization(&refs, "POST", "/acs", USER, PASS, nc, cnonce).unwrap()
}

fn verify(server: &DigestServer, header: &str) -> Result<(), AuthError> {
    let creds = parse_authorization(header)?;
    server.verify(&creds, "POST", &stored())
}

/// Our challenge with `qop` removed and the algorithm replaced, for RFC 2069 and -sess tests.
fn variant(challenge: &str, alg: Option<&str>, keep_qop: bool) -> String {
    let mut c = challenge.to_string();
    if !keep_qop {
        c = c.replace("qop=\"auth\", ", "");
    }
    if let Some(alg) = alg {
        let from = if c.contains("algorithm=SHA-256") {
            "algorithm=SHA-256"
        } else {
            "algorithm=MD5"
        };
        c = c.replace(from, &format!("algorithm={alg}"));
    }
    c
}

// ---------------------------------------------------------------------------------------
// RFC 7616 vectors

#[test]
fn rfc7616_client_vectors() {
    for (alg, expected) in [("MD5", RFC_MD5_RESPONSE), ("SHA-256", RFC_SHA256_RESPONSE)] {
        let header = client_authorization(
            &[&rfc_challenge(alg)],
            "GET",
            "/dir/index.html",
            RFC_USER,
            RFC_PASS,
            1,
            Some(RFC_CNONCE),
        )
        .unwrap();
        assert_eq!(
            header,
            format!(
                "Digest username=\"Mufasa\", realm=\"http-auth@example.org\", \
                 uri=\"/dir/index.html\", algorithm={alg}, nonce=\"{RFC_NONCE}\", \
                 nc=00000001, cnonce=\"{RFC_CNONCE}\", qop=auth, response=\"{expected}\", \
                 opaque=\"{RFC_OPAQUE}\""
            )
        );
    }
}

#[test]
fn rfc7616_server_side_vectors() {
    let stored = StoredCredentials::derive(RFC_USER, RFC_PASS, RFC_REALM);
    for (alg, expected) in [("MD5", RFC_MD5_RESPONSE), ("SHA-256", RFC_SHA256_RESPONSE)] {
        // The RFC's own Authorization header layout (newlines, bare values).
        let header = format!(
            "Digest username=\"Mufasa\",\n       realm=\"http-auth@example.org\",\n       \
             uri=\"/dir/index.html\",\n       algorithm={alg},\n       nonce=\"{RFC_NONCE}\",\n       \
             nc=00000001,\n       cnonce=\"{RFC_CNONCE}\",\n       qop=auth,\n       \
             response=\"{expected}\",\n       opaque=\"{RFC_OPAQUE}\""
        );
        let creds = digest(&header);
        assert_eq!(creds.algorithm, Algorithm::parse(alg).unwrap());
        assert_eq!(check_digest_response(&creds, "GET", &stored), Ok(()));
        assert_eq!(
            check_digest_response(&creds, "POST", &stored),
            Err(AuthError::BadResponse)
        );
        let wrong = StoredCredentials::derive(RFC_USER, "Circle of life", RFC_REALM);
        assert_eq!(
            check_digest_response(&creds, "GET", &wrong),
            Err(AuthError::BadResponse)
        );
        // Uppercase response hex is fine.
        let upper = header.replace(expected, &expected.to_ascii_uppercase());
        assert_eq!(
            check_digest_response(&digest(&upper), "GET", &stored),
            Ok(())
        );
    }
}

// ---------------------------------------------------------------------------------------
// Interop between our client and our server

#[test]
fn challenge_offers_sha256_then_md5() {
    let (server, _) = server();
    let c = server.challenge(false);
    assert_eq!(c.len(), 2);
    assert!(c[0].contains("algorithm=SHA-256") && c[1].contains("algorithm=MD5"));
    for h in &c {
        assert!(
            h.starts_with("Digest realm=\"ferroacs\", qop=\"auth\""),
            "{h}"
        );
        assert!(h.contains("nonce=\"") && h.contains("opaque=\""));
        assert!(!h.contains("stale"));
    }
    assert!(
        server
            .challenge(true)
            .iter()
            .all(|h| h.contains("stale=true"))
    );
}

#[test]
fn client_server_sha256_and_md5_with_qop() {
    let (server, _) = server();
    let challenges = server.challenge(false);
    // Both offered: the client picks SHA-256.
    let h = answer(&challenges, 1, None);
    assert!(h.contains("algorithm=SHA-256"), "{h}");
    assert_eq!(verify(&server, &h), Ok(()));
    // MD5 only (the common CPE case).
    let h = answer(&challenges[1..], 1, None);
    assert!(h.contains("algorithm=MD5") && h.contains("qop=auth"), "{h}");
    assert_eq!(verify(&server, &h), Ok(()));
}

#[test]
fn client_server_without_qop_rfc2069() {
    let (server, _) = server();
    let challenges = server.challenge(false);
    for (i, expected_alg) in [(0, Algorithm::Sha256), (1, Algorithm::Md5)] {
        let c = variant(&challenges[i], None, false);
        let h = answer(&[c], 1, None);
        assert!(
            !h.contains("qop") && !h.contains("nc=") && !h.contains("cnonce"),
            "{h}"
        );
        let creds = digest(&h);
        assert_eq!(creds.algorithm, expected_alg);
        assert_eq!(creds.qop, None);
        assert_eq!(server.verify_digest(&creds, "POST", &stored()), Ok(()));
        // No nc to track: an RFC 2069 request is accepted again until the nonce expires.
        assert_eq!(server.verify_digest(&creds, "POST", &stored()), Ok(()));
    }
}

#[test]
fn rfc2069_client_without_algorithm() {
    // A bare RFC 2069 request: no algorithm, qop, nc or cnonce.
    let (server, _) = server();
    let nonce = server.new_nonce();
    let c = format!("Digest realm=\"{REALM}\", nonce=\"{nonce}\"");
    let h = client_authorization(&[&c], "POST", "/acs", USER, PASS, 1, None).unwrap();
    assert!(!h.contains("algorithm"));
    let creds = digest(&h);
    assert_eq!(creds.algorithm, Algorithm::Md5);
    assert_eq!(server.verify_digest(&creds, "POST", &stored()), Ok(()));
}

#[test]
fn sess_algorithms() {
    let (server, _) = server();
    let challenges = server.challenge(false);
    for alg in ["MD5-sess", "SHA-256-sess"] {
        for keep_qop in [true, false] {
            let c = variant(&challenges[0], Some(alg), keep_qop);
            let h = answer(&[c], 1, None);
            assert!(h.contains(&format!("algorithm={alg}")), "{h}");
            assert_eq!(verify(&server, &h), Ok(()), "{alg} qop={keep_qop}");
        }
    }
}

#[test]
fn new_connection_or_other_instance_accepts_nonce() {
    let (a, clock) = server();
    let b = DigestServer::new(REALM, SECRET).with_clock(clock.clone());
    let h = answer(&a.challenge(false), 1, None);
    assert_eq!(verify(&b, &h), Ok(()));
    // A different secret does not.
    let c = DigestServer::new(REALM, [9; 32]).with_clock(clock);
    assert_eq!(verify(&c, &h), Err(AuthError::InvalidNonce));
}

#[test]
fn empty_uri_accepted() {
    let (server, _) = server();
    let refs: Vec<String> = server.challenge(false);
    let refs: Vec<&str> = refs.iter().map(String::as_str).collect();
    let h = client_authorization(&refs[1..], "POST", "", USER, PASS, 1, None).unwrap();
    assert!(h.contains("uri=\"\""), "{h}");
    assert_eq!(digest(&h).uri, "");
    assert_eq!(verify(&server, &h), Ok(()));
}

#[test]
fn uri_is_not_compared_with_request_target() {
    // The client signs "/cwmp" but the server may have seen "/acs?x": still fine.
    let (server, _) = server();
    let refs = server.challenge(false);
    let refs: Vec<&str> = refs.iter().map(String::as_str).collect();
    let h = client_authorization(&refs, "POST", "/cwmp", USER, PASS, 1, None).unwrap();
    assert_eq!(verify(&server, &h), Ok(()));
}

// ---------------------------------------------------------------------------------------
// Failures

#[test]
fn wrong_password_is_bad_response() {
    let (server, _) = server();
    let refs = server.challenge(false);
    let refs: Vec<&str> = refs.iter().map(String::as_str).collect();
    for c in &refs {
        let h = client_authorization(&[c], "POST", "/acs", USER, "nope", 1, None).unwrap();
        assert_eq!(verify(&server, &h), Err(AuthError::BadResponse));
    }
    // Wrong method, too.
    let h = answer(&server.challenge(false), 1, None);
    let creds = parse_authorization(&h).unwrap();
    assert_eq!(
        server.verify(&creds, "GET", &stored()),
        Err(AuthError::BadResponse)
    );
}

#[test]
fn stale_nonce() {
    let (server, clock) = server();
    let challenges = server.challenge(false);
    let h1 = answer(&challenges, 1, Some("c"));
    clock.advance(Duration::from_secs(300));
    assert_eq!(verify(&server, &h1), Ok(()), "exactly at the TTL");
    clock.advance(Duration::from_secs(1));
    // 301 s old, validly signed, right password: stale, so the caller sends stale=true.
    let h2 = answer(&challenges, 2, Some("c"));
    assert_eq!(verify(&server, &h2), Err(AuthError::Stale));
    // A wrong password with a stale nonce is reported as a bad response, not as stale.
    let bad =
        client_authorization(&[&challenges[0]], "POST", "/acs", USER, "nope", 3, None).unwrap();
    assert_eq!(verify(&server, &bad), Err(AuthError::BadResponse));
    // The client retries with the fresh nonce of the stale challenge.
    let fresh = server.challenge(true);
    assert!(fresh[0].ends_with("stale=true"));
    let h3 = answer(&fresh, 1, None);
    assert_eq!(verify(&server, &h3), Ok(()));
    // Custom TTL.
    let (server, clock) = server_with_ttl(10);
    let h = answer(&server.challenge(false), 1, None);
    clock.advance(Duration::from_secs(11));
    assert_eq!(verify(&server, &h), Err(AuthError::Stale));
}

fn server_with_ttl(secs: u64) -> (DigestServer, Arc<ManualClock>) {
    let (server, clock) = server();
    (server.with_nonce_ttl(Duration::from_secs(secs)), clock)
}

/// Rebuilds a challenge from the nonce and opaque an Authorization header carries.
fn h_challenge_of(header: &str) -> String {
    let d = digest(header);
    format!(
        "Digest realm=\"{}\", qop=\"auth\", algorithm={}, nonce=\"{}\", opaque=\"{}\"",
        d.realm,
        d.algorithm,
        d.nonce,
        d.opaque.as_deref().unwrap_or_default()
    )
}

#[test]
fn nonce_from_the_future_is_stale() {
    // Another instance whose clock runs ten minutes ahead.
    let (server, clock) = server();
    let ahead = Arc::new(ManualClock::new(T0 + 600));
    let other = DigestServer::new(REALM, SECRET).with_clock(ahead);
    let h = answer(&other.challenge(false), 1, None);
    assert_eq!(verify(&server, &h), Err(AuthError::Stale));
    // Within the allowed skew.
    clock.set(T0 + 590);
    assert_eq!(verify(&server, &h), Ok(()));
}

#[test]
fn tampered_nonce_rejected() {
    let (server, _) = server();
    let h = answer(&server.challenge(false), 1, None);
    let nonce = digest(&h).nonce.into_owned();
    for i in [0, 7, 10, 30, 47] {
        let mut tampered = nonce.clone().into_bytes();
        tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        // Even a client that computed its response over the tampered nonce fails.
        let c = h_challenge_of(&h).replace(&nonce, &tampered);
        let forged = client_authorization(&[&c], "POST", "/acs", USER, PASS, 1, None).unwrap();
        assert_eq!(
            verify(&server, &forged),
            Err(AuthError::InvalidNonce),
            "{i}"
        );
    }
    for junk in ["", "abc", "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"] {
        let c = format!("Digest realm=\"{REALM}\", qop=auth, nonce=\"{junk}\"");
        let forged = client_authorization(&[&c], "POST", "/acs", USER, PASS, 1, None).unwrap();
        assert_eq!(
            verify(&server, &forged),
            Err(AuthError::InvalidNonce),
            "{junk}"
        );
    }
}

#[test]
fn wrong_realm() {
    let (server, _) = server();
    let c = server.challenge(false)[1].replace("realm=\"ferroacs\"", "realm=\"other\"");
    let h = answer(&[c], 1, None);
    assert_eq!(verify(&server, &h), Err(AuthError::WrongRealm));
}

#[test]
fn replayed_nc_rejected() {
    let (server, _) = server();
    let challenges = server.challenge(false);
    let h1 = answer(&challenges, 1, Some("cnonce-a"));
    assert_eq!(verify(&server, &h1), Ok(()));
    assert_eq!(verify(&server, &h1), Err(AuthError::Replay));
    let h2 = answer(&challenges, 2, Some("cnonce-a"));
    assert_eq!(verify(&server, &h2), Ok(()));
    assert_eq!(verify(&server, &h1), Err(AuthError::Replay));
    assert_eq!(verify(&server, &h2), Err(AuthError::Replay));
    let h5 = answer(&challenges, 5, Some("cnonce-a"));
    assert_eq!(verify(&server, &h5), Ok(()));
    let h4 = answer(&challenges, 4, Some("cnonce-a"));
    assert_eq!(verify(&server, &h4), Err(AuthError::Replay));
    // A failed attempt does not advance the count.
    let bad = client_authorization(
        &[&challenges[0]],
        "POST",
        "/acs",
        USER,
        "nope",
        9,
        Some("cnonce-b"),
    )
    .unwrap();
    assert_eq!(verify(&server, &bad), Err(AuthError::BadResponse));
    let good = answer(&challenges[..1], 1, Some("cnonce-b"));
    assert_eq!(verify(&server, &good), Ok(()));
}

#[test]
fn same_nonce_nc1_fresh_cnonce_accepted() {
    // Real CPEs: one nonce, nc=00000001 and a new cnonce on every request.
    let (server, _) = server();
    let challenges = server.challenge(false);
    for _ in 0..5 {
        let h = answer(&challenges[1..], 1, None);
        assert!(h.contains("nc=00000001"));
        assert_eq!(verify(&server, &h), Ok(()));
    }
}

#[test]
fn unsupported_algorithm_and_qop() {
    let (server, _) = server();
    let mut md5_only = stored();
    md5_only.ha1_sha256.clear();
    let h = answer(&server.challenge(false), 1, None);
    assert_eq!(
        server.verify(&parse_authorization(&h).unwrap(), "POST", &md5_only),
        Err(AuthError::UnsupportedAlgorithm)
    );
    let mut corrupt = stored();
    corrupt.ha1_sha256 = "abcd".into();
    assert_eq!(
        server.verify(&parse_authorization(&h).unwrap(), "POST", &corrupt),
        Err(AuthError::InvalidStoredCredentials)
    );
    // Uppercase stored HA1 still works.
    let mut upper = stored();
    upper.ha1_sha256.make_ascii_uppercase();
    assert_eq!(
        server.verify(&parse_authorization(&h).unwrap(), "POST", &upper),
        Ok(())
    );
    let auth_int = h.replace("qop=auth", "qop=auth-int");
    assert_eq!(verify(&server, &auth_int), Err(AuthError::UnsupportedQop));
}

// ---------------------------------------------------------------------------------------
// Basic

#[test]
fn basic_verify() {
    let (server, _) = server();
    let h = basic_authorization(USER, PASS);
    assert!(h.starts_with("Basic "));
    assert_eq!(verify(&server, &h), Err(AuthError::BasicNotAllowed));
    let server = server.with_basic(true);
    assert_eq!(verify(&server, &h), Ok(()));
    assert_eq!(
        verify(&server, &h.replacen("Basic", "basic", 1)),
        Ok(()),
        "lowercase scheme"
    );
    assert_eq!(
        verify(&server, &basic_authorization(USER, "nope")),
        Err(AuthError::BadResponse)
    );
    assert_eq!(
        verify(&server, &basic_authorization("someone-else", PASS)),
        Err(AuthError::UnknownUser)
    );
    assert!(stored().verify_basic(PASS));
    assert!(!stored().verify_basic(&PASS[1..]));
    match parse_authorization(&h).unwrap() {
        Credentials::Basic(b) => {
            assert_eq!(b.username, USER);
            assert_eq!(b.password, PASS);
        }
        other => panic!("{other:?}"),
    }
    // The client falls back to Basic when that is all a server offers.
    let h = client_authorization(
        &[&server.basic_challenge()],
        "GET",
        "/",
        USER,
        PASS,
        1,
        None,
    )
    .unwrap();
    assert_eq!(verify(&server, &h), Ok(()));
}

// ---------------------------------------------------------------------------------------
// Tolerant parsing of what CPEs send

/// Rewrites a header our client produced the way sloppy CPEs write them, checking that
/// the server still accepts it.
#[test]
fn header_spelling_variants_accepted() {
    let (server, _) = server();
    let challenges = server.challenge(false);
    type Rewrite = (&'static str, fn(String) -> String);
    let rewrites: [Rewrite; 7] = [
        ("lowercase scheme", |h| h.replacen("Digest", "digest", 1)),
        ("uppercase scheme", |h| h.replacen("Digest", "DIGEST", 1)),
        ("quoted algorithm and qop, lowercase algorithm", |h| {
            h.replace("algorithm=MD5", "algorithm=\"md5\"")
                .replace("qop=auth", "qop=\"auth\"")
        }),
        ("no spaces", |h| h.replace(", ", ",")),
        ("odd spacing", |h| {
            h.replace(", ", " ,\t ")
                .replace('=', " = ")
                .replacen("Digest", "  Digest  ", 1)
        }),
        ("unknown params and trailing comma", |h| {
            h.replacen("Digest ", "Digest foo=bar, charset=UTF-8, ", 1) + ", x=\"a,b\","
        }),
        ("uppercase qop and nc quoted", |h| {
            h.replace("qop=auth", "qop=AUTH")
                .replace("nc=00000001", "nc=\"00000001\"")
        }),
    ];
    for (i, (what, rewrite)) in rewrites.iter().enumerate() {
        let h = answer(&challenges[1..], 1, Some(&format!("cn-{i}")));
        let h = rewrite(h);
        assert_eq!(verify(&server, &h), Ok(()), "{what}: {h}");
    }
}

#[test]
fn param_order_and_missing_optional_fields() {
    let (server, _) = server();
    let h = answer(&server.challenge(false)[1..], 1, None);
    let d = digest(&h);
    // Reversed order, no opaque, no algorithm (defaults to MD5).
    let reordered = format!(
        "Digest response=\"{}\", qop=auth, cnonce=\"{}\", nc=00000001, nonce=\"{}\", uri=\"{}\", realm=\"{}\", username=\"{}\"",
        d.response,
        d.cnonce.as_deref().unwrap(),
        d.nonce,
        d.uri,
        d.realm,
        d.username.replace('\\', "\\\\").replace('"', "\\\"")
    );
    assert_eq!(verify(&server, &reordered), Ok(()), "{reordered}");
}

#[test]
fn parse_edge_cases() {
    let d = digest(
        r#"digest username=cpe,realm="r, with comma",nonce=abc ,  uri="",algorithm=sha-256-SESS,qop=Auth,nc=0000000a,cnonce="x y",response=00,opaque="""#,
    );
    assert_eq!(d.username, "cpe");
    assert_eq!(d.realm, "r, with comma");
    assert_eq!(d.nonce, "abc");
    assert_eq!(d.uri, "");
    assert_eq!(d.algorithm, Algorithm::Sha256Sess);
    assert_eq!(d.qop, Some(Qop::Auth));
    assert_eq!(d.qop_raw(), Some("Auth"));
    assert_eq!(d.nc, Some(10));
    assert_eq!(d.cnonce.as_deref(), Some("x y"));
    assert_eq!(d.opaque.as_deref(), Some(""));

    assert_eq!(parse_authorization(""), Err(AuthError::Missing));
    assert_eq!(parse_authorization("   "), Err(AuthError::Missing));
    assert_eq!(
        parse_authorization("NTLM TlRMTVNTUAAB"),
        Err(AuthError::UnsupportedScheme)
    );
    assert!(matches!(
        parse_authorization("Digest username=\"x\""),
        Err(AuthError::Malformed(_))
    ));
    assert!(matches!(
        parse_authorization("Digest garbage"),
        Err(AuthError::Malformed(_))
    ));
}

// ---------------------------------------------------------------------------------------
// Interop with the digest_auth crate (an independent implementation)

fn digest_auth_answer(challenge: &str, nc_times: u32) -> String {
    let mut prompt = digest_auth::parse(challenge).unwrap();
    let ctx = digest_auth::AuthContext::new_with_method(
        USER,
        PASS,
        "/acs",
        Option::<&[u8]>::None,
        digest_auth::HttpMethod::from("POST"),
    );
    let mut last = String::new();
    for _ in 0..nc_times {
        last = prompt.respond(&ctx).unwrap().to_header_string();
    }
    last
}

#[test]
fn digest_auth_crate_client_against_our_server() {
    let (server, _) = server();
    let challenges = server.challenge(false);
    for c in &challenges {
        let h = digest_auth_answer(c, 1);
        assert_eq!(verify(&server, &h), Ok(()), "{h}");
        // Its second request on the same nonce uses nc=2.
        let mut prompt = digest_auth::parse(c).unwrap();
        let ctx = digest_auth::AuthContext::new_with_method(
            USER,
            PASS,
            "/acs",
            Option::<&[u8]>::None,
            digest_auth::HttpMethod::from("POST"),
        );
        let mut first = prompt.respond(&ctx).unwrap();
        let h1 = first.to_header_string();
        assert_eq!(verify(&server, &h1), Ok(()));
        // Same cnonce, next nc: accepted; the first one again: replay.
        first.nc = 2;
        first.digest(&ctx);
        assert_eq!(verify(&server, &first.to_header_string()), Ok(()));
        assert_eq!(verify(&server, &h1), Err(AuthError::Replay));
    }
    // RFC 2069 (no qop) and -sess.
    for c in [
        variant(&challenges[1], None, false),
        variant(&challenges[0], None, false),
        variant(&challenges[1], Some("MD5-sess"), true),
        variant(&challenges[0], Some("SHA-256-sess"), true),
    ] {
        let h = digest_auth_answer(&c, 1);
        assert_eq!(verify(&server, &h), Ok(()), "{c} -> {h}");
    }
    // Wrong password through digest_auth.
    let mut prompt = digest_auth::parse(&challenges[1]).unwrap();
    let ctx = digest_auth::AuthContext::new_with_method(
        USER,
        "nope",
        "/acs",
        Option::<&[u8]>::None,
        digest_auth::HttpMethod::from("POST"),
    );
    let h = prompt.respond(&ctx).unwrap().to_header_string();
    assert_eq!(verify(&server, &h), Err(AuthError::BadResponse));
}

#[test]
fn our_client_checked_by_digest_auth_crate() {
    // digest_auth recomputes the response from the clear password.
    let c = rfc_challenge("SHA-256");
    for (uri, method) in [("/", "GET"), ("/cr?x=1", "GET"), ("", "POST")] {
        let h = client_authorization(&[&c], method, uri, "cpe", "pw", 3, None).unwrap();
        let mut parsed = digest_auth::AuthorizationHeader::parse(&h).unwrap();
        let given = parsed.response.clone();
        let ctx = digest_auth::AuthContext::new_with_method(
            "cpe",
            "pw",
            uri,
            Option::<&[u8]>::None,
            digest_auth::HttpMethod::from(method),
        );
        parsed.digest(&ctx);
        assert_eq!(parsed.response, given, "{h}");
        assert_eq!(parsed.nc, 3);
    }
}
