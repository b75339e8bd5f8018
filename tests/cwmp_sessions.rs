//! CWMP sessions through the real endpoint: authentication variants, what an Inform changes in
//! the inventory, refusals that change nothing, session flow details. Both back ends.

mod common;

use common::{Backend, TestApp};
use ferroacs::cpe::{AuthMode, ClientOptions, CpeClient, SuccessResponder, run_session};
use ferroacs::cwmp::{
    self, Body, CwmpNs, DeviceId, Envelope, EventStruct, Header, Inform, ParameterValue,
};
use serde_json::{Value, json};

struct Cpe {
    ns: CwmpNs,
    root: &'static str,
    oui: &'static str,
    product_class: &'static str,
    serial: String,
}

impl Cpe {
    fn tr098(serial: &str) -> Cpe {
        Cpe {
            ns: CwmpNs::V1_0,
            root: "InternetGatewayDevice.",
            oui: "EC43F6",
            product_class: "P-2601HN-F1",
            serial: serial.into(),
        }
    }

    fn tr181(serial: &str) -> Cpe {
        Cpe {
            ns: CwmpNs::V1_2,
            root: "Device.",
            oui: "A0B1C2",
            product_class: "HGW4",
            serial: serial.into(),
        }
    }

    fn params(&self) -> Vec<ParameterValue> {
        let r = self.root;
        vec![
            ParameterValue::typed(
                format!("{r}DeviceInfo.HardwareVersion"),
                "HW-1.0",
                "xsd:string",
            ),
            ParameterValue::typed(
                format!("{r}DeviceInfo.SoftwareVersion"),
                "SW-2.4.1",
                "xsd:string",
            ),
            ParameterValue::typed(format!("{r}DeviceInfo.ProvisioningCode"), "", "xsd:string"),
            ParameterValue::typed(
                format!("{r}ManagementServer.ConnectionRequestURL"),
                "http://127.0.0.1:7999/cr",
                "xsd:string",
            ),
            ParameterValue::typed(
                format!("{r}ManagementServer.ParameterKey"),
                "",
                "xsd:string",
            ),
        ]
    }

    fn inform_with(&self, events: &[&str], header: Header) -> Vec<u8> {
        let inform = Inform {
            device_id: DeviceId {
                manufacturer: "ZyXEL".into(),
                oui: self.oui.into(),
                product_class: self.product_class.into(),
                serial_number: self.serial.clone(),
            },
            events: events.iter().map(|e| EventStruct::new(*e, "")).collect(),
            max_envelopes: 1,
            current_time: None,
            retry_count: 0,
            parameters: self.params(),
        };
        cwmp::to_vec(&Envelope::new(self.ns, header, Body::Inform(inform)))
    }

    fn inform(&self, events: &[&str]) -> Vec<u8> {
        self.inform_with(events, Header::with_id("1"))
    }

    fn responder(&self) -> SuccessResponder {
        let mut p = self.params();
        p.push(ParameterValue::typed(
            format!("{}ManagementServer.PeriodicInformInterval", self.root),
            "300",
            "xsd:unsignedInt",
        ));
        SuccessResponder::new(&p)
    }
}

/// An organization, a type and a device with CWMP credentials; returns the device id.
async fn device(app: &TestApp, username: &str, password: &str, serial: Option<&str>) -> i64 {
    let org = app.create_org("acme").await;
    let ty = app.create_type("gw", "gw").await;
    let mut body = json!({ "name": username, "type": ty, "organization_id": org, "username": username, "password": password });
    if let Some(s) = serial {
        body["serial_number"] = json!(s);
    }
    app.create_device(body).await["id"].as_i64().unwrap()
}

fn client(app: &TestApp, user: &str, pass: &str, mode: AuthMode) -> CpeClient {
    let mut o = ClientOptions::new(format!("http://{}/", app.cwmp_addr)).credentials(user, pass);
    o.auth = mode;
    CpeClient::new(o).unwrap()
}

async fn dev(app: &TestApp, id: i64) -> Value {
    app.get(&format!("/api/v1/inventory_device/{id}/"))
        .await
        .expect(200)
        .body
}

async fn digest_session_updates_the_inventory(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = device(&app, "cpe-1", "s3cret!", None).await;
    assert_eq!(dev(&app, id).await["status"], "Down");
    let cpe = Cpe::tr098("EC43F69AF408");
    let mut c = client(&app, "cpe-1", "s3cret!", AuthMode::Digest);
    let t = run_session(
        &mut c,
        cpe.inform(&["0 BOOTSTRAP", "1 BOOT"]),
        &mut cpe.responder(),
    )
    .await
    .unwrap();
    assert_eq!(t.challenges, 1, "one 401, then in");
    // The Inform lacked PeriodicInformInterval: the ACS asked for it, set the connection-request
    // credentials it holds for the device, then ended the session.
    assert_eq!(t.requests.len(), 2, "{:?}", t.lines);
    assert_eq!(
        t.requests[0],
        Body::GetParameterValues(vec![
            "InternetGatewayDevice.ManagementServer.PeriodicInformInterval".into()
        ])
    );
    let Body::SetParameterValues { list, .. } = &t.requests[1] else {
        panic!("{:?}", t.requests[1])
    };
    assert_eq!(
        list[0].name,
        "InternetGatewayDevice.ManagementServer.ConnectionRequestUsername"
    );
    assert_eq!(list[0].value, format!("ferroacs-{id}"));
    assert_eq!(
        list[1].name,
        "InternetGatewayDevice.ManagementServer.ConnectionRequestPassword"
    );
    assert!(list[1].value.len() >= 16);
    let d = dev(&app, id).await;
    assert_eq!(d["status"], "Up");
    assert_ne!(d["status_change"], d["created"]);
    assert_eq!(d["software_version"], "SW-2.4.1");
    assert_eq!(d["hardware_version"], "HW-1.0");
    assert_eq!(d["manufacturer"], "ZyXEL");
    assert_eq!(d["product_class"], "P-2601HN-F1");
    assert_eq!(d["unique_identifier"], "EC43F6-P-2601HN-F1-EC43F69AF408");
    assert_eq!(
        d["serial_number"], "EC43F69AF408",
        "an empty serial number is filled from the Inform"
    );
    assert_eq!(d["address"], "127.0.0.1");
    assert!(d["last_connection"].as_str().unwrap().ends_with('Z'));
    // The reported values are kept and readable.
    let p = app.get(&format!("/api/v1/inventory_device/{id}/parameters/?prefix=InternetGatewayDevice.ManagementServer.")).await.expect(200).body;
    let names: Vec<&str> = p["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "InternetGatewayDevice.ManagementServer.ConnectionRequestPassword",
            "InternetGatewayDevice.ManagementServer.ConnectionRequestURL",
            "InternetGatewayDevice.ManagementServer.ConnectionRequestUsername",
            "InternetGatewayDevice.ManagementServer.ParameterKey",
            "InternetGatewayDevice.ManagementServer.PeriodicInformInterval",
        ]
    );
    assert_eq!(p["results"][4]["value"], "300");
    assert_eq!(p["results"][4]["type"], "xsd:unsignedInt");
    assert_eq!(p["results"][2]["value"], format!("ferroacs-{id}"));
    // Secrets the ACS set are never stored nor shown.
    let Body::SetParameterValues { list, .. } = &t.requests[1] else {
        unreachable!()
    };
    assert_eq!(p["results"][0]["value"], "");
    assert!(!p.to_string().contains(&list[1].value));
    // A second periodic session: nothing missing any more, no request, and status_change stays.
    let before = dev(&app, id).await;
    let t = run_session(&mut c, cpe.inform(&["2 PERIODIC"]), &mut cpe.responder())
        .await
        .unwrap();
    assert!(t.requests.is_empty(), "{:?}", t.lines);
    assert_eq!(t.challenges, 0, "the nonce of the last challenge is reused");
    let after = dev(&app, id).await;
    assert_eq!(after["status_change"], before["status_change"]);
    assert!(after["last_connection"].as_str() >= before["last_connection"].as_str());
    app.stop().await;
}

async fn quirky_cpes_get_in(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = device(&app, "cpe-2", "pw-2", Some("SN-181")).await;
    let cpe = Cpe::tr181("SN-181");
    // RFC 2069 Digest, no cookies, a new TCP connection for every request.
    let mut o =
        ClientOptions::new(format!("http://{}/cwmp", app.cwmp_addr)).credentials("cpe-2", "pw-2");
    o.auth = AuthMode::Digest2069;
    o.echo_cookies = false;
    o.new_connection_per_request = true;
    let mut c = CpeClient::new(o).unwrap();
    let t = run_session(&mut c, cpe.inform(&["2 PERIODIC"]), &mut cpe.responder())
        .await
        .unwrap();
    assert_eq!(
        t.requests[0],
        Body::GetParameterValues(vec![
            "Device.ManagementServer.PeriodicInformInterval".into()
        ])
    );
    assert_eq!(
        t.requests.len(),
        2,
        "then the connection-request credentials: {:?}",
        t.lines
    );
    let d = dev(&app, id).await;
    assert_eq!(d["status"], "Up");
    assert_eq!(d["software_version"], "SW-2.4.1");
    let p = app.get(&format!("/api/v1/inventory_device/{id}/parameters/?prefix=Device.ManagementServer.PeriodicInformInterval")).await.body;
    assert_eq!(p["results"][0]["value"], "300");
    // MD5 Digest with qop, cookies echoed but Authorization only on the Inform.
    let mut o =
        ClientOptions::new(format!("http://{}/", app.cwmp_addr)).credentials("cpe-2", "pw-2");
    o.auth = AuthMode::DigestMd5;
    o.auth_only_on_inform = true;
    let mut c = CpeClient::new(o).unwrap();
    run_session(&mut c, cpe.inform(&["1 BOOT"]), &mut cpe.responder())
        .await
        .unwrap();
    app.stop().await;
}

async fn basic_only_when_allowed(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = device(&app, "cpe-3", "pw-3", None).await;
    let cpe = Cpe::tr098("SN-3");
    let mut c = client(&app, "cpe-3", "pw-3", AuthMode::Basic);
    let err = run_session(&mut c, cpe.inform(&["2 PERIODIC"]), &mut cpe.responder())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("401"), "{err}");
    assert_eq!(dev(&app, id).await["status"], "Down");
    app.stop().await;

    let app = TestApp::spawn_with(b, |a| a.allow_basic_over_http = true).await;
    let id = device(&app, "cpe-3", "pw-3", None).await;
    let mut c = client(&app, "cpe-3", "pw-3", AuthMode::Basic);
    run_session(&mut c, cpe.inform(&["2 PERIODIC"]), &mut cpe.responder())
        .await
        .unwrap();
    assert_eq!(dev(&app, id).await["status"], "Up");
    let mut c = client(&app, "cpe-3", "wrong", AuthMode::Basic);
    assert!(
        run_session(&mut c, cpe.inform(&["2 PERIODIC"]), &mut cpe.responder())
            .await
            .is_err()
    );
    app.stop().await;
}

async fn refusals_change_nothing(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = device(&app, "cpe-4", "right", Some("SN-4")).await;
    let before = dev(&app, id).await;
    let cpe = Cpe::tr098("SN-4");
    for (user, pass) in [("cpe-4", "wrong"), ("nobody", "right")] {
        let mut c = client(&app, user, pass, AuthMode::Digest);
        let err = run_session(&mut c, cpe.inform(&["2 PERIODIC"]), &mut cpe.responder())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("401"), "{user}: {err}");
    }
    // The right credentials with another device's DeviceId: 403.
    let mut c = client(&app, "cpe-4", "right", AuthMode::Digest);
    let err = run_session(
        &mut c,
        Cpe::tr098("SN-OTHER").inform(&["2 PERIODIC"]),
        &mut cpe.responder(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("403"), "{err}");
    // Garbage, a DTD, a truncated envelope, an oversized body: clear 4xx.
    for bad in [
        b"this is not xml".to_vec(),
        b"<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"aaaa\">]><x>&a;</x>".to_vec(),
        cpe.inform(&["2 PERIODIC"])[..200].to_vec(),
    ] {
        let r = c.post(bad, true).await.unwrap();
        assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&r.body));
    }
    let r = c.post(vec![b' '; 5 << 20], true).await.unwrap();
    assert_eq!(r.status, 413);
    assert_eq!(dev(&app, id).await, before, "nothing changed");
    let p = app
        .get(&format!("/api/v1/inventory_device/{id}/parameters/"))
        .await
        .body;
    assert_eq!(p["count"], 0);
    // Not POST: 405.
    let r = reqwest::get(format!("http://{}/", app.cwmp_addr))
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    app.stop().await;
}

async fn auto_registration(b: Backend) {
    // Without --auto-register, the bootstrap account only serves devices already in the inventory.
    let app = TestApp::spawn_with(b, |a| {
        a.bootstrap_username = Some("boot".into());
        a.bootstrap_password = Some("strap".into());
    })
    .await;
    let cpe = Cpe::tr098("NEW-1");
    let mut c = client(&app, "boot", "strap", AuthMode::Digest);
    let err = run_session(&mut c, cpe.inform(&["0 BOOTSTRAP"]), &mut cpe.responder())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("403"), "{err}");
    assert_eq!(app.get("/api/v1/inventory_device/").await.body["count"], 0);
    // A pre-registered device without credentials of its own is served.
    let org = app.create_org("o").await;
    let ty = app.create_type("t", "t").await;
    let d = app
        .create_device(
            json!({ "name": "pre", "type": ty, "organization_id": org, "serial_number": "NEW-1" }),
        )
        .await;
    run_session(&mut c, cpe.inform(&["0 BOOTSTRAP"]), &mut cpe.responder())
        .await
        .unwrap();
    assert_eq!(dev(&app, d["id"].as_i64().unwrap()).await["status"], "Up");
    app.stop().await;

    let app = TestApp::spawn_with(b, |a| {
        a.bootstrap_username = Some("boot".into());
        a.bootstrap_password = Some("strap".into());
        a.auto_register = Some(1);
    })
    .await;
    let org = app.create_org("landing").await;
    assert_eq!(org, 1);
    let mut c = client(&app, "boot", "strap", AuthMode::Digest);
    run_session(
        &mut c,
        cpe.inform(&["0 BOOTSTRAP", "1 BOOT"]),
        &mut cpe.responder(),
    )
    .await
    .unwrap();
    let list = app.get("/api/v1/inventory_device/").await.body;
    assert_eq!(list["count"], 1);
    let d = &list["results"][0];
    assert_eq!(d["organization_id"], org);
    assert_eq!(d["serial_number"], "NEW-1");
    assert_eq!(d["name"], "EC43F6-P-2601HN-F1-NEW-1");
    assert_eq!(d["status"], "Up");
    let ty = app
        .get(&format!("/api/v1/inventory_device_type/{}/", d["type"]))
        .await
        .body;
    assert_eq!(ty["product_class"], "P-2601HN-F1");
    // Its next session reuses the same device; wrong bootstrap password is refused.
    run_session(&mut c, cpe.inform(&["2 PERIODIC"]), &mut cpe.responder())
        .await
        .unwrap();
    assert_eq!(app.get("/api/v1/inventory_device/").await.body["count"], 1);
    let mut bad = client(&app, "boot", "nope", AuthMode::Digest);
    assert!(
        run_session(
            &mut bad,
            Cpe::tr098("NEW-2").inform(&["0 BOOTSTRAP"]),
            &mut cpe.responder()
        )
        .await
        .is_err()
    );
    assert_eq!(app.get("/api/v1/inventory_device/").await.body["count"], 1);
    app.stop().await;
}

async fn session_flow_details(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = device(&app, "cpe-5", "pw", None).await;
    let cpe = Cpe::tr181("SN-5");
    let mut c = client(&app, "cpe-5", "pw", AuthMode::Digest);
    // CWMP 1.4 negotiation, ID echo, cookie.
    let header = Header {
        id: Some("abc-123".into()),
        supported_cwmp_versions: Some("1.0,1.1,1.2,1.3,1.4".into()),
        ..Header::default()
    };
    let r = c
        .post(cpe.inform_with(&["6 CONNECTION REQUEST"], header), true)
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let env = cwmp::parse(&r.body, &cwmp::Limits::default()).unwrap();
    assert_eq!(env.body, Body::InformResponse { max_envelopes: 1 });
    assert_eq!(env.header.id.as_deref(), Some("abc-123"));
    assert_eq!(env.header.use_cwmp_version.as_deref(), Some("1.4"));
    assert_eq!(env.ns, CwmpNs::V1_2, "answered in the CPE's namespace");
    assert!(!r.body.starts_with(b"<?xml"), "no XML declaration");
    assert!(c.cookie().unwrap().starts_with("ferroacs_session="));
    // A CPE request the ACS does not implement: fault 8000 with the ID echoed.
    let kicked = cwmp::to_vec(&Envelope::new(
        cpe.ns,
        Header::with_id("k1"),
        Body::Kicked(cwmp::Kicked {
            command: "x".into(),
            referer: "y".into(),
            arg: "z".into(),
            next: "n".into(),
        }),
    ));
    let r = c.post(kicked, false).await.unwrap();
    let env = cwmp::parse(&r.body, &cwmp::Limits::default()).unwrap();
    let Body::Fault(f) = env.body else {
        panic!("expected a fault")
    };
    assert_eq!(f.fault_code, 8000);
    assert_eq!(env.header.id.as_deref(), Some("k1"));
    // GetRPCMethods and TransferComplete are answered.
    let r = c
        .post(
            cwmp::to_vec(&Envelope::new(
                cpe.ns,
                Header::with_id("g"),
                Body::GetRPCMethods,
            )),
            false,
        )
        .await
        .unwrap();
    let Body::GetRPCMethodsResponse(m) =
        cwmp::parse(&r.body, &cwmp::Limits::default()).unwrap().body
    else {
        panic!()
    };
    assert!(m.contains(&"Inform".to_string()));
    let tc = Body::TransferComplete(cwmp::TransferComplete {
        command_key: "k".into(),
        fault: None,
        start_time: None,
        complete_time: None,
    });
    let r = c
        .post(
            cwmp::to_vec(&Envelope::new(cpe.ns, Header::with_id("t"), tc)),
            false,
        )
        .await
        .unwrap();
    assert_eq!(
        cwmp::parse(&r.body, &cwmp::Limits::default()).unwrap().body,
        Body::TransferCompleteResponse
    );
    // Empty POST: the ACS asks for what it lacks.
    let r = c.post(Vec::new(), false).await.unwrap();
    let req = cwmp::parse(&r.body, &cwmp::Limits::default()).unwrap();
    assert!(matches!(req.body, Body::GetParameterValues(_)));
    let id_sent = req.header.id.clone().unwrap();
    assert!(id_sent.len() <= 8, "short cwmp:ID");
    // The CPE faults it; the ACS moves on (to the connection-request credentials), the CPE
    // faults that too, and the ACS ends the session.
    let f = Envelope::new(
        cpe.ns,
        Header::with_id(id_sent),
        Body::Fault(cwmp::Fault::new(9005, "Invalid parameter name")),
    );
    let r = c.post(cwmp::to_vec(&f), false).await.unwrap();
    let req = cwmp::parse(&r.body, &cwmp::Limits::default()).unwrap();
    assert!(
        matches!(req.body, Body::SetParameterValues { .. }),
        "{:?}",
        req.body
    );
    let f = Envelope::new(
        cpe.ns,
        Header {
            id: req.header.id,
            ..Header::default()
        },
        Body::Fault(cwmp::Fault::new(9001, "Request denied")),
    );
    let r = c.post(cwmp::to_vec(&f), false).await.unwrap();
    assert_eq!(r.status, 204);
    assert_eq!(
        app.running.as_ref().unwrap().acs.sessions.len(),
        0,
        "ended sessions are dropped"
    );
    assert_eq!(dev(&app, id).await["status"], "Up");

    // HoldRequests: the ACS sends nothing while the CPE holds requests.
    let hold = Header {
        id: Some("h".into()),
        hold_requests: Some(true),
        ..Header::default()
    };
    let r = c
        .post(cpe.inform_with(&["2 PERIODIC"], hold), true)
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let gr = Envelope::new(
        cpe.ns,
        Header {
            id: Some("g2".into()),
            hold_requests: Some(true),
            ..Header::default()
        },
        Body::GetRPCMethods,
    );
    c.post(cwmp::to_vec(&gr), false).await.unwrap();
    let r = c.post(Vec::new(), false).await.unwrap();
    assert_eq!(
        r.status,
        204,
        "no request while held: {}",
        String::from_utf8_lossy(&r.body)
    );

    // A message outside any session (no Inform first) just ends: the CPE starts over with an
    // Inform (a fault here would make some CPEs answer it, over and over).
    let mut fresh = client(&app, "cpe-5", "pw", AuthMode::Digest);
    let r = fresh
        .post(
            cwmp::to_vec(&Envelope::new(
                cpe.ns,
                Header::with_id("x"),
                Body::GetRPCMethods,
            )),
            true,
        )
        .await
        .unwrap();
    assert_eq!(r.status, 204);
    assert!(r.body.is_empty());
    app.stop().await;
}

async fn second_session_takes_over(b: Backend) {
    let app = TestApp::spawn(b).await;
    device(&app, "cpe-6", "pw", None).await;
    let cpe = Cpe::tr098("SN-6");
    let mut a = client(&app, "cpe-6", "pw", AuthMode::Digest);
    let mut b2 = client(&app, "cpe-6", "pw", AuthMode::Digest);
    assert_eq!(
        a.post(cpe.inform(&["1 BOOT"]), true).await.unwrap().status,
        200
    );
    assert_eq!(
        b2.post(cpe.inform(&["1 BOOT"]), true).await.unwrap().status,
        200
    );
    // The first session was ended by the second: its empty POST ends it.
    assert_eq!(a.post(Vec::new(), false).await.unwrap().status, 204);
    // The second one goes on normally.
    let r = b2.post(Vec::new(), false).await.unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(app.running.as_ref().unwrap().acs.sessions.len(), 1);
    app.stop().await;
}

async fn sweeper_and_expiry(b: Backend) {
    let app = TestApp::spawn_with(b, |a| {
        a.session_timeout = 1;
        a.down_after_intervals = 1;
        // The credentials stay cached (with the device as it was: Up) across the sweep.
        a.auth_cache_ttl = 3600;
    })
    .await;
    let id = device(&app, "cpe-7", "pw", None).await;
    app.patch(
        &format!("/api/v1/inventory_device/{id}/"),
        json!({ "update_frequency": 1 }),
    )
    .await
    .expect(200);
    let cpe = Cpe::tr098("SN-7");
    let mut c = client(&app, "cpe-7", "pw", AuthMode::Digest);
    assert_eq!(
        c.post(cpe.inform(&["2 PERIODIC"]), true)
            .await
            .unwrap()
            .status,
        200
    );
    let acs = app.running.as_ref().unwrap().acs.clone();
    assert_eq!(acs.sessions.len(), 1);
    assert_eq!(dev(&app, id).await["status"], "Up");
    assert_eq!(acs.sweep().await, 0, "just informed");
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(acs.sessions.len(), 0, "the idle session expired");
    assert_eq!(acs.sweep().await, 1);
    let d = dev(&app, id).await;
    assert_eq!(d["status"], "Down");
    assert_eq!(acs.sweep().await, 0, "flipped once");
    // After expiry the CPE's next POST belongs to no session.
    assert_eq!(c.post(Vec::new(), false).await.unwrap().status, 204);
    // Its next Inform brings it back Up, though the session saw it Up (from the cache).
    let r = c.post(cpe.inform(&["2 PERIODIC"]), true).await.unwrap();
    assert_eq!((r.status, r.challenges), (200, 0), "in at once");
    let back = dev(&app, id).await;
    assert_eq!(back["status"], "Up");
    assert_ne!(back["status_change"], d["status_change"]);
    app.stop().await;
}

/// Periodic Informs reporting what the device reported before leave its stored parameters
/// alone, also while its credentials come from the auth cache (whose entry was made before
/// the first Inform stored the parameters' hash).
async fn unchanged_informs_keep_stored_parameters(b: Backend) {
    let app = TestApp::spawn_with(b, |a| a.auth_cache_ttl = 3600).await;
    let id = device(&app, "cpe-1", "s3cret!", None).await;
    let cpe = Cpe::tr098("EC43F69AF408");
    let mut c = client(&app, "cpe-1", "s3cret!", AuthMode::Digest);
    let updated = |p: &Value| -> (String, String) {
        let r = &p["results"][0];
        (
            r["value"].as_str().unwrap().to_string(),
            r["updated"].as_str().unwrap().to_string(),
        )
    };
    let path = format!(
        "/api/v1/inventory_device/{id}/parameters/?prefix=InternetGatewayDevice.DeviceInfo.HardwareVersion"
    );
    run_session(
        &mut c,
        cpe.inform(&["0 BOOTSTRAP", "1 BOOT"]),
        &mut cpe.responder(),
    )
    .await
    .unwrap();
    let first = updated(&app.get(&path).await.expect(200).body);
    assert_eq!(first.0, "HW-1.0");
    for _ in 0..2 {
        let before = dev(&app, id).await["last_connection"].clone();
        let t = run_session(&mut c, cpe.inform(&["2 PERIODIC"]), &mut cpe.responder())
            .await
            .unwrap();
        assert!(t.requests.is_empty(), "{:?}", t.lines);
        assert_ne!(dev(&app, id).await["last_connection"], before);
        assert_eq!(
            updated(&app.get(&path).await.expect(200).body),
            first,
            "an unchanged Inform rewrote the stored parameters"
        );
    }
    // Another instance stored other values meanwhile (this one's cache still has the old
    // hash): the CPE's next Inform, reporting what it reported before, is stored again.
    let sql = [
        "UPDATE device_parameters SET value = 'HW-other' WHERE name = 'InternetGatewayDevice.DeviceInfo.HardwareVersion'",
        "UPDATE devices SET inform_params_hash = 'written-elsewhere'",
    ];
    match b {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&app.db.url).await.unwrap();
            for q in sql {
                sqlx::query(q).execute(&pool).await.unwrap();
            }
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&app.db.url).await.unwrap();
            for q in sql {
                sqlx::query(q).execute(&pool).await.unwrap();
            }
        }
    }
    assert_eq!(
        updated(&app.get(&path).await.expect(200).body).0,
        "HW-other"
    );
    let t = run_session(
        &mut c,
        cpe.inform(&["4 VALUE CHANGE"]),
        &mut cpe.responder(),
    )
    .await
    .unwrap();
    assert!(t.requests.is_empty(), "{:?}", t.lines);
    assert_eq!(
        updated(&app.get(&path).await.expect(200).body).0,
        "HW-1.0",
        "the CPE's values were not stored over the other instance's"
    );
    app.stop().await;
}

both_backends!(
    unchanged_informs_keep_stored_parameters,
    digest_session_updates_the_inventory,
    quirky_cpes_get_in,
    basic_only_when_allowed,
    refusals_change_nothing,
    auto_registration,
    session_flow_details,
    second_session_takes_over,
    sweeper_and_expiry,
);

/// With --tls-cert/--tls-key the CWMP endpoint speaks HTTPS, and Basic is accepted there.
#[tokio::test]
async fn cwmp_over_tls_accepts_basic() {
    ferroacs::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let (cert_path, key_path) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let app = TestApp::spawn_with(Backend::Sqlite, |a| {
        a.tls_cert = Some(cert_path.clone());
        a.tls_key = Some(key_path.clone());
    })
    .await;
    // The harness talks plain HTTP to the API: register through the store instead.
    let store = app.running.as_ref().unwrap().store.clone();
    use ferroacs::store::{Table, Val};
    let org = store
        .insert(
            Table::Organizations,
            &vec![
                ("name", Val::Text(Some("o".into()))),
                ("created", Val::Int(Some(0))),
            ],
        )
        .await
        .unwrap();
    let ty = store
        .insert(
            Table::DeviceTypes,
            &vec![
                ("name", Val::Text(Some("t".into()))),
                ("short_name", Val::Text(Some("t".into()))),
                ("created", Val::Int(Some(0))),
            ],
        )
        .await
        .unwrap();
    let creds = ferroacs::digest::StoredCredentials::derive("tls-cpe", "tls-pw", "ferroacs");
    let id = store
        .insert(
            Table::Devices,
            &vec![
                ("uuid", Val::Text(Some("u-1".into()))),
                ("name", Val::Text(Some("tls".into()))),
                ("status_change", Val::Int(Some(0))),
                ("type_id", Val::Int(Some(ty))),
                ("organization_id", Val::Int(Some(org))),
                ("username", Val::Text(Some("tls-cpe".into()))),
                ("ha1_md5", Val::Text(Some(creds.ha1_md5))),
                ("ha1_sha256", Val::Text(Some(creds.ha1_sha256))),
                ("basic_hash", Val::Text(Some(creds.basic_hash))),
                ("last_change", Val::Int(Some(0))),
                ("created", Val::Int(Some(0))),
            ],
        )
        .await
        .unwrap();
    let cpe = Cpe::tr098("SN-TLS");
    for mode in [AuthMode::Basic, AuthMode::Digest] {
        let mut o = ClientOptions::new(format!("https://localhost:{}/", app.cwmp_addr.port()))
            .credentials("tls-cpe", "tls-pw");
        o.auth = mode;
        o.root_cert_pem = Some(cert.cert.pem().into_bytes());
        let mut c = CpeClient::new(o).unwrap();
        run_session(&mut c, cpe.inform(&["2 PERIODIC"]), &mut cpe.responder())
            .await
            .unwrap();
    }
    let d = store
        .get_device(id, &ferroacs::store::Scope::All)
        .await
        .unwrap()
        .unwrap();
    assert!(d.status_up);
    assert_eq!(d.serial_number.as_deref(), Some("SN-TLS"));
    // Plain HTTP to the TLS port is not a CWMP session.
    let plain = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{}/", app.cwmp_addr.port()))
        .body(cpe.inform(&["2 PERIODIC"]))
        .send()
        .await;
    assert!(plain.map(|r| r.status() != 200).unwrap_or(true));
    app.stop().await;
}

/// A CPE that half-closes its connection after sending a request still gets the answer, also
/// when the request waited for a processing slot (the ACS does not read ahead for EOF while it
/// works on a request).
#[tokio::test]
async fn half_closed_request_is_answered() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn(Backend::Sqlite).await;
    let id = device(&app, "cpe-h", "pw", None).await;
    let acs = app.running.as_ref().unwrap().acs.clone();
    // Every processing slot taken: the request waits, its body read, its connection idle.
    let permits = acs.inflight.available_permits() as u32;
    let held = acs.inflight.acquire_many(permits).await.unwrap();
    let mut s = tokio::net::TcpStream::connect(app.cwmp_addr).await.unwrap();
    let body = Cpe::tr098("SN-H").inform(&["2 PERIODIC"]);
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n",
        app.cwmp_addr,
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(&body).await.unwrap();
    s.shutdown().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    drop(held);
    let mut answer = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        s.read_to_end(&mut answer),
    )
    .await
    .expect("answered in time")
    .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 401"),
        "an Inform without credentials is challenged: {answer:?}"
    );
    assert!(
        answer.contains("WWW-Authenticate: Digest") || answer.contains("www-authenticate: Digest")
    );
    assert_eq!(dev(&app, id).await["status"], "Down", "nothing recorded");
    app.stop().await;
}
