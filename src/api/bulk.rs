//! `POST /api/v1/inventory_device/bulk/`: one partial update (operation flags, settings,
//! firmware, ...) applied to every device a filter selects inside the caller's scope — the
//! seed's "bulk device management" use case. Each device goes through the same validation and
//! side effects as a PATCH, so a device that refuses the update does not stop the others.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::AppState;
use super::devices::{after_write, filter_of, unique_error, validate};
use super::extract::{Caller, JsonObject, QueryPairs};
use crate::error::ApiError;
use crate::store::Table;

/// Fields a bulk update may change (identity and credentials are per device).
const ALLOWED: [&str; 12] = [
    "reboot",
    "sync",
    "factory",
    "debug",
    "is_active",
    "update_frequency",
    "firmware_image",
    "settings",
    "description",
    "customer_id",
    "location",
    "location_name",
];

/// Most devices one request may change (narrow the filter, or page with `ids`).
pub const MAX_DEVICES: i64 = 10_000;

fn filter_pairs(filter: &Map<String, Value>) -> Result<QueryPairs, ApiError> {
    let mut pairs = Vec::new();
    for (k, v) in filter {
        if k == "ids" {
            continue;
        }
        if ![
            "type",
            "status",
            "last_status_change_from",
            "organization",
            "has_pending",
        ]
        .contains(&k.as_str())
        {
            return Err(ApiError::field(
                "filter",
                format!("Unknown filter \"{k}\"."),
            ));
        }
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => {
                return Err(ApiError::field(
                    "filter",
                    format!("\"{k}\" must be a string, number or boolean."),
                ));
            }
        };
        pairs.push((k.clone(), text));
    }
    Ok(QueryPairs(pairs))
}

pub async fn bulk(
    State(state): State<AppState>,
    caller: Caller,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    let filter = match body.get("filter") {
        Some(Value::Object(f)) => f.clone(),
        Some(_) => {
            return Err(ApiError::field(
                "filter",
                "Expected an object of list filters.",
            ));
        }
        None => {
            return Err(ApiError::field(
                "filter",
                "This field is required (use {} to select every device you can see).",
            ));
        }
    };
    let update = match body.get("update") {
        Some(Value::Object(u)) if !u.is_empty() => u.clone(),
        Some(Value::Object(_)) | None => {
            return Err(ApiError::field(
                "update",
                "This field is required and may not be empty.",
            ));
        }
        Some(_) => {
            return Err(ApiError::field(
                "update",
                "Expected an object of device fields.",
            ));
        }
    };
    let refused: Vec<&String> = update
        .keys()
        .filter(|k| !ALLOWED.contains(&k.as_str()))
        .collect();
    if !refused.is_empty() {
        return Err(ApiError::field(
            "update",
            format!(
                "Not allowed in a bulk update: {}. Allowed: {}.",
                refused
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                ALLOWED.join(", ")
            ),
        ));
    }
    let ids_only: Option<Vec<i64>> = match filter.get("ids") {
        None => None,
        Some(Value::Array(a)) => Some(
            a.iter()
                .map(|v| {
                    v.as_i64().ok_or_else(|| {
                        ApiError::field("filter", "\"ids\" must be a list of integers.")
                    })
                })
                .collect::<Result<_, _>>()?,
        ),
        Some(_) => {
            return Err(ApiError::field(
                "filter",
                "\"ids\" must be a list of integers.",
            ));
        }
    };
    let device_filter = filter_of(&filter_pairs(&filter)?, &caller)?;
    let mut ids = state
        .store
        .device_ids(&device_filter, &caller.scope, MAX_DEVICES + 1)
        .await?;
    if let Some(only) = &ids_only {
        ids.retain(|id| only.contains(id));
    }
    if ids.len() as i64 > MAX_DEVICES {
        return Err(ApiError::BadRequest(format!(
            "The filter selects more than {MAX_DEVICES} devices: narrow it (e.g. by organization or type) or list \"ids\"."
        )));
    }
    let mut updated = 0;
    let mut failed = Vec::new();
    for id in &ids {
        let Some(current) = state.store.get_device(*id, &caller.scope).await? else {
            continue;
        };
        let outcome = async {
            let values = validate(&state, &caller, &update, Some(&current), true).await?;
            match state
                .store
                .update(Table::Devices, *id, &caller.scope, &values)
                .await
            {
                Ok(true) => {}
                Ok(false) => return Err(ApiError::NotFound),
                Err(e) => return Err(unique_error(&state, e, &update, Some(*id)).await),
            }
            let after = state
                .store
                .get_device(*id, &caller.scope)
                .await?
                .ok_or(ApiError::NotFound)?;
            after_write(&state, &current, &after, &update).await
        }
        .await;
        match outcome {
            Ok(()) => updated += 1,
            Err(ApiError::Validation(errors)) => failed.push(json!({ "id": id, "errors": errors })),
            Err(ApiError::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Json(json!({ "matched": ids.len(), "updated": updated, "failed": failed })).into_response())
}

/// Most devices one bulk creation may carry.
pub const MAX_CREATE: usize = 1000;

/// `POST /api/v1/inventory_device/bulk_create/`: registers up to 1,000 devices at once (each
/// validated like a POST, all created in one transaction or none). With `"skip_existing": true`
/// devices whose serial number is already registered are skipped instead of failing the batch.
pub async fn bulk_create(
    State(state): State<AppState>,
    caller: Caller,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    let devices = match body.get("devices") {
        Some(Value::Array(d)) if !d.is_empty() && d.len() <= MAX_CREATE => d,
        Some(Value::Array(d)) if d.is_empty() => {
            return Err(ApiError::field("devices", "This list may not be empty."));
        }
        Some(Value::Array(_)) => {
            return Err(ApiError::field(
                "devices",
                format!("Ensure this list has at most {MAX_CREATE} elements."),
            ));
        }
        _ => return Err(ApiError::field("devices", "Expected a list of devices.")),
    };
    let skip_existing = matches!(body.get("skip_existing"), Some(Value::Bool(true)));
    let serials: Vec<String> = devices
        .iter()
        .filter_map(|d| {
            d.get("serial_number")
                .and_then(Value::as_str)
                .map(|s| s.trim().to_string())
        })
        .filter(|s| !s.is_empty())
        .collect();
    let existing = if skip_existing {
        state.store.existing_serials(&serials).await?
    } else {
        Vec::new()
    };
    let mut rows = Vec::new();
    let mut errors = Map::new();
    let mut skipped = 0;
    // Each input's device id: created (filled after the insert) or already registered.
    let mut by_index: Vec<Option<i64>> = Vec::with_capacity(devices.len());
    let now = crate::time::now_micros();
    for (i, d) in devices.iter().enumerate() {
        let Value::Object(obj) = d else {
            errors.insert(
                i.to_string(),
                json!({ "non_field_errors": ["Expected a dictionary."] }),
            );
            continue;
        };
        if let Some((_, id)) = obj
            .get("serial_number")
            .and_then(Value::as_str)
            .and_then(|s| existing.iter().find(|(e, _)| e == s.trim()))
        {
            skipped += 1;
            by_index.push(Some(*id));
            continue;
        }
        match validate(&state, &caller, obj, None, false).await {
            Ok(mut values) => {
                values.push((
                    "uuid",
                    crate::store::Val::Text(Some(uuid::Uuid::new_v4().to_string())),
                ));
                values.push(("status_up", crate::store::Val::Bool(false)));
                values.push(("status_change", crate::store::Val::Int(Some(now))));
                values.push(("created", crate::store::Val::Int(Some(now))));
                rows.push(values);
                by_index.push(None);
            }
            Err(ApiError::Validation(e)) => {
                errors.insert(i.to_string(), json!(e));
            }
            Err(e) => return Err(e),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(
            errors
                .into_iter()
                .map(|(k, v)| (format!("devices[{k}]"), vec![v.to_string()]))
                .collect(),
        ));
    }
    let ids = match state.store.insert_many(Table::Devices, &rows).await {
        Ok(ids) => ids,
        Err(crate::store::StoreError::Unique { column })
            if column == "serial_number"
                || !state.store.existing_serials(&serials).await?.is_empty() =>
        {
            return Err(ApiError::Conflict("A device in the batch has a serial number that is already registered (or appears twice).".into()));
        }
        Err(crate::store::StoreError::Unique { column }) => {
            return Err(ApiError::field(
                "devices",
                format!(
                    "A device in the batch has a {column} that is already used (or appears twice)."
                ),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let mut created = ids.iter();
    let all: Vec<Option<i64>> = by_index
        .into_iter()
        .map(|id| id.or_else(|| created.next().copied()))
        .collect();
    Ok((
        axum::http::StatusCode::CREATED,
        Json(json!({ "created": ids.len(), "skipped": skipped, "ids": ids, "ids_by_index": all })),
    )
        .into_response())
}
