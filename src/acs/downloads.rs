//! Firmware images served to CPEs on the CWMP listener, under signed, expiring per-device URLs
//! (no anonymous access), streamed from disk with Range and HEAD support.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::ServeFile;

use super::Acs;
use crate::api::firmware_file::image_path;

pub async fn serve(State(acs): State<Arc<Acs>>, req: Request) -> Response {
    let now_s = crate::time::now_micros() / 1_000_000;
    let Some((device_id, image_id)) = acs.keys.verify_download(req.uri().path(), now_s) else {
        return (StatusCode::FORBIDDEN, "invalid or expired download link\n").into_response();
    };
    let path = image_path(&acs.config.data_dir, image_id);
    if !path.exists() {
        return (StatusCode::NOT_FOUND, "no such image\n").into_response();
    }
    tracing::info!(device_id, image_id, range = ?req.headers().get(axum::http::header::RANGE), "firmware download");
    match ServeFile::new(path).oneshot(req).await {
        Ok(r) => r.into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    }
}
