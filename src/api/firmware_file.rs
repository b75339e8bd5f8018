//! `PUT /api/v1/inventory_firmware_image/{id}/file/`: the image itself, streamed to
//! `<data-dir>/firmware/<id>.bin` (never held whole in memory) with its size and SHA-256.

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, State};
use axum::response::{IntoResponse, Response};
use axum::routing::put;
use axum::{Json, Router};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::AppState;
use super::catalog::FirmwareImages;
use super::crud::{Resource, both_slashes};
use super::extract::{Caller, Id};
use crate::error::ApiError;
use crate::store::{Scope, Table, Val};

pub fn image_path(data_dir: &Path, id: i64) -> PathBuf {
    data_dir.join("firmware").join(format!("{id}.bin"))
}

async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    body: Body,
) -> Result<Response, ApiError> {
    caller.require_admin()?;
    state
        .store
        .get_firmware_image(id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let dir = state.config.data_dir.join("firmware");
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| ApiError::Internal(format!("creating {}: {e}", dir.display())))?;
    let final_path = image_path(&state.config.data_dir, id);
    let tmp_path = dir.join(format!(".{id}.{}.part", uuid::Uuid::new_v4()));
    let result = stream_to(&tmp_path, body, state.config.max_firmware_bytes).await;
    let (size, sha) = match result {
        Ok(v) => v,
        Err(e) => {
            let _ = tokio::fs::remove_file(&tmp_path).await;
            return Err(e);
        }
    };
    tokio::fs::rename(&tmp_path, &final_path)
        .await
        .map_err(|e| ApiError::Internal(format!("renaming firmware file: {e}")))?;
    let values = vec![
        ("size", Val::Int(Some(size as i64))),
        ("sha256", Val::Text(Some(sha))),
    ];
    state
        .store
        .update(Table::FirmwareImages, id, &Scope::All, &values)
        .await?;
    let row = state
        .store
        .get_firmware_image(id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(FirmwareImages::to_json(&row)).into_response())
}

async fn stream_to(path: &Path, body: Body, limit: u64) -> Result<(u64, String), ApiError> {
    let mut file = tokio::fs::File::create(path)
        .await
        .map_err(|e| ApiError::Internal(format!("creating {}: {e}", path.display())))?;
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::BadRequest(format!("Upload interrupted: {e}")))?;
        size += chunk.len() as u64;
        if size > limit {
            return Err(ApiError::PayloadTooLarge);
        }
        hasher.update(&chunk);
        file.write_all(&chunk)
            .await
            .map_err(|e| ApiError::Internal(format!("writing firmware file: {e}")))?;
    }
    file.sync_all()
        .await
        .map_err(|e| ApiError::Internal(format!("syncing firmware file: {e}")))?;
    if size == 0 {
        return Err(ApiError::field("file", "The submitted file is empty."));
    }
    Ok((size, hex::encode(hasher.finalize())))
}

pub fn routes(router: Router<AppState>) -> Router<AppState> {
    both_slashes(
        router,
        "/api/v1/inventory_firmware_image/{id}/file/",
        put(upload).layer(DefaultBodyLimit::disable()),
    )
}
