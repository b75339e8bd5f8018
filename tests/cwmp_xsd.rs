//! Everything the CWMP writer can emit validates against the official Broadband Forum XSDs.
//!
//! For every `Body` variant and every protocol version, the envelope written by
//! `ferroacs::cwmp::to_vec` is validated with `xmllint --nonet --noout --schema` against
//! `cwmp-schemas/envelope-cwmp-1-N.xsd`, i.e. the project's own minimal SOAP 1.1 envelope schema
//! (Body child validated strictly) plus the official `cwmp-1-N.xsd` read from
//! `../shared/reference/cwmp-xsd/` (or `$CWMP_REFERENCE_DIR/cwmp-xsd/`). An XML catalog generated
//! in a temporary directory maps the `http://www.broadband-forum.org/cwmp/` locations to those
//! files and chains to `cwmp-schemas/catalog.xml` for the SOAP schemas.
//!
//! Also checked: `cwmp-schemas/messages.tsv` and `headers.tsv` against the codec and the XSDs,
//! and that invalid envelopes are rejected (the validation is not vacuous).
//! Tests print `SKIPPED` and pass when `xmllint` or the official XSDs are absent.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use ferroacs::cwmp::{
    self, ArgStruct, AutonomousTransferComplete, Body, CwmpNs, CwmpTime, DeviceId, Direction,
    Download, EventStruct, Fault, FaultStruct, Header, Inform, Kicked, ParameterAttributeStruct,
    ParameterInfo, ParameterValue, RequestDownload, SetParameterAttributesStruct,
    SetParameterValuesFault, TransferComplete, Upload,
};

const VERSIONS: [&str; 5] = ["cwmp-1-0", "cwmp-1-1", "cwmp-1-2", "cwmp-1-3", "cwmp-1-4"];

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn schemas_dir() -> PathBuf {
    crate_dir().join("cwmp-schemas")
}

fn official_xsd_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("CWMP_REFERENCE_DIR") {
        Some(d) => PathBuf::from(d),
        None => crate_dir().join("../shared/reference"),
    }
    .join("cwmp-xsd");
    if VERSIONS
        .iter()
        .all(|v| dir.join(format!("{v}.xsd")).is_file())
    {
        Some(dir.canonicalize().unwrap_or(dir))
    } else {
        println!(
            "SKIPPED: official CWMP XSDs not found in {} (set CWMP_REFERENCE_DIR)",
            dir.display()
        );
        None
    }
}

fn xmllint_available() -> bool {
    match Command::new("xmllint").arg("--version").output() {
        Ok(o) if o.status.success() => true,
        _ => {
            println!("SKIPPED: xmllint not found (apt-get install libxml2-utils)");
            false
        }
    }
}

fn ns_index(ns: CwmpNs) -> usize {
    CwmpNs::ALL.iter().position(|n| *n == ns).unwrap()
}

/// A `file://` URI for an absolute path (percent-encoding what a URI cannot hold).
fn file_uri(p: &Path) -> String {
    let mut s = String::from("file://");
    for b in p.to_string_lossy().bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            s.push(char::from(b));
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

/// Validation context: a temp dir with the generated catalog.
struct Validator {
    dir: tempfile::TempDir,
    catalog: PathBuf,
}

impl Validator {
    fn new() -> Option<Validator> {
        let xsd = official_xsd_dir()?;
        if !xmllint_available() {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let catalog = dir.path().join("catalog.xml");
        let ours = schemas_dir().canonicalize().unwrap().join("catalog.xml");
        let prefix = format!("{}/", file_uri(&xsd));
        std::fs::write(
            &catalog,
            format!(
                r#"<?xml version="1.0"?>
<catalog xmlns="urn:oasis:names:tc:entity:xmlns:xml:catalog">
  <rewriteSystem systemIdStartString="http://www.broadband-forum.org/cwmp/" rewritePrefix="{prefix}"/>
  <rewriteURI uriStartString="http://www.broadband-forum.org/cwmp/" rewritePrefix="{prefix}"/>
  <nextCatalog catalog="{}"/>
</catalog>
"#,
                file_uri(&ours)
            ),
        )
        .unwrap();
        Some(Validator { dir, catalog })
    }

    /// Validates each document against the driver for `version`; returns, per document, `Ok`
    /// or the xmllint diagnostics.
    fn validate(&self, version: &str, docs: &[(String, Vec<u8>)]) -> Vec<Result<(), String>> {
        let sub = self.dir.path().join(version);
        std::fs::create_dir_all(&sub).unwrap();
        let files: Vec<PathBuf> = docs
            .iter()
            .enumerate()
            .map(|(n, (name, bytes))| {
                let f = sub.join(format!("{n:03}-{name}.xml"));
                std::fs::write(&f, bytes).unwrap();
                f
            })
            .collect();
        let schema = schemas_dir().join(format!("envelope-{version}.xsd"));
        let out = Command::new("xmllint")
            .env("XML_CATALOG_FILES", &self.catalog)
            .args(["--nonet", "--noout", "--schema"])
            .arg(&schema)
            .args(&files)
            .output()
            .expect("run xmllint");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            !stderr.contains("failed to compile") && !stderr.contains("Failed to locate"),
            "{version}: schema did not load:\n{stderr}"
        );
        files
            .iter()
            .map(|f| {
                let f = f.to_string_lossy();
                if stderr.contains(&format!("{f} validates")) {
                    Ok(())
                } else {
                    let diag: Vec<&str> = stderr.lines().filter(|l| l.contains(&*f)).collect();
                    Err(if diag.is_empty() {
                        format!("no verdict from xmllint:\n{stderr}")
                    } else {
                        diag.join("\n")
                    })
                }
            })
            .collect()
    }
}

// ----------------------------------------------------------------------------- samples

fn t(s: &str) -> Option<CwmpTime> {
    Some(CwmpTime::parse(s))
}

/// One schema-valid sample per `Body` variant.
fn samples() -> Vec<Body> {
    let typed = vec![
        ParameterValue::typed(
            "InternetGatewayDevice.DeviceInfo.SoftwareVersion",
            "1.2 <&>",
            "xsd:string",
        ),
        ParameterValue::typed(
            "InternetGatewayDevice.ManagementServer.PeriodicInformInterval",
            "300",
            "xsd:unsignedInt",
        ),
        ParameterValue::typed(
            "InternetGatewayDevice.ManagementServer.PeriodicInformEnable",
            "1",
            "xsd:boolean",
        ),
        ParameterValue::typed(
            "InternetGatewayDevice.Time.CurrentLocalTime",
            "2024-05-06T07:08:09Z",
            "xsd:dateTime",
        ),
        ParameterValue::typed("InternetGatewayDevice.X_000000_Offset", "-5", "xsd:int"),
        ParameterValue::typed(
            "InternetGatewayDevice.X_000000_Blob",
            "aGVsbG8=",
            "xsd:base64Binary",
        ),
        ParameterValue::new(".ExternalIPAddress", "192.0.2.1"),
    ];
    let fault_some = Some(FaultStruct {
        code: 9010,
        string: "Download failure".into(),
    });
    vec![
        Body::Inform(Inform {
            device_id: DeviceId {
                manufacturer: "Example & Co".into(),
                oui: "00147F".into(),
                product_class: "SpeedTouch 780".into(),
                serial_number: "CP0644JTHJ4".into(),
            },
            events: vec![
                EventStruct::new("1 BOOT", ""),
                EventStruct::new("M Reboot", "reboot-42"),
            ],
            max_envelopes: 1,
            current_time: t("2024-01-02T03:04:05.123+01:00"),
            retry_count: 0,
            parameters: typed.clone(),
        }),
        Body::TransferComplete(TransferComplete {
            command_key: "fw-1".into(),
            fault: None,
            start_time: t("2024-01-02T03:04:05Z"),
            complete_time: None,
        }),
        Body::AutonomousTransferComplete(AutonomousTransferComplete {
            announce_url: "http://acs.example/announce".into(),
            transfer_url: "http://files.example/fw.bin".into(),
            is_download: true,
            file_type: "1 Firmware Upgrade Image".into(),
            file_size: 123_456,
            target_file_name: "fw.bin".into(),
            fault: fault_some.clone(),
            start_time: None,
            complete_time: t("2024-01-02T03:04:05Z"),
        }),
        Body::GetRPCMethods,
        Body::RequestDownload(RequestDownload {
            file_type: "3 Vendor Configuration File".into(),
            file_type_args: vec![ArgStruct {
                name: "Version".into(),
                value: "2".into(),
            }],
        }),
        Body::Kicked(Kicked {
            command: "cmd".into(),
            referer: "http://portal.example/".into(),
            arg: "a=1&b=2".into(),
            next: "http://portal.example/next".into(),
        }),
        Body::InformResponse { max_envelopes: 1 },
        Body::TransferCompleteResponse,
        Body::AutonomousTransferCompleteResponse,
        Body::GetRPCMethodsResponse(vec![
            "GetRPCMethods".into(),
            "Inform".into(),
            "TransferComplete".into(),
        ]),
        Body::RequestDownloadResponse,
        Body::KickedResponse {
            next_url: "http://portal.example/done".into(),
        },
        Body::GetParameterValues(vec![
            "InternetGatewayDevice.DeviceInfo.".into(),
            "InternetGatewayDevice.ManagementServer.URL".into(),
        ]),
        Body::SetParameterValues {
            list: typed.clone(),
            parameter_key: "pk-7".into(),
        },
        Body::GetParameterNames {
            path: "InternetGatewayDevice.".into(),
            next_level: true,
        },
        Body::GetParameterAttributes(vec![
            "InternetGatewayDevice.DeviceInfo.SoftwareVersion".into(),
        ]),
        Body::SetParameterAttributes(vec![SetParameterAttributesStruct {
            name: "InternetGatewayDevice.DeviceInfo.SoftwareVersion".into(),
            notification_change: true,
            notification: 2,
            access_list_change: true,
            access_list: vec!["Subscriber".into()],
        }]),
        Body::AddObject {
            object_name: "InternetGatewayDevice.WANDevice.1.WANConnectionDevice.".into(),
            parameter_key: "pk".into(),
        },
        Body::DeleteObject {
            object_name: "InternetGatewayDevice.WANDevice.1.WANConnectionDevice.2.".into(),
            parameter_key: String::new(),
        },
        Body::Reboot {
            command_key: "reboot-42".into(),
        },
        Body::FactoryReset,
        Body::Download(Download {
            command_key: "fw-1".into(),
            file_type: "1 Firmware Upgrade Image".into(),
            url: "http://files.example/fw.bin?a=1&b=2".into(),
            username: "u".into(),
            password: "p<w>".into(),
            file_size: 4_000_000,
            target_file_name: "fw.bin".into(),
            delay_seconds: 0,
            success_url: String::new(),
            failure_url: String::new(),
        }),
        Body::Upload(Upload {
            command_key: "log".into(),
            file_type: "2 Vendor Log File".into(),
            url: "http://files.example/upload".into(),
            username: String::new(),
            password: String::new(),
            delay_seconds: 5,
        }),
        Body::ScheduleInform {
            delay_seconds: 60,
            command_key: "si".into(),
        },
        Body::GetParameterValuesResponse(typed),
        Body::SetParameterValuesResponse { status: 0 },
        Body::GetParameterNamesResponse(vec![
            ParameterInfo {
                name: "InternetGatewayDevice.DeviceInfo.".into(),
                writable: false,
            },
            ParameterInfo {
                name: "InternetGatewayDevice.ManagementServer.URL".into(),
                writable: true,
            },
        ]),
        Body::GetParameterAttributesResponse(vec![ParameterAttributeStruct {
            name: "InternetGatewayDevice.DeviceInfo.SoftwareVersion".into(),
            notification: 1,
            access_list: vec![],
        }]),
        Body::SetParameterAttributesResponse,
        Body::AddObjectResponse {
            instance_number: 3,
            status: 0,
        },
        Body::DeleteObjectResponse { status: 1 },
        Body::RebootResponse,
        Body::FactoryResetResponse,
        Body::DownloadResponse {
            status: 1,
            start_time: None,
            complete_time: None,
        },
        Body::UploadResponse {
            status: 0,
            start_time: t("2024-01-02T03:04:05Z"),
            complete_time: t("2024-01-02T03:04:06Z"),
        },
        Body::ScheduleInformResponse,
        Body::Fault(Fault {
            set_parameter_values_faults: vec![SetParameterValuesFault {
                parameter_name: "InternetGatewayDevice.ManagementServer.PeriodicInformInterval"
                    .into(),
                fault_code: 9007,
                fault_string: "Invalid parameter value".into(),
            }],
            ..Fault::new(9003, "Invalid arguments")
        }),
    ]
}

/// Exhaustive on purpose (no `_` arm): adding a `Body` variant breaks this test until a sample
/// (and a messages.tsv row) is added for it.
fn variant_index(b: &Body) -> usize {
    match b {
        Body::Inform(_) => 0,
        Body::TransferComplete(_) => 1,
        Body::AutonomousTransferComplete(_) => 2,
        Body::GetRPCMethods => 3,
        Body::RequestDownload(_) => 4,
        Body::Kicked(_) => 5,
        Body::InformResponse { .. } => 6,
        Body::TransferCompleteResponse => 7,
        Body::AutonomousTransferCompleteResponse => 8,
        Body::GetRPCMethodsResponse(_) => 9,
        Body::RequestDownloadResponse => 10,
        Body::KickedResponse { .. } => 11,
        Body::GetParameterValues(_) => 12,
        Body::SetParameterValues { .. } => 13,
        Body::GetParameterNames { .. } => 14,
        Body::GetParameterAttributes(_) => 15,
        Body::SetParameterAttributes(_) => 16,
        Body::AddObject { .. } => 17,
        Body::DeleteObject { .. } => 18,
        Body::Reboot { .. } => 19,
        Body::FactoryReset => 20,
        Body::Download(_) => 21,
        Body::Upload(_) => 22,
        Body::ScheduleInform { .. } => 23,
        Body::GetParameterValuesResponse(_) => 24,
        Body::SetParameterValuesResponse { .. } => 25,
        Body::GetParameterNamesResponse(_) => 26,
        Body::GetParameterAttributesResponse(_) => 27,
        Body::SetParameterAttributesResponse => 28,
        Body::AddObjectResponse { .. } => 29,
        Body::DeleteObjectResponse { .. } => 30,
        Body::RebootResponse => 31,
        Body::FactoryResetResponse => 32,
        Body::DownloadResponse { .. } => 33,
        Body::UploadResponse { .. } => 34,
        Body::ScheduleInformResponse => 35,
        Body::Fault(_) => 36,
    }
}
const VARIANTS: usize = 37;

/// The header written with a sample: every entry, so each is validated wherever the schema
/// declares it (and the envelope for sample 0 has no Header at all).
fn full_header(ns: CwmpNs) -> Header {
    Header {
        id: Some(format!("ferroacs-{}", ns.version())),
        hold_requests: Some(false),
        no_more_requests: Some(true),
        session_timeout: Some(30),
        supported_cwmp_versions: Some("1.0,1.1,1.2,1.3,1.4".into()),
        use_cwmp_version: Some(ns.version().into()),
    }
}

// ----------------------------------------------------------------------------- tables

struct Row {
    direction: String,
    element: String,
    since: usize,
}

fn version_index(v: &str) -> usize {
    VERSIONS
        .iter()
        .position(|x| *x == v)
        .unwrap_or_else(|| panic!("unknown schema version {v:?}"))
}

fn read_tsv(name: &str) -> Vec<Vec<String>> {
    let path = schemas_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect()
}

fn messages_table() -> BTreeMap<String, Row> {
    let mut m = BTreeMap::new();
    for cols in read_tsv("messages.tsv") {
        assert_eq!(cols.len(), 4, "messages.tsv: {cols:?}");
        let prev = m.insert(
            cols[0].clone(),
            Row {
                direction: cols[1].clone(),
                element: cols[2].clone(),
                since: version_index(&cols[3]),
            },
        );
        assert!(prev.is_none(), "messages.tsv: duplicate {}", cols[0]);
    }
    m
}

/// Files making up the official schema set of a version (1.3 includes 1.2, 1.4 includes 1.3).
fn schema_set(version: usize) -> &'static [&'static str] {
    match version {
        0 => &["cwmp-1-0"],
        1 => &["cwmp-1-1"],
        2 => &["cwmp-1-2"],
        3 => &["cwmp-1-2", "cwmp-1-3"],
        _ => &["cwmp-1-2", "cwmp-1-3", "cwmp-1-4"],
    }
}

/// Whether the official schema set of `version` declares a global element `name`.
fn declares(xsd_dir: &Path, version: usize, name: &str) -> bool {
    schema_set(version).iter().any(|f| {
        let text = std::fs::read_to_string(xsd_dir.join(format!("{f}.xsd"))).unwrap();
        text.contains(&format!("\n  <xs:element name=\"{name}\">"))
    })
}

#[test]
fn samples_cover_every_body_variant() {
    let s = samples();
    let covered: BTreeSet<usize> = s.iter().map(variant_index).collect();
    assert_eq!(covered.len(), VARIANTS, "one sample per Body variant");
    assert_eq!(s.len(), VARIANTS);
}

#[test]
fn messages_table_matches_codec_and_official_xsds() {
    let table = messages_table();
    let samples = samples();
    let names: BTreeSet<&str> = samples.iter().map(Body::method_name).collect();
    let listed: BTreeSet<&str> = table.keys().map(String::as_str).collect();
    assert_eq!(
        names, listed,
        "messages.tsv lists exactly the messages the codec writes"
    );
    for b in &samples {
        let row = &table[b.method_name()];
        let dir = match b.direction() {
            Direction::CpeToAcs => "CPE->ACS",
            Direction::AcsToCpe => "ACS->CPE",
            Direction::Both => "both",
        };
        assert_eq!(row.direction, dir, "{}: direction", b.method_name());
        assert_eq!(
            row.element,
            format!("cwmp:{}", b.method_name()),
            "{}",
            b.method_name()
        );
        // The writer really emits that element (a SOAP fault carries cwmp:Fault in detail).
        let xml = String::from_utf8(cwmp::to_vec(&cwmp::Envelope::new(
            CwmpNs::V1_2,
            Header::default(),
            b.clone(),
        )))
        .unwrap();
        assert!(xml.contains(&format!("<{}>", row.element)), "{xml}");
    }
    let Some(xsd) = official_xsd_dir() else {
        return;
    };
    for (name, row) in &table {
        let local = row.element.trim_start_matches("cwmp:");
        for (v, version) in VERSIONS.iter().enumerate() {
            assert_eq!(
                declares(&xsd, v, local),
                v >= row.since,
                "{name}: declared in {version} iff since {}",
                VERSIONS[row.since]
            );
        }
    }
}

#[test]
fn headers_table_matches_codec_and_official_xsds() {
    let rows = read_tsv("headers.tsv");
    let fields: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(
        fields,
        [
            "id",
            "hold_requests",
            "no_more_requests",
            "session_timeout",
            "supported_cwmp_versions",
            "use_cwmp_version"
        ],
        "headers.tsv lists every Header field, in struct order"
    );
    let xml = String::from_utf8(cwmp::to_vec(&cwmp::Envelope::new(
        CwmpNs::V1_4,
        full_header(CwmpNs::V1_4),
        Body::GetRPCMethods,
    )))
    .unwrap();
    let xsd = official_xsd_dir();
    for r in &rows {
        assert_eq!(r.len(), 4, "headers.tsv: {r:?}");
        let open = match r[3].as_str() {
            "-" => format!("<{}>", r[1]),
            mu => format!("<{} soap-env:mustUnderstand=\"{mu}\">", r[1]),
        };
        assert!(xml.contains(&open), "writer emits {open}: {xml}");
        if let Some(xsd) = &xsd {
            let local = r[1].trim_start_matches("cwmp:");
            let since = (r[2] != "-").then(|| version_index(&r[2]));
            for (v, version) in VERSIONS.iter().enumerate() {
                assert_eq!(
                    declares(xsd, v, local),
                    since.is_some_and(|s| v >= s),
                    "{}: declared in {version}",
                    r[1]
                );
            }
        }
    }
}

#[test]
fn every_written_envelope_validates_against_the_official_xsds() {
    let Some(validator) = Validator::new() else {
        return;
    };
    let table = messages_table();
    let mut checked = 0;
    let mut failures = Vec::new();
    for ns in CwmpNs::ALL {
        let v = ns_index(ns);
        let docs: Vec<(String, Vec<u8>)> = samples()
            .into_iter()
            .enumerate()
            .map(|(n, body)| {
                let header = if n == 0 {
                    Header::default()
                } else {
                    full_header(ns)
                };
                let name = body.method_name().to_owned();
                (name, cwmp::to_vec(&cwmp::Envelope::new(ns, header, body)))
            })
            .collect();
        let results = validator.validate(VERSIONS[v], &docs);
        for ((name, bytes), result) in docs.iter().zip(results) {
            let expected = v >= table[name].since;
            checked += 1;
            match (expected, result) {
                (true, Ok(())) | (false, Err(_)) => {}
                (true, Err(e)) => failures.push(format!(
                    "{} {name} should validate:\n{e}\n{}",
                    VERSIONS[v],
                    String::from_utf8_lossy(bytes)
                )),
                (false, Ok(())) => failures.push(format!(
                    "{} {name} validated but the schema does not declare it",
                    VERSIONS[v]
                )),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert_eq!(checked, VARIANTS * CwmpNs::ALL.len());
    println!("validated {checked} envelopes ({VARIANTS} messages x 5 versions)");
}

#[test]
fn invalid_envelopes_are_rejected() {
    let Some(validator) = Validator::new() else {
        return;
    };
    let env = |body: Body| {
        cwmp::to_vec(&cwmp::Envelope::new(
            CwmpNs::V1_2,
            Header::with_id("1"),
            body,
        ))
    };
    let raw = |inner: &str| {
        format!(
            r#"<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/" xmlns:cwmp="urn:dslforum-org:cwmp-1-2"><soap-env:Body>{inner}</soap-env:Body></soap-env:Envelope>"#
        )
        .into_bytes()
    };
    let bad: Vec<(String, Vec<u8>)> = vec![
        ("status-7".into(), env(Body::SetParameterValuesResponse { status: 7 })),
        ("unknown-rpc".into(), raw("<cwmp:FooBar/>")),
        ("two-rpcs".into(), raw("<cwmp:RebootResponse/><cwmp:RebootResponse/>")),
        ("empty-body".into(), raw("")),
        (
            "no-parameter-names".into(),
            env(Body::GetParameterValues(vec![])),
        ),
        (
            "lowercase-oui".into(),
            env(Body::Inform(Inform {
                device_id: DeviceId {
                    oui: "00a859".into(),
                    ..DeviceId::default()
                },
                ..Inform::default()
            })),
        ),
        (
            "long-command-key".into(),
            env(Body::Reboot {
                command_key: "x".repeat(33),
            }),
        ),
        (
            "bad-object-name".into(),
            env(Body::AddObject {
                object_name: "NoTrailingDot".into(),
                parameter_key: String::new(),
            }),
        ),
        (
            "bad-typed-value".into(),
            env(Body::SetParameterValues {
                list: vec![ParameterValue::typed("A.B", "abc", "xsd:unsignedInt")],
                parameter_key: String::new(),
            }),
        ),
        (
            "bad-datetime".into(),
            env(Body::DownloadResponse {
                status: 0,
                start_time: t("2019-03-05T11:54::14"),
                complete_time: None,
            }),
        ),
        ("bad-fault-code".into(), env(Body::Fault(Fault::new(1234, "x")))),
        (
            "hold-requests-without-mustunderstand".into(),
            br#"<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/" xmlns:cwmp="urn:dslforum-org:cwmp-1-2"><soap-env:Header><cwmp:HoldRequests>1</cwmp:HoldRequests></soap-env:Header><soap-env:Body><cwmp:RebootResponse/></soap-env:Body></soap-env:Envelope>"#.to_vec(),
        ),
    ];
    let results = validator.validate("cwmp-1-2", &bad);
    for ((name, bytes), r) in bad.iter().zip(results) {
        assert!(
            r.is_err(),
            "{name} should be rejected:\n{}",
            String::from_utf8_lossy(bytes)
        );
    }
    // And a control: the same machinery accepts a good one.
    let good = vec![("reboot-response".to_owned(), env(Body::RebootResponse))];
    assert_eq!(validator.validate("cwmp-1-2", &good), vec![Ok(())]);
}
