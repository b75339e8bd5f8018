//! The real `ferroacs` binary: migrate, token management, serve (plain and TLS), shutdown.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ferroacs"));
    c.env_remove("FERROACS_DATABASE_URL")
        .env("FERROACS_LOG", "info");
    c
}

fn run_ok(args: &[&str]) -> String {
    let out = bin().args(args).output().expect("runs");
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn create_token(db: &str, name: &str, extra: &[&str]) -> String {
    let mut args = vec!["token", "create", "--name", name, "--database-url", db];
    args.extend_from_slice(extra);
    let out = run_ok(&args);
    let last = out.lines().last().unwrap().to_string();
    assert!(
        last.starts_with("fat_") && last.len() == 68,
        "token alone on the last line: {out:?}"
    );
    last
}

/// A `ferroacs serve` child process and the API address it logged.
struct Server {
    child: Child,
    base: String,
    cwmp: String,
}

impl Server {
    fn start(db: &str, extra: &[&str]) -> Server {
        let mut child = bin()
            .args([
                "serve",
                "--database-url",
                db,
                "--api-listen",
                "127.0.0.1:0",
                "--cwmp-listen",
                "127.0.0.1:0",
            ])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("serve starts");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(pos) = line.find("addr=") {
                    let addr: String = line[pos + 5..]
                        .chars()
                        .take_while(|c| !c.is_whitespace())
                        .collect();
                    if line.contains("inventory API listening") {
                        let _ = tx.send((true, addr));
                    } else if line.contains("CWMP endpoint listening") {
                        let _ = tx.send((false, addr));
                    }
                }
            }
        });
        let (mut addr, mut cwmp) = (String::new(), String::new());
        while addr.is_empty() || cwmp.is_empty() {
            let (api, a) = rx
                .recv_timeout(Duration::from_secs(30))
                .expect("server logged its addresses");
            if api { addr = a } else { cwmp = a }
        }
        let scheme = if extra.contains(&"--tls-cert") {
            "https"
        } else {
            "http"
        };
        Server {
            child,
            base: format!("{scheme}://{addr}"),
            cwmp: format!("{scheme}://{cwmp}/"),
        }
    }

    fn terminate(&mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        for _ in 0..100 {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        panic!("server did not stop within 10 s of SIGTERM");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

#[test]
fn migrate_and_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("f.db").display());
    let out = run_ok(&["migrate", "--database-url", &db]);
    assert!(out.contains("migrations applied"));
    run_ok(&["migrate", "--database-url", &db]);
    let token = create_token(&db, "admin", &["--admin"]);
    let list = run_ok(&["token", "list", "--database-url", &db]);
    assert!(list.contains("admin"));
    assert!(!list.contains(&token), "secrets are never listed");
    // The token itself is not stored, only its hash.
    let file = std::fs::read(dir.path().join("f.db")).unwrap();
    let wal = std::fs::read(dir.path().join("f.db-wal")).unwrap_or_default();
    for blob in [file, wal] {
        assert!(!blob.windows(token.len()).any(|w| w == token.as_bytes()));
    }
    // Neither admin nor organizations: refused. Unknown organization: refused. Same name: refused.
    assert!(
        !bin()
            .args(["token", "create", "--name", "x", "--database-url", &db])
            .output()
            .unwrap()
            .status
            .success()
    );
    let out = bin()
        .args([
            "token",
            "create",
            "--name",
            "x",
            "--organization",
            "42",
            "--database-url",
            &db,
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("organization"));
    assert!(
        !bin()
            .args([
                "token",
                "create",
                "--name",
                "admin",
                "--admin",
                "--database-url",
                &db
            ])
            .output()
            .unwrap()
            .status
            .success()
    );
    run_ok(&["token", "revoke", "admin", "--database-url", &db]);
    assert!(
        !bin()
            .args(["token", "revoke", "admin", "--database-url", &db])
            .output()
            .unwrap()
            .status
            .success()
    );
    let bad = bin()
        .args(["migrate", "--database-url", "mysql://nope"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unsupported database URL"));
}

#[tokio::test]
async fn serve_then_revoke_then_graceful_stop() {
    ferroacs::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("f.db").display());
    let token = create_token(&db, "admin", &["--admin"]);
    let data_dir = dir.path().join("data");
    let mut server = Server::start(&db, &["--data-dir", data_dir.to_str().unwrap()]);
    let client = reqwest::Client::new();
    let r = client
        .post(format!("{}/api/v1/organization/", server.base))
        .bearer_auth(&token)
        .json(&json!({ "name": "Zequenze" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let org: Value = r.json().await.unwrap();
    // A token scoped to that organization, created while the server runs, works at once.
    let org_id = org["id"].to_string();
    let scoped = create_token(&db, "ops", &["--organization", &org_id]);
    let r = client
        .get(format!("{}/api/v1/inventory_device/", server.base))
        .bearer_auth(&scoped)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    run_ok(&["token", "revoke", "ops", "--database-url", &db]);
    let r = client
        .get(format!("{}/api/v1/inventory_device/", server.base))
        .bearer_auth(&scoped)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // An upload in flight when SIGTERM arrives still completes.
    let fw: Value = client
        .post(format!("{}/api/v1/inventory_firmware_image/", server.base))
        .bearer_auth(&token)
        .json(&json!({ "name": "fw", "version": "1" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let body = reqwest::Body::wrap_stream(tokio_stream_from(rx));
    let upload = tokio::spawn(
        client
            .put(format!(
                "{}/api/v1/inventory_firmware_image/{}/file/",
                server.base, fw["id"]
            ))
            .bearer_auth(&token)
            .body(body)
            .send(),
    );
    tx.send(Ok(vec![1u8; 1000])).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    tx.send(Ok(vec![2u8; 1000])).await.unwrap();
    drop(tx);
    let resp = upload.await.unwrap().expect("in-flight request answered");
    assert_eq!(resp.status(), 200);
    let fw: Value = resp.json().await.unwrap();
    assert_eq!(fw["size"], 2000);
    let status = server.terminate();
    assert!(status.success(), "clean exit after SIGTERM: {status:?}");
    // New connections are refused after shutdown.
    assert!(
        client
            .get(format!("{}/api/v1/organization/", server.base))
            .send()
            .await
            .is_err()
    );
}

fn tokio_stream_from(
    mut rx: tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

#[tokio::test]
async fn serve_over_tls() {
    ferroacs::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let db = format!("sqlite://{}", dir.path().join("f.db").display());
    let token = create_token(&db, "admin", &["--admin"]);
    let mut server = Server::start(
        &db,
        &[
            "--tls-cert",
            cert_path.to_str().unwrap(),
            "--tls-key",
            key_path.to_str().unwrap(),
        ],
    );
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap())
        .build()
        .unwrap();
    let r = client
        .get(format!("{}/api/v1/inventory_device/?limit=1", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["count"], 0);
    // Plain HTTP to the TLS port gets no API answer.
    let plain = server.base.replace("https://", "http://");
    let r = reqwest::Client::new()
        .get(format!("{plain}/api/v1/inventory_device/"))
        .bearer_auth(&token)
        .send()
        .await;
    assert!(r.map(|r| r.status() != 200).unwrap_or(true));
    assert!(server.terminate().success());
    // A missing certificate file is a clear start-up error.
    let out = bin()
        .args([
            "serve",
            "--database-url",
            &db,
            "--api-listen",
            "127.0.0.1:0",
            "--tls-cert",
            "/nonexistent.pem",
            "--tls-key",
            "/nonexistent.key",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent.pem"));
}

/// The README's walkthrough: a device onboarded through the API, then `ferroacs simulate` as
/// its CPE; a reboot queued through the API is carried out and confirmed.
#[tokio::test]
async fn simulate_a_cpe_against_serve() {
    ferroacs::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("f.db").display());
    let token = create_token(&db, "admin", &["--admin"]);
    let mut server = Server::start(&db, &["--connection-request-allow", "127.0.0.0/8"]);
    let c = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        c.post(format!("{}/api/v1/{path}", server.base))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    assert_eq!(
        post("organization/", json!({ "name": "Zequenze" }))
            .await
            .unwrap()
            .status(),
        201
    );
    assert_eq!(
        post(
            "inventory_device_type/",
            json!({ "name": "r", "short_name": "r" })
        )
        .await
        .unwrap()
        .status(),
        201
    );
    let d: Value = post(
        "inventory_device/",
        json!({ "name": "Seattle", "type": 1, "organization_id": 1, "serial_number": "ZN2024001156",
                "username": "device-seattle-001", "password": "SecurePassword123!", "reboot": true }),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(d["pending_settings"], "initial,reboot_requested");
    let out = bin()
        .args([
            "simulate",
            "--url",
            &server.cwmp,
            "--username",
            "device-seattle-001",
            "--serial",
            "ZN2024001156",
            "--sessions",
            "2",
        ])
        .env("FERROACS_SIMULATE_PASSWORD", "SecurePassword123!")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("session 1: events [0 BOOTSTRAP, 1 BOOT]") && stdout.contains("Reboot"),
        "{stdout}"
    );
    assert!(
        stdout.contains("session 2: events [1 BOOT, M Reboot]"),
        "{stdout}"
    );
    let d: Value = c
        .get(format!("{}/api/v1/inventory_device/1/", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["status"], "Up");
    assert_eq!(d["reboot"], false);
    assert_eq!(d["pending_settings"], "none");
    let bad = bin()
        .args([
            "simulate",
            "--url",
            &server.cwmp,
            "--username",
            "device-seattle-001",
            "--password",
            "wrong",
            "--serial",
            "ZN2024001156",
            "--sessions",
            "1",
        ])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(server.terminate().success());
}
