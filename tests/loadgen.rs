//! `ferroacs loadgen` (the real binary) against a running ferroacs: registration through the
//! REST API, Digest sessions, queued settings, reboots and firmware upgrades each confirmed by the
//! simulated CPEs, REST load alongside, the JSON report, and a non-zero exit on errors.

mod common;

use common::{Backend, TestApp};
use serde_json::Value;

async fn loadgen(app: &TestApp, extra: &[&str]) -> (bool, Value, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_ferroacs"))
        .args([
            "loadgen",
            "--api",
            &app.base,
            "--cwmp",
            &format!("http://{}/", app.cwmp_addr),
            "--devices",
            "40",
            "--cpes",
            "4",
            "--duration",
            "2",
            "--json",
        ])
        .args(extra)
        .env("FERROACS_TOKEN", &app.admin)
        .env("FERROACS_LOG", "warn")
        .output()
        .await
        .expect("loadgen runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    // The JSON report is everything before the final RESULT line.
    let json = stdout
        .rsplit_once("\nRESULT ")
        .map(|(j, _)| j)
        .unwrap_or(&stdout);
    let report: Value = serde_json::from_str(json)
        .unwrap_or_else(|e| panic!("JSON report ({e}): {stdout}\nstderr: {stderr}"));
    (out.status.success(), report, stderr)
}

async fn sessions_with_every_kind_of_work(b: Backend) {
    let app = TestApp::spawn_with(b, |a| {
        a.retry_backoff = 0;
        a.connection_request_interval = 0;
    })
    .await;
    let (ok, report, stderr) = loadgen(
        &app,
        &[
            "--work-share",
            "0.3",
            "--work-kinds",
            "settings,reboot,firmware",
            "--rest-rate",
            "20",
            "--close-share",
            "0.5",
        ],
    )
    .await;
    assert!(ok, "clean run: {report}\n{stderr}");
    assert_eq!(report["lost_operations"], 0);
    assert_eq!(report["errors"], serde_json::json!({}));
    let sessions = report["kinds"]["session"]["count"].as_u64().unwrap();
    assert!(sessions > 20, "{report}");
    assert!(report["work_sessions"].as_u64().unwrap() > 3, "{report}");
    assert!(report["kinds"]["firmware fetch"]["count"].as_u64().unwrap() > 0);
    assert!(
        report["kinds"]["cpe request exchange"]["count"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert!(report["kinds"]["rest detail"]["count"].as_u64().unwrap() > 0);
    // The devices are in the inventory, and what was queued was confirmed by them.
    let list = app
        .get("/api/v1/inventory_device/?limit=100")
        .await
        .expect(200);
    assert_eq!(list.body["count"], 40);
    let devices = list.body["results"].as_array().unwrap();
    assert!(devices.iter().all(|d| d["status"] == "Up"));
    assert!(
        devices
            .iter()
            .any(|d| d["software_version"] != "SW-4.2.0" || d["last_configuration"].is_string())
    );
    assert!(
        devices
            .iter()
            .all(|d| d["reboot"] == false && d["firmware_image_is_pending"] == false),
        "nothing left half-done"
    );

    // Wrong device credentials: every session is refused, and the run says so.
    let (ok, report, _) = loadgen(
        &app,
        &["--device-password", "not-the-password", "--no-warmup"],
    )
    .await;
    assert!(!ok, "a run with errors exits non-zero");
    assert!(
        report["errors"]["status 401"].as_u64().unwrap_or(0) > 0,
        "{report}"
    );
    app.stop().await;
}

both_backends!(sessions_with_every_kind_of_work);
