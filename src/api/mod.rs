//! The inventory REST API (`/api/v1/...`): thin handlers over the store.

pub mod bulk;
pub mod catalog;
pub mod crud;
pub mod device_view;
pub mod devices;
pub mod extract;
pub mod fields;
pub mod firmware_file;
pub mod openapi;
pub mod pagination;

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::acs::connreq::ConnectionRequester;
use crate::error::ApiError;
use crate::store::{DynStore, StoreError};

/// Settings of the API that come from the command line.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    pub default_limit: i64,
    pub max_limit: i64,
    /// Base of absolute links (`next`, `Location`); from the Host header when unset.
    pub public_url: Option<String>,
    pub listen_addr: String,
    pub tls: bool,
    /// Digest realm the device credentials are hashed for.
    pub realm: String,
    pub data_dir: PathBuf,
    pub max_body_bytes: usize,
    pub max_firmware_bytes: u64,
    /// Inform interval assumed for devices without `update_frequency`.
    pub default_inform_interval_s: i64,
    /// A device is Down after this many intervals without an Inform.
    pub down_after_intervals: i64,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            default_limit: 100,
            max_limit: 1000,
            public_url: None,
            listen_addr: "127.0.0.1:8000".into(),
            tls: false,
            realm: "ferroacs".into(),
            data_dir: PathBuf::from("data"),
            max_body_bytes: 1 << 20,
            max_firmware_bytes: 1 << 30,
            default_inform_interval_s: 86_400,
            down_after_intervals: 3,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub store: DynStore,
    pub config: Arc<ApiConfig>,
    /// Wakes CPEs when work becomes pending, probes liveness (absent without a CWMP side).
    pub connreq: Option<Arc<ConnectionRequester>>,
    pub probe_timeout: std::time::Duration,
}

impl AppState {
    pub fn new(store: DynStore, config: ApiConfig) -> Self {
        AppState {
            store,
            config: Arc::new(config),
            connreq: None,
            probe_timeout: std::time::Duration::from_secs(2),
        }
    }

    /// Recomputes `status` of the given devices from their last contact.
    pub async fn refresh_status(&self, ids: &[i64]) -> Result<u64, StoreError> {
        self.store
            .refresh_status(
                ids,
                crate::time::now_micros(),
                self.config.default_inform_interval_s,
                self.config.down_after_intervals,
            )
            .await
    }
}

async fn not_found() -> ApiError {
    ApiError::NotFound
}

async fn method_not_allowed(method: Method) -> ApiError {
    ApiError::MethodNotAllowed(method.to_string())
}

/// Turns axum's plain-text 413 (body limit) into the API's JSON error.
async fn json_errors(req: Request, next: axum::middleware::Next) -> Response {
    let resp = next.run(req).await;
    if resp.status() == StatusCode::PAYLOAD_TOO_LARGE
        && !resp
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"application/json"))
    {
        return ApiError::PayloadTooLarge.into_response();
    }
    resp
}

pub fn router(state: AppState) -> Router {
    let max_body = state.config.max_body_bytes;
    let mut r = Router::new();
    r = crud::routes::<catalog::Organizations>(r);
    r = crud::routes::<catalog::DeviceTypes>(r);
    r = crud::routes::<catalog::Locations>(r);
    r = crud::routes::<catalog::FirmwareImages>(r);
    r = devices::routes(r);
    r = r.layer(DefaultBodyLimit::max(max_body));
    // The firmware upload streams to disk under its own limit.
    r = firmware_file::routes(r);
    r = openapi::routes(r);
    r.fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(json_errors))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}
