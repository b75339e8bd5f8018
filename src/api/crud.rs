//! Generic list/create/retrieve/update/delete handlers for the inventory's reference resources.

use async_trait::async_trait;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Map, Value};

use super::AppState;
use super::extract::{Caller, Id, JsonObject, QueryPairs};
use super::pagination::{RequestUrl, page_body, page_of};
use crate::error::ApiError;
use crate::store::{Page, Scope, StoreError, Table, Val, Values};

#[async_trait]
pub trait Resource: Send + Sync + 'static {
    type Row: Send + Sync + 'static;
    const TABLE: Table;
    /// URL segment under `/api/v1/`.
    const PATH: &'static str;
    /// Only admin tokens may write.
    const ADMIN_WRITE: bool;
    /// What a 409 on delete says is still referencing the object.
    const IN_USE: &'static str;

    fn to_json(row: &Self::Row) -> Value;
    async fn list(
        state: &AppState,
        scope: &Scope,
        page: Page,
    ) -> Result<(i64, Vec<Self::Row>), StoreError>;
    async fn get(state: &AppState, id: i64, scope: &Scope)
    -> Result<Option<Self::Row>, StoreError>;
    /// Validates a body into the columns to write; `current` is the row a PUT/PATCH changes.
    async fn validate(
        state: &AppState,
        caller: &Caller,
        body: &Map<String, Value>,
        current: Option<&Self::Row>,
        partial: bool,
    ) -> Result<Values, ApiError>;

    /// Runs after a PUT/PATCH changed `before` into `after`.
    async fn after_write(
        _state: &AppState,
        _before: &Self::Row,
        _after: &Self::Row,
    ) -> Result<(), ApiError> {
        Ok(())
    }
}

async fn list<R: Resource>(
    State(state): State<AppState>,
    caller: Caller,
    url: RequestUrl,
    q: QueryPairs,
) -> Result<Response, ApiError> {
    let page = page_of(&q, state.config.default_limit, state.config.max_limit);
    let (count, rows) = R::list(&state, &caller.scope, page).await?;
    let results: Vec<Value> = rows.iter().map(R::to_json).collect();
    Ok(Json(page_body(&url, &q, page, count, results)).into_response())
}

async fn retrieve<R: Resource>(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> Result<Response, ApiError> {
    let row = R::get(&state, id, &caller.scope)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(R::to_json(&row)).into_response())
}

async fn create<R: Resource>(
    State(state): State<AppState>,
    caller: Caller,
    url: RequestUrl,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    if R::ADMIN_WRITE {
        caller.require_admin()?;
    }
    let mut values = R::validate(&state, &caller, &body, None, false).await?;
    values.push(("created", Val::Int(Some(crate::time::now_micros()))));
    let id = state.store.insert(R::TABLE, &values).await?;
    let row = R::get(&state, id, &Scope::All)
        .await?
        .ok_or(ApiError::NotFound)?;
    let location = url.absolute(&format!("/api/v1/{}/{id}/", R::PATH));
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(R::to_json(&row)),
    )
        .into_response())
}

async fn write<R: Resource>(
    state: AppState,
    caller: Caller,
    id: i64,
    body: Map<String, Value>,
    partial: bool,
) -> Result<Response, ApiError> {
    if R::ADMIN_WRITE {
        caller.require_admin()?;
    }
    let current = R::get(&state, id, &caller.scope)
        .await?
        .ok_or(ApiError::NotFound)?;
    let values = R::validate(&state, &caller, &body, Some(&current), partial).await?;
    if !state
        .store
        .update(R::TABLE, id, &caller.scope, &values)
        .await?
    {
        return Err(ApiError::NotFound);
    }
    let row = R::get(&state, id, &caller.scope)
        .await?
        .ok_or(ApiError::NotFound)?;
    R::after_write(&state, &current, &row).await?;
    Ok(Json(R::to_json(&row)).into_response())
}

async fn replace<R: Resource>(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    write::<R>(state, caller, id, body, false).await
}

async fn patch<R: Resource>(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    write::<R>(state, caller, id, body, true).await
}

async fn destroy<R: Resource>(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> Result<Response, ApiError> {
    if R::ADMIN_WRITE {
        caller.require_admin()?;
    }
    match state.store.delete(R::TABLE, id, &caller.scope).await {
        Ok(true) => Ok(StatusCode::NO_CONTENT.into_response()),
        Ok(false) => Err(ApiError::NotFound),
        Err(StoreError::ForeignKey) => Err(ApiError::Conflict(R::IN_USE.to_string())),
        Err(e) => Err(e.into()),
    }
}

/// Adds `path` and `path` without its trailing slash to a router.
pub fn both_slashes(
    router: Router<AppState>,
    path: &str,
    method_router: axum::routing::MethodRouter<AppState>,
) -> Router<AppState> {
    let bare = path.trim_end_matches('/');
    router
        .route(path, method_router.clone())
        .route(bare, method_router)
}

pub fn routes<R: Resource>(router: Router<AppState>) -> Router<AppState> {
    let collection = format!("/api/v1/{}/", R::PATH);
    let item = format!("/api/v1/{}/{{id}}/", R::PATH);
    let router = both_slashes(router, &collection, get(list::<R>).post(create::<R>));
    both_slashes(
        router,
        &item,
        get(retrieve::<R>)
            .put(replace::<R>)
            .patch(patch::<R>)
            .delete(destroy::<R>),
    )
}
