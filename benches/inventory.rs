//! REST inventory benchmark: fills N devices across M organizations, then measures the list
//! endpoint (organization + status filter, limit 50, an offset deep in the list, and an admin
//! list with a deep offset) and single-device GETs over real HTTP, on SQLite and (when
//! FERROACS_BENCH_POSTGRES_URL is set) PostgreSQL.
//!
//!     cargo bench --bench inventory -- [--devices 100000] [--orgs 100] [--requests 4000] [--concurrency 8]

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferroacs::app;
use ferroacs::config::ServeArgs;
use ferroacs::store::{Table, Val};

struct Opts {
    devices: i64,
    orgs: i64,
    requests: usize,
    concurrency: usize,
}

fn opts() -> Opts {
    let args: Vec<String> = std::env::args().collect();
    let get = |name: &str, default: i64| -> i64 {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    Opts {
        devices: get("--devices", 100_000),
        orgs: get("--orgs", 100),
        requests: get("--requests", 4000) as usize,
        concurrency: get("--concurrency", 8) as usize,
    }
}

const COLS: &str = "uuid, name, is_active, status_up, status_change, type_id, organization_id, \
    serial_number, last_change, created, last_connection, software_version";

fn row_sql(rows: usize) -> String {
    let mut sql = format!("INSERT INTO devices ({COLS}) VALUES ");
    let mut n = 0;
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..12 {
            if c > 0 {
                sql.push_str(", ");
            }
            n += 1;
            sql.push_str(&format!("${n}"));
        }
        sql.push(')');
    }
    sql
}

macro_rules! fill {
    ($pool:expr, $o:expr, $ty:expr, $orgs:expr) => {{
        let batch = 500usize;
        let sql = row_sql(batch);
        let now = ferroacs::time::now_micros();
        let mut i = 0i64;
        while i < $o.devices {
            let n = batch.min(($o.devices - i) as usize);
            let stmt = if n == batch { sql.clone() } else { row_sql(n) };
            let mut q = sqlx::query(sqlx::AssertSqlSafe(stmt));
            for k in 0..n as i64 {
                let id = i + k;
                q = q
                    .bind(uuid::Uuid::new_v4().to_string())
                    .bind(format!("bench-{id}"))
                    .bind(true)
                    .bind(id % 2 == 0)
                    .bind(now - id * 1_000_000)
                    .bind($ty)
                    .bind($orgs[(id % $o.orgs) as usize])
                    .bind(format!("SN{id:010}"))
                    .bind(now)
                    .bind(now)
                    .bind(now - id * 1_000)
                    .bind("1.0.0");
            }
            q.execute(&$pool).await.expect("insert batch");
            i += n as i64;
        }
    }};
}

struct Stats {
    label: String,
    lat: Vec<Duration>,
    wall: Duration,
}

impl Stats {
    fn pct(&self, p: f64) -> f64 {
        let i = ((self.lat.len() as f64 - 1.0) * p).round() as usize;
        self.lat[i].as_secs_f64() * 1000.0
    }

    fn print(&self) {
        println!(
            "| {:<58} | {:>7.0} | {:>6.2} | {:>6.2} | {:>6.2} | {:>6.2} |",
            self.label,
            self.lat.len() as f64 / self.wall.as_secs_f64(),
            self.pct(0.5),
            self.pct(0.9),
            self.pct(0.99),
            self.lat.last().unwrap().as_secs_f64() * 1000.0,
        );
    }
}

async fn measure(
    label: &str,
    client: &reqwest::Client,
    token: &str,
    urls: Vec<String>,
    concurrency: usize,
) -> Stats {
    let urls = Arc::new(urls);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, token, urls, next) = (
            client.clone(),
            token.to_string(),
            urls.clone(),
            next.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(url) = urls.get(i) else { break };
                let t = Instant::now();
                let r = client
                    .get(url)
                    .bearer_auth(&token)
                    .send()
                    .await
                    .expect("request");
                assert_eq!(r.status(), 200, "{url}");
                let _ = r.bytes().await.expect("body");
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    let wall = start.elapsed();
    lat.sort();
    Stats {
        label: label.to_string(),
        lat,
        wall,
    }
}

async fn run(backend: &str, url: String, o: &Opts) {
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
    ])
    .expect("flags");
    let running = app::start(&args).await.expect("server");
    let store = running.store.clone();
    let t0 = Instant::now();
    let mut orgs = Vec::new();
    for i in 0..o.orgs {
        let v = vec![
            ("name", Val::Text(Some(format!("org-{i}")))),
            ("created", Val::Int(Some(0))),
        ];
        orgs.push(store.insert(Table::Organizations, &v).await.unwrap());
    }
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
    if backend == "sqlite" {
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        fill!(pool, o, ty, orgs);
        sqlx::query("ANALYZE").execute(&pool).await.unwrap();
    } else {
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        fill!(pool, o, ty, orgs);
        sqlx::query("ANALYZE").execute(&pool).await.unwrap();
    }
    let fill = t0.elapsed();
    let token = ferroacs::cli::new_token();
    store
        .create_token(
            "bench",
            &ferroacs::api::extract::token_hash(&token),
            true,
            &[],
        )
        .await
        .unwrap();
    let base = format!("http://{}", running.api_addr);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    let per_org = o.devices / o.orgs;
    // Up devices per organization are per_org / 2: start 80% of the way into them.
    let deep_org = (per_org / 2 * 8 / 10).max(0);
    let deep_all = (o.devices / 2 * 9 / 10).max(0);
    let mut rng_state = 0x2545F4914F6CDD1Du64;
    let mut rnd = move |n: i64| {
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        (rng_state % n as u64) as i64
    };
    let n = o.requests;
    let list_org: Vec<String> = (0..n)
        .map(|_| {
            let org = orgs[rnd(o.orgs) as usize];
            format!("{base}/api/v1/inventory_device/?organization={org}&status=true&limit=50&offset={deep_org}")
        })
        .collect();
    let list_all: Vec<String> = (0..n / 4)
        .map(|_| {
            format!(
                "{base}/api/v1/inventory_device/?status=true&limit=50&offset={}",
                deep_all - rnd(1000)
            )
        })
        .collect();
    let detail: Vec<String> = (0..n)
        .map(|_| format!("{base}/api/v1/inventory_device/{}/", 1 + rnd(o.devices)))
        .collect();
    // Warm-up: connections and caches.
    measure(
        "warm-up",
        &client,
        &token,
        detail[..n.min(200)].to_vec(),
        o.concurrency,
    )
    .await;
    println!(
        "\n{backend}: {} devices in {} organizations (filled in {:.1} s), {} concurrent clients\n",
        o.devices,
        o.orgs,
        fill.as_secs_f64(),
        o.concurrency
    );
    println!(
        "| {:<58} | {:>7} | {:>6} | {:>6} | {:>6} | {:>6} |",
        "request", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms"
    );
    println!(
        "|{:-<60}|{:-<9}|{:-<8}|{:-<8}|{:-<8}|{:-<8}|",
        "", "", "", "", "", ""
    );
    measure(
        &format!("list ?organization=O&status=true&limit=50&offset={deep_org}"),
        &client,
        &token,
        list_org,
        o.concurrency,
    )
    .await
    .print();
    measure(
        &format!("list ?status=true&limit=50&offset=~{deep_all} (admin)"),
        &client,
        &token,
        list_all,
        o.concurrency,
    )
    .await
    .print();
    measure(
        "detail /inventory_device/{random id}/",
        &client,
        &token,
        detail.clone(),
        o.concurrency,
    )
    .await
    .print();
    measure(
        "detail, 1 client",
        &client,
        &token,
        detail[..n / 2].to_vec(),
        1,
    )
    .await
    .print();
    running.shutdown().await;
}

fn main() {
    ferroacs::install_crypto_provider();
    let o = opts();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        run("sqlite", url, &o).await;
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
                &o,
            )
            .await;
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                .execute(&admin)
                .await
                .unwrap();
        }
    });
}
