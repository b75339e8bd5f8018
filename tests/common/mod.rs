//! Shared integration-test harness: a real server on port 0 over a fresh database (a SQLite
//! file, or a fresh PostgreSQL schema when FERROACS_TEST_POSTGRES_URL is set), real HTTP.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;

use ferroacs::app::{self, Running};
use ferroacs::config::ServeArgs;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs an async test body against SQLite always and PostgreSQL when configured.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::common::Backend::Sqlite).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if $crate::common::postgres_url().is_none() {
                        eprintln!("skipped: FERROACS_TEST_POSTGRES_URL is not set");
                        return;
                    }
                    super::$name($crate::common::Backend::Postgres).await;
                }
            }
        )*
    };
}

pub fn postgres_url() -> Option<String> {
    std::env::var("FERROACS_TEST_POSTGRES_URL")
        .ok()
        .filter(|s| !s.is_empty())
}

/// A database for one test: its URL and what to clean up.
pub struct TestDb {
    pub url: String,
    pub backend: Backend,
    pub dir: tempfile::TempDir,
    schema: Option<String>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        let dir = tempfile::tempdir().expect("tempdir");
        match backend {
            Backend::Sqlite => TestDb {
                url: format!("sqlite://{}", dir.path().join("ferroacs.db").display()),
                backend,
                dir,
                schema: None,
            },
            Backend::Postgres => {
                let base = postgres_url().expect("FERROACS_TEST_POSTGRES_URL");
                let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
                let pool = sqlx::PgPool::connect(&base)
                    .await
                    .expect("connect to PostgreSQL");
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                    .execute(&pool)
                    .await
                    .expect("create schema");
                pool.close().await;
                let sep = if base.contains('?') { '&' } else { '?' };
                TestDb {
                    url: format!("{base}{sep}options=-c%20search_path%3D{schema}"),
                    backend,
                    dir,
                    schema: Some(schema),
                }
            }
        }
    }

    pub async fn cleanup(&self) {
        if let (Some(schema), Some(base)) = (&self.schema, postgres_url())
            && let Ok(pool) = sqlx::PgPool::connect(&base).await
        {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                .execute(&pool)
                .await;
            pool.close().await;
        }
    }
}

/// Flags of a test server: ephemeral loopback ports, small limits, connection requests only to
/// loopback.
pub fn serve_args(db_url: &str, data_dir: PathBuf) -> ServeArgs {
    ServeArgs::from_flags([
        "--database-url",
        db_url,
        "--api-listen",
        "127.0.0.1:0",
        "--cwmp-listen",
        "127.0.0.1:0",
        "--data-dir",
        data_dir.to_str().unwrap(),
        "--max-body-bytes",
        "65536",
        "--max-firmware-bytes",
        "1048576",
        "--shutdown-grace",
        "5",
        "--connection-request-allow",
        "127.0.0.0/8",
    ])
    .expect("valid test flags")
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Resp {
    #[track_caller]
    pub fn expect(self, status: u16) -> Resp {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text
        );
        self
    }
}

/// A running server with an admin token.
pub struct TestApp {
    pub args: ServeArgs,
    pub db: TestDb,
    pub running: Option<Running>,
    pub addr: SocketAddr,
    pub cwmp_addr: SocketAddr,
    pub base: String,
    pub admin: String,
    pub client: reqwest::Client,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut ServeArgs)) -> TestApp {
        ferroacs::install_crypto_provider();
        let db = TestDb::new(backend).await;
        let mut args = serve_args(&db.url, db.dir.path().join("data"));
        tweak(&mut args);
        let running = app::start(&args).await.expect("server starts");
        let addr = running.api_addr;
        let cwmp_addr = running.cwmp_addr;
        let admin = ferroacs::cli::new_token();
        running
            .store
            .create_token(
                "admin",
                &ferroacs::api::extract::token_hash(&admin),
                true,
                &[],
            )
            .await
            .expect("admin token");
        TestApp {
            args,
            db,
            running: Some(running),
            addr,
            cwmp_addr,
            base: format!("http://{addr}"),
            admin,
            client: reqwest::Client::new(),
        }
    }

    /// A token limited to `orgs`.
    pub async fn scoped_token(&self, name: &str, orgs: &[i64]) -> String {
        let token = ferroacs::cli::new_token();
        self.running
            .as_ref()
            .unwrap()
            .store
            .create_token(
                name,
                &ferroacs::api::extract::token_hash(&token),
                false,
                orgs,
            )
            .await
            .expect("scoped token");
        token
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        Self::read(req.send().await.expect("request sent")).await
    }

    pub async fn read(resp: reqwest::Response) -> Resp {
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            body,
            text,
        }
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send("GET", path, Some(&self.admin.clone()), None)
            .await
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.send("POST", path, Some(&self.admin.clone()), Some(body))
            .await
    }

    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.send("PUT", path, Some(&self.admin.clone()), Some(body))
            .await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Resp {
        self.send("PATCH", path, Some(&self.admin.clone()), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.send("DELETE", path, Some(&self.admin.clone()), None)
            .await
    }

    pub async fn create_org(&self, name: &str) -> i64 {
        self.post("/api/v1/organization/", json!({ "name": name }))
            .await
            .expect(201)
            .body["id"]
            .as_i64()
            .unwrap()
    }

    pub async fn create_type(&self, name: &str, short: &str) -> i64 {
        self.post(
            "/api/v1/inventory_device_type/",
            json!({ "name": name, "short_name": short, "manufacturer": "Zequenze Networks", "product_class": "Enterprise Router" }),
        )
        .await
        .expect(201)
        .body["id"]
            .as_i64()
            .unwrap()
    }

    pub async fn create_location(&self, org: i64, name: &str, short: &str) -> i64 {
        self.post(
            "/api/v1/inventory_location/",
            json!({ "name": name, "short_name": short, "organization_id": org, "latitude": "40.7128", "longitude": "-74.0060" }),
        )
        .await
        .expect(201)
        .body["id"]
            .as_i64()
            .unwrap()
    }

    pub async fn create_device(&self, body: Value) -> Value {
        self.post("/api/v1/inventory_device/", body)
            .await
            .expect(201)
            .body
    }

    /// Stops the server and starts a new one on the same database (ports change).
    pub async fn restart(&mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await;
        }
        let running = app::start(&self.args).await.expect("server restarts");
        self.addr = running.api_addr;
        self.cwmp_addr = running.cwmp_addr;
        self.base = format!("http://{}", self.addr);
        self.running = Some(running);
    }

    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await;
        }
        self.db.cleanup().await;
    }
}
