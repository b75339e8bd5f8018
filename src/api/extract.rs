//! Request extractors shared by every API handler: the caller's token, JSON bodies, query
//! parameters and integer path ids, each failing with a DRF-shaped error.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::AppState;
use crate::error::ApiError;
use crate::store::Scope;

/// The authenticated API token behind a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub token_id: i64,
    pub admin: bool,
    pub scope: Scope,
}

impl Caller {
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.admin {
            Ok(())
        } else {
            Err(ApiError::Forbidden)
        }
    }

    /// 403 unless the caller may act on `org`.
    pub fn require_org(&self, org: i64) -> Result<(), ApiError> {
        if self.scope.allows(org) {
            Ok(())
        } else {
            Err(ApiError::Forbidden)
        }
    }
}

/// SHA-256 of a token: what the database keeps instead of the token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or(ApiError::Unauthorized(
                "Authentication credentials were not provided.",
            ))?;
        let header = header
            .to_str()
            .map_err(|_| ApiError::Unauthorized("Invalid token header."))?;
        let (scheme, token) = header.trim().split_once(' ').unwrap_or((header, ""));
        if !scheme.eq_ignore_ascii_case("bearer") && !scheme.eq_ignore_ascii_case("token") {
            return Err(ApiError::Unauthorized(
                "Authentication credentials were not provided.",
            ));
        }
        let token = token.trim();
        if token.is_empty() || token.contains(' ') {
            return Err(ApiError::Unauthorized("Invalid token header."));
        }
        let hash = token_hash(token);
        let found = state.store.find_token(&hash).await?;
        match found {
            Some(t)
                if t.revoked.is_none()
                    && bool::from(t.token_hash.as_bytes().ct_eq(hash.as_bytes())) =>
            {
                let scope = if t.admin {
                    Scope::All
                } else {
                    Scope::Orgs(t.organization_ids())
                };
                Ok(Caller {
                    token_id: t.id,
                    admin: t.admin,
                    scope,
                })
            }
            _ => Err(ApiError::Unauthorized("Invalid token.")),
        }
    }
}

/// A JSON object body (anything else is a 4xx).
pub struct JsonObject(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let ct = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let mime = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if mime != "application/json"
            && !(mime.starts_with("application/") && mime.ends_with("+json"))
        {
            return Err(ApiError::UnsupportedMediaType(ct));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::BadRequest(format!("Could not read the request body: {e}"))
            }
        })?;
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::BadRequest(format!("JSON parse error - {e}")))?;
        match value {
            Value::Object(m) => Ok(JsonObject(m)),
            other => {
                let kind = match other {
                    Value::Array(_) => "list",
                    Value::String(_) => "str",
                    Value::Number(_) => "int",
                    Value::Bool(_) => "bool",
                    _ => "NoneType",
                };
                Err(ApiError::Validation(
                    [(
                        "non_field_errors".to_string(),
                        vec![format!(
                            "Invalid data. Expected a dictionary, but got {kind}."
                        )],
                    )]
                    .into(),
                ))
            }
        }
    }
}

/// The raw query string's pairs, in order.
#[derive(Debug, Clone, Default)]
pub struct QueryPairs(pub Vec<(String, String)>);

impl QueryPairs {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A boolean flag like `pending=true`; absent is false, nonsense is a 400.
    pub fn flag(&self, key: &str) -> Result<bool, ApiError> {
        match self.get(key) {
            None | Some("") => Ok(false),
            Some(v) => super::fields::parse_bool(v)
                .ok_or_else(|| ApiError::field(key, "Must be a valid boolean.")),
        }
    }

    /// An integer filter; a non-number is django-filter's 400.
    pub fn int(&self, key: &str) -> Result<Option<i64>, ApiError> {
        match self.get(key) {
            None | Some("") => Ok(None),
            Some(v) => v
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| ApiError::field(key, "Enter a number.")),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        Ok(QueryPairs(
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect(),
        ))
    }
}

/// An integer id from the path; anything else is a 404, as DRF's `<int:pk>` routes give.
pub struct Id(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|_| ApiError::NotFound)?;
        raw.parse::<i64>().map(Id).map_err(|_| ApiError::NotFound)
    }
}
