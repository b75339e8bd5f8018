//! `ferroacs loadgen`: simulates many CPEs (and optionally admins) against a running ferroacs
//! and reports throughput, latency percentiles, errors and the server's memory.
//!
//! Devices are registered through the REST API (`bulk_create`, skipping those a previous run
//! registered), then each of `--cpes` workers runs complete Digest-authenticated sessions for its
//! share of the devices, back to back or at `--rate`. A share of the sessions first queues work
//! through the REST API (a setting change, a reboot or a firmware upgrade) and checks that the very
//! session that follows carries it: an operation that does not arrive is reported as lost. A
//! rebooted or upgraded CPE comes back at once (`M Reboot`, or the fetched image's
//! TransferComplete) and the device is read back to check the operation is done.

pub mod ceiling;
pub mod stats;
pub mod vcpe;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::Rng;
use serde_json::{Value, json};

use crate::config::{LoadgenArgs, WorkKind};
use crate::cwmp;
use stats::{Tally, rss_of};
use vcpe::{DeviceRef, Vcpe};

#[derive(Debug, thiserror::Error)]
pub enum LoadgenError {
    #[error("{0}")]
    Setup(String),
    #[error("REST: {0}")]
    Rest(#[from] reqwest::Error),
}

fn setup(msg: impl Into<String>) -> LoadgenError {
    LoadgenError::Setup(msg.into())
}

/// A simulated device's identity, derived from its index.
fn serial(prefix: &str, i: u64) -> String {
    format!("{prefix}{i:08}")
}

fn username(prefix: &str, i: u64) -> String {
    format!("{prefix}-cpe-{i}")
}

/// A realistic periodic Inform (TR-098 for even devices, TR-181 for odd ones) of `params`
/// parameters (the forced ones first).
pub fn inform_xml(prefix: &str, i: u64, params: usize, events: &str) -> Bytes {
    let tr181 = i % 2 == 1;
    let (root, ns, oui, pc) = if tr181 {
        ("Device.", "urn:dslforum-org:cwmp-1-2", "A0B1C2", "LG-181")
    } else {
        (
            "InternetGatewayDevice.",
            "urn:dslforum-org:cwmp-1-0",
            "0A0B0C",
            "LG-098",
        )
    };
    let sn = serial(prefix, i);
    let mut list: Vec<(String, String, &str)> = vec![
        (
            format!("{root}DeviceInfo.HardwareVersion"),
            "HW-2.1".into(),
            "xsd:string",
        ),
        (
            format!("{root}DeviceInfo.SoftwareVersion"),
            "SW-4.2.0".into(),
            "xsd:string",
        ),
        (
            format!("{root}DeviceInfo.ProvisioningCode"),
            String::new(),
            "xsd:string",
        ),
        (
            format!("{root}ManagementServer.ConnectionRequestURL"),
            "http://127.0.0.1:9/cr".into(),
            "xsd:string",
        ),
        (
            format!("{root}ManagementServer.ParameterKey"),
            String::new(),
            "xsd:string",
        ),
        (
            format!("{root}ManagementServer.PeriodicInformInterval"),
            "3600".into(),
            "xsd:unsignedInt",
        ),
    ];
    if !tr181 {
        list.insert(
            0,
            (
                format!("{root}DeviceSummary"),
                "InternetGatewayDevice:1.4[](Baseline:1, EthernetLAN:1, WiFiLAN:1)".into(),
                "xsd:string",
            ),
        );
    }
    let mut k = 1;
    while list.len() < params {
        let name = if tr181 {
            format!("{root}IP.Interface.{k}.IPv4Address.1.IPAddress")
        } else {
            format!("{root}WANDevice.1.WANConnectionDevice.{k}.WANIPConnection.1.ExternalIPAddress")
        };
        list.push((
            name,
            format!("10.{}.{}.{}", k % 250, (i >> 8) % 250, i % 250),
            "xsd:string",
        ));
        k += 1;
    }
    let mut x = String::with_capacity(600 + params * 160);
    x.push_str("<soap-env:Envelope xmlns:soap-env=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:soap-enc=\"http://schemas.xmlsoap.org/soap/encoding/\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:cwmp=\"");
    x.push_str(ns);
    x.push_str("\"><soap-env:Header><cwmp:ID soap-env:mustUnderstand=\"1\">");
    x.push_str(&i.to_string());
    x.push_str("</cwmp:ID></soap-env:Header><soap-env:Body><cwmp:Inform><DeviceId><Manufacturer>LoadGen</Manufacturer><OUI>");
    x.push_str(oui);
    x.push_str("</OUI><ProductClass>");
    x.push_str(pc);
    x.push_str("</ProductClass><SerialNumber>");
    x.push_str(&sn);
    x.push_str("</SerialNumber></DeviceId>");
    let codes: Vec<&str> = events.split(',').collect();
    x.push_str(&format!(
        "<Event soap-enc:arrayType=\"cwmp:EventStruct[{}]\">",
        codes.len()
    ));
    for c in codes {
        // `CODE=KEY` carries a CommandKey (`M Reboot=...`).
        let (code, key) = c.split_once('=').unwrap_or((c, ""));
        x.push_str("<EventStruct><EventCode>");
        x.push_str(code);
        x.push_str("</EventCode><CommandKey>");
        x.push_str(&quick_xml::escape::escape(key));
        x.push_str("</CommandKey></EventStruct>");
    }
    x.push_str("</Event><MaxEnvelopes>1</MaxEnvelopes><CurrentTime>2026-01-01T00:00:00Z</CurrentTime><RetryCount>0</RetryCount>");
    x.push_str(&format!(
        "<ParameterList soap-enc:arrayType=\"cwmp:ParameterValueStruct[{}]\">",
        list.len()
    ));
    for (n, v, t) in &list {
        x.push_str("<ParameterValueStruct><Name>");
        x.push_str(n);
        x.push_str("</Name><Value xsi:type=\"");
        x.push_str(t);
        x.push_str("\">");
        x.push_str(v);
        x.push_str("</Value></ParameterValueStruct>");
    }
    x.push_str("</ParameterList></cwmp:Inform></soap-env:Body></soap-env:Envelope>");
    Bytes::from(x)
}

struct Rest {
    http: reqwest::Client,
    api: String,
    token: String,
}

impl Rest {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value), LoadgenError> {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.api))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let v = resp.json().await.unwrap_or(Value::Null);
        Ok((status, v))
    }

    async fn find_or_create(
        &self,
        path: &str,
        name: &str,
        body: Value,
    ) -> Result<i64, LoadgenError> {
        let (_, list) = self
            .call(reqwest::Method::GET, &format!("{path}?limit=1000"), None)
            .await?;
        if let Some(found) = list["results"]
            .as_array()
            .and_then(|r| r.iter().find(|o| o["name"] == name))
        {
            return found["id"].as_i64().ok_or_else(|| setup("bad id"));
        }
        let (status, created) = self.call(reqwest::Method::POST, path, Some(body)).await?;
        if status != 201 {
            return Err(setup(format!("creating {path}: HTTP {status} {created}")));
        }
        created["id"].as_i64().ok_or_else(|| setup("bad id"))
    }
}

/// Registers the devices (skipping those already there; device i goes to organization
/// `orgs[i % orgs.len()]`) and returns their ids by index.
async fn register(
    rest: &Rest,
    a: &LoadgenArgs,
    orgs: &[i64],
    ty: i64,
) -> Result<Vec<i64>, LoadgenError> {
    let n = a.devices;
    let t = Instant::now();
    let mut created = 0u64;
    let mut ids = Vec::with_capacity(n as usize);
    for start in (0..n).step_by(1000) {
        let end = (start + 1000).min(n);
        let devices: Vec<Value> = (start..end)
            .map(|i| {
                json!({ "name": serial(&a.prefix, i), "type": ty, "organization_id": orgs[(i % orgs.len() as u64) as usize],
                        "serial_number": serial(&a.prefix, i), "username": username(&a.prefix, i),
                        "password": a.device_password, "update_frequency": 3600 })
            })
            .collect();
        let (status, body) = rest
            .call(
                reqwest::Method::POST,
                "/api/v1/inventory_device/bulk_create/",
                Some(json!({ "devices": devices, "skip_existing": true })),
            )
            .await?;
        if status != 201 {
            return Err(setup(format!("registering devices: HTTP {status} {body}")));
        }
        created += body["created"].as_u64().unwrap_or(0);
        for id in body["ids_by_index"].as_array().cloned().unwrap_or_default() {
            ids.push(
                id.as_i64()
                    .ok_or_else(|| setup("registration returned no id"))?,
            );
        }
        eprint!(
            "\rregistering devices: {end}/{n} ({created} new, {:.0}/s)   ",
            end as f64 / t.elapsed().as_secs_f64()
        );
    }
    eprintln!();
    if ids.len() != n as usize {
        return Err(setup(format!(
            "registration returned {} ids for {n} devices",
            ids.len()
        )));
    }
    Ok(ids)
}

struct Shared {
    run_id: u32,
    args: LoadgenArgs,
    rest: Rest,
    ids: Vec<i64>,
    orgs: Vec<i64>,
    cwmp: SocketAddr,
    path: String,
    stop: AtomicBool,
    measuring: AtomicBool,
    marks: AtomicU64,
    lost: AtomicU64,
    work_sessions: AtomicU64,
    /// The image firmware work upgrades to (created at start when firmware work is asked for).
    firmware_image: Option<i64>,
}

async fn worker(sh: Arc<Shared>, w: u64, warmup: bool) -> Tally {
    let mut tally = Tally::default();
    let mut cpe = Vcpe::new(sh.cwmp, &sh.path);
    let cnonce = format!("lg{w:x}{:x}", rand::rng().random::<u32>());
    let a = &sh.args;
    let cpes = a.cpes.max(1);
    let interval = (a.rate > 0.0).then(|| Duration::from_secs_f64(cpes as f64 / a.rate));
    let mut next_slot = tokio::time::Instant::now();
    // Worker w owns devices w, w + cpes, w + 2 cpes, ...: a device never has two sessions at once.
    let mut dev = w;
    loop {
        if sh.stop.load(Ordering::Relaxed) {
            break;
        }
        if dev >= a.devices {
            if warmup {
                break;
            }
            dev = w;
        }
        if let Some(iv) = interval {
            next_slot += iv;
            tokio::time::sleep_until(next_slot).await;
        }
        let measuring = sh.measuring.load(Ordering::Relaxed);
        let with_work = !warmup
            && a.work_share > 0.0
            && !a.work_kinds.is_empty()
            && rand::rng().random::<f64>() < a.work_share;
        let work = if with_work {
            let kind = a.work_kinds[rand::rng().random_range(0..a.work_kinds.len())];
            queue_work(&sh, dev, kind, &mut tally).await
        } else {
            None
        };
        let close = a.close_share > 0.0 && rand::rng().random::<f64>() < a.close_share;
        let username = username(&a.prefix, dev);
        let d = DeviceRef {
            username: &username,
            password: &a.device_password,
            inform: inform_xml(
                &a.prefix,
                dev,
                a.params,
                if warmup {
                    "0 BOOTSTRAP,1 BOOT"
                } else {
                    "2 PERIODIC"
                },
            ),
            cpe_request: None,
        };
        let mut local = Tally::default();
        match cpe.session(&d, close, &cnonce, &mut local).await {
            Ok(out) => {
                let mut ok = true;
                if let Some(w) = &work {
                    sh.work_sessions.fetch_add(1, Ordering::Relaxed);
                    if !w.carried_by(&out) {
                        ok = false;
                        lost(
                            &sh,
                            &mut tally,
                            dev,
                            format!(
                                "{w:?} not in the next session (it carried SPV {:?}, reboot {:?}, download {:?})",
                                out.set,
                                out.reboot,
                                out.download.as_ref().map(|d| &d.url)
                            ),
                        );
                    }
                }
                // A reboot or a download: the CPE comes back at once to report it.
                if out.reboot.is_some() || out.download.is_some() {
                    match come_back(&sh, &mut cpe, dev, out, &cnonce, &mut local).await {
                        Ok(()) => {}
                        Err(e) => {
                            ok = false;
                            tally.error(e);
                            cpe.disconnect();
                        }
                    }
                }
                if ok && let Some(w) = &work {
                    confirm(&sh, dev, w, &mut tally).await;
                }
                if measuring || warmup {
                    tally.merge(local);
                }
            }
            Err(e) => {
                tally.error(e.kind());
                cpe.disconnect();
            }
        }
        dev += cpes;
    }
    tally
}

/// Work queued through the REST API that the device's next session must carry.
#[derive(Debug)]
enum Work {
    Setting { param: String, value: String },
    Reboot,
    Firmware,
}

impl Work {
    fn carried_by(&self, out: &vcpe::Outcome) -> bool {
        match self {
            Work::Setting { param, value } => out.set.iter().any(|(n, v)| n == param && v == value),
            Work::Reboot => out.reboot.is_some(),
            Work::Firmware => out.download.is_some(),
        }
    }
}

fn lost(sh: &Shared, tally: &mut Tally, dev: u64, what: String) {
    sh.lost.fetch_add(1, Ordering::Relaxed);
    tally.error("lost operation");
    eprintln!(
        "lost operation: device {} (id {}): {what}",
        serial(&sh.args.prefix, dev),
        sh.ids[dev as usize]
    );
}

async fn queue_work(sh: &Shared, dev: u64, kind: WorkKind, tally: &mut Tally) -> Option<Work> {
    let (body, work) = match kind {
        WorkKind::Settings => {
            // Unique across runs: a value a device already confirmed would (rightly) not be sent.
            let m = format!("{}-{}", sh.run_id, sh.marks.fetch_add(1, Ordering::Relaxed));
            let root = if dev % 2 == 1 {
                "Device."
            } else {
                "InternetGatewayDevice."
            };
            let param = format!("{root}ManagementServer.X_FERROACS_LoadgenMark");
            (
                json!({ "settings": { "loadgen": { param.clone(): m.clone() } } }),
                Work::Setting { param, value: m },
            )
        }
        WorkKind::Reboot => (json!({ "reboot": true }), Work::Reboot),
        WorkKind::Firmware => (
            json!({ "firmware_image": sh.firmware_image? }),
            Work::Firmware,
        ),
    };
    let t = Instant::now();
    match sh
        .rest
        .call(
            reqwest::Method::PATCH,
            &format!("/api/v1/inventory_device/{}/", sh.ids[dev as usize]),
            Some(body),
        )
        .await
    {
        Ok((200, _)) => {
            tally.sample("rest PATCH (queues work)", t.elapsed());
            Some(work)
        }
        Ok((s, _)) => {
            tally.error(format!("rest PATCH status {s}"));
            None
        }
        Err(e) => {
            tally.error(format!("rest PATCH: {e}"));
            None
        }
    }
}

/// The session after a reboot or a download: `1 BOOT` with `M Reboot`, or the fetched image's
/// TransferComplete. Repeats while the ACS asks for more of them (at most 3 times).
async fn come_back(
    sh: &Shared,
    cpe: &mut Vcpe,
    dev: u64,
    mut out: vcpe::Outcome,
    cnonce: &str,
    tally: &mut Tally,
) -> Result<(), String> {
    let a = &sh.args;
    let username = username(&a.prefix, dev);
    for _ in 0..3 {
        let (events, cpe_request) = if let Some(dl) = out.download.take() {
            let fault = fetch(&sh.rest.http, &dl, tally).await.err();
            if fault.is_some() {
                tally.error("firmware download failed");
            }
            let ns = if dev % 2 == 1 {
                cwmp::CwmpNs::V1_2
            } else {
                cwmp::CwmpNs::V1_0
            };
            let tc = cwmp::Envelope::new(
                ns,
                cwmp::Header::with_id(format!("tc{dev}")),
                cwmp::Body::TransferComplete(cwmp::TransferComplete {
                    command_key: dl.command_key.clone(),
                    fault,
                    start_time: Some(cwmp::CwmpTime::parse("2026-01-01T00:00:00Z")),
                    complete_time: Some(cwmp::CwmpTime::parse("2026-01-01T00:00:01Z")),
                }),
            );
            (
                format!("1 BOOT,7 TRANSFER COMPLETE,M Download={}", dl.command_key),
                Some(Bytes::from(cwmp::to_vec(&tc))),
            )
        } else if let Some(key) = out.reboot.take() {
            (format!("1 BOOT,M Reboot={key}"), None)
        } else {
            return Ok(());
        };
        let d = DeviceRef {
            username: &username,
            password: &a.device_password,
            inform: inform_xml(&a.prefix, dev, a.params, &events),
            cpe_request,
        };
        out = cpe
            .session(&d, false, cnonce, tally)
            .await
            .map_err(|e| e.kind())?;
    }
    Err("the ACS kept asking for reboots/downloads".into())
}

/// Fetches a Download's file as a CPE would; a fault (9010/9018) when that fails.
async fn fetch(
    http: &reqwest::Client,
    dl: &cwmp::Download,
    tally: &mut Tally,
) -> Result<(), cwmp::FaultStruct> {
    let fault = |code, string: String| cwmp::FaultStruct { code, string };
    let t = Instant::now();
    let r = http
        .get(&dl.url)
        .send()
        .await
        .map_err(|e| fault(9010, e.to_string()))?;
    if !r.status().is_success() {
        return Err(fault(9010, format!("HTTP {}", r.status())));
    }
    let body = r.bytes().await.map_err(|e| fault(9010, e.to_string()))?;
    if dl.file_size != 0 && body.len() as u64 != dl.file_size {
        return Err(fault(
            9018,
            format!("{} bytes, FileSize {}", body.len(), dl.file_size),
        ));
    }
    tally.sample("firmware fetch", t.elapsed());
    Ok(())
}

/// Reads the device back: a reboot or firmware upgrade must be done once the CPE reported it.
async fn confirm(sh: &Shared, dev: u64, w: &Work, tally: &mut Tally) {
    let field = match w {
        Work::Setting { .. } => return,
        Work::Reboot => "reboot",
        Work::Firmware => "firmware_image_is_pending",
    };
    let path = format!("/api/v1/inventory_device/{}/", sh.ids[dev as usize]);
    match sh.rest.call(reqwest::Method::GET, &path, None).await {
        Ok((200, body)) if body[field] == Value::Bool(false) => {}
        Ok((200, body)) => lost(
            sh,
            tally,
            dev,
            format!(
                "{w:?} reported by the CPE but {field} reads {}",
                body[field]
            ),
        ),
        Ok((s, _)) => tally.error(format!("rest GET (confirm) status {s}")),
        Err(e) => tally.error(format!("rest GET (confirm): {e}")),
    }
}

async fn rest_load(sh: Arc<Shared>) -> Tally {
    let mut tally = Tally::default();
    let a = &sh.args;
    if a.rest_rate <= 0.0 {
        return tally;
    }
    let interval = Duration::from_secs_f64(1.0 / a.rest_rate);
    let mut next = tokio::time::Instant::now();
    let orgs = sh.orgs.clone();
    let mut inflight = tokio::task::JoinSet::new();
    while !sh.stop.load(Ordering::Relaxed) {
        next += interval;
        tokio::time::sleep_until(next).await;
        let sh2 = sh.clone();
        let pick = rand::rng().random::<f64>();
        let dev = rand::rng().random_range(0..a.devices) as usize;
        let org = orgs[rand::rng().random_range(0..orgs.len())];
        let per_org = (a.devices / orgs.len() as u64).max(1);
        let offset = rand::rng().random_range(0..(per_org / 4).max(1));
        let status = if rand::rng().random::<bool>() {
            "true"
        } else {
            "false"
        };
        inflight.spawn(async move {
            let t = Instant::now();
            let (kind, r) = if pick < 0.45 {
                let path = format!("/api/v1/inventory_device/?organization={org}&status={status}&limit=50&offset={offset}");
                ("rest list (organization+status, limit 50)", sh2.rest.call(reqwest::Method::GET, &path, None).await)
            } else if pick < 0.9 {
                let path = format!("/api/v1/inventory_device/{}/", sh2.ids[dev]);
                ("rest detail", sh2.rest.call(reqwest::Method::GET, &path, None).await)
            } else {
                let path = format!("/api/v1/inventory_device/{}/", sh2.ids[dev]);
                ("rest PATCH", sh2.rest.call(reqwest::Method::PATCH, &path, Some(json!({ "description": format!("touched {pick}") }))).await)
            };
            (kind, t.elapsed(), r.map(|(s, _)| s))
        });
        while let Some(Ok((kind, d, r))) = inflight.try_join_next() {
            match r {
                Ok(200) if sh.measuring.load(Ordering::Relaxed) => tally.sample(kind, d),
                Ok(200) => {}
                Ok(s) => tally.error(format!("{kind}: status {s}")),
                Err(e) => tally.error(format!("{kind}: {e}")),
            }
        }
    }
    while let Some(Ok((kind, d, r))) = inflight.join_next().await {
        match r {
            Ok(200) => tally.sample(kind, d),
            Ok(s) => tally.error(format!("{kind}: status {s}")),
            Err(e) => tally.error(format!("{kind}: {e}")),
        }
    }
    tally
}

/// Raises the open-files limit to its hard maximum (thousands of connections).
pub fn raise_fd_limit() {
    #[cfg(unix)]
    unsafe {
        let mut rl = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) == 0 && rl.rlim_cur < rl.rlim_max {
            rl.rlim_cur = rl.rlim_max;
            let _ = libc::setrlimit(libc::RLIMIT_NOFILE, &rl);
        }
    }
}

/// A 64 KiB image whose version no simulated device runs, so every upgrade to it is pending.
async fn firmware_image(rest: &Rest, run_id: u32) -> Result<i64, LoadgenError> {
    let (status, body) = rest
        .call(
            reqwest::Method::POST,
            "/api/v1/inventory_firmware_image/",
            Some(json!({ "name": "loadgen", "version": format!("LG-FW-{run_id:08x}") })),
        )
        .await?;
    let id = match (status, body["id"].as_i64()) {
        (201, Some(id)) => id,
        _ => {
            return Err(setup(format!(
                "creating the firmware image: {status} {body}"
            )));
        }
    };
    let file: Vec<u8> = (0..65_536u32).map(|i| (i % 251) as u8).collect();
    let r = rest
        .http
        .put(format!(
            "{}/api/v1/inventory_firmware_image/{id}/file/",
            rest.api
        ))
        .bearer_auth(&rest.token)
        .body(file)
        .send()
        .await?;
    if !r.status().is_success() {
        return Err(setup(format!(
            "uploading the firmware image: {}",
            r.status()
        )));
    }
    Ok(id)
}

/// Runs the load; returns whether it was clean (no protocol error, no lost operation).
pub async fn run(a: LoadgenArgs) -> Result<bool, LoadgenError> {
    raise_fd_limit();
    let url = reqwest::Url::parse(&a.cwmp).map_err(|e| setup(format!("--cwmp: {e}")))?;
    let host = url.host_str().ok_or_else(|| setup("--cwmp needs a host"))?;
    let cwmp = tokio::net::lookup_host((host, url.port_or_known_default().unwrap_or(7547)))
        .await
        .map_err(|e| setup(format!("--cwmp: {e}")))?
        .next()
        .ok_or_else(|| setup("--cwmp does not resolve"))?;
    let token = a
        .token
        .clone()
        .ok_or_else(|| setup("--token (or FERROACS_TOKEN) is required"))?;
    let rest = Rest {
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .build()?,
        api: a.api.trim_end_matches('/').to_string(),
        token,
    };
    let orgs = match a.organization {
        Some(o) => vec![o],
        None => {
            let mut orgs = Vec::new();
            for k in 0..a.organizations.max(1) {
                let name = if a.organizations <= 1 {
                    "loadgen".to_string()
                } else {
                    format!("loadgen-{k}")
                };
                orgs.push(
                    rest.find_or_create("/api/v1/organization/", &name, json!({ "name": name }))
                        .await?,
                );
            }
            orgs
        }
    };
    let ty = rest
        .find_or_create(
            "/api/v1/inventory_device_type/",
            "loadgen",
            json!({ "name": "loadgen", "short_name": "loadgen" }),
        )
        .await?;
    let ids = register(&rest, &a, &orgs, ty).await?;
    let run_id: u32 = rand::rng().random();
    let firmware_image = if a.work_share > 0.0 && a.work_kinds.contains(&WorkKind::Firmware) {
        Some(firmware_image(&rest, run_id).await?)
    } else {
        None
    };
    let args = a.clone();
    let sh = Arc::new(Shared {
        run_id,
        firmware_image,
        args,
        rest,
        ids,
        orgs,
        cwmp,
        path: url.path().to_string(),
        stop: AtomicBool::new(false),
        measuring: AtomicBool::new(false),
        marks: AtomicU64::new(0),
        lost: AtomicU64::new(0),
        work_sessions: AtomicU64::new(0),
    });
    let rss_before = a.pid.and_then(rss_of);
    if a.warmup && a.cpes > 0 {
        let t = Instant::now();
        let tasks: Vec<_> = (0..a.cpes.min(a.devices))
            .map(|w| tokio::spawn(worker(sh.clone(), w, true)))
            .collect();
        let mut warm = Tally::default();
        for t in tasks {
            if let Ok(tl) = t.await {
                warm.merge(tl);
            }
        }
        let n = warm
            .kinds
            .get_mut("session")
            .map(|s| s.micros.len())
            .unwrap_or(0);
        eprintln!(
            "warm-up: first sessions of {n} devices in {:.1} s; errors: {:?}",
            t.elapsed().as_secs_f64(),
            warm.errors
        );
    }
    // Measure.
    let peak_rss = Arc::new(AtomicU64::new(0));
    let sampler = a.pid.map(|pid| {
        let (peak, sh) = (peak_rss.clone(), sh.clone());
        tokio::spawn(async move {
            while !sh.stop.load(Ordering::Relaxed) {
                if let Some((rss, _)) = rss_of(pid) {
                    peak.fetch_max(rss, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    });
    let workers: Vec<_> = (0..a.cpes)
        .map(|w| tokio::spawn(worker(sh.clone(), w, false)))
        .collect();
    let rest_task = tokio::spawn(rest_load(sh.clone()));
    tokio::time::sleep(Duration::from_secs(1)).await;
    sh.measuring.store(true, Ordering::Relaxed);
    let t = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(a.duration)).await;
    sh.measuring.store(false, Ordering::Relaxed);
    let wall = t.elapsed();
    sh.stop.store(true, Ordering::Relaxed);
    let mut total = Tally::default();
    for w in workers {
        if let Ok(tl) = w.await {
            total.merge(tl);
        }
    }
    if let Ok(tl) = rest_task.await {
        total.merge(tl);
    }
    if let Some(s) = sampler {
        let _ = s.await;
    }
    let rss_after = a.pid.and_then(rss_of);
    let lost = sh.lost.load(Ordering::Relaxed);
    let work = sh.work_sessions.load(Ordering::Relaxed);
    let protocol_errors: u64 = total.errors.values().sum();
    let mut kinds = serde_json::Map::new();
    for (k, s) in total.kinds.iter_mut() {
        kinds.insert(
            k.to_string(),
            serde_json::to_value(s.summary(wall)).unwrap_or(Value::Null),
        );
    }
    let report = json!({
        "devices": a.devices,
        "cpes": a.cpes,
        "seconds": wall.as_secs_f64(),
        "target_rate": a.rate,
        "close_share": a.close_share,
        "work_share": a.work_share,
        "work_kinds": a.work_kinds.iter().map(|k| format!("{k:?}").to_lowercase()).collect::<Vec<_>>(),
        "kinds": kinds,
        "errors": total.errors,
        "work_sessions": work,
        "lost_operations": lost,
        "server_rss_bytes": rss_after.map(|r| r.0),
        "server_peak_rss_during_run_bytes": (peak_rss.load(Ordering::Relaxed) > 0).then(|| peak_rss.load(Ordering::Relaxed)),
        "server_rss_before_bytes": rss_before.map(|r| r.0),
    });
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        println!(
            "ferroacs loadgen: {} devices, {} CPEs, {:.1} s measured",
            a.devices,
            a.cpes,
            wall.as_secs_f64()
        );
        println!(
            "{:<44} {:>9} {:>10} {:>8} {:>8} {:>8} {:>8}",
            "kind", "count", "per second", "p50 ms", "p90 ms", "p99 ms", "max ms"
        );
        for (k, v) in &kinds {
            println!(
                "{:<44} {:>9} {:>10.0} {:>8.2} {:>8.2} {:>8.2} {:>8.2}",
                k,
                v["count"],
                v["per_second"].as_f64().unwrap_or(0.0),
                v["p50_ms"].as_f64().unwrap_or(0.0),
                v["p90_ms"].as_f64().unwrap_or(0.0),
                v["p99_ms"].as_f64().unwrap_or(0.0),
                v["max_ms"].as_f64().unwrap_or(0.0)
            );
        }
        println!("sessions carrying work: {work}, lost operations: {lost}");
        if let Some(p) = report["server_peak_rss_during_run_bytes"].as_u64() {
            println!(
                "server RSS: peak {:.1} MB during the run, {:.1} MB before",
                p as f64 / 1e6,
                rss_before.map(|r| r.0 as f64 / 1e6).unwrap_or(0.0)
            );
        }
        if total.errors.is_empty() {
            println!("errors: none");
        } else {
            for (k, v) in &total.errors {
                println!("error: {k}: {v}");
            }
        }
    }
    // One machine-readable line for scripts (scripts/bench.sh).
    let metric = |kind: &str, field: &str| {
        kinds
            .get(kind)
            .and_then(|k| k[field].as_f64())
            .unwrap_or(0.0)
    };
    println!(
        "RESULT sessions_per_s={:.0} session_p50_ms={:.2} session_p99_ms={:.2} exchanges_per_s={:.0} rest_list_p99_ms={:.2} rest_detail_p99_ms={:.2} rest_per_s={:.0} errors={protocol_errors} lost={lost} peak_rss_mb={:.1} rss_before_mb={:.1}",
        metric("session", "per_second"),
        metric("session", "p50_ms"),
        metric("session", "p99_ms"),
        [
            "inform exchange",
            "empty POST exchange",
            "response exchange",
            "401 exchange"
        ]
        .iter()
        .map(|k| metric(k, "per_second"))
        .sum::<f64>(),
        metric("rest list (organization+status, limit 50)", "p99_ms"),
        metric("rest detail", "p99_ms"),
        kinds
            .iter()
            .filter(|(k, _)| k.starts_with("rest"))
            .map(|(_, v)| v["per_second"].as_f64().unwrap_or(0.0))
            .sum::<f64>(),
        peak_rss.load(Ordering::Relaxed) as f64 / 1e6,
        rss_before.map(|r| r.0 as f64 / 1e6).unwrap_or(0.0),
    );
    Ok(protocol_errors == 0 && lost == 0)
}
