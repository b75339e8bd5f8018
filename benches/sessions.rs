//! End-to-end CWMP throughput: complete Inform sessions per second (Digest included) against a
//! ferroacs on SQLite (or PostgreSQL with FERROACS_BENCH_POSTGRES_URL) with N registered
//! devices. Each virtual CPE runs sessions back to back: Inform (after a Digest challenge on its
//! first one), empty POST, 204.
//!
//!     cargo bench --bench sessions -- [--devices 10000] [--cpes 64] [--seconds 10]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ferroacs::app;
use ferroacs::config::ServeArgs;
use ferroacs::cpe::{ClientOptions, CpeClient, SuccessResponder, run_session};
use ferroacs::cwmp::{
    self, Body, CwmpNs, DeviceId, Envelope, EventStruct, Header, Inform, ParameterValue,
};
use ferroacs::store::{Table, Val};

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn inform(i: u64) -> Vec<u8> {
    let r = "InternetGatewayDevice.";
    let params = vec![
        ParameterValue::typed(
            format!("{r}DeviceSummary"),
            "InternetGatewayDevice:1.4[](Baseline:1)",
            "xsd:string",
        ),
        ParameterValue::typed(format!("{r}DeviceInfo.SpecVersion"), "1.0", "xsd:string"),
        ParameterValue::typed(
            format!("{r}DeviceInfo.HardwareVersion"),
            "HW-1",
            "xsd:string",
        ),
        ParameterValue::typed(
            format!("{r}DeviceInfo.SoftwareVersion"),
            "SW-1",
            "xsd:string",
        ),
        ParameterValue::typed(format!("{r}DeviceInfo.ProvisioningCode"), "", "xsd:string"),
        ParameterValue::typed(
            format!("{r}ManagementServer.ConnectionRequestURL"),
            format!("http://127.0.0.1:9/{i}"),
            "xsd:string",
        ),
        ParameterValue::typed(
            format!("{r}ManagementServer.ParameterKey"),
            "",
            "xsd:string",
        ),
        ParameterValue::typed(
            format!("{r}ManagementServer.PeriodicInformInterval"),
            "300",
            "xsd:unsignedInt",
        ),
        ParameterValue::typed(
            format!("{r}WANDevice.1.WANConnectionDevice.1.WANIPConnection.1.ExternalIPAddress"),
            "127.0.0.1",
            "xsd:string",
        ),
    ];
    let inform = Inform {
        device_id: DeviceId {
            manufacturer: "Bench".into(),
            oui: "BEBEBE".into(),
            product_class: "Sim".into(),
            serial_number: format!("BENCH{i:08}"),
        },
        events: vec![EventStruct::new("2 PERIODIC", "")],
        max_envelopes: 1,
        current_time: None,
        retry_count: 0,
        parameters: params,
    };
    cwmp::to_vec(&Envelope::new(
        CwmpNs::V1_0,
        Header::with_id(i.to_string()),
        Body::Inform(inform),
    ))
}

async fn run(label: &str, url: String, devices: u64, cpes: u64, seconds: u64) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let args = ServeArgs::from_flags([
        "--database-url",
        url.as_str(),
        "--api-listen",
        "127.0.0.1:0",
        "--cwmp-listen",
        "127.0.0.1:0",
        "--data-dir",
        data.to_str().unwrap(),
        "--auth-cache-ttl",
        "60",
    ])
    .unwrap();
    let running = app::start(&args).await.unwrap();
    let store = running.store.clone();
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
    let t0 = Instant::now();
    for i in 0..devices {
        let user = format!("cpe{i}");
        let c = ferroacs::digest::StoredCredentials::derive(&user, "pw", "ferroacs");
        let v = vec![
            ("uuid", Val::Text(Some(format!("u{i}")))),
            ("name", Val::Text(Some(user.clone()))),
            ("status_change", Val::Int(Some(0))),
            ("type_id", Val::Int(Some(ty))),
            ("organization_id", Val::Int(Some(org))),
            ("serial_number", Val::Text(Some(format!("BENCH{i:08}")))),
            ("username", Val::Text(Some(user))),
            ("ha1_md5", Val::Text(Some(c.ha1_md5))),
            ("ha1_sha256", Val::Text(Some(c.ha1_sha256))),
            ("basic_hash", Val::Text(Some(c.basic_hash))),
            ("last_change", Val::Int(Some(0))),
            ("created", Val::Int(Some(0))),
        ];
        store.insert(Table::Devices, &v).await.unwrap();
    }
    let fill = t0.elapsed();
    let base = format!("http://{}/", running.cwmp_addr);
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for w in 0..cpes {
        let (base, stop) = (base.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0u64;
            let mut clients = std::collections::HashMap::new();
            let mut i = w;
            while !stop.load(Ordering::Relaxed) {
                let dev = i % devices;
                let c = clients.entry(dev).or_insert_with(|| {
                    CpeClient::new(
                        ClientOptions::new(base.clone()).credentials(&format!("cpe{dev}"), "pw"),
                    )
                    .unwrap()
                });
                let t = Instant::now();
                match run_session(c, inform(dev), &mut SuccessResponder::default()).await {
                    Ok(tr) if tr.requests.is_empty() => lat.push(t.elapsed()),
                    Ok(_) | Err(_) => errors += 1,
                }
                i += cpes;
            }
            (lat, errors)
        }));
    }
    // Warm-up (first sessions of each device take a 401), then measure.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let wall = start.elapsed() + Duration::from_secs(2);
    let mut lat = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.unwrap();
        lat.extend(l);
        errors += e;
    }
    lat.sort();
    let pct = |p: f64| lat[((lat.len() as f64 - 1.0) * p) as usize].as_secs_f64() * 1000.0;
    println!(
        "{label}: {devices} devices (registered in {:.1} s), {cpes} concurrent CPEs, {:.1} s: {} sessions, {:.0} sessions/s, p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, errors {errors}",
        fill.as_secs_f64(),
        wall.as_secs_f64(),
        lat.len(),
        lat.len() as f64 / wall.as_secs_f64(),
        pct(0.5),
        pct(0.9),
        pct(0.99),
    );
    running.shutdown().await;
}

fn main() {
    ferroacs::install_crypto_provider();
    let devices = arg("--devices", 10_000);
    let cpes = arg("--cpes", 64);
    let seconds = arg("--seconds", 10);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        run(
            "sqlite",
            format!("sqlite://{}", dir.path().join("s.db").display()),
            devices,
            cpes,
            seconds,
        )
        .await;
        if let Ok(pg) = std::env::var("FERROACS_BENCH_POSTGRES_URL") {
            let schema = format!("bench_{}", uuid::Uuid::new_v4().simple());
            let admin = sqlx::PgPool::connect(&pg).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                .execute(&admin)
                .await
                .unwrap();
            let sep = if pg.contains('?') { '&' } else { '?' };
            run(
                "postgres",
                format!("{pg}{sep}options=-c%20search_path%3D{schema}"),
                devices,
                cpes,
                seconds,
            )
            .await;
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                .execute(&admin)
                .await
                .unwrap();
        }
    });
}
