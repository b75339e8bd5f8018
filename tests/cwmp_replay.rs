//! The replay harness against the real CWMP endpoint: every Inform written in `fixtures/informs/`
//! and every capture of `../shared/reference/inform-real/` (when present) runs a full session as
//! its CPE, and the inventory must then show what that Inform says. Also: the `ferroacs replay`
//! binary end to end, and the byte-exactness of the ConnectionRequestURL rewrite.
//!
//! Network rule: only loopback is ever contacted. The fixtures' ConnectionRequestURLs are
//! loopback already (checked before sending); the real captures' are rewritten to
//! [`LOOPBACK_CR`] before sending (checked too), and the server only allows connection requests
//! to 127.0.0.0/8 (`common::serve_args`).

mod common;

use std::path::{Path, PathBuf};

use common::{Backend, TestApp};
use ferroacs::cpe::replay::{
    self, ReplayError, ReplayOptions, Replayer, http_body, load_inform, parse_inform, replay_file,
    rewrite_connection_request_url,
};
use ferroacs::cpe::{AuthMode, ClientOptions, Transcript};
use ferroacs::cwmp::Body;
use serde_json::{Value, json};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/informs");
const REAL: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/reference/inform-real"
);
/// What the real captures' ConnectionRequestURLs become (the discard port: nothing listens).
const LOOPBACK_CR: &str = "http://127.0.0.1:9/cr";

/// How a CPE talks to the ACS in one replay.
#[derive(Debug, Clone, Copy)]
struct Talk {
    auth: AuthMode,
    cookies: bool,
    new_connection: bool,
    auth_only_on_inform: bool,
}

const DIGEST: Talk = Talk {
    auth: AuthMode::Digest,
    cookies: true,
    new_connection: false,
    auth_only_on_inform: false,
};

/// One replay and what the inventory must say afterwards.
#[derive(Debug, Clone, Copy)]
struct Case {
    file: &'static str,
    manufacturer: &'static str,
    oui: &'static str,
    product_class: &'static str,
    serial: &'static str,
    software: &'static str,
    hardware: &'static str,
    /// `InternetGatewayDevice.` or `Device.`
    root: &'static str,
    /// The ConnectionRequestURL the ACS must have stored.
    cr_url: &'static str,
    /// Whether the Inform lacks PeriodicInformInterval (the ACS then asks for it).
    asks_interval: bool,
    /// Register the device with its serial number (else the Inform fills it in).
    preset_serial: bool,
    talk: Talk,
}

impl Case {
    fn uid(&self) -> String {
        format!("{}-{}-{}", self.oui, self.product_class, self.serial)
    }
}

const FIXTURE_CASES: [Case; 9] = [
    Case {
        file: "tr098-soap-env-bootstrap.xml",
        manufacturer: "Northwind Broadband",
        oui: "0A1B2C",
        product_class: "NWB-4400",
        serial: "NWB44000001234",
        software: "4.4.0-build17",
        hardware: "NWB4400-A1",
        root: "InternetGatewayDevice.",
        cr_url: "http://127.0.0.1:30001/cr/nwb4400",
        asks_interval: true,
        preset_serial: false,
        talk: DIGEST,
    },
    Case {
        file: "tr098-soapenv-single-quotes.xml",
        manufacturer: "Kestrel Telecom",
        oui: "3C4D5E",
        product_class: "KT-V22",
        serial: "KTV22A0009876",
        software: "2.2.8_rc3",
        hardware: "REV-B",
        root: "InternetGatewayDevice.",
        cr_url: "http://127.0.0.1:30002/",
        asks_interval: false,
        preset_serial: true,
        talk: Talk {
            auth: AuthMode::DigestMd5,
            cookies: false,
            ..DIGEST
        },
    },
    Case {
        file: "tr181-cwmp12-supported-versions.xml",
        manufacturer: "Osprey Fiber",
        oui: "5A6B7C",
        product_class: "OF-ONT-10G",
        serial: "OSPR10G000042",
        software: "10.2.1",
        hardware: "ONT10G-HW3",
        root: "Device.",
        cr_url: "http://127.0.0.1:30003/a8f2c0e1d7",
        asks_interval: true,
        preset_serial: false,
        talk: Talk {
            new_connection: true,
            ..DIGEST
        },
    },
    Case {
        file: "tr181-no-header.xml",
        manufacturer: "Heron Wireless",
        oui: "6B7C8D",
        product_class: "HW-MESH3",
        serial: "HWM3-77001",
        software: "3.1.4",
        hardware: "MESH3 v2",
        root: "Device.",
        cr_url: "http://127.0.0.1:30004/XML/6B7C8D-HWM3-77001.xml",
        asks_interval: true,
        preset_serial: true,
        talk: Talk {
            auth: AuthMode::Digest2069,
            cookies: false,
            new_connection: true,
            auth_only_on_inform: false,
        },
    },
    Case {
        file: "tr098-xmlschema-1999-untyped.xml",
        manufacturer: "Plover Systems",
        oui: "7C8D9E",
        product_class: "PS-VDSL-R2",
        serial: "PSR2-00051",
        software: "R2.5.3",
        hardware: "PCB-7",
        root: "InternetGatewayDevice.",
        cr_url: "http://127.0.0.1:30005/plover",
        asks_interval: false,
        preset_serial: false,
        talk: Talk {
            auth: AuthMode::Basic,
            ..DIGEST
        },
    },
    Case {
        file: "tr098-bom-crlf-duplicates.xml",
        manufacturer: "Avocet Électronique",
        oui: "8D9EAF",
        product_class: "AV-GPON-4",
        serial: "AVG4-2024-0007",
        software: "v4.0.12",
        hardware: "AVG4-B",
        root: "InternetGatewayDevice.",
        cr_url: "http://127.0.0.1:30006/avocet",
        asks_interval: false,
        preset_serial: true,
        talk: Talk {
            auth: AuthMode::DigestMd5,
            auth_only_on_inform: true,
            ..DIGEST
        },
    },
    Case {
        file: "tr098-latin1.xml",
        manufacturer: "Grèbe Télécom",
        oui: "9EAFB0",
        product_class: "GT-780",
        serial: "GT780X10003",
        software: "7.8.0.2",
        hardware: "GT780-R",
        root: "InternetGatewayDevice.",
        cr_url: "http://127.0.0.1:30007/",
        asks_interval: true,
        preset_serial: false,
        talk: DIGEST,
    },
    Case {
        file: "tr181-cwmp14-namespace.xml",
        manufacturer: "Tern Devices",
        oui: "AFB0C1",
        product_class: "TD-5G-CPE",
        serial: "TD5G140088",
        software: "5.0.0-r14",
        hardware: "TD5G-2",
        root: "Device.",
        cr_url: "https://127.0.0.1:30008/cr",
        asks_interval: true,
        preset_serial: true,
        talk: Talk {
            cookies: false,
            new_connection: true,
            ..DIGEST
        },
    },
    Case {
        file: "tr098-http-chunked.http",
        manufacturer: "Sandpiper Networks",
        oui: "B0C1D2",
        product_class: "SP-AX3000",
        serial: "SPAX3K00991",
        software: "1.0.9 (build 3321)",
        hardware: "SP-AX3000 v1.1",
        root: "InternetGatewayDevice.",
        cr_url: "http://127.0.0.1:30009/tr069",
        asks_interval: false,
        preset_serial: false,
        talk: Talk {
            auth: AuthMode::Digest2069,
            ..DIGEST
        },
    },
];

fn fixture(name: &str) -> PathBuf {
    Path::new(FIXTURES).join(name)
}

/// The real captures' folder, or `None` (with a message) when this checkout has none.
fn real_captures() -> Option<PathBuf> {
    let dir = PathBuf::from(REAL);
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "skipped: {} is absent (real Inform captures live outside the repository)",
            dir.display()
        );
        None
    }
}

fn is_loopback_url(u: &str) -> bool {
    let Ok(url) = url::Url::parse(u) else {
        return false;
    };
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    }
}

/// The ConnectionRequestURLs of an Inform as the codec reads them.
fn cr_urls(xml: &[u8]) -> Vec<String> {
    parse_inform(xml)
        .expect("an Inform")
        .parameters
        .into_iter()
        .filter(|p| p.name.ends_with(replay::CONNECTION_REQUEST_URL))
        .map(|p| p.value)
        .collect()
}

/// Refuses (panics) unless every ConnectionRequestURL the ACS will see is loopback.
#[track_caller]
fn assert_only_loopback(xml: &[u8], what: &str) {
    let urls = cr_urls(xml);
    assert!(!urls.is_empty(), "{what}: no ConnectionRequestURL");
    for u in &urls {
        assert!(is_loopback_url(u), "{what}: {u} is not loopback");
    }
}

fn options(app: &TestApp, user: &str, pass: &str, talk: Talk) -> ReplayOptions {
    let mut c =
        ClientOptions::new(format!("http://{}/cwmp", app.cwmp_addr)).credentials(user, pass);
    c.auth = talk.auth;
    c.echo_cookies = talk.cookies;
    c.new_connection_per_request = talk.new_connection;
    c.auth_only_on_inform = talk.auth_only_on_inform;
    ReplayOptions::new(c)
}

/// A device with CWMP credentials `user`/`pw-user`; returns its id.
async fn register(app: &TestApp, org: i64, ty: i64, user: &str, serial: Option<&str>) -> i64 {
    let mut body = json!({
        "name": user, "type": ty, "organization_id": org,
        "username": user, "password": format!("pw-{user}"),
    });
    if let Some(s) = serial {
        body["serial_number"] = json!(s);
    }
    app.create_device(body).await["id"].as_i64().unwrap()
}

async fn dev(app: &TestApp, id: i64) -> Value {
    app.get(&format!("/api/v1/inventory_device/{id}/"))
        .await
        .expect(200)
        .body
}

/// The transcript shows the Inform, the ACS's one GetParameterValues (when the Inform lacked
/// PeriodicInformInterval), and the 204.
#[track_caller]
fn is_cr_credentials(b: &Body) -> bool {
    matches!(b, Body::SetParameterValues { list, .. }
        if list.iter().all(|p| p.name.ends_with("ManagementServer.ConnectionRequestUsername")
            || p.name.ends_with("ManagementServer.ConnectionRequestPassword")))
}

fn check_transcript(t: &Transcript, c: &Case) {
    assert!(
        t.lines[0].starts_with(&format!("-> Inform {}", c.uid())),
        "{}: {:?}",
        c.file,
        t.lines
    );
    assert_eq!(
        t.lines.last().map(String::as_str),
        Some("<- 204 session end"),
        "{}",
        c.file
    );
    let expected = if c.asks_interval {
        vec![Body::GetParameterValues(vec![format!(
            "{}ManagementServer.PeriodicInformInterval",
            c.root
        )])]
    } else {
        Vec::new()
    };
    // A device's first session also gets the connection-request credentials the ACS holds for
    // it (tested in cwmp_operations); they are not what this test is about.
    let requests: Vec<&Body> = t
        .requests
        .iter()
        .filter(|b| !is_cr_credentials(b))
        .collect();
    assert_eq!(
        requests,
        expected.iter().collect::<Vec<_>>(),
        "{}: {:?}",
        c.file,
        t.lines
    );
    if c.asks_interval {
        assert!(
            t.lines.iter().any(|l| l
                == &format!(
                    "<- GetParameterValues {}ManagementServer.PeriodicInformInterval",
                    c.root
                )),
            "{}: {:?}",
            c.file,
            t.lines
        );
    }
}

/// The inventory shows what the Inform said.
async fn check_inventory(app: &TestApp, id: i64, c: &Case) {
    let d = dev(app, id).await;
    let f = c.file;
    assert_eq!(d["status"], "Up", "{f}");
    assert_eq!(d["manufacturer"], c.manufacturer, "{f}");
    assert_eq!(d["product_class"], c.product_class, "{f}");
    assert_eq!(d["unique_identifier"], c.uid(), "{f}");
    assert_eq!(d["serial_number"], c.serial, "{f}");
    assert_eq!(d["software_version"], c.software, "{f}");
    assert_eq!(d["hardware_version"], c.hardware, "{f}");
    assert_eq!(d["address"], "127.0.0.1", "{f}");
    let last = d["last_connection"].as_str().unwrap_or_default();
    assert!(last.ends_with('Z') && last >= "2020", "{f}: {last:?}");
    let name = format!("{}ManagementServer.ConnectionRequestURL", c.root);
    let p = app
        .get(&format!(
            "/api/v1/inventory_device/{id}/parameters/?prefix={name}"
        ))
        .await
        .expect(200)
        .body;
    assert_eq!(p["count"], 1, "{f}: {p}");
    assert_eq!(p["results"][0]["value"], c.cr_url, "{f}");
}

async fn fixtures_yield_their_inventory_fields(b: Backend) {
    let app = TestApp::spawn_with(b, |a| a.allow_basic_over_http = true).await;
    let org = app.create_org("replay").await;
    let ty = app.create_type("gateway", "gw").await;
    let mut seen = std::collections::HashSet::new();
    for entry in std::fs::read_dir(FIXTURES).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            FIXTURE_CASES.iter().any(|c| c.file == name),
            "{name}: a fixture without expectations in FIXTURE_CASES"
        );
    }
    for c in &FIXTURE_CASES {
        assert!(
            seen.insert(c.uid()),
            "{}: two fixtures share a DeviceId",
            c.file
        );
        let path = fixture(c.file);
        let xml = load_inform(&std::fs::read(&path).unwrap()).unwrap();
        assert_only_loopback(&xml, c.file);
        let user = c.serial.to_ascii_lowercase();
        let id = register(&app, org, ty, &user, c.preset_serial.then_some(c.serial)).await;
        assert_eq!(dev(&app, id).await["status"], "Down");
        let opts = options(&app, &user, &format!("pw-{user}"), c.talk);
        let t = replay_file(&opts, &path)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", c.file));
        assert_eq!(t.challenges, 1, "{}: one 401, then in", c.file);
        check_transcript(&t, c);
        check_inventory(&app, id, c).await;
        // A second session of the same CPE: nothing more to ask when the interval is known
        // (a CPE that says 0 BOOTSTRAP again gets its connection-request credentials again).
        let t = replay_file(&opts, &path).await.unwrap();
        if !c.asks_interval {
            assert!(
                t.requests.iter().all(is_cr_credentials),
                "{}: {:?}",
                c.file,
                t.lines
            );
        }
    }
    assert_eq!(
        app.get("/api/v1/inventory_device/?status=true").await.body["count"],
        FIXTURE_CASES.len()
    );
    app.stop().await;
}

/// The real captures, in an order where the same SpeedTouch 706 first runs 5.4.0.14, then
/// 6.2.15.5 (a firmware upgrade between two sessions).
const REAL_CASES: [Case; 10] = [
    Case {
        file: "thomson-BANT-S-5.4.0.14.http",
        manufacturer: "THOMSON",
        oui: "00147F",
        product_class: "SpeedTouch 706",
        serial: "CP0636JT3SH",
        software: "5.4.0.14",
        hardware: "BANT-S",
        root: "InternetGatewayDevice.",
        cr_url: LOOPBACK_CR,
        asks_interval: true,
        preset_serial: true,
        talk: Talk {
            auth: AuthMode::Digest2069,
            cookies: false,
            ..DIGEST
        },
    },
    Case {
        file: "thomson-speedtouch706-6.2.15.5.xml",
        manufacturer: "THOMSON",
        oui: "00147F",
        product_class: "SpeedTouch 706",
        serial: "CP0636JT3SH",
        software: "6.2.15.5",
        hardware: "BANT-S",
        root: "InternetGatewayDevice.",
        cr_url: LOOPBACK_CR,
        asks_interval: true,
        preset_serial: true,
        talk: Talk {
            auth: AuthMode::Digest2069,
            cookies: false,
            ..DIGEST
        },
    },
    Case {
        file: "thomson-BANT-W-6.2.17.5.http",
        manufacturer: "THOMSON",
        oui: "00147F",
        product_class: "SpeedTouch 585",
        serial: "CP0703KT3PP",
        software: "6.2.17.5",
        hardware: "BANT-W",
        root: "InternetGatewayDevice.",
        cr_url: LOOPBACK_CR,
        asks_interval: true,
        preset_serial: false,
        talk: Talk {
            auth: AuthMode::DigestMd5,
            new_connection: true,
            ..DIGEST
        },
    },
    Case {
        file: "thomson-speedtouch780-6.2.15.5.xml",
        manufacturer: "THOMSON",
        oui: "00147F",
        product_class: "SpeedTouch 780",
        serial: "CP0644JTHJ4",
        software: "6.2.15.5",
        hardware: "BANT-R",
        root: "InternetGatewayDevice.",
        cr_url: LOOPBACK_CR,
        asks_interval: true,
        preset_serial: true,
        talk: Talk {
            auth: AuthMode::Basic,
            ..DIGEST
        },
    },
    Case {
        file: "zyxel-P-2601HN-F1.xml",
        manufacturer: "ZyXEL",
        oui: "EC43F6",
        product_class: "P-2601HN-F1",
        serial: "EC43F69AF408",
        software: "V1.00(AACB.3)",
        hardware: "P-2601HN-F1",
        root: "InternetGatewayDevice.",
        cr_url: LOOPBACK_CR,
        asks_interval: true,
        preset_serial: false,
        talk: DIGEST,
    },
    Case {
        file: "zyxel-VMG8924-B10A.xml",
        manufacturer: "ZyXEL",
        oui: "4C9EFF",
        product_class: "VMG8924-B10A",
        serial: "S140Y24025829",
        software: "1.00(AAQU.1)b20",
        hardware: "HW_1.0",
        root: "InternetGatewayDevice.",
        cr_url: LOOPBACK_CR,
        asks_interval: true,
        preset_serial: true,
        talk: Talk {
            auth_only_on_inform: true,
            ..DIGEST
        },
    },
    Case {
        file: "cytco-bcm-INVALID-currenttime.xml",
        manufacturer: "Cytco",
        oui: "00a859",
        product_class: "BCM Serials",
        serial: "00100400FV020010000000a859f6a238",
        software: "2.3.1-65-g79fe05b build 4388",
        hardware: "1.0",
        root: "InternetGatewayDevice.",
        cr_url: LOOPBACK_CR,
        asks_interval: true,
        preset_serial: false,
        talk: Talk {
            auth: AuthMode::DigestMd5,
            ..DIGEST
        },
    },
    Case {
        file: "sagemcom-HGW4-tr181.xml",
        manufacturer: "Sagemcom",
        oui: "40F201",
        product_class: "Router",
        serial: "LK14183DP340340",
        software: "SG72113250226",
        hardware: "5DK40-04",
        root: "Device.",
        cr_url: LOOPBACK_CR,
        asks_interval: true,
        preset_serial: false,
        talk: Talk {
            new_connection: true,
            ..DIGEST
        },
    },
    Case {
        file: "motorola-VAP2404E-tr181.xml",
        manufacturer: "Motorola Mobility",
        oui: "001404",
        product_class: "VAP2404E",
        serial: "M91342SA1JJ0",
        software: "00.19.00",
        hardware: "02.00",
        root: "Device.",
        cr_url: LOOPBACK_CR,
        asks_interval: true,
        preset_serial: true,
        talk: Talk {
            auth: AuthMode::Digest2069,
            cookies: false,
            new_connection: true,
            auth_only_on_inform: false,
        },
    },
    Case {
        file: "zte-F600W-V5.2.10P4T26.xml",
        manufacturer: "ZTE",
        oui: "44F436",
        product_class: "F600W",
        serial: "ZTEEQAWF5J00191",
        software: "V5.2.10P4T26",
        hardware: "V5.2",
        root: "InternetGatewayDevice.",
        cr_url: LOOPBACK_CR,
        asks_interval: true,
        preset_serial: true,
        talk: DIGEST,
    },
];

async fn real_captures_yield_their_inventory_fields(b: Backend) {
    let Some(dir) = real_captures() else { return };
    let app = TestApp::spawn_with(b, |a| a.allow_basic_over_http = true).await;
    let org = app.create_org("captured").await;
    let ty = app.create_type("captured", "cap").await;
    let mut ids = std::collections::HashMap::new();
    let mut replayed = std::collections::HashSet::new();
    for c in &REAL_CASES {
        let path = dir.join(c.file);
        let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // Never send a real-world address: check what the rewrite yields before replaying.
        let (xml, n) =
            rewrite_connection_request_url(&load_inform(&raw).unwrap(), LOOPBACK_CR).unwrap();
        assert!(n >= 1, "{}", c.file);
        assert_only_loopback(&xml, c.file);
        let user = c.serial.to_ascii_lowercase();
        let id = match ids.get(&user) {
            Some(id) => *id,
            None => {
                let id = register(&app, org, ty, &user, c.preset_serial.then_some(c.serial)).await;
                ids.insert(user.clone(), id);
                id
            }
        };
        let opts = options(&app, &user, &format!("pw-{user}"), c.talk).rewrite(LOOPBACK_CR);
        let t = replay_file(&opts, &path)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", c.file));
        assert!(
            t.lines[0].contains(&format!("ConnectionRequestURL rewritten x{n}")),
            "{:?}",
            t.lines
        );
        check_transcript(&t, c);
        check_inventory(&app, id, c).await;
        replayed.insert(c.file);
    }
    // Every capture of the folder has a case here.
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            replayed.contains(name.as_str()),
            "{name}: a capture without expectations in REAL_CASES"
        );
    }
    // The ZTE capture reports its ConnectionRequestURL twice: both were rewritten, one row kept.
    let zte = ids["zteeqawf5j00191"];
    let p = app
        .get(&format!(
            "/api/v1/inventory_device/{zte}/parameters/?prefix=InternetGatewayDevice.ManagementServer."
        ))
        .await
        .body;
    let values: Vec<(&str, &str)> = p["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["name"].as_str().unwrap(), r["value"].as_str().unwrap()))
        .collect();
    assert!(values.contains(&(
        "InternetGatewayDevice.ManagementServer.ConnectionRequestURL",
        LOOPBACK_CR
    )));
    assert!(values.contains(&(
        "InternetGatewayDevice.ManagementServer.URL",
        "http://172.31.8.82/"
    )));
    // Thomson's parameter named `.ExternalIPAddress` (no root) is kept as reported.
    let st780 = ids["cp0644jthj4"];
    let p = app
        .get(&format!(
            "/api/v1/inventory_device/{st780}/parameters/?prefix=.ExternalIPAddress"
        ))
        .await
        .body;
    assert_eq!(p["results"][0]["value"], "192.168.1.254", "{p}");
    app.stop().await;
}

/// Refusals come back as clear errors, and a capture that is not an Inform is refused before any
/// traffic.
async fn replay_errors_are_clear(b: Backend) {
    let app = TestApp::spawn(b).await;
    let org = app.create_org("errors").await;
    let ty = app.create_type("gw", "gw").await;
    let c = &FIXTURE_CASES[0];
    let path = fixture(c.file);
    let user = "nwb";
    register(&app, org, ty, user, Some("SOMEONE-ELSE")).await;
    // Wrong password: 401 after the challenges.
    let err = replay_file(&options(&app, user, "wrong", DIGEST), &path)
        .await
        .unwrap_err();
    assert!(matches!(err, ReplayError::Unauthorized), "{err}");
    assert!(err.to_string().contains("--password"), "{err}");
    // The right credentials with another serial number: 403.
    let err = replay_file(&options(&app, user, "pw-nwb", DIGEST), &path)
        .await
        .unwrap_err();
    assert!(matches!(err, ReplayError::Forbidden(_)), "{err}");
    assert!(err.to_string().contains("403"), "{err}");
    // No credentials at all.
    let opts = ReplayOptions::new(ClientOptions::new(format!("http://{}/", app.cwmp_addr)));
    let err = replay_file(&opts, &path).await.unwrap_err();
    assert!(matches!(err, ReplayError::NoCredentials), "{err}");
    // Not CWMP: a web server answering every request with a page, on loopback.
    let web = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let web_addr = web.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut s, _)) = web.accept().await {
            let mut buf = vec![0u8; 65536];
            let _ = s.read(&mut buf).await;
            let page = "<html><body>It works!</body></html>";
            let _ = s
                .write_all(
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
                        page.len()
                    )
                    .as_bytes(),
                )
                .await;
        }
    });
    let mut o = options(&app, user, "pw-nwb", DIGEST);
    o.client.url = format!("http://{web_addr}/");
    let err = replay_file(&o, &path).await.unwrap_err();
    assert!(matches!(err, ReplayError::AcsNotCwmp(_)), "{err}");
    assert!(err.to_string().contains("not CWMP"), "{err}");
    // An HTTP error status.
    let mut o = options(&app, user, "pw-nwb", DIGEST);
    o.client.url = format!("http://{}/api/v1/no-such-thing/", app.addr);
    let err = replay_file(&o, &path).await.unwrap_err();
    assert!(
        matches!(err, ReplayError::Status { status: 404, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("HTTP 404"), "{err}");
    // Connection refused.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let mut o = options(&app, user, "pw-nwb", DIGEST);
    o.client.url = format!("http://{closed}/");
    let err = replay_file(&o, &path).await.unwrap_err();
    assert!(matches!(err, ReplayError::Connect { .. }), "{err}");
    assert!(err.to_string().contains("cannot connect"), "{err}");
    // Files that are not Informs, or not there.
    let dir = tempfile::tempdir().unwrap();
    for (name, content, want) in [
        ("garbage.xml", &b"not xml at all"[..], "not a CWMP message"),
        (
            "gpv.xml",
            &b"<s:Envelope xmlns:s='http://schemas.xmlsoap.org/soap/envelope/' xmlns:cwmp='urn:dslforum-org:cwmp-1-0'><s:Body><cwmp:GetRPCMethods/></s:Body></s:Envelope>"[..],
            "not an Inform",
        ),
        ("headers-only.http", &b"POST / HTTP/1.1\r\nHost: x\r\n"[..], "HTTP capture"),
    ] {
        let p = dir.path().join(name);
        std::fs::write(&p, content).unwrap();
        let err = replay_file(&opts, &p).await.unwrap_err();
        assert!(err.to_string().contains(want), "{name}: {err}");
    }
    let err = replay_file(&opts, dir.path().join("missing.xml"))
        .await
        .unwrap_err();
    assert!(matches!(err, ReplayError::Read { .. }), "{err}");
    assert!(
        matches!(
            Replayer::new(opts.clone().rewrite("ftp://127.0.0.1/")),
            Err(ReplayError::Rewrite(_))
        ),
        "a bad rewrite URL is refused up front"
    );
    app.stop().await;
}

both_backends!(
    fixtures_yield_their_inventory_fields,
    real_captures_yield_their_inventory_fields,
    replay_errors_are_clear,
);

async fn run_cli(args: &[String]) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_ferroacs"))
        .args(args)
        .env_remove("FERROACS_REPLAY_PASSWORD")
        .env("FERROACS_LOG", "warn")
        .output()
        .await
        .expect("run ferroacs")
}

/// `ferroacs replay` end to end against an in-process server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_replays_and_prints_the_transcript() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let org = app.create_org("cli").await;
    let ty = app.create_type("gw", "gw").await;
    let first = &FIXTURE_CASES[0];
    let second = &FIXTURE_CASES[6];
    let id = register(&app, org, ty, "cli-cpe", None).await;
    let url = format!("http://{}/", app.cwmp_addr);
    let mut args: Vec<String> = [
        "replay",
        "--url",
        &url,
        "--username",
        "cli-cpe",
        "--password",
        "pw-cli-cpe",
        "--auth",
        "digest-md5",
        "--rewrite-connection-request-url",
        "http://127.0.0.1:9/cli",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(fixture(first.file).display().to_string());
    let out = run_cli(&args).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    assert!(
        stdout.contains(&format!("-> Inform {}", first.uid())),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "<- GetParameterValues InternetGatewayDevice.ManagementServer.PeriodicInformInterval"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("<- 204 session end"), "{stdout}");
    let d = dev(&app, id).await;
    assert_eq!(d["status"], "Up");
    assert_eq!(d["serial_number"], first.serial);
    let p = app
        .get(&format!("/api/v1/inventory_device/{id}/parameters/?prefix=InternetGatewayDevice.ManagementServer.ConnectionRequestURL"))
        .await
        .body;
    assert_eq!(
        p["results"][0]["value"], "http://127.0.0.1:9/cli",
        "rewritten"
    );

    // A wrong password: non-zero exit and a message that says why.
    let mut bad = args.clone();
    bad[6] = "wrong".into();
    let out = run_cli(&bad).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("authentication failed"), "{stderr}");
    assert!(stderr.contains("1 of 1 replays failed"), "{stderr}");

    // Several files: the one whose DeviceId is another device's fails (403), the exit says so.
    let mut two = args.clone();
    two.push(fixture(second.file).display().to_string());
    let out = run_cli(&two).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stdout.contains("<- 204 session end"), "{stdout}");
    assert!(stderr.contains("403"), "{stderr}");
    assert!(stderr.contains("1 of 2 replays failed"), "{stderr}");

    // Flags without files, and half credentials, are usage errors.
    let out = run_cli(&["replay".into(), "--url".into(), url.clone()]).await;
    assert!(!out.status.success());
    let mut half: Vec<String> = ["replay", "--url", &url, "--username", "x"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    half.push(fixture(first.file).display().to_string());
    let out = run_cli(&half).await;
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--password"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    app.stop().await;
}

/// The rewrite replaces exactly the ConnectionRequestURL values: both of the ZTE capture's, and
/// nothing else of the Thomson ones (Latin-1 bytes included).
#[test]
fn rewrite_touches_only_the_url() {
    // A written Latin-1 fixture (no reference folder needed).
    let latin1 = std::fs::read(fixture("tr098-latin1.xml")).unwrap();
    assert!(latin1.contains(&0xE8), "the fixture has Latin-1 bytes");
    let (out, n) = rewrite_connection_request_url(&latin1, "http://127.0.0.1:1/x").unwrap();
    assert_eq!(n, 1);
    assert_eq!(
        out,
        replace_all(
            &latin1,
            b">http://127.0.0.1:30007/<",
            b">http://127.0.0.1:1/x<"
        )
    );
    let inform = parse_inform(&out).unwrap();
    assert_eq!(inform.device_id.manufacturer, "Grèbe Télécom");
    // The UTF-8 one with a BOM, CRLF and a duplicated URL.
    let bom = std::fs::read(fixture("tr098-bom-crlf-duplicates.xml")).unwrap();
    let (out, n) = rewrite_connection_request_url(&bom, "http://127.0.0.1:1/x").unwrap();
    assert_eq!(n, 2);
    assert_eq!(
        out,
        replace_all(
            &bom,
            b">http://127.0.0.1:30006/avocet<",
            b">http://127.0.0.1:1/x<"
        )
    );

    let Some(dir) = real_captures() else { return };
    let zte = std::fs::read(dir.join("zte-F600W-V5.2.10P4T26.xml")).unwrap();
    let (out, n) = rewrite_connection_request_url(&zte, LOOPBACK_CR).unwrap();
    assert_eq!(n, 2, "the ZTE capture reports it twice");
    assert_eq!(
        out,
        replace_all(
            &zte,
            b">http://10.90.13.32:58000<",
            format!(">{LOOPBACK_CR}<").as_bytes()
        )
    );
    assert_eq!(cr_urls(&out), [LOOPBACK_CR, LOOPBACK_CR]);
    assert!(
        String::from_utf8_lossy(&out).contains(">10.90.13.32<"),
        "the ExternalIPAddress is not a ConnectionRequestURL"
    );

    // The Thomson captures are ASCII: put Latin-1 bytes in one (as a French firmware would
    // describe its configuration) and check they come through byte for byte.
    let thomson = std::fs::read(dir.join("thomson-BANT-W-6.2.17.5.http")).unwrap();
    let body = http_body(&thomson).unwrap().into_owned();
    let with_latin1 = replace_all(
        &body,
        b">Factory Defaults<",
        b">Param\xE8tres d'usine \xE0 l'\xE9tat<",
    );
    assert_ne!(with_latin1, body);
    let (out, n) = rewrite_connection_request_url(&with_latin1, LOOPBACK_CR).unwrap();
    assert_eq!(n, 1);
    assert_eq!(
        out,
        replace_all(
            &with_latin1,
            b">http://10.0.0.4:51005/<",
            format!(">{LOOPBACK_CR}<").as_bytes()
        )
    );
    let inform = parse_inform(&out).unwrap();
    assert!(
        inform
            .parameters
            .iter()
            .any(|p| p.value == "Paramètres d'usine à l'état"),
        "decoded as Latin-1"
    );
    // Every real capture: only the URL values change, and every URL is loopback afterwards.
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let xml = load_inform(&std::fs::read(&path).unwrap()).unwrap();
        let before = cr_urls(&xml);
        let (out, n) = rewrite_connection_request_url(&xml, LOOPBACK_CR).unwrap();
        assert_eq!(n, before.len(), "{}", path.display());
        let mut expected = xml.clone();
        for u in &before {
            expected = replace_all(
                &expected,
                format!(">{u}<").as_bytes(),
                format!(">{LOOPBACK_CR}<").as_bytes(),
            );
        }
        assert_eq!(out, expected, "{}", path.display());
        assert_only_loopback(&out, &path.display().to_string());
    }
}

/// HTTP captures lose their headers (and only them); raw XML is kept as it is.
#[test]
fn http_captures_are_stripped_of_their_headers() {
    let chunked = std::fs::read(fixture("tr098-http-chunked.http")).unwrap();
    let xml = load_inform(&chunked).unwrap();
    assert!(xml.starts_with(b"<soap-env:Envelope "));
    assert!(xml.ends_with(b"</soap-env:Envelope>\r\n"));
    for c in &FIXTURE_CASES {
        let raw = std::fs::read(fixture(c.file)).unwrap();
        let xml = load_inform(&raw).unwrap();
        if !c.file.ends_with(".http") {
            assert_eq!(xml, raw, "{}: raw XML is sent as it is", c.file);
        }
        let inform = parse_inform(&xml).unwrap();
        assert_eq!(inform.device_id.serial_number, c.serial, "{}", c.file);
    }
    let Some(dir) = real_captures() else { return };
    for name in [
        "thomson-BANT-S-5.4.0.14.http",
        "thomson-BANT-W-6.2.17.5.http",
    ] {
        let raw = std::fs::read(dir.join(name)).unwrap();
        let xml = load_inform(&raw).unwrap();
        assert!(xml.starts_with(b"<soapenv:Envelope "), "{name}");
        assert!(
            xml.ends_with(b"</soapenv:Envelope>"),
            "{name}: cut to Content-Length"
        );
        let at = raw.windows(xml.len()).position(|w| w == xml).unwrap();
        assert!(raw[..at].starts_with(b"POST / HTTP/1.1"), "{name}");
    }
}

fn replace_all(hay: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len());
    let mut i = 0;
    while i < hay.len() {
        if hay[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(hay[i]);
            i += 1;
        }
    }
    out
}
