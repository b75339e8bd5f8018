//! Device operations end to end: what an admin writes through the REST API reaches the CPE
//! simulator over CWMP, is confirmed by it, and the outcome shows in the API. Both back ends.

mod common;

use std::time::Duration;

use common::{Backend, TestApp};
use ferroacs::cpe::CpeClient;
use ferroacs::cpe::datamodel::DataModel;
use ferroacs::cpe::simulator::Simulator;
use ferroacs::cwmp::Body;
use serde_json::{Value, json};
use sha2::Digest as _;

const WLAN: &str = "InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.";
const MS: &str = "InternetGatewayDevice.ManagementServer.";
const QUIET: Duration = Duration::from_millis(800);

/// A running ferroacs with quick retries and no connection-request rate limit.
async fn app(b: Backend) -> TestApp {
    TestApp::spawn_with(b, |a| {
        a.retry_backoff = 0;
        a.connection_request_interval = 0;
        a.sync_batch = 7;
        a.operation_timeout = 60;
    })
    .await
}

struct Cpe {
    id: i64,
    sim: Simulator,
    client: CpeClient,
    type_id: i64,
}

/// Registers a device (its type carrying `type_settings`) and runs its first contact.
async fn onboard(app: &TestApp, serial: &str, type_settings: Value) -> Cpe {
    let org = match app.get("/api/v1/organization/").await.body["results"][0]["id"].as_i64() {
        Some(o) => o,
        None => app.create_org("acme").await,
    };
    let ty = app
        .post(
            "/api/v1/inventory_device_type/",
            json!({ "name": format!("gw-{serial}"), "short_name": "gw", "settings": type_settings }),
        )
        .await
        .expect(201)
        .body["id"]
        .as_i64()
        .unwrap();
    let user = format!("cpe-{serial}");
    let d = app
        .create_device(json!({
            "name": serial, "type": ty, "organization_id": org, "serial_number": serial,
            "username": user, "password": "pw-1234"
        }))
        .await;
    let id = d["id"].as_i64().unwrap();
    let sim = Simulator::builder(DataModel::builtin_tr098())
        .serial(serial)
        .acs(format!("http://{}/", app.cwmp_addr), &user, "pw-1234")
        .build();
    sim.start_connection_request_server().await.unwrap();
    let mut client = CpeClient::new(sim.client_options()).unwrap();
    sim.run_until_idle(&mut client).await.unwrap();
    Cpe {
        id,
        sim,
        client,
        type_id: ty,
    }
}

async fn dev(app: &TestApp, id: i64) -> Value {
    app.get(&format!("/api/v1/inventory_device/{id}/?pending=true"))
        .await
        .expect(200)
        .body
}

async fn patch(app: &TestApp, id: i64, body: Value) -> Value {
    app.patch(&format!("/api/v1/inventory_device/{id}/"), body)
        .await
        .expect(200)
        .body
}

fn item<'a>(d: &'a Value, name: &str) -> Option<&'a Value> {
    d["pending"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == name)
}

/// Waits for the ACS's connection request, then serves sessions until quiet.
async fn woken(app: &TestApp, c: &mut Cpe) -> Vec<ferroacs::cpe::simulator::SessionLog> {
    assert!(
        c.sim.wait_connection_request(Duration::from_secs(10)).await,
        "the ACS sent a connection request; device: {}",
        dev(app, c.id).await
    );
    c.sim.serve_until_quiet(&mut c.client, QUIET).await.unwrap()
}

fn methods(logs: &[ferroacs::cpe::simulator::SessionLog]) -> Vec<&'static str> {
    logs.iter().flat_map(|l| l.methods()).collect()
}

async fn settings_reach_the_cpe(b: Backend) {
    let app = app(b).await;
    let mut c = onboard(
        &app,
        "SET-1",
        json!({ "wifi_config": { format!("{WLAN}SSID"): "Office", format!("{WLAN}KeyPassphrase"): "s3cret-pass" } }),
    )
    .await;
    // First contact applied the type's settings and the connection-request credentials.
    assert_eq!(
        c.sim.value(&format!("{WLAN}SSID")).as_deref(),
        Some("Office")
    );
    assert_eq!(
        c.sim.value(&format!("{WLAN}KeyPassphrase")).as_deref(),
        Some("s3cret-pass")
    );
    assert_eq!(
        c.sim.value(&format!("{MS}ConnectionRequestUsername")),
        Some(format!("ferroacs-{}", c.id))
    );
    let d = dev(&app, c.id).await;
    assert_eq!(d["pending_settings"], "none", "{d}");
    assert!(d["last_configuration"].is_string());
    assert_eq!(
        d["effective_settings"]["wifi_config"][format!("{WLAN}SSID")]["value"],
        "Office"
    );
    assert_eq!(
        d["effective_settings"]["wifi_config"][format!("{WLAN}KeyPassphrase")]["value"],
        "********"
    );
    assert!(
        !d.to_string().contains("s3cret-pass"),
        "secrets are never returned"
    );
    // A per-device override: pending at once, a connection request, then confirmed.
    let d = patch(
        &app,
        c.id,
        json!({ "settings": { "wifi_config": { format!("{WLAN}SSID"): "Branch-7" } } }),
    )
    .await;
    assert_eq!(d["pending_settings"], "wifi_config");
    let logs = woken(&app, &mut c).await;
    assert!(logs[0].has_event("6 CONNECTION REQUEST"));
    assert_eq!(
        c.sim.value(&format!("{WLAN}SSID")).as_deref(),
        Some("Branch-7")
    );
    let d = dev(&app, c.id).await;
    assert_eq!(d["pending_settings"], "none", "{d}");
    // A change of the type's defaults reaches its devices too (the override still wins).
    let ty = format!("/api/v1/inventory_device_type/{}/", c.type_id);
    app.patch(&ty, json!({ "settings": { "wifi_config": { format!("{WLAN}SSID"): "Office", format!("{WLAN}Enable"): false } } }))
        .await
        .expect(200);
    assert_eq!(dev(&app, c.id).await["pending_settings"], "wifi_config");
    woken(&app, &mut c).await;
    assert!(matches!(
        c.sim.value(&format!("{WLAN}Enable")).as_deref(),
        Some("0" | "false")
    ));
    assert_eq!(
        c.sim.value(&format!("{WLAN}SSID")).as_deref(),
        Some("Branch-7")
    );
    assert_eq!(dev(&app, c.id).await["pending_settings"], "none");
    // Nothing pending: a periodic session asks nothing.
    let log = c.sim.run_session(&mut c.client).await.unwrap();
    assert!(log.requests().is_empty(), "{:?}", log.lines);
    app.stop().await;
}

async fn faults_are_retried_or_given_up(b: Backend) {
    let app = app(b).await;
    let mut c = onboard(&app, "FLT-1", json!({})).await;
    // A transient fault: recorded, retried, then confirmed.
    c.sim.fail_next(format!("{WLAN}SSID").as_str(), 9002, 1);
    patch(
        &app,
        c.id,
        json!({ "settings": { "wifi": { format!("{WLAN}SSID"): "Retry-Me" } } }),
    )
    .await;
    c.sim.wait_connection_request(Duration::from_secs(10)).await;
    c.sim.run_until_idle(&mut c.client).await.unwrap();
    let d = dev(&app, c.id).await;
    let it = item(&d, "wifi").expect("still pending after the fault");
    assert_eq!(it["attempts"], 1);
    assert!(it["last_fault"].as_str().unwrap().contains("9002"), "{it}");
    assert_eq!(it["given_up"], false);
    assert_eq!(it["parameters"][format!("{WLAN}SSID")], "Retry-Me");
    let log = c.sim.run_session(&mut c.client).await.unwrap();
    assert!(log.methods().contains(&"SetParameterValues"));
    assert_eq!(
        c.sim.value(&format!("{WLAN}SSID")).as_deref(),
        Some("Retry-Me")
    );
    assert_eq!(dev(&app, c.id).await["pending_settings"], "none");
    // A fault that will never go away (non-writable parameter): not retried, and visible.
    c.sim.set_writable(&format!("{WLAN}SSID"), false);
    patch(
        &app,
        c.id,
        json!({ "settings": { "wifi": { format!("{WLAN}SSID"): "Never" } } }),
    )
    .await;
    c.sim.wait_connection_request(Duration::from_secs(10)).await;
    c.sim.run_until_idle(&mut c.client).await.unwrap();
    let d = dev(&app, c.id).await;
    let it = item(&d, "wifi").unwrap();
    assert_eq!(it["given_up"], true, "{it}");
    assert!(it["last_fault"].as_str().unwrap().contains("9008"), "{it}");
    let log = c.sim.run_session(&mut c.client).await.unwrap();
    assert!(
        !log.methods().contains(&"SetParameterValues"),
        "not retried: {:?}",
        log.lines
    );
    // New desired values start afresh.
    c.sim.set_writable(&format!("{WLAN}SSID"), true);
    patch(
        &app,
        c.id,
        json!({ "settings": { "wifi": { format!("{WLAN}SSID"): "Fixed" } } }),
    )
    .await;
    woken(&app, &mut c).await;
    assert_eq!(
        c.sim.value(&format!("{WLAN}SSID")).as_deref(),
        Some("Fixed")
    );
    assert_eq!(dev(&app, c.id).await["pending_settings"], "none");
    app.stop().await;
}

async fn settings_survive_a_dropped_connection(b: Backend) {
    let app = app(b).await;
    let mut c = onboard(&app, "DRP-1", json!({})).await;
    let ssid = format!("{WLAN}SSID");
    // The CPE applies the SetParameterValues, then the connection breaks before its response:
    // the ACS has no confirmation, so the group stays pending and is sent again.
    c.sim.drop_after("SetParameterValues");
    patch(
        &app,
        c.id,
        json!({ "settings": { "wifi": { ssid.clone(): "Half-Done" } } }),
    )
    .await;
    assert!(c.sim.wait_connection_request(Duration::from_secs(10)).await);
    let log = c.sim.run_session(&mut c.client).await.unwrap();
    assert!(log.methods().contains(&"SetParameterValues"));
    assert_eq!(c.sim.value(&ssid).as_deref(), Some("Half-Done"));
    let d = dev(&app, c.id).await;
    assert_eq!(d["pending_settings"], "wifi", "{d}");
    assert!(item(&d, "wifi").is_some());
    let log = c.sim.run_session(&mut c.client).await.unwrap();
    assert!(log.methods().contains(&"SetParameterValues"), "sent again");
    assert_eq!(dev(&app, c.id).await["pending_settings"], "none");
    // Dropped before the CPE applied anything: nothing changed on the CPE, still pending.
    c.sim.drop_before("SetParameterValues");
    patch(
        &app,
        c.id,
        json!({ "settings": { "wifi": { ssid.clone(): "Second" } } }),
    )
    .await;
    assert!(c.sim.wait_connection_request(Duration::from_secs(10)).await);
    c.sim.run_session(&mut c.client).await.unwrap();
    assert_eq!(c.sim.value(&ssid).as_deref(), Some("Half-Done"));
    assert_eq!(dev(&app, c.id).await["pending_settings"], "wifi");
    let log = c.sim.run_session(&mut c.client).await.unwrap();
    assert!(log.methods().contains(&"SetParameterValues"));
    assert_eq!(c.sim.value(&ssid).as_deref(), Some("Second"));
    assert_eq!(dev(&app, c.id).await["pending_settings"], "none");
    app.stop().await;
}

async fn reboot_once_even_when_the_connection_drops(b: Backend) {
    let app = app(b).await;
    let mut c = onboard(&app, "RBT-1", json!({})).await;
    let d = patch(&app, c.id, json!({ "reboot": true })).await;
    assert_eq!(d["reboot"], true);
    assert_eq!(d["pending_settings"], "reboot_requested");
    // The CPE reboots on the Reboot without answering it.
    c.sim.drop_after("Reboot");
    let logs = woken(&app, &mut c).await;
    assert!(methods(&logs).contains(&"Reboot"));
    assert_eq!(c.sim.reboots(), 1);
    let back = logs
        .iter()
        .find(|l| l.has_event("M Reboot"))
        .expect("came back with M Reboot");
    assert!(back.has_event("1 BOOT"));
    let d = dev(&app, c.id).await;
    assert_eq!(d["reboot"], false, "{d}");
    assert_eq!(d["pending_settings"], "none");
    // Rebooting again is a new operation.
    patch(&app, c.id, json!({ "reboot": true })).await;
    woken(&app, &mut c).await;
    assert_eq!(c.sim.reboots(), 2);
    assert_eq!(dev(&app, c.id).await["reboot"], false);
    app.stop().await;
}

async fn concurrent_sessions_do_not_reboot_twice(b: Backend) {
    let app = app(b).await;
    let mut c = onboard(&app, "RBT-2", json!({})).await;
    patch(&app, c.id, json!({ "reboot": true })).await;
    c.sim.wait_connection_request(Duration::from_secs(10)).await;
    // Session A receives the Reboot ...
    let mut a = c.sim.begin_session(&mut c.client).await.unwrap();
    let step = a.step(&mut c.client).await.unwrap();
    assert!(
        matches!(step, ferroacs::cpe::simulator::Step::Request { ref request, .. } if matches!(**request, Body::Reboot { .. })),
        "{step:?}"
    );
    // ... and before it ends, a second session of the same device starts (no BOOT yet).
    let mut other = CpeClient::new(c.sim.client_options()).unwrap();
    let b2 = match c.sim.run_session(&mut other).await {
        Ok(l) => l,
        Err(e) => panic!("{e}: {:?}", c.sim.last_transcript().map(|t| t.lines)),
    };
    assert!(
        !b2.methods().contains(&"Reboot"),
        "not sent twice: {:?}",
        b2.lines
    );
    a.finish(&mut c.client).await.unwrap();
    c.sim.run_until_idle(&mut c.client).await.unwrap();
    assert_eq!(c.sim.reboots(), 1);
    assert_eq!(dev(&app, c.id).await["reboot"], false);
    app.stop().await;
}

async fn factory_reset_then_settings_again(b: Backend) {
    let app = app(b).await;
    let mut c = onboard(
        &app,
        "FRS-1",
        json!({ "wifi": { format!("{WLAN}SSID"): "Corp" } }),
    )
    .await;
    assert_eq!(c.sim.value(&format!("{WLAN}SSID")).as_deref(), Some("Corp"));
    let d = patch(&app, c.id, json!({ "factory": true })).await;
    assert_eq!(d["pending_settings"], "factory_reset_requested");
    // Deleting is refused while the reset is in flight.
    app.delete(&format!("/api/v1/inventory_device/{}/", c.id))
        .await
        .expect(409);
    let logs = woken(&app, &mut c).await;
    assert_eq!(c.sim.factory_resets(), 1);
    assert!(logs.iter().any(|l| l.has_event("0 BOOTSTRAP")));
    // After the reset the settings and the connection-request credentials are back.
    assert_eq!(c.sim.value(&format!("{WLAN}SSID")).as_deref(), Some("Corp"));
    assert_eq!(
        c.sim.value(&format!("{MS}ConnectionRequestUsername")),
        Some(format!("ferroacs-{}", c.id))
    );
    let d = dev(&app, c.id).await;
    assert_eq!(d["factory"], false);
    assert_eq!(d["pending_settings"], "none", "{d}");
    app.stop().await;
}

async fn sync_reads_the_whole_tree(b: Backend) {
    let app = app(b).await;
    let mut c = onboard(&app, "SYN-1", json!({})).await;
    let d = patch(&app, c.id, json!({ "sync": true })).await;
    assert_eq!(d["pending_settings"], "sync_requested");
    let logs = woken(&app, &mut c).await;
    let gpv = logs
        .iter()
        .flat_map(|l| l.requests())
        .filter(|r| matches!(r, Body::GetParameterValues(_)))
        .count();
    let leaves = c
        .sim
        .entries("InternetGatewayDevice.")
        .into_iter()
        .filter(|(n, _)| !n.ends_with('.'))
        .count();
    assert!(methods(&logs).contains(&"GetParameterNames"));
    assert_eq!(gpv, leaves.div_ceil(7), "batches of --sync-batch values");
    let d = dev(&app, c.id).await;
    assert_eq!(d["sync"], false);
    assert_eq!(d["pending_settings"], "none");
    let p = app
        .get(&format!(
            "/api/v1/inventory_device/{}/parameters/?limit=1000",
            c.id
        ))
        .await
        .body;
    assert_eq!(p["count"], leaves);
    let ssid = p["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == format!("{WLAN}SSID"))
        .unwrap();
    assert_eq!(ssid["value"], "ferroacs-sim");
    assert_eq!(ssid["writable"], true);
    let p = app
        .get(&format!(
            "/api/v1/inventory_device/{}/parameters/?prefix={WLAN}&limit=2",
            c.id
        ))
        .await
        .body;
    assert!(p["count"].as_i64().unwrap() >= 3);
    assert_eq!(p["results"].as_array().unwrap().len(), 2);
    assert!(p["next"].as_str().unwrap().contains("prefix="));
    app.stop().await;
}

async fn firmware_upgrade_and_failure(b: Backend) {
    let app = app(b).await;
    let mut c = onboard(&app, "FW-1", json!({})).await;
    let image: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
    let (fw, sha) = upload_image(&app, "9.9.9", &image).await;
    c.sim.register_firmware(&sha, "9.9.9");
    let d = patch(&app, c.id, json!({ "firmware_image": fw })).await;
    assert_eq!(d["firmware_image_is_pending"], true);
    assert_eq!(d["pending_settings"], "firmware_upgrade_requested");
    let logs = woken(&app, &mut c).await;
    let dl = logs
        .iter()
        .flat_map(|l| l.requests())
        .find_map(|r| match r {
            Body::Download(d) => Some(d.clone()),
            _ => None,
        })
        .expect("a Download was sent");
    assert_eq!(dl.file_type, "1 Firmware Upgrade Image");
    assert_eq!(dl.file_size, image.len() as u64);
    assert!(!dl.command_key.is_empty());
    assert!(logs.iter().any(|l| l.has_event("7 TRANSFER COMPLETE")));
    let d = dev(&app, c.id).await;
    assert_eq!(d["firmware_image_is_pending"], false, "{d}");
    assert_eq!(d["software_version"], "9.9.9");
    assert_eq!(d["pending_settings"], "none");
    // The image is served only under a valid signed URL, with Range and HEAD.
    let http = reqwest::Client::new();
    let r = http
        .get(&dl.url)
        .header("range", "bytes=10-19")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(r.bytes().await.unwrap().to_vec(), image[10..20].to_vec());
    let r = http.head(&dl.url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-length"],
        image.len().to_string().as_str()
    );
    let tampered = dl.url.replacen("/firmware/", "/firmware/1", 1);
    assert_eq!(http.get(&tampered).send().await.unwrap().status(), 403);
    let unsigned = format!("http://{}/firmware/{}/{fw}", app.cwmp_addr, c.id);
    assert_eq!(http.get(&unsigned).send().await.unwrap().status(), 403);

    // A transfer that fails (the file vanished from the server): recorded and visible.
    let (fw2, _) = upload_image(&app, "10.0", &[7u8; 1000]).await;
    std::fs::remove_file(
        app.db
            .dir
            .path()
            .join("data/firmware")
            .join(format!("{fw2}.bin")),
    )
    .unwrap();
    patch(&app, c.id, json!({ "firmware_image": fw2 })).await;
    woken(&app, &mut c).await;
    let d = dev(&app, c.id).await;
    assert_eq!(d["firmware_image_is_pending"], true);
    assert_eq!(d["software_version"], "9.9.9");
    let it = item(&d, "firmware_upgrade_requested").unwrap();
    assert!(it["last_fault"].as_str().unwrap().contains("90"), "{it}");
    assert_eq!(it["given_up"], true);
    // Not retried on its own.
    let log = c.sim.run_session(&mut c.client).await.unwrap();
    assert!(!log.methods().contains(&"Download"));
    app.stop().await;
}

/// Creates a firmware image and uploads its file; returns its id and SHA-256 (hex).
async fn upload_image(app: &TestApp, version: &str, image: &[u8]) -> (i64, String) {
    let fw = app
        .post(
            "/api/v1/inventory_firmware_image/",
            json!({ "name": "ZN", "version": version }),
        )
        .await
        .expect(201)
        .body["id"]
        .as_i64()
        .unwrap();
    let r = app
        .client
        .put(app.url(&format!("/api/v1/inventory_firmware_image/{fw}/file/")))
        .bearer_auth(&app.admin)
        .body(image.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    (fw, hex::encode(sha2::Sha256::digest(image)))
}

async fn firmware_reported_autonomously_or_never(b: Backend) {
    let app = TestApp::spawn_with(b, |a| {
        a.retry_backoff = 0;
        a.connection_request_interval = 0;
        a.download_timeout = 2;
    })
    .await;
    let mut c = onboard(&app, "FW-ATC", json!({})).await;

    // A CPE that reports the requested download as an AutonomousTransferComplete.
    let (fw, sha) = upload_image(&app, "2.0", &[3u8; 5000]).await;
    c.sim.register_firmware(&sha, "2.0");
    c.sim.report_downloads_autonomously(true);
    patch(&app, c.id, json!({ "firmware_image": fw })).await;
    let logs = woken(&app, &mut c).await;
    assert!(methods(&logs).contains(&"Download"));
    let reported = logs
        .iter()
        .find(|l| l.has_event("10 AUTONOMOUS TRANSFER COMPLETE"))
        .expect("the CPE came back with an autonomous report");
    assert!(
        reported
            .cpe_requests
            .iter()
            .any(|(r, _)| matches!(r, Body::AutonomousTransferComplete(_)))
    );
    assert!(logs.iter().all(|l| l.transfer_completes().is_empty()));
    let d = dev(&app, c.id).await;
    assert_eq!(d["firmware_image_is_pending"], false, "{d}");
    assert_eq!(d["software_version"], "2.0");
    assert_eq!(d["pending_settings"], "none");

    // A CPE that takes the Download and is never heard of about it again: after the
    // download timeout the operation is a recorded failure, not resent.
    let (fw2, _) = upload_image(&app, "3.0", &[4u8; 5000]).await;
    c.sim.drop_before("Download");
    patch(&app, c.id, json!({ "firmware_image": fw2 })).await;
    woken(&app, &mut c).await;
    assert!(
        c.sim.transfers().len() == 1,
        "the second image was never fetched"
    );
    let d = dev(&app, c.id).await;
    assert_eq!(d["firmware_image_is_pending"], true);
    let it = item(&d, "firmware_upgrade_requested").unwrap();
    assert_eq!(it["given_up"], false, "{it}");
    let log = c.sim.run_session(&mut c.client).await.unwrap();
    assert!(
        !log.methods().contains(&"Download"),
        "waiting for the TransferComplete, not resending"
    );
    tokio::time::sleep(Duration::from_millis(2500)).await;
    app.running.as_ref().unwrap().acs.sweep().await;
    let d = dev(&app, c.id).await;
    assert_eq!(d["firmware_image_is_pending"], true);
    assert_eq!(d["software_version"], "2.0");
    let it = item(&d, "firmware_upgrade_requested").unwrap();
    assert_eq!(it["given_up"], true, "{it}");
    assert!(
        it["last_fault"].as_str().unwrap().contains("timeout"),
        "{it}"
    );
    let log = c.sim.run_session(&mut c.client).await.unwrap();
    assert!(!log.methods().contains(&"Download"));
    app.stop().await;
}

async fn connection_requests_and_update_status(b: Backend) {
    let app = app(b).await;
    let mut c = onboard(&app, "CR-1", json!({})).await;
    // The liveness probe reaches the CPE: Up even if the inventory had it Down.
    let sql = "UPDATE devices SET status_up = FALSE WHERE id = $1";
    match b {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&app.db.url).await.unwrap();
            sqlx::query(sql).bind(c.id).execute(&pool).await.unwrap();
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&app.db.url).await.unwrap();
            sqlx::query(sql).bind(c.id).execute(&pool).await.unwrap();
        }
    }
    assert_eq!(dev(&app, c.id).await["status"], "Down");
    let r = app
        .get(&format!(
            "/api/v1/inventory_device/{}/?update_status=true",
            c.id
        ))
        .await
        .expect(200)
        .body;
    assert_eq!(r["status"], "Up");
    assert!(c.sim.connection_requests() >= 1);
    c.sim.serve_until_quiet(&mut c.client, QUIET).await.unwrap();
    // Unreachable (nothing listens): the attempt is recorded, the request still answers fast,
    // and the device is not retried in a loop.
    c.sim.set_unreachable(true);
    let before = c.sim.connection_request_attempts();
    let t = std::time::Instant::now();
    let r = app
        .get("/api/v1/inventory_device/?update_status=true")
        .await
        .expect(200)
        .body;
    assert!(t.elapsed() < Duration::from_secs(8));
    assert_eq!(
        r["results"][0]["status"], "Up",
        "still within its Inform interval"
    );
    patch(&app, c.id, json!({ "reboot": true })).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let d = dev(&app, c.id).await;
    let cr = &d["pending"]["connection_request"];
    assert!(cr["last_result"].as_str().unwrap() != "ok", "{cr}");
    assert!(cr["last_attempt"].is_string());
    assert!(
        c.sim.connection_request_attempts() - before <= 3,
        "no tight loop"
    );
    app.stop().await;
}

async fn debug_keeps_transcripts(b: Backend) {
    let app = app(b).await;
    let mut c = onboard(&app, "DBG-1", json!({})).await;
    let s = app
        .get(&format!("/api/v1/inventory_device/{}/sessions/", c.id))
        .await
        .expect(200)
        .body;
    assert_eq!(s["count"], 0, "nothing kept outside debug mode");
    patch(
        &app,
        c.id,
        json!({ "debug": true, "settings": { "g": { format!("{WLAN}SSID"): "Debug" } } }),
    )
    .await;
    woken(&app, &mut c).await;
    let s = app
        .get(&format!("/api/v1/inventory_device/{}/sessions/", c.id))
        .await
        .expect(200)
        .body;
    assert!(s["count"].as_i64().unwrap() >= 1);
    let t = s["results"][0]["transcript"].as_str().unwrap();
    assert!(
        t.contains("Inform") && t.contains("SetParameterValues") && t.contains("Debug"),
        "{t}"
    );
    app.get("/api/v1/inventory_device/999999/sessions/")
        .await
        .expect(404);
    app.stop().await;
}

async fn update_frequency_and_bulk(b: Backend) {
    let app = app(b).await;
    let mut c1 = onboard(&app, "BLK-1", json!({})).await;
    let mut c2 = onboard(&app, "BLK-2", json!({})).await;
    let d = patch(&app, c1.id, json!({ "update_frequency": 120 })).await;
    assert_eq!(d["pending_settings"], "update_frequency");
    woken(&app, &mut c1).await;
    assert_eq!(
        c1.sim
            .value(&format!("{MS}PeriodicInformInterval"))
            .as_deref(),
        Some("120")
    );
    assert_eq!(dev(&app, c1.id).await["pending_settings"], "none");
    // Bulk: reboot both, inside the caller's scope, counts reported.
    let r = app
        .post(
            "/api/v1/inventory_device/bulk/",
            json!({ "filter": { "ids": [c1.id, c2.id] }, "update": { "reboot": true } }),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(r["matched"], 2);
    assert_eq!(r["updated"], 2);
    woken(&app, &mut c1).await;
    woken(&app, &mut c2).await;
    assert_eq!((c1.sim.reboots(), c2.sim.reboots()), (1, 1));
    for id in [c1.id, c2.id] {
        assert_eq!(dev(&app, id).await["reboot"], false);
    }
    let bad = app
        .post(
            "/api/v1/inventory_device/bulk/",
            json!({ "filter": {}, "update": { "username": "x" } }),
        )
        .await
        .expect(400);
    assert!(bad.body["update"].is_array());
    app.post(
        "/api/v1/inventory_device/bulk/",
        json!({ "update": { "reboot": true } }),
    )
    .await
    .expect(400);
    let other = app.create_org("other").await;
    let scoped = app.scoped_token("s", &[other]).await;
    let r = app
        .send(
            "POST",
            "/api/v1/inventory_device/bulk/",
            Some(&scoped),
            Some(json!({ "filter": {}, "update": { "reboot": true } })),
        )
        .await
        .expect(200);
    assert_eq!(
        r.body["matched"], 0,
        "another organization's devices are out of scope"
    );
    app.stop().await;
}

async fn restart_with_operations_pending(b: Backend) {
    let mut app = app(b).await;
    let mut c = onboard(&app, "RST-1", json!({})).await;
    c.sim.set_unreachable(true);
    patch(
        &app,
        c.id,
        json!({ "reboot": true, "settings": { "g": { format!("{WLAN}SSID"): "After-Restart" } } }),
    )
    .await;
    // Killed before the CPE came: the work is in the database.
    app.restart().await;
    c.sim.set_unreachable(false);
    let mut client = CpeClient::new(ferroacs::cpe::ClientOptions {
        url: format!("http://{}/", app.cwmp_addr),
        ..c.sim.client_options()
    })
    .unwrap();
    c.sim.run_session(&mut client).await.unwrap();
    c.sim.run_until_idle(&mut client).await.unwrap();
    assert_eq!(
        c.sim.value(&format!("{WLAN}SSID")).as_deref(),
        Some("After-Restart")
    );
    assert_eq!(c.sim.reboots(), 1);
    let d = dev(&app, c.id).await;
    assert_eq!(d["pending_settings"], "none", "{d}");
    // Restarted in the middle of a session: the CPE's next POST has no session, nothing is
    // lost, and the next session finishes the work.
    patch(
        &app,
        c.id,
        json!({ "settings": { "g": { format!("{WLAN}SSID"): "Mid-Session" } } }),
    )
    .await;
    let mut s = c.sim.begin_session(&mut client).await.unwrap();
    app.restart().await;
    let _ = s.step(&mut client).await;
    let mut client = CpeClient::new(ferroacs::cpe::ClientOptions {
        url: format!("http://{}/", app.cwmp_addr),
        ..c.sim.client_options()
    })
    .unwrap();
    c.sim.run_session(&mut client).await.unwrap();
    assert_eq!(
        c.sim.value(&format!("{WLAN}SSID")).as_deref(),
        Some("Mid-Session")
    );
    assert_eq!(dev(&app, c.id).await["pending_settings"], "none");
    let _ = &mut c.client;
    app.stop().await;
}

both_backends!(
    settings_reach_the_cpe,
    faults_are_retried_or_given_up,
    settings_survive_a_dropped_connection,
    reboot_once_even_when_the_connection_drops,
    concurrent_sessions_do_not_reboot_twice,
    factory_reset_then_settings_again,
    sync_reads_the_whole_tree,
    firmware_upgrade_and_failure,
    firmware_reported_autonomously_or_never,
    connection_requests_and_update_status,
    debug_keeps_transcripts,
    update_frequency_and_bulk,
    restart_with_operations_pending,
);
