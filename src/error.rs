//! The API's error type and its one mapping to HTTP responses (DRF's shapes).

use std::collections::BTreeMap;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::store::StoreError;

/// Per-field messages, as DRF returns them for a 400.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid input: {0:?}")]
    Validation(FieldErrors),
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("not authenticated: {0}")]
    Unauthorized(&'static str),
    #[error("forbidden")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("unsupported media type {0:?}")]
    UnsupportedMediaType(String),
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("storage failure: {0}")]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn field(name: &str, msg: impl Into<String>) -> ApiError {
        let mut errors = FieldErrors::new();
        errors.insert(name.to_string(), vec![msg.into()]);
        ApiError::Validation(errors)
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Validation(_) | ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Store(StoreError::ForeignKey) => StatusCode::CONFLICT,
            ApiError::Store(StoreError::Unique { .. }) => StatusCode::CONFLICT,
            ApiError::Store(_) | ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = match &self {
            ApiError::Validation(errors) => json!(errors),
            ApiError::BadRequest(msg) | ApiError::Conflict(msg) => json!({ "detail": msg }),
            ApiError::Unauthorized(msg) => json!({ "detail": msg }),
            ApiError::Forbidden => {
                json!({ "detail": "You do not have permission to perform this action." })
            }
            ApiError::NotFound => json!({ "detail": "Not found." }),
            ApiError::MethodNotAllowed(m) => {
                json!({ "detail": format!("Method \"{m}\" not allowed.") })
            }
            ApiError::UnsupportedMediaType(ct) => {
                json!({ "detail": format!("Unsupported media type \"{ct}\" in request.") })
            }
            ApiError::PayloadTooLarge => json!({ "detail": "Request body is too large." }),
            ApiError::Store(StoreError::ForeignKey) => {
                json!({ "detail": "This object is referenced by other objects." })
            }
            ApiError::Store(StoreError::Unique { column }) => {
                json!({ "detail": format!("An object with this {column} already exists.") })
            }
            ApiError::Store(_) | ApiError::Internal(_) => {
                // Internals go to the log, never to the client.
                tracing::error!(error = %self, "request failed");
                json!({ "detail": "Internal server error." })
            }
        };
        let mut resp = (status, axum::Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}
