//! Tests of the pure CWMP codec (`ferroacs::cwmp`): real captured Informs, one handwritten
//! envelope per tolerance point of cwmp-notes.md, refusals, and property tests (round trip of
//! every Body variant, never panicking on garbage or mutated Informs).
//!
//! The captured Informs are read from `../shared/reference/inform-real/` relative to the crate
//! root (override with `CWMP_REFERENCE_DIR=<dir containing inform-real/>`); tests that need them
//! print a message and pass when the folder is absent.

use std::path::PathBuf;

use ferroacs::cwmp::{
    self, Body, CodecError, CwmpNs, CwmpTime, Envelope, EventStruct, Fault, Header, Inform, Limits,
    NsMode, ParameterValue, WriteOptions,
};

// ----------------------------------------------------------------------------- helpers

fn reference_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("CWMP_REFERENCE_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/reference"),
    };
    let informs = dir.join("inform-real");
    if informs.is_dir() {
        Some(dir)
    } else {
        println!(
            "SKIPPED: {} is absent (set CWMP_REFERENCE_DIR to the reference folder)",
            informs.display()
        );
        None
    }
}

/// The XML body of a captured file; `.http` files carry HTTP headers first.
fn body_bytes(name: &str, raw: &[u8]) -> Vec<u8> {
    if !name.ends_with(".http") {
        return raw.to_vec();
    }
    let lf = raw.windows(2).position(|w| w == b"\n\n").map(|p| p + 2);
    let crlf = raw.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4);
    let start = match (lf, crlf) {
        (Some(a), Some(b)) => a.min(b),
        (Some(a), None) => a,
        (None, Some(b)) => b,
        (None, None) => panic!("{name}: no end of HTTP headers"),
    };
    raw[start..].to_vec()
}

fn real(name: &str) -> Option<Vec<u8>> {
    let dir = reference_dir()?;
    let path = dir.join("inform-real").join(name);
    let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Some(body_bytes(name, &raw))
}

fn parse(xml: &[u8]) -> Result<Envelope, CodecError> {
    cwmp::parse(xml, &Limits::default())
}

fn parse_ok(xml: &[u8]) -> Envelope {
    match parse(xml) {
        Ok(e) => e,
        Err(e) => panic!("parse failed: {e:?}\n{}", String::from_utf8_lossy(xml)),
    }
}

fn parse_inform(xml: &[u8]) -> (Envelope, Inform) {
    let env = parse_ok(xml);
    match &env.body {
        Body::Inform(i) => {
            let i = i.clone();
            (env, i)
        }
        other => panic!("expected Inform, got {other:?}"),
    }
}

fn param<'a>(i: &'a Inform, name: &str) -> &'a ParameterValue {
    i.parameters
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no parameter {name}"))
}

fn ts(t: &Option<CwmpTime>) -> Option<i64> {
    t.as_ref().and_then(|t| t.datetime).map(|d| d.timestamp())
}

fn ev(code: &str, key: &str) -> EventStruct {
    EventStruct::new(code, key)
}

fn utc(s: &str) -> i64 {
    cwmp::parse_datetime(s).unwrap().timestamp()
}

// ----------------------------------------------------------------------------- real Informs

#[test]
fn real_all_files_parse_and_round_trip() {
    let Some(dir) = reference_dir() else { return };
    let mut names: Vec<String> = std::fs::read_dir(dir.join("inform-real"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert!(
        names.len() >= 10,
        "expected the 10 captured Informs, found {names:?}"
    );
    for name in &names {
        let raw = std::fs::read(dir.join("inform-real").join(name)).unwrap();
        let xml = body_bytes(name, &raw);
        let (env, inform) = parse_inform(&xml);
        assert_eq!(env.ns, CwmpNs::V1_0, "{name}");
        assert!(!inform.device_id.oui.is_empty(), "{name}");
        assert!(!inform.device_id.serial_number.is_empty(), "{name}");
        assert!(!inform.events.is_empty(), "{name}");
        assert!(inform.parameters.len() >= 8, "{name}");
        // What the simulator/replay tool writes back parses to the same value.
        let again = parse_ok(&cwmp::to_vec(&env));
        assert_eq!(again, env, "{name}: write -> parse");
    }
}

#[test]
fn real_cytco_invalid_current_time() {
    let Some(xml) = real("cytco-bcm-INVALID-currenttime.xml") else {
        return;
    };
    let (env, i) = parse_inform(&xml);
    assert_eq!(env.header, Header::with_id("31645"));
    assert_eq!(i.device_id.manufacturer, "Cytco");
    assert_eq!(i.device_id.oui, "00a859");
    assert_eq!(i.device_id.product_class, "BCM Serials");
    assert_eq!(
        i.device_id.serial_number,
        "00100400FV020010000000a859f6a238"
    );
    assert_eq!(i.events, vec![ev("2 PERIODIC", "")]);
    assert_eq!(i.max_envelopes, 1);
    let t = i.current_time.as_ref().expect("CurrentTime kept");
    assert_eq!(t.raw, "2019-03-05T11:54::14");
    assert_eq!(t.datetime, None, "malformed CurrentTime must not parse");
    assert_eq!(i.retry_count, 942);
    assert_eq!(i.parameters.len(), 8);
    let sv = param(&i, "InternetGatewayDevice.DeviceInfo.SoftwareVersion");
    assert_eq!(sv.value, "2.3.1-65-g79fe05b build 4388");
    assert_eq!(sv.xsd_type.as_deref(), Some("xsd:string"));
    assert_eq!(
        param(&i, "InternetGatewayDevice.DeviceInfo.ProvisioningCode").value,
        ""
    );
    assert_eq!(
        i.parameters[7].name,
        "InternetGatewayDevice.WANDevice.1.WANConnectionDevice.1.WANIPConnection.1.ExternalIPAddress"
    );
    assert_eq!(i.parameters[7].value, "192.168.40.144");
}

#[test]
fn real_motorola_no_soap_header() {
    let Some(xml) = real("motorola-VAP2404E-tr181.xml") else {
        return;
    };
    let (env, i) = parse_inform(&xml);
    assert_eq!(env.header, Header::default(), "no SOAP Header at all");
    assert_eq!(i.device_id.manufacturer, "Motorola Mobility");
    assert_eq!(i.device_id.oui, "001404");
    assert_eq!(i.device_id.product_class, "VAP2404E");
    assert_eq!(i.device_id.serial_number, "M91342SA1JJ0");
    assert_eq!(i.events, vec![ev("2 PERIODIC", "")]);
    assert_eq!(ts(&i.current_time), Some(utc("2015-09-22T12:04:58Z")));
    assert_eq!(i.retry_count, 0);
    assert_eq!(i.parameters.len(), 11);
    assert_eq!(i.parameters[0].name, "Device.DeviceSummary");
    assert_eq!(
        param(&i, "Device.LAN.MACAddress").value,
        "30:60:23:06:C6:8E"
    );
    assert_eq!(
        param(&i, "Device.ManagementServer.ConnectionRequestURL").value,
        "http://2.110.24.198:7547/XML/001404-M91342SA1JJ0.xml"
    );
}

#[test]
fn real_sagemcom_tr181() {
    let Some(xml) = real("sagemcom-HGW4-tr181.xml") else {
        return;
    };
    let (env, i) = parse_inform(&xml);
    assert_eq!(env.header.id.as_deref(), Some("0"));
    assert_eq!(i.device_id.manufacturer, "Sagemcom");
    assert_eq!(i.device_id.oui, "40F201");
    assert_eq!(i.device_id.product_class, "Router");
    assert_eq!(i.device_id.serial_number, "LK14183DP340340");
    assert_eq!(ts(&i.current_time), Some(utc("2016-01-31T12:28:09Z")));
    assert_eq!(
        i.current_time.as_ref().unwrap().raw,
        "2016-01-31T13:28:09+01:00"
    );
    assert_eq!(i.parameters.len(), 8);
    assert_eq!(
        param(&i, "Device.ManagementServer.ParameterKey").value,
        "96da521ed9bc97819416c8a5afb2e245"
    );
    assert_eq!(
        param(&i, "Device.IP.Interface.3.IPv4Address.1.IPAddress").value,
        ""
    );
}

#[test]
fn real_thomson_bant_s_http_with_no_more_requests() {
    let Some(xml) = real("thomson-BANT-S-5.4.0.14.http") else {
        return;
    };
    let (env, i) = parse_inform(&xml);
    assert_eq!(env.header.id.as_deref(), Some("THOM_CPE_ALC_ID_9"));
    assert_eq!(env.header.no_more_requests, Some(true));
    assert_eq!(env.header.hold_requests, None);
    assert_eq!(i.device_id.manufacturer, "THOMSON");
    assert_eq!(i.device_id.oui, "00147F");
    assert_eq!(i.device_id.product_class, "SpeedTouch 706");
    assert_eq!(i.device_id.serial_number, "CP0636JT3SH");
    assert_eq!(i.events, vec![ev("2 PERIODIC", "")], "EventStruct[01]");
    assert_eq!(i.max_envelopes, 2);
    assert_eq!(ts(&i.current_time), Some(133));
    assert_eq!(i.retry_count, 0, "RetryCount 00");
    assert_eq!(i.parameters.len(), 11);
    assert_eq!(
        param(&i, "InternetGatewayDevice.DeviceInfo.ProvisioningCode").value,
        "SKYN_PLUS"
    );
    let last = i.parameters.last().unwrap();
    assert_eq!(
        (last.name.as_str(), last.value.as_str()),
        (".ExternalIPAddress", "10.0.0.1")
    );
}

#[test]
fn real_thomson_bant_w_http_zero_date() {
    let Some(xml) = real("thomson-BANT-W-6.2.17.5.http") else {
        return;
    };
    let (env, i) = parse_inform(&xml);
    assert_eq!(env.header, Header::with_id("8_THOM_TR69_ID"));
    assert_eq!(i.device_id.product_class, "SpeedTouch 585");
    assert_eq!(i.device_id.serial_number, "CP0703KT3PP");
    assert_eq!(ts(&i.current_time), Some(158));
    assert_eq!(i.parameters.len(), 12);
    let date = param(
        &i,
        "InternetGatewayDevice.DeviceInfo.VendorConfigFile.1.Date",
    );
    assert_eq!(date.value, "0000-00-00T00:00:00");
    assert_eq!(date.xsd_type.as_deref(), Some("xsd:dateTime"));
    assert_eq!(CwmpTime::parse(date.value.as_str()).datetime, None);
    assert_eq!(param(&i, ".ExternalIPAddress").value, "10.0.0.4");
    assert_eq!(
        param(&i, "InternetGatewayDevice.DeviceInfo.HardwareVersion").value,
        "BANT-W"
    );
}

#[test]
fn real_thomson_speedtouch706() {
    let Some(xml) = real("thomson-speedtouch706-6.2.15.5.xml") else {
        return;
    };
    let (env, i) = parse_inform(&xml);
    assert_eq!(env.header.id.as_deref(), Some("22_THOM_TR69_ID"));
    assert_eq!(i.device_id.serial_number, "CP0636JT3SH");
    assert_eq!(i.retry_count, 10);
    assert_eq!(ts(&i.current_time), Some(3 * 3600 + 18 * 60 + 53));
    assert_eq!(i.parameters.len(), 12);
    assert_eq!(
        param(&i, "InternetGatewayDevice.DeviceInfo.SoftwareVersion").value,
        "6.2.15.5"
    );
    assert_eq!(
        param(&i, "InternetGatewayDevice.DeviceInfo.HardwareVersion").value,
        "BANT-S"
    );
    assert_eq!(param(&i, ".ExternalIPAddress").value, "192.168.1.254");
}

#[test]
fn real_thomson_speedtouch780_padded_numbers() {
    let Some(xml) = real("thomson-speedtouch780-6.2.15.5.xml") else {
        return;
    };
    let (env, i) = parse_inform(&xml);
    assert_eq!(env.header.id.as_deref(), Some("0_THOM_TR69_ID"));
    assert_eq!(i.device_id.product_class, "SpeedTouch 780");
    assert_eq!(i.device_id.serial_number, "CP0644JTHJ4");
    assert_eq!(
        i.events,
        vec![
            ev("1 BOOT", ""),
            ev("2 PERIODIC", ""),
            ev("4 VALUE CHANGE", "")
        ],
        "EventStruct[03]"
    );
    assert_eq!(i.retry_count, 5, "RetryCount 05");
    assert_eq!(i.max_envelopes, 2);
    assert_eq!(ts(&i.current_time), Some(91));
    assert_eq!(i.parameters.len(), 12);
    assert_eq!(
        param(&i, "InternetGatewayDevice.DeviceInfo.HardwareVersion").value,
        "BANT-R"
    );
}

#[test]
fn real_zte_duplicate_parameter_kept_in_order() {
    let Some(xml) = real("zte-F600W-V5.2.10P4T26.xml") else {
        return;
    };
    let (env, i) = parse_inform(&xml);
    assert_eq!(env.header.id.as_deref(), Some("1"));
    assert_eq!(i.device_id.manufacturer, "ZTE");
    assert_eq!(i.device_id.oui, "44F436");
    assert_eq!(i.device_id.product_class, "F600W");
    assert_eq!(i.device_id.serial_number, "ZTEEQAWF5J00191");
    assert_eq!(
        i.events,
        vec![
            ev("0 BOOTSTRAP", "TR069_ZTE_HOMEGATEWAY"),
            ev("1 BOOT", ""),
            ev("4 VALUE CHANGE", "")
        ]
    );
    assert_eq!(
        ts(&i.current_time),
        Some(utc("1970-01-02T00:08:34Z")),
        "no timezone = UTC"
    );
    assert_eq!(i.parameters.len(), 10);
    let crurl = "InternetGatewayDevice.ManagementServer.ConnectionRequestURL";
    let positions: Vec<usize> = i
        .parameters
        .iter()
        .enumerate()
        .filter(|(_, p)| p.name == crurl)
        .map(|(n, _)| n)
        .collect();
    assert_eq!(positions, vec![5, 8], "duplicate kept, in wire order");
    assert_eq!(i.parameters[8].value, "http://10.90.13.32:58000");
    assert_eq!(i.parameters[9].value, "http://172.31.8.82/");
}

#[test]
fn real_zyxel_p2601() {
    let Some(xml) = real("zyxel-P-2601HN-F1.xml") else {
        return;
    };
    let (env, i) = parse_inform(&xml);
    assert_eq!(env.header.id.as_deref(), Some("100"));
    assert_eq!(i.device_id.manufacturer, "ZyXEL");
    assert_eq!(i.device_id.oui, "EC43F6");
    assert_eq!(i.device_id.product_class, "P-2601HN-F1");
    assert_eq!(i.device_id.serial_number, "EC43F69AF408");
    assert_eq!(ts(&i.current_time), Some(utc("2015-01-19T23:08:24Z")));
    assert_eq!(i.parameters.len(), 8);
    assert_eq!(
        param(&i, "InternetGatewayDevice.DeviceInfo.SoftwareVersion").value,
        "V1.00(AACB.3)"
    );
}

#[test]
fn real_zyxel_vmg8924_padded_array_count() {
    let Some(xml) = real("zyxel-VMG8924-B10A.xml") else {
        return;
    };
    let (env, i) = parse_inform(&xml);
    assert_eq!(env.header.id.as_deref(), Some("844317904"));
    assert_eq!(i.device_id.oui, "4C9EFF");
    assert_eq!(i.device_id.product_class, "VMG8924-B10A");
    assert_eq!(i.device_id.serial_number, "S140Y24025829");
    assert_eq!(i.events, vec![ev("6 CONNECTION REQUEST", "")]);
    assert_eq!(ts(&i.current_time), Some(utc("2016-01-30T12:20:27Z")));
    assert_eq!(i.parameters.len(), 8, "ParameterValueStruct[0008]");
    assert_eq!(
        param(
            &i,
            "InternetGatewayDevice.ManagementServer.ConnectionRequestURL"
        )
        .value,
        "http://[2a02:980:1400::1ff]:30005/78DF621FFD24F339452C341BEFE0E8A8"
    );
}

// ----------------------------------------------------------------------------- tolerance

/// A small Inform in a given SOAP prefix spelling (`""` = unprefixed, default namespace).
fn inform_with_prefix(p: &str) -> String {
    let (decl, pre) = if p.is_empty() {
        (
            r#"xmlns="http://schemas.xmlsoap.org/soap/envelope/""#.to_owned(),
            String::new(),
        )
    } else {
        (
            format!(r#"xmlns:{p}="http://schemas.xmlsoap.org/soap/envelope/""#),
            format!("{p}:"),
        )
    };
    format!(
        r#"<{pre}Envelope {decl} xmlns:cwmp="urn:dslforum-org:cwmp-1-0"><{pre}Header><cwmp:ID {pre}mustUnderstand="1">id-{p}</cwmp:ID></{pre}Header><{pre}Body><cwmp:Inform><DeviceId><Manufacturer>M</Manufacturer><OUI>00AABB</OUI><ProductClass>PC</ProductClass><SerialNumber>SN</SerialNumber></DeviceId><Event><EventStruct><EventCode>1 BOOT</EventCode><CommandKey/></EventStruct></Event><MaxEnvelopes>1</MaxEnvelopes><CurrentTime>2020-01-01T00:00:00Z</CurrentTime><RetryCount>0</RetryCount><ParameterList><ParameterValueStruct><Name>A.B</Name><Value>v</Value></ParameterValueStruct></ParameterList></cwmp:Inform></{pre}Body></{pre}Envelope>"#
    )
}

#[test]
fn tolerates_any_soap_prefix_spelling() {
    for p in ["soap-env", "SOAP-ENV", "soapenv", "s", "soap", "env", ""] {
        let (env, i) = parse_inform(inform_with_prefix(p).as_bytes());
        assert_eq!(env.header.id, Some(format!("id-{p}")), "prefix {p:?}");
        assert_eq!(i.device_id.serial_number, "SN");
        assert_eq!(i.events, vec![ev("1 BOOT", "")]);
        assert_eq!(i.parameters, vec![ParameterValue::new("A.B", "v")]);
    }
}

#[test]
fn tolerates_no_namespaces_at_all() {
    let xml = r#"<Envelope><Header><ID>7</ID></Header><Body><Inform><DeviceId><OUI>001122</OUI><SerialNumber>X</SerialNumber></DeviceId><Event/><MaxEnvelopes>1</MaxEnvelopes><CurrentTime>2020-01-01T00:00:00</CurrentTime><RetryCount>0</RetryCount><ParameterList/></Inform></Body></Envelope>"#;
    let (env, i) = parse_inform(xml.as_bytes());
    assert_eq!(env.ns, CwmpNs::V1_0, "unprefixed cwmp defaults to 1.0");
    assert_eq!(env.header.id.as_deref(), Some("7"));
    assert_eq!(i.device_id.oui, "001122");
    assert!(i.events.is_empty() && i.parameters.is_empty());
}

#[test]
fn tolerates_single_quotes_whitespace_newlines_comments_and_pis() {
    let xml = "\r\n  <!-- leading comment -->\r\n<?some-pi data?>\n<s:Envelope\n\txmlns:s = 'http://schemas.xmlsoap.org/soap/envelope/'\n\txmlns:cwmp='urn:dslforum-org:cwmp-1-1'\n>\n  <s:Header >\n    <cwmp:ID s:mustUnderstand = '1' >abc</cwmp:ID >\n  </s:Header>\n  <s:Body>\n    <!-- comment -->\n    <cwmp:GetParameterValuesResponse>\n      <ParameterList>\n        <ParameterValueStruct>\n          <Name>X.Y</Name>\n          <Value xsi:type='xsd:unsignedInt' xmlns:xsi='http://www.w3.org/2001/XMLSchema-instance'>42</Value>\n        </ParameterValueStruct>\n      </ParameterList>\n    </cwmp:GetParameterValuesResponse>\n  </s:Body>\n</s:Envelope>\n\n";
    let env = parse_ok(xml.as_bytes());
    assert_eq!(env.ns, CwmpNs::V1_1);
    assert_eq!(env.header.id.as_deref(), Some("abc"));
    assert_eq!(
        env.body,
        Body::GetParameterValuesResponse(vec![ParameterValue::typed(
            "X.Y",
            "42",
            "xsd:unsignedInt"
        )])
    );
}

#[test]
fn tolerates_bom_with_and_without_xml_declaration() {
    let plain = inform_with_prefix("soapenv");
    let with_bom = [b"\xEF\xBB\xBF".as_slice(), plain.as_bytes()].concat();
    let with_decl = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{plain}");
    let bom_decl = [b"\xEF\xBB\xBF".as_slice(), with_decl.as_bytes()].concat();
    let expected = parse_ok(plain.as_bytes());
    for xml in [with_bom, with_decl.into_bytes(), bom_decl] {
        assert_eq!(parse_ok(&xml), expected);
    }
}

#[test]
fn decodes_iso_8859_1_declared_and_undeclared() {
    // "Caf\xe9 M\xfcnchen" in Latin-1, as Thomson firmware sends it.
    let body = |decl: &str| -> Vec<u8> {
        let mut v = decl.as_bytes().to_vec();
        v.extend_from_slice(
            b"<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" \
              xmlns:cwmp=\"urn:dslforum-org:cwmp-1-0\"><soapenv:Body><cwmp:GetParameterValuesResponse>\
              <ParameterList><ParameterValueStruct><Name>X.SSID</Name><Value>Caf\xe9 M\xfcnchen</Value>\
              </ParameterValueStruct></ParameterList></cwmp:GetParameterValuesResponse></soapenv:Body>\
              </soapenv:Envelope>",
        );
        v
    };
    for decl in [
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>",
        "<?xml version='1.0' encoding='iso-8859-1' ?>\r\n",
        "", // undeclared, invalid UTF-8: Latin-1 fallback
    ] {
        let env = parse_ok(&body(decl));
        assert_eq!(
            env.body,
            Body::GetParameterValuesResponse(vec![ParameterValue::new("X.SSID", "Café München")]),
            "decl {decl:?}"
        );
    }
    // Declared ISO-8859-1 wins over bytes that happen to be valid UTF-8.
    let xml = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><Envelope><Body><GetParameterValuesResponse><ParameterList><P><Name>n</Name><Value>\xc3\xa9</Value></P></ParameterList></GetParameterValuesResponse></Body></Envelope>";
    assert_eq!(
        parse_ok(xml).body,
        Body::GetParameterValuesResponse(vec![ParameterValue::new("n", "\u{c3}\u{a9}")])
    );
}

#[test]
fn tolerates_1999_schema_namespaces_and_xsi_type_everywhere_or_nowhere() {
    let xml = r#"<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:SOAP-ENC="http://schemas.xmlsoap.org/soap/encoding/" xmlns:xsd="http://www.w3.org/1999/XMLSchema" xmlns:xsi="http://www.w3.org/1999/XMLSchema-instance" xmlns:cwmp="urn:dslforum-org:cwmp-1-0">
<SOAP-ENV:Body><cwmp:Inform xsi:type="cwmp:Inform">
<DeviceId xsi:type="cwmp:DeviceIdStruct"><Manufacturer xsi:type="xsd:string">M</Manufacturer><OUI xsi:type="xsd:string">001122</OUI><ProductClass xsi:type="xsd:string">P</ProductClass><SerialNumber xsi:type="xsd:string">S</SerialNumber></DeviceId>
<Event xsi:type="SOAP-ENC:Array" SOAP-ENC:arrayType="cwmp:EventStruct[1]"><EventStruct xsi:type="cwmp:EventStruct"><EventCode xsi:type="xsd:string">2 PERIODIC</EventCode><CommandKey xsi:type="xsd:string"></CommandKey></EventStruct></Event>
<MaxEnvelopes xsi:type="xsd:unsignedInt">1</MaxEnvelopes><CurrentTime xsi:type="xsd:dateTime">2020-02-03T04:05:06Z</CurrentTime><RetryCount xsi:type="xsd:unsignedInt">3</RetryCount>
<ParameterList xsi:type="SOAP-ENC:Array" SOAP-ENC:arrayType="cwmp:ParameterValueStruct[3]">
<ParameterValueStruct xsi:type="cwmp:ParameterValueStruct"><Name xsi:type="xsd:string">A</Name><Value xsi:type="xsd:boolean">1</Value></ParameterValueStruct>
<ParameterValueStruct><Name>B</Name><Value>untyped</Value></ParameterValueStruct>
<ParameterValueStruct><Name>C</Name><Value xsi:type="xs:int" xmlns:xs="http://www.w3.org/2001/XMLSchema">-5</Value></ParameterValueStruct>
</ParameterList></cwmp:Inform></SOAP-ENV:Body></SOAP-ENV:Envelope>"#;
    let (_, i) = parse_inform(xml.as_bytes());
    assert_eq!(i.retry_count, 3);
    assert_eq!(ts(&i.current_time), Some(utc("2020-02-03T04:05:06Z")));
    assert_eq!(
        i.parameters,
        vec![
            ParameterValue::typed("A", "1", "xsd:boolean"),
            ParameterValue::new("B", "untyped"),
            ParameterValue::typed("C", "-5", "xsd:int"),
        ]
    );
    assert_eq!(
        i.parameters[2].xsd_type.as_deref(),
        Some("xsd:int"),
        "normalised to xsd:"
    );
}

#[test]
fn tolerates_wrong_array_counts_and_zero_padded_numbers() {
    let xml = r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:enc="http://schemas.xmlsoap.org/soap/encoding/" xmlns:cwmp="urn:dslforum-org:cwmp-1-0"><soap:Body><cwmp:Inform>
<DeviceId><Manufacturer>M</Manufacturer><OUI>001122</OUI><ProductClass>P</ProductClass><SerialNumber>S</SerialNumber></DeviceId>
<Event enc:arrayType="cwmp:EventStruct[03]"><EventStruct><EventCode>1 BOOT</EventCode><CommandKey></CommandKey></EventStruct></Event>
<MaxEnvelopes>001</MaxEnvelopes><CurrentTime>2020-01-01T00:00:00</CurrentTime><RetryCount> 05 </RetryCount>
<ParameterList enc:arrayType="cwmp:ParameterValueStruct[7]"><ParameterValueStruct><Name>A</Name><Value>1</Value></ParameterValueStruct><ParameterValueStruct><Name>B</Name><Value>2</Value></ParameterValueStruct></ParameterList>
</cwmp:Inform></soap:Body></soap:Envelope>"#;
    let (_, i) = parse_inform(xml.as_bytes());
    assert_eq!(i.events.len(), 1, "EventStruct[03] with one item");
    assert_eq!(
        i.parameters.len(),
        2,
        "ParameterValueStruct[7] with two items"
    );
    assert_eq!(i.max_envelopes, 1);
    assert_eq!(i.retry_count, 5);
}

#[test]
fn tolerates_duplicate_and_dot_prefixed_parameters() {
    let xml = r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:cwmp="urn:dslforum-org:cwmp-1-0"><soapenv:Body><cwmp:Inform>
<DeviceId><Manufacturer>THOMSON</Manufacturer><OUI>00147F</OUI><ProductClass>SpeedTouch 780</ProductClass><SerialNumber>CP0644JTHJ4</SerialNumber></DeviceId>
<Event><EventStruct><EventCode>2 PERIODIC</EventCode><CommandKey></CommandKey></EventStruct></Event><MaxEnvelopes>2</MaxEnvelopes><CurrentTime>1970-01-01T00:01:31Z</CurrentTime><RetryCount>0</RetryCount>
<ParameterList>
<ParameterValueStruct><Name>IGD.ManagementServer.ConnectionRequestURL</Name><Value>http://a/</Value></ParameterValueStruct>
<ParameterValueStruct><Name>.ExternalIPAddress</Name><Value>10.0.0.1</Value></ParameterValueStruct>
<ParameterValueStruct><Name>IGD.ManagementServer.ConnectionRequestURL</Name><Value>http://b/</Value></ParameterValueStruct>
</ParameterList></cwmp:Inform></soapenv:Body></soapenv:Envelope>"#;
    let (_, i) = parse_inform(xml.as_bytes());
    let got: Vec<(&str, &str)> = i
        .parameters
        .iter()
        .map(|p| (p.name.as_str(), p.value.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("IGD.ManagementServer.ConnectionRequestURL", "http://a/"),
            (".ExternalIPAddress", "10.0.0.1"),
            ("IGD.ManagementServer.ConnectionRequestURL", "http://b/"),
        ]
    );
}

fn transfer_complete_xml(start: &str, complete: &str, fault_code: &str) -> String {
    format!(
        r#"<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/" xmlns:cwmp="urn:dslforum-org:cwmp-1-0"><soap-env:Header><cwmp:ID soap-env:mustUnderstand="1">5</cwmp:ID></soap-env:Header><soap-env:Body><cwmp:TransferComplete><CommandKey>fw-1</CommandKey><FaultStruct><FaultCode>{fault_code}</FaultCode><FaultString>boom</FaultString></FaultStruct>{start}{complete}</cwmp:TransferComplete></soap-env:Body></soap-env:Envelope>"#
    )
}

#[test]
fn tolerates_datetime_oddities() {
    let cases: &[(&str, Option<Option<i64>>)] = &[
        // (CurrentTime text, expected: None = field None, Some(x) = field Some with datetime x)
        ("2020-01-01T00:00:00", Some(Some(1_577_836_800))),
        ("2020-01-01T00:00:00.123Z", Some(Some(1_577_836_800))),
        ("2020-01-01T01:00:00+01:00", Some(Some(1_577_836_800))),
        ("0001-01-01T00:00:00Z", None),
        ("", None),
        ("0000-00-00T00:00:00", Some(None)),
        ("2019-03-05T11:54::14", Some(None)),
        ("yesterday", Some(None)),
    ];
    for (text, expected) in cases {
        let xml = inform_with_prefix("s").replace("2020-01-01T00:00:00Z", text);
        let (_, i) = parse_inform(xml.as_bytes());
        match expected {
            None => assert_eq!(i.current_time, None, "{text:?}"),
            Some(dt) => {
                let t = i
                    .current_time
                    .as_ref()
                    .unwrap_or_else(|| panic!("{text:?}"));
                assert_eq!(t.raw, *text);
                assert_eq!(t.datetime.map(|d| d.timestamp()), *dt, "{text:?}");
            }
        }
    }
    let d = parse_datetime_millis("2020-01-01T00:00:00.123Z");
    assert_eq!(d, 123);
}

fn parse_datetime_millis(s: &str) -> u32 {
    cwmp::parse_datetime(s).unwrap().timestamp_subsec_millis()
}

#[test]
fn tolerates_empty_start_and_complete_time() {
    for (start, complete) in [
        ("<StartTime></StartTime>", "<CompleteTime></CompleteTime>"),
        ("<StartTime/>", "<CompleteTime />"),
        ("<StartTime> </StartTime>", ""),
        ("", ""),
    ] {
        let env = parse_ok(transfer_complete_xml(start, complete, "9010").as_bytes());
        let Body::TransferComplete(t) = env.body else {
            panic!()
        };
        assert_eq!(t.command_key, "fw-1");
        assert_eq!(t.start_time, None);
        assert_eq!(t.complete_time, None);
        let f = t.fault.expect("fault 9010");
        assert_eq!((f.code, f.string.as_str()), (9010, "boom"));
    }
    let env = parse_ok(
        transfer_complete_xml(
            "<StartTime>2021-05-06T07:08:09Z</StartTime>",
            "<CompleteTime>2021-05-06T07:09:09Z</CompleteTime>",
            "0",
        )
        .as_bytes(),
    );
    let Body::TransferComplete(t) = env.body else {
        panic!()
    };
    assert_eq!(t.fault, None, "FaultCode 0 is success");
    assert_eq!(ts(&t.start_time), Some(utc("2021-05-06T07:08:09Z")));
    assert_eq!(ts(&t.complete_time), Some(utc("2021-05-06T07:09:09Z")));
}

#[test]
fn tolerates_boolean_spellings_in_header() {
    for (text, expected) in [
        ("1", Some(true)),
        ("true", Some(true)),
        ("TRUE", Some(true)),
        (" true\n", Some(true)),
        ("0", Some(false)),
        ("false", Some(false)),
        ("False", Some(false)),
        ("", None),
        ("maybe", None),
    ] {
        let xml = format!(
            r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:cwmp="urn:dslforum-org:cwmp-1-0"><s:Header><cwmp:ID s:mustUnderstand="1">1</cwmp:ID><cwmp:HoldRequests s:mustUnderstand="1">{text}</cwmp:HoldRequests><cwmp:NoMoreRequests>{text}</cwmp:NoMoreRequests></s:Header><s:Body><cwmp:GetRPCMethods/></s:Body></s:Envelope>"#
        );
        let env = parse_ok(xml.as_bytes());
        assert_eq!(env.header.hold_requests, expected, "{text:?}");
        assert_eq!(env.header.no_more_requests, expected, "{text:?}");
        assert_eq!(env.body, Body::GetRPCMethods);
    }
}

#[test]
fn reads_cwmp_1_3_and_1_4_headers() {
    let xml = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:cwmp="urn:dslforum-org:cwmp-1-2"><s:Header><cwmp:ID s:mustUnderstand="1">9</cwmp:ID><cwmp:SessionTimeout>060</cwmp:SessionTimeout><cwmp:SupportedCWMPVersions>1.0,1.1,1.2,1.3,1.4</cwmp:SupportedCWMPVersions><cwmp:UseCWMPVersion s:mustUnderstand="1">1.4</cwmp:UseCWMPVersion></s:Header><s:Body><cwmp:InformResponse><MaxEnvelopes>1</MaxEnvelopes></cwmp:InformResponse></s:Body></s:Envelope>"#;
    let env = parse_ok(xml.as_bytes());
    assert_eq!(env.ns, CwmpNs::V1_2);
    assert_eq!(
        env.header,
        Header {
            id: Some("9".into()),
            hold_requests: None,
            no_more_requests: None,
            session_timeout: Some(60),
            supported_cwmp_versions: Some("1.0,1.1,1.2,1.3,1.4".into()),
            use_cwmp_version: Some("1.4".into()),
        }
    );
}

#[test]
fn detects_namespace_from_rpc_then_header_then_fault() {
    let mk = |rpc_ns: &str, id_ns: &str| {
        format!(
            r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:a="{rpc_ns}" xmlns:b="{id_ns}"><s:Header><b:ID s:mustUnderstand="1">1</b:ID></s:Header><s:Body><a:RebootResponse/></s:Body></s:Envelope>"#
        )
    };
    for (n, ns) in CwmpNs::ALL.iter().enumerate() {
        let uri = format!("urn:dslforum-org:cwmp-1-{n}");
        assert_eq!(
            parse_ok(mk(&uri, "urn:other").as_bytes()).ns,
            *ns,
            "rpc {uri}"
        );
        assert_eq!(
            parse_ok(mk("urn:other", &uri).as_bytes()).ns,
            *ns,
            "id {uri}"
        );
    }
    assert_eq!(
        parse_ok(mk("urn:dslforum-org:cwmp-1-9", "urn:x").as_bytes()).ns,
        CwmpNs::V1_0
    );
    // RPC namespace wins over the header's.
    let env = parse_ok(mk("urn:dslforum-org:cwmp-1-1", "urn:dslforum-org:cwmp-1-2").as_bytes());
    assert_eq!(env.ns, CwmpNs::V1_1);
    assert_eq!(env.body, Body::RebootResponse);
    // A SOAP Fault reveals the namespace through its cwmp:Fault detail.
    let xml = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode>s:Server</faultcode><faultstring>CWMP fault</faultstring><detail><c:Fault xmlns:c="urn:dslforum-org:cwmp-1-2"><FaultCode>9002</FaultCode><FaultString>Internal error</FaultString></c:Fault></detail></s:Fault></s:Body></s:Envelope>"#;
    let env = parse_ok(xml.as_bytes());
    assert_eq!(env.ns, CwmpNs::V1_2);
    assert_eq!(
        env.body,
        Body::Fault(Fault {
            faultcode: "Server".into(),
            faultstring: "CWMP fault".into(),
            fault_code: 9002,
            fault_string: "Internal error".into(),
            set_parameter_values_faults: vec![],
        })
    );
}

fn fault_env(inner: &str) -> String {
    format!(
        r#"<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:cwmp="urn:dslforum-org:cwmp-1-0"><SOAP-ENV:Header><cwmp:ID SOAP-ENV:mustUnderstand="1">77</cwmp:ID></SOAP-ENV:Header><SOAP-ENV:Body>{inner}</SOAP-ENV:Body></SOAP-ENV:Envelope>"#
    )
}

const SPV_FAULT: &str = "<FaultCode>9003</FaultCode><FaultString>Invalid arguments</FaultString><SetParameterValuesFault><ParameterName>A.B</ParameterName><FaultCode>9007</FaultCode><FaultString>Invalid value</FaultString></SetParameterValuesFault><SetParameterValuesFault><ParameterName>A.C</ParameterName><FaultCode>9008</FaultCode><FaultString></FaultString></SetParameterValuesFault>";

#[test]
fn tolerates_fault_detail_in_odd_places() {
    let variants = [
        format!(
            "<SOAP-ENV:Fault><faultcode>SOAP-ENV:Client</faultcode><faultstring>CWMP fault</faultstring><detail><cwmp:Fault>{SPV_FAULT}</cwmp:Fault></detail></SOAP-ENV:Fault>"
        ),
        format!(
            "<SOAP-ENV:Fault><faultcode>Client</faultcode><faultstring>CWMP fault</faultstring><Detail><cwmp:Fault>{SPV_FAULT}</cwmp:Fault></Detail></SOAP-ENV:Fault>"
        ),
        format!(
            "<SOAP-ENV:Fault><faultcode>Client</faultcode><faultstring>CWMP fault</faultstring><SOAP-ENV:detail><cwmp:Fault>{SPV_FAULT}</cwmp:Fault></SOAP-ENV:detail></SOAP-ENV:Fault>"
        ),
        format!(
            "<SOAP-ENV:Fault><faultcode>Client</faultcode><faultstring>CWMP fault</faultstring><detail><wrapper><cwmp:Fault>{SPV_FAULT}</cwmp:Fault></wrapper></detail></SOAP-ENV:Fault>"
        ),
        format!(
            "<SOAP-ENV:Fault><faultcode>Client</faultcode><faultstring>CWMP fault</faultstring><cwmp:Fault>{SPV_FAULT}</cwmp:Fault></SOAP-ENV:Fault>"
        ),
        format!(
            "<SOAP-ENV:Fault><cwmp:Fault>{SPV_FAULT}</cwmp:Fault><faultstring>CWMP fault</faultstring><faultcode> Client </faultcode></SOAP-ENV:Fault>"
        ),
        format!(
            "<SOAP-ENV:Fault><faultcode>Client</faultcode><faultstring>CWMP fault</faultstring><detail>{SPV_FAULT}</detail></SOAP-ENV:Fault>"
        ),
        format!(
            "<SOAP-ENV:Fault>\n  <faultcode>Client</faultcode>\n  <faultstring>CWMP fault</faultstring>\n  <faultactor>x</faultactor>\n  <detail>\n    <cwmp:Fault>\n      {SPV_FAULT}\n    </cwmp:Fault>\n  </detail>\n</SOAP-ENV:Fault>"
        ),
    ];
    for v in &variants {
        let env = parse_ok(fault_env(v).as_bytes());
        assert_eq!(env.header.id.as_deref(), Some("77"));
        let Body::Fault(f) = &env.body else {
            panic!("{v}: {:?}", env.body)
        };
        assert_eq!(f.faultcode, "Client", "{v}");
        assert_eq!(f.faultstring, "CWMP fault", "{v}");
        assert_eq!(f.fault_code, 9003, "{v}");
        assert_eq!(f.fault_string, "Invalid arguments", "{v}");
        assert_eq!(f.set_parameter_values_faults.len(), 2, "{v}");
        assert_eq!(f.set_parameter_values_faults[0].parameter_name, "A.B");
        assert_eq!(f.set_parameter_values_faults[0].fault_code, 9007);
        assert_eq!(f.set_parameter_values_faults[1].fault_code, 9008);
        assert_eq!(f.set_parameter_values_faults[1].fault_string, "");
    }
    // A bare cwmp:Fault straight in the Body.
    let env = parse_ok(
        fault_env(
            "<cwmp:Fault><FaultCode>9805</FaultCode><FaultString>vendor</FaultString></cwmp:Fault>",
        )
        .as_bytes(),
    );
    let Body::Fault(f) = env.body else { panic!() };
    assert_eq!((f.fault_code, f.fault_string.as_str()), (9805, "vendor"));
    // A SOAP fault with no cwmp detail at all.
    let env = parse_ok(
        fault_env("<SOAP-ENV:Fault><faultcode>Server</faultcode><faultstring>oops</faultstring></SOAP-ENV:Fault>")
            .as_bytes(),
    );
    let Body::Fault(f) = env.body else { panic!() };
    assert_eq!(
        (f.faultcode.as_str(), f.faultstring.as_str(), f.fault_code),
        ("Server", "oops", 0)
    );
}

#[test]
fn accepts_vendor_fault_codes() {
    for code in [8800u32, 8899, 9800, 9899, 9032, 12345] {
        let xml = fault_env(&format!(
            "<SOAP-ENV:Fault><faultcode>Server</faultcode><faultstring>CWMP fault</faultstring><detail><cwmp:Fault><FaultCode>{code}</FaultCode><FaultString>X</FaultString></cwmp:Fault></detail></SOAP-ENV:Fault>"
        ));
        let Body::Fault(f) = parse_ok(xml.as_bytes()).body else {
            panic!()
        };
        assert_eq!(f.fault_code, code);
    }
}

#[test]
fn text_decoding_entities_cdata_and_line_ends() {
    let xml = "<Envelope><Body><GetParameterValuesResponse><ParameterList>\
<P><Name>a</Name><Value>&lt;&amp;&gt;&quot;&apos; &#233;&#xE9; &#x1F600;</Value></P>\
<P><Name>b</Name><Value><![CDATA[<raw & \"stuff\">]]></Value></P>\
<P><Name>c</Name><Value>line1\r\nline2\rline3</Value></P>\
<P><Name>d</Name><Value>a &nbsp; b & c</Value></P>\
<P><Name>e</Name><Value>x<!-- hidden -->y</Value></P>\
<P><Name>f</Name><Value/></P>\
<P><Name>g</Name></P>\
</ParameterList></GetParameterValuesResponse></Body></Envelope>";
    let Body::GetParameterValuesResponse(l) = parse_ok(xml.as_bytes()).body else {
        panic!()
    };
    let v: Vec<&str> = l.iter().map(|p| p.value.as_str()).collect();
    assert_eq!(
        v,
        vec![
            "<&>\"' éé 😀",
            "<raw & \"stuff\">",
            "line1\nline2\nline3",
            "a &nbsp; b & c", // undeclared entity and lone '&' kept literally, never expanded
            "xy",
            "",
            "",
        ]
    );
}

#[test]
fn tolerates_other_rpcs_from_sloppy_cpes() {
    // GetParameterNamesResponse with Writable as true/0 and items with arbitrary names.
    let xml = r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:cwmp="urn:dslforum-org:cwmp-1-0"><soap:Body><cwmp:GetParameterNamesResponse><ParameterList><ParameterInfoStruct><Name>A.</Name><Writable>true</Writable></ParameterInfoStruct><item><Writable>0</Writable><Name>A.B</Name></item></ParameterList></cwmp:GetParameterNamesResponse></soap:Body></soap:Envelope>"#;
    let Body::GetParameterNamesResponse(l) = parse_ok(xml.as_bytes()).body else {
        panic!()
    };
    assert_eq!(l.len(), 2);
    assert!(l[0].writable && !l[1].writable);
    assert_eq!(l[1].name, "A.B");
    // Element names in another case; unknown extra elements skipped.
    let xml = r#"<Envelope><Body><addobjectresponse><X_VENDOR>1</X_VENDOR><instancenumber>0012</instancenumber><status>1</status></addobjectresponse></Body></Envelope>"#;
    assert_eq!(
        parse_ok(xml.as_bytes()).body,
        Body::AddObjectResponse {
            instance_number: 12,
            status: 1
        }
    );
}

// ----------------------------------------------------------------------------- refusals

#[test]
fn refuses_dtds_and_entity_bombs() {
    let bomb = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<Envelope><Body><GetParameterValuesResponse><ParameterList><P><Name>x</Name><Value>&lol3;</Value></P></ParameterList></GetParameterValuesResponse></Body></Envelope>"#;
    assert_eq!(parse(bomb.as_bytes()), Err(CodecError::Dtd));
    let xxe = r#"<!DOCTYPE foo [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]><Envelope><Body><Reboot><CommandKey>&xxe;</CommandKey></Reboot></Body></Envelope>"#;
    assert_eq!(parse(xxe.as_bytes()), Err(CodecError::Dtd));
    let plain = r#"<!DOCTYPE Envelope><Envelope><Body><RebootResponse/></Body></Envelope>"#;
    assert_eq!(parse(plain.as_bytes()), Err(CodecError::Dtd));
}

#[test]
fn refuses_too_deep() {
    let deep = format!(
        "<Envelope><Body><GetParameterValuesResponse><ParameterList><P><Name>x</Name><Value>{}{}</Value></P></ParameterList></GetParameterValuesResponse></Body></Envelope>",
        "<a>".repeat(100),
        "</a>".repeat(100)
    );
    assert_eq!(parse(deep.as_bytes()), Err(CodecError::TooDeep));
    let empties = format!(
        "<Envelope><Body>{}<x/>{}</Body></Envelope>",
        "<a>".repeat(30),
        "</a>".repeat(30)
    );
    assert_eq!(
        parse(empties.as_bytes()),
        Err(CodecError::TooDeep),
        "an empty element counts"
    );
    let tight = Limits {
        max_depth: 5,
        ..Limits::default()
    };
    let inform = inform_with_prefix("s");
    assert_eq!(
        cwmp::parse(inform.as_bytes(), &tight),
        Err(CodecError::TooDeep)
    );
    let enough = Limits {
        max_depth: 6,
        ..Limits::default()
    };
    assert!(cwmp::parse(inform.as_bytes(), &enough).is_ok());
}

#[test]
fn refuses_too_large() {
    let inform = inform_with_prefix("s");
    let small = Limits {
        max_bytes: inform.len() - 1,
        ..Limits::default()
    };
    assert_eq!(
        cwmp::parse(inform.as_bytes(), &small),
        Err(CodecError::TooLarge)
    );
    let exact = Limits {
        max_bytes: inform.len(),
        ..Limits::default()
    };
    assert!(cwmp::parse(inform.as_bytes(), &exact).is_ok());
    assert_eq!(
        parse(&vec![b' '; Limits::default().max_bytes + 1]),
        Err(CodecError::TooLarge)
    );
    // Too many list items.
    let names: String = (0..50).map(|n| format!("<string>P.{n}</string>")).collect();
    let xml = format!(
        "<Envelope><Body><GetParameterValues><ParameterNames>{names}</ParameterNames></GetParameterValues></Body></Envelope>"
    );
    let few = Limits {
        max_parameters: 49,
        ..Limits::default()
    };
    assert_eq!(cwmp::parse(xml.as_bytes(), &few), Err(CodecError::TooLarge));
    let enough = Limits {
        max_parameters: 50,
        ..Limits::default()
    };
    assert!(cwmp::parse(xml.as_bytes(), &enough).is_ok());
}

#[test]
fn refuses_garbage_and_truncation() {
    for g in [
        b"\x00\x01\x02\x03garbage".as_slice(),
        b"hello world",
        b"{\"json\": true}",
        b"<",
        b"<Envelope",
        b"<Envelope><Body>",
        b"<Envelope><Body></Envelope>",
        b"<Envelope></Body></Envelope>",
        b"</Envelope>",
        b"<?xml version=\"1.0\"?>",
        b"<Envelope><Body><Reboot><CommandKey>x</CommandKey></Reboot></Body>",
        b"<a:Envelope xmlns:a='x'></b:Envelope>",
        b"<Envelope><Body><Reboot></Rebot></Body></Envelope>",
        b"<Envelope><Body><Reboot><CommandKey>&#0;</CommandKey></Reboot></Body></Envelope>",
    ] {
        match parse(g) {
            Err(CodecError::Malformed(_)) => {}
            other => panic!(
                "{:?}: expected Malformed, got {other:?}",
                String::from_utf8_lossy(g)
            ),
        }
    }
    // Every truncation of a real-looking Inform is refused as Malformed.
    let xml = inform_with_prefix("soapenv");
    let end = xml.rfind('>').unwrap();
    for cut in 1..end {
        match parse(&xml.as_bytes()[..cut]) {
            Err(CodecError::Malformed(_)) => {}
            other => panic!("cut at {cut}: {other:?}"),
        }
    }
}

#[test]
fn empty_and_not_soap() {
    for e in [
        b"".as_slice(),
        b"   ",
        b"\r\n\t \n",
        b"\xEF\xBB\xBF",
        b"\xEF\xBB\xBF  \n",
    ] {
        assert_eq!(parse(e), Err(CodecError::Empty), "{e:?}");
    }
    let empty_body = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header/><s:Body>  </s:Body></s:Envelope>"#;
    assert_eq!(parse(empty_body.as_bytes()), Err(CodecError::Empty));
    assert_eq!(
        parse(b"<html><body>hi</body></html>"),
        Err(CodecError::NotSoap)
    );
    assert_eq!(
        parse(b"<Envelope><Header/></Envelope>"),
        Err(CodecError::NotSoap),
        "no Body"
    );
}

#[test]
fn unknown_method_keeps_header_available() {
    let xml = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:cwmp="urn:dslforum-org:cwmp-1-2"><s:Header><cwmp:ID s:mustUnderstand="1">abc</cwmp:ID></s:Header><s:Body><cwmp:DUStateChangeComplete><Results><OpResultStruct><UUID>x</UUID></OpResultStruct></Results></cwmp:DUStateChangeComplete></s:Body></s:Envelope>"#;
    assert_eq!(
        parse(xml.as_bytes()),
        Err(CodecError::UnknownMethod("DUStateChangeComplete".into()))
    );
    let p = cwmp::parse_partial(xml.as_bytes(), &Limits::default()).unwrap();
    assert_eq!(p.ns, CwmpNs::V1_2);
    assert_eq!(p.header.id.as_deref(), Some("abc"));
    assert_eq!(
        p.body,
        Err(CodecError::UnknownMethod("DUStateChangeComplete".into()))
    );
    assert_eq!(
        CodecError::UnknownMethod(String::new()).acs_fault_code(),
        8000
    );
    // A well-formedness error after the unknown RPC still wins.
    let broken = xml.replace("</s:Envelope>", "");
    assert!(matches!(
        parse(broken.as_bytes()),
        Err(CodecError::Malformed(_))
    ));
}

#[test]
fn invalid_arguments() {
    let cases = [
        "<Inform><Event/></Inform>",                          // no DeviceId
        "<Inform><DeviceId><OUI>1</OUI></DeviceId></Inform>", // no SerialNumber
        "<Inform><DeviceId><OUI>1</OUI><SerialNumber>2</SerialNumber></DeviceId><RetryCount>abc</RetryCount></Inform>",
        "<Inform><DeviceId><OUI>1</OUI><SerialNumber>2</SerialNumber></DeviceId><MaxEnvelopes>-1</MaxEnvelopes></Inform>",
        "<GetParameterNames><ParameterPath>A.</ParameterPath></GetParameterNames>",
        "<GetParameterNames><ParameterPath>A.</ParameterPath><NextLevel>maybe</NextLevel></GetParameterNames>",
        "<GetParameterValues/>",
        "<SetParameterValues><ParameterKey>k</ParameterKey></SetParameterValues>",
        "<SetParameterValues><ParameterList><P><Value>v</Value></P></ParameterList></SetParameterValues>",
        "<AddObjectResponse><Status>0</Status></AddObjectResponse>",
        "<ScheduleInform><CommandKey/></ScheduleInform>",
        "<ScheduleInform><DelaySeconds>99999999999</DelaySeconds></ScheduleInform>",
        "<Download><CommandKey/><URL>http://x</URL></Download>",
        "<Upload><FileType>1 Vendor Configuration File</FileType></Upload>",
        "<TransferComplete><FaultStruct><FaultCode>x</FaultCode></FaultStruct></TransferComplete>",
        "<s:Fault xmlns:s='http://schemas.xmlsoap.org/soap/envelope/'><detail><Fault><FaultCode>nine</FaultCode></Fault></detail></s:Fault>",
    ];
    for c in cases {
        let xml = format!("<Envelope><Header><ID>i</ID></Header><Body>{c}</Body></Envelope>");
        match parse(xml.as_bytes()) {
            Err(CodecError::InvalidArguments(msg)) => assert!(!msg.is_empty()),
            other => panic!("{c}: expected InvalidArguments, got {other:?}"),
        }
        let p = cwmp::parse_partial(xml.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(p.header.id.as_deref(), Some("i"), "{c}");
    }
}

// ----------------------------------------------------------------------------- writer

#[test]
fn writer_output_is_plain_and_short() {
    let env = Envelope::new(
        CwmpNs::V1_0,
        Header::with_id("1234"),
        Body::InformResponse { max_envelopes: 1 },
    );
    assert_eq!(
        String::from_utf8(cwmp::to_vec(&env)).unwrap(),
        concat!(
            r#"<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/" xmlns:soap-enc="http://schemas.xmlsoap.org/soap/encoding/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:cwmp="urn:dslforum-org:cwmp-1-0">"#,
            r#"<soap-env:Header><cwmp:ID soap-env:mustUnderstand="1">1234</cwmp:ID></soap-env:Header>"#,
            r#"<soap-env:Body><cwmp:InformResponse><MaxEnvelopes>1</MaxEnvelopes></cwmp:InformResponse></soap-env:Body></soap-env:Envelope>"#
        )
    );
    // No header entries: no soap-env:Header at all.
    let bare = cwmp::to_vec(&Envelope::new(
        CwmpNs::V1_1,
        Header::default(),
        Body::FactoryReset,
    ));
    let s = String::from_utf8(bare).unwrap();
    assert!(!s.contains("Header"), "{s}");
    assert!(s.contains(r#"xmlns:cwmp="urn:dslforum-org:cwmp-1-1""#));
    assert!(s.contains("<cwmp:FactoryReset></cwmp:FactoryReset>"));
}

#[test]
fn writer_array_types_counts_and_xsi_types() {
    let env = Envelope::new(
        CwmpNs::V1_2,
        Header::with_id("x"),
        Body::SetParameterValues {
            list: vec![
                ParameterValue::typed("A.S", "s", "xsd:string"),
                ParameterValue::typed("A.U", "5", "unsignedInt"),
                ParameterValue::typed("A.B", "1", "xs:boolean"),
                ParameterValue::new("A.N", "untyped"),
            ],
            parameter_key: "k".into(),
        },
    );
    let s = String::from_utf8(cwmp::to_vec(&env)).unwrap();
    assert!(
        s.contains(r#"<ParameterList soap-enc:arrayType="cwmp:ParameterValueStruct[4]">"#),
        "{s}"
    );
    assert!(s.contains(r#"<Value xsi:type="xsd:string">s</Value>"#));
    assert!(s.contains(r#"<Value xsi:type="xsd:unsignedInt">5</Value>"#));
    assert!(s.contains(r#"<Value xsi:type="xsd:boolean">1</Value>"#));
    assert!(s.contains(r#"<Name>A.N</Name><Value>untyped</Value>"#));
    let s = String::from_utf8(cwmp::to_vec(&Envelope::new(
        CwmpNs::V1_0,
        Header::default(),
        Body::GetParameterValues(vec!["A.".into(), "B.".into(), "C.".into()]),
    )))
    .unwrap();
    assert!(
        s.contains(r#"<ParameterNames soap-enc:arrayType="xsd:string[3]"><string>A.</string>"#)
    );
    let inform = Inform {
        events: vec![ev("1 BOOT", ""), ev("M Reboot", "k")],
        ..Inform::default()
    };
    let s = String::from_utf8(cwmp::to_vec(&Envelope::new(
        CwmpNs::V1_0,
        Header::default(),
        Body::Inform(inform),
    )))
    .unwrap();
    assert!(s.contains(r#"<Event soap-enc:arrayType="cwmp:EventStruct[2]">"#));
    assert!(
        s.contains("<CurrentTime>0001-01-01T00:00:00Z</CurrentTime>"),
        "None = unknown time"
    );
    let s = String::from_utf8(cwmp::to_vec(&Envelope::new(
        CwmpNs::V1_0,
        Header::default(),
        Body::GetParameterNamesResponse(vec![ferroacs::cwmp::ParameterInfo {
            name: "A.".into(),
            writable: true,
        }]),
    )))
    .unwrap();
    assert!(s.contains(r#"<ParameterList soap-enc:arrayType="cwmp:ParameterInfoStruct[1]"><ParameterInfoStruct><Name>A.</Name><Writable>1</Writable>"#));
}

#[test]
fn writer_escapes_text() {
    let env = Envelope::new(
        CwmpNs::V1_0,
        Header::with_id("<id&\"'>"),
        Body::SetParameterValues {
            list: vec![ParameterValue::typed(
                "A&B",
                "<x>&amp;\"'\r\n]]>\u{1}\u{fffe}é",
                "a\"b",
            )],
            parameter_key: String::new(),
        },
    );
    let bytes = cwmp::to_vec(&env);
    let s = String::from_utf8(bytes.clone()).unwrap();
    assert!(
        s.contains("<cwmp:ID soap-env:mustUnderstand=\"1\">&lt;id&amp;\"'&gt;</cwmp:ID>"),
        "{s}"
    );
    assert!(s.contains("<Name>A&amp;B</Name>"));
    assert!(s.contains("xsi:type=\"xsd:a&quot;b\""));
    assert!(
        s.contains("&lt;x&gt;&amp;amp;\"'&#13;\n]]&gt;\u{fffd}\u{fffd}é"),
        "{s}"
    );
    let back = parse_ok(&bytes);
    assert_eq!(back.header.id.as_deref(), Some("<id&\"'>"));
    let Body::SetParameterValues { list, .. } = back.body else {
        panic!()
    };
    assert_eq!(list[0].value, "<x>&amp;\"'\r\n]]>\u{fffd}\u{fffd}é");
}

#[test]
fn writer_namespace_modes() {
    for ns in CwmpNs::ALL {
        let env = Envelope::new(ns, Header::with_id("1"), Body::GetRPCMethods);
        let canonical = cwmp::to_vec(&env);
        let wire = cwmp::to_vec_with(
            &env,
            &WriteOptions {
                ns_mode: NsMode::Wire,
            },
        );
        let c = String::from_utf8(canonical.clone()).unwrap();
        let w = String::from_utf8(wire.clone()).unwrap();
        assert!(c.contains(&format!("xmlns:cwmp=\"{}\"", ns.uri())));
        assert!(w.contains(&format!("xmlns:cwmp=\"{}\"", ns.wire_uri())));
        assert_eq!(
            parse_ok(&wire).ns,
            ns,
            "wire mode round-trips the literal namespace"
        );
        let expected = if ns >= CwmpNs::V1_2 { CwmpNs::V1_2 } else { ns };
        assert_eq!(
            parse_ok(&canonical).ns,
            expected,
            "1.3/1.4 are written as -1-2"
        );
    }
    assert_eq!(CwmpNs::V1_3.uri(), "urn:dslforum-org:cwmp-1-2");
    assert_eq!(CwmpNs::V1_4.wire_uri(), "urn:dslforum-org:cwmp-1-4");
    assert_eq!(CwmpNs::default(), CwmpNs::V1_0);
}

#[test]
fn fault_constructor_picks_soap_faultcode() {
    assert_eq!(
        Fault::new(9005, "Invalid parameter name").faultcode,
        "Client"
    );
    assert_eq!(Fault::new(8003, "x").faultcode, "Client");
    assert_eq!(Fault::new(9002, "x").faultcode, "Server");
    assert_eq!(Fault::new(8000, "x").faultstring, "CWMP fault");
}

// ----------------------------------------------------------------------------- properties

mod props {
    use super::*;
    use ferroacs::cwmp::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    /// Characters XML 1.0 can carry, biased towards the ones that need escaping.
    fn xml_char() -> impl Strategy<Value = char> {
        prop_oneof![
            4 => proptest::char::range('a', 'z'),
            2 => prop::sample::select(vec![
                '<', '&', '>', '"', '\'', ' ', '\t', '\n', '\r', ';', '#', ':', '.', ']',
                'é', 'ß', '漢', '😀', '\u{7f}', '\u{85}', '\u{2028}', '\u{fffd}',
            ]),
            1 => any::<char>().prop_filter("XML 1.0 Char", |c| {
                matches!(*c, '\t' | '\n' | '\r' | ' '..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
            }),
        ]
    }

    fn s() -> impl Strategy<Value = String> {
        vec(xml_char(), 0..12).prop_map(String::from_iter)
    }

    fn strings() -> impl Strategy<Value = Vec<String>> {
        vec(s(), 0..4)
    }

    fn xsd_type() -> impl Strategy<Value = Option<String>> {
        prop_oneof![
            Just(None),
            prop::sample::select(vec![
                "string",
                "unsignedInt",
                "int",
                "boolean",
                "dateTime",
                "base64",
                "hexBinary",
                "long",
            ])
            .prop_map(|t| Some(format!("xsd:{t}"))),
            "[A-Za-z][A-Za-z0-9]{0,8}".prop_map(|t| Some(format!("xsd:{t}"))),
        ]
    }

    fn pv() -> impl Strategy<Value = ParameterValue> {
        (s(), s(), xsd_type()).prop_map(|(name, value, xsd_type)| ParameterValue {
            name,
            value,
            xsd_type,
        })
    }

    fn time() -> impl Strategy<Value = Option<CwmpTime>> {
        prop_oneof![
            Just(None),
            (0i64..4_102_444_800, 0u32..1_000_000_000).prop_map(|(secs, nanos)| Some(
                CwmpTime::from_datetime(chrono::DateTime::from_timestamp(secs, nanos).unwrap())
            )),
            s().prop_filter("not absent/unknown", |t| {
                let t = t.trim_matches([' ', '\t', '\r', '\n']);
                !t.is_empty() && t != UNKNOWN_TIME
            })
            .prop_map(|t| Some(CwmpTime::parse(t))),
        ]
    }

    fn fault_struct() -> impl Strategy<Value = Option<FaultStruct>> {
        prop_oneof![
            Just(None),
            (1u32.., s()).prop_map(|(code, string)| Some(FaultStruct { code, string })),
        ]
    }

    fn header() -> impl Strategy<Value = Header> {
        (
            proptest::option::of(s()),
            proptest::option::of(any::<bool>()),
            proptest::option::of(any::<bool>()),
            proptest::option::of(any::<u32>()),
            proptest::option::of(s()),
            proptest::option::of(s()),
        )
            .prop_map(|(id, hold, nomore, timeout, sup, use_)| Header {
                id,
                hold_requests: hold,
                no_more_requests: nomore,
                session_timeout: timeout,
                supported_cwmp_versions: sup,
                use_cwmp_version: use_,
            })
    }

    fn ns() -> impl Strategy<Value = CwmpNs> {
        prop::sample::select(CwmpNs::ALL.to_vec())
    }

    fn body() -> impl Strategy<Value = Body> {
        let inform = (
            (s(), s(), s(), s()),
            vec((s(), s()), 0..4),
            any::<u32>(),
            time(),
            any::<u32>(),
            vec(pv(), 0..5),
        )
            .prop_map(|((m, o, p, sn), evs, max, t, retry, params)| {
                Body::Inform(Inform {
                    device_id: DeviceId {
                        manufacturer: m,
                        oui: o,
                        product_class: p,
                        serial_number: sn,
                    },
                    events: evs
                        .into_iter()
                        .map(|(c, k)| EventStruct::new(c, k))
                        .collect(),
                    max_envelopes: max,
                    current_time: t,
                    retry_count: retry,
                    parameters: params,
                })
            });
        let tc = (s(), fault_struct(), time(), time()).prop_map(|(k, f, st, ct)| {
            Body::TransferComplete(TransferComplete {
                command_key: k,
                fault: f,
                start_time: st,
                complete_time: ct,
            })
        });
        let atc = (
            (s(), s(), any::<bool>(), s(), any::<u64>(), s()),
            fault_struct(),
            time(),
            time(),
        )
            .prop_map(|((a, t, d, ft, fs, tf), f, st, ct)| {
                Body::AutonomousTransferComplete(AutonomousTransferComplete {
                    announce_url: a,
                    transfer_url: t,
                    is_download: d,
                    file_type: ft,
                    file_size: fs,
                    target_file_name: tf,
                    fault: f,
                    start_time: st,
                    complete_time: ct,
                })
            });
        let rd = (s(), vec((s(), s()), 0..3)).prop_map(|(ft, args)| {
            Body::RequestDownload(RequestDownload {
                file_type: ft,
                file_type_args: args
                    .into_iter()
                    .map(|(name, value)| ArgStruct { name, value })
                    .collect(),
            })
        });
        let kicked = (s(), s(), s(), s()).prop_map(|(command, referer, arg, next)| {
            Body::Kicked(Kicked {
                command,
                referer,
                arg,
                next,
            })
        });
        let download = (
            (s(), s(), s(), s(), s()),
            any::<u64>(),
            s(),
            any::<u32>(),
            s(),
            s(),
        )
            .prop_map(|((k, ft, url, u, p), fs, tf, d, su, fu)| {
                Body::Download(Download {
                    command_key: k,
                    file_type: ft,
                    url,
                    username: u,
                    password: p,
                    file_size: fs,
                    target_file_name: tf,
                    delay_seconds: d,
                    success_url: su,
                    failure_url: fu,
                })
            });
        let upload = (s(), s(), s(), s(), s(), any::<u32>()).prop_map(|(k, ft, url, u, p, d)| {
            Body::Upload(Upload {
                command_key: k,
                file_type: ft,
                url,
                username: u,
                password: p,
                delay_seconds: d,
            })
        });
        let spa = vec(
            (s(), any::<bool>(), any::<i32>(), any::<bool>(), strings()),
            0..3,
        )
        .prop_map(|v| {
            Body::SetParameterAttributes(
                v.into_iter()
                    .map(|(name, nc, n, alc, al)| SetParameterAttributesStruct {
                        name,
                        notification_change: nc,
                        notification: n,
                        access_list_change: alc,
                        access_list: al,
                    })
                    .collect(),
            )
        });
        let gpar = vec((s(), any::<i32>(), strings()), 0..3).prop_map(|v| {
            Body::GetParameterAttributesResponse(
                v.into_iter()
                    .map(
                        |(name, notification, access_list)| ParameterAttributeStruct {
                            name,
                            notification,
                            access_list,
                        },
                    )
                    .collect(),
            )
        });
        let fault = (
            "[A-Za-z.]{0,10}",
            s(),
            any::<u32>(),
            s(),
            vec((s(), any::<u32>(), s()), 0..3),
        )
            .prop_map(|(fc, fs, code, string, spv)| {
                Body::Fault(Fault {
                    faultcode: fc,
                    faultstring: fs,
                    fault_code: code,
                    fault_string: string,
                    set_parameter_values_faults: spv
                        .into_iter()
                        .map(
                            |(parameter_name, fault_code, fault_string)| SetParameterValuesFault {
                                parameter_name,
                                fault_code,
                                fault_string,
                            },
                        )
                        .collect(),
                })
            });
        prop_oneof![
            inform.boxed(),
            tc.boxed(),
            atc.boxed(),
            Just(Body::GetRPCMethods).boxed(),
            rd.boxed(),
            kicked.boxed(),
            any::<u32>()
                .prop_map(|max_envelopes| Body::InformResponse { max_envelopes })
                .boxed(),
            Just(Body::TransferCompleteResponse).boxed(),
            Just(Body::AutonomousTransferCompleteResponse).boxed(),
            strings().prop_map(Body::GetRPCMethodsResponse).boxed(),
            Just(Body::RequestDownloadResponse).boxed(),
            s().prop_map(|next_url| Body::KickedResponse { next_url })
                .boxed(),
            strings().prop_map(Body::GetParameterValues).boxed(),
            (vec(pv(), 0..5), s())
                .prop_map(|(list, parameter_key)| Body::SetParameterValues {
                    list,
                    parameter_key
                })
                .boxed(),
            (s(), any::<bool>())
                .prop_map(|(path, next_level)| Body::GetParameterNames { path, next_level })
                .boxed(),
            strings().prop_map(Body::GetParameterAttributes).boxed(),
            spa.boxed(),
            (s(), s())
                .prop_map(|(object_name, parameter_key)| Body::AddObject {
                    object_name,
                    parameter_key
                })
                .boxed(),
            (s(), s())
                .prop_map(|(object_name, parameter_key)| Body::DeleteObject {
                    object_name,
                    parameter_key
                })
                .boxed(),
            s().prop_map(|command_key| Body::Reboot { command_key })
                .boxed(),
            Just(Body::FactoryReset).boxed(),
            download.boxed(),
            upload.boxed(),
            (any::<u32>(), s())
                .prop_map(|(delay_seconds, command_key)| Body::ScheduleInform {
                    delay_seconds,
                    command_key
                })
                .boxed(),
            vec(pv(), 0..6)
                .prop_map(Body::GetParameterValuesResponse)
                .boxed(),
            any::<i32>()
                .prop_map(|status| Body::SetParameterValuesResponse { status })
                .boxed(),
            vec((s(), any::<bool>()), 0..4)
                .prop_map(|v| Body::GetParameterNamesResponse(
                    v.into_iter()
                        .map(|(name, writable)| ParameterInfo { name, writable })
                        .collect()
                ))
                .boxed(),
            gpar.boxed(),
            Just(Body::SetParameterAttributesResponse).boxed(),
            (any::<u32>(), any::<i32>())
                .prop_map(|(instance_number, status)| Body::AddObjectResponse {
                    instance_number,
                    status
                })
                .boxed(),
            any::<i32>()
                .prop_map(|status| Body::DeleteObjectResponse { status })
                .boxed(),
            Just(Body::RebootResponse).boxed(),
            Just(Body::FactoryResetResponse).boxed(),
            (any::<i32>(), time(), time())
                .prop_map(
                    |(status, start_time, complete_time)| Body::DownloadResponse {
                        status,
                        start_time,
                        complete_time
                    }
                )
                .boxed(),
            (any::<i32>(), time(), time())
                .prop_map(|(status, start_time, complete_time)| Body::UploadResponse {
                    status,
                    start_time,
                    complete_time
                })
                .boxed(),
            Just(Body::ScheduleInformResponse).boxed(),
            fault.boxed(),
        ]
    }

    /// Envelopes to mutate: two handwritten ones, plus the captured Informs when present.
    fn seed_informs() -> &'static [Vec<u8>] {
        static SEEDS: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
        SEEDS.get_or_init(load_seeds)
    }

    fn load_seeds() -> Vec<Vec<u8>> {
        let mut v = vec![
            inform_with_prefix("SOAP-ENV").into_bytes(),
            cwmp::to_vec(&Envelope::new(
                CwmpNs::V1_0,
                Header::with_id("1"),
                Body::Fault(Fault::new(9003, "x")),
            )),
        ];
        if let Some(dir) = reference_dir()
            && let Ok(rd) = std::fs::read_dir(dir.join("inform-real"))
        {
            for e in rd.flatten() {
                let name = e.file_name().into_string().unwrap_or_default();
                if let Ok(raw) = std::fs::read(e.path()) {
                    v.push(body_bytes(&name, &raw));
                }
            }
        }
        v
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// write -> parse is the identity for every Body variant, header and namespace
        /// (Wire mode keeps the literal 1.3/1.4 namespace).
        #[test]
        fn round_trip_every_body(ns in ns(), header in header(), body in body()) {
            let env = Envelope::new(ns, header, body);
            let wire = cwmp::to_vec_with(&env, &WriteOptions { ns_mode: NsMode::Wire });
            let back = cwmp::parse(&wire, &Limits::default());
            prop_assert_eq!(back.as_ref(), Ok(&env), "{}", String::from_utf8_lossy(&wire));
            // Canonical mode differs only in writing 1.3/1.4 as -1-2.
            let canonical = cwmp::to_vec(&env);
            let back = cwmp::parse(&canonical, &Limits::default()).unwrap();
            let expected_ns = if ns >= CwmpNs::V1_2 { CwmpNs::V1_2 } else { ns };
            prop_assert_eq!(back.ns, expected_ns);
            prop_assert_eq!(back.header, env.header);
            prop_assert_eq!(back.body, env.body);
        }

        #[test]
        fn never_panics_on_random_bytes(bytes in vec(any::<u8>(), 0..600)) {
            let _ = cwmp::parse(&bytes, &Limits::default());
        }

        #[test]
        fn never_panics_on_xmlish_soup(parts in vec(prop::sample::select(vec![
            "<", ">", "</", "/>", "<?xml version='1.0' encoding='ISO-8859-1'?>", "<!DOCTYPE x>",
            "<![CDATA[", "]]>", "<!--", "-->", "&", "&amp;", "&#", "&#x", ";", "\"", "'", "=",
            "s:", "xmlns:s='http://schemas.xmlsoap.org/soap/envelope/'", "xmlns:c='urn:dslforum-org:cwmp-1-2'",
            "Envelope", "Header", "Body", "Fault", "detail", "c:Fault", "FaultCode", "Inform",
            "DeviceId", "OUI", "SerialNumber", "ParameterList", "ParameterValueStruct", "Name",
            "Value", "xsi:type", "ID", "HoldRequests", "1", "true", "é", "\u{0}", "\u{feff}",
            " ", "\n", "EventStruct", "CurrentTime", "0001-01-01T00:00:00Z", "2019-03-05T11:54::14",
        ]), 0..80)) {
            let xml = parts.concat();
            let _ = cwmp::parse(xml.as_bytes(), &Limits::default());
            let _ = cwmp::parse_partial(xml.as_bytes(), &Limits::default());
        }

        #[test]
        fn never_panics_on_mutated_informs(
            seed in any::<prop::sample::Index>(),
            edits in vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..4), 1..8),
        ) {
            let seeds = seed_informs();
            let mut xml = seeds[seed.index(seeds.len())].clone();
            for (at, byte, op) in edits {
                if xml.is_empty() {
                    break;
                }
                let i = at.index(xml.len());
                match op {
                    0 => xml[i] = byte,
                    1 => xml.insert(i, byte),
                    2 => { xml.remove(i); }
                    _ => xml.truncate(i),
                }
            }
            let _ = cwmp::parse(&xml, &Limits::default());
            let _ = cwmp::parse(&xml, &Limits { max_depth: 4, max_parameters: 3, max_bytes: 1 << 20 });
        }
    }
}
