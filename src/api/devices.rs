//! `/api/v1/inventory_device/`: the seed's device endpoints.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Map, Value};

use super::AppState;
use super::catalog::{put_int, put_text};
use super::crud::both_slashes;
use super::device_view::DeviceOut;
use super::extract::{Caller, Id, JsonObject, QueryPairs};
use super::fields::{Validator, parse_bool};
use super::pagination::{RequestUrl, page_body, page_of};
use crate::error::ApiError;
use crate::store::{Device, DeviceFilter, Scope, StoreError, Table, Val, Values};
use crate::time::{format_micros, now_micros, parse_iso_filter};

/// The list filters of the seed (plus `has_pending`), validated.
pub(super) fn filter_of(q: &QueryPairs, caller: &Caller) -> Result<DeviceFilter, ApiError> {
    let status_up = match q.get("status") {
        None | Some("") => None,
        Some("0" | "false" | "False") => Some(false),
        Some("1" | "true" | "True") => Some(true),
        Some(_) => {
            return Err(ApiError::field(
                "status",
                "Select a valid choice. Use 0, false or False for Down, 1, true or True for Up.",
            ));
        }
    };
    let status_change_from = match q.get("last_status_change_from") {
        None | Some("") => None,
        Some(v) => Some(parse_iso_filter(v).ok_or_else(|| {
            ApiError::field(
                "last_status_change_from",
                "Enter a valid date/time (ISO 8601, e.g. 2000-01-01 or 2000-01-01 00:01:00+00:00).",
            )
        })?),
    };
    let organization = q.int("organization")?;
    if let Some(org) = organization {
        caller.require_org(org)?;
    }
    let has_pending = match q.get("has_pending") {
        None | Some("") => None,
        Some(v) => Some(
            parse_bool(v)
                .ok_or_else(|| ApiError::field("has_pending", "Must be a valid boolean."))?,
        ),
    };
    Ok(DeviceFilter {
        type_id: q.int("type")?,
        status_up,
        status_change_from,
        organization,
        has_pending,
    })
}

/// `update_status=true`: a bounded, parallel liveness probe (a connection request with a short
/// timeout) of the given devices; those that answer are Up, the others are judged by their
/// last Inform. Returns whether anything may have changed.
async fn probe_status(state: &AppState, rows: &[Device]) -> Result<(), ApiError> {
    let ids: Vec<i64> = rows.iter().map(|d| d.id).collect();
    let mut answered = Vec::new();
    if let Some(cr) = &state.connreq {
        let targets: Vec<(i64, Option<String>)> = rows
            .iter()
            .filter(|d| d.connection_request_url.is_some())
            .map(|d| (d.id, d.connection_request_url.clone()))
            .collect();
        answered = cr.probe(targets, state.probe_timeout, 32).await;
    }
    let silent: Vec<i64> = ids
        .into_iter()
        .filter(|id| !answered.contains(id))
        .collect();
    state.refresh_status(&silent).await?;
    Ok(())
}

/// Device rows with the progress of their pending items, as the API shows them.
async fn present(
    state: &AppState,
    rows: Vec<Device>,
    with_pending: bool,
) -> Result<Vec<DeviceOut>, ApiError> {
    let ids: Vec<i64> = rows.iter().map(|d| d.id).collect();
    let ops = state.store.ops_for(&ids).await?;
    Ok(rows
        .into_iter()
        .map(|d| DeviceOut::new(d, &ops, with_pending))
        .collect())
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    url: RequestUrl,
    q: QueryPairs,
) -> Result<Response, ApiError> {
    let filter = filter_of(&q, &caller)?;
    let with_pending = q.flag("pending")?;
    let update_status = q.flag("update_status")?;
    let page = page_of(&q, state.config.default_limit, state.config.max_limit);
    let (mut count, mut rows) = state
        .store
        .list_devices(&filter, &caller.scope, page)
        .await?;
    if update_status {
        probe_status(&state, &rows).await?;
        // Statuses may have moved: the filter may now select other rows.
        (count, rows) = state
            .store
            .list_devices(&filter, &caller.scope, page)
            .await?;
    }
    let results = present(&state, rows, with_pending).await?;
    Ok(Json(page_body(&url, &q, page, count, results)).into_response())
}

async fn retrieve(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    q: QueryPairs,
) -> Result<Response, ApiError> {
    let with_pending = q.flag("pending")?;
    let mut device = state
        .store
        .get_device(id, &caller.scope)
        .await?
        .ok_or(ApiError::NotFound)?;
    if q.flag("update_status")? {
        probe_status(&state, std::slice::from_ref(&device)).await?;
        device = state
            .store
            .get_device(id, &caller.scope)
            .await?
            .ok_or(ApiError::NotFound)?;
    }
    let out = present(&state, vec![device], with_pending)
        .await?
        .pop()
        .ok_or(ApiError::NotFound)?;
    Ok(Json(out).into_response())
}

/// Validates a device body into the columns to write (`current` is the device a PUT/PATCH
/// changes). Reference checks and credential hashing happen here, inside the caller's scope.
pub(super) async fn validate(
    state: &AppState,
    caller: &Caller,
    body: &Map<String, Value>,
    current: Option<&Device>,
    partial: bool,
) -> Result<Values, ApiError> {
    let now = now_micros();
    let mut v = Validator::new(body, partial);
    let mut values = Values::new();
    if let Some(name) = v.required_text("name", 255) {
        values.push(("name", Val::Text(Some(name))));
    }
    put_text(
        &mut values,
        "customer_id",
        v.text("customer_id", false, 255),
    );
    if let Some(active) = v.bool("is_active", true) {
        values.push(("is_active", Val::Bool(active)));
    }
    let type_id = v.pk("type", true).flatten();
    put_text(
        &mut values,
        "serial_number",
        v.text("serial_number", false, 64),
    );
    put_text(
        &mut values,
        "serial_number_alt",
        v.text("serial_number_alt", false, 64),
    );
    put_text(
        &mut values,
        "description",
        v.text("description", false, 1024),
    );
    let org = v.pk("organization_id", true).flatten();
    let firmware = v.pk("firmware_image", false);
    let location_name = v.text("location_name", false, 255);
    let location = v.pk("location", false);
    put_text(
        &mut values,
        "latitude",
        v.decimal("latitude", -90.0, 90.0, 10),
    );
    put_text(
        &mut values,
        "longitude",
        v.decimal("longitude", -180.0, 180.0, 10),
    );
    let username = v.text("username", false, 255);
    let password = match body.get("password") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(p)) if p.is_empty() => Some(None),
        Some(Value::String(p)) if p.chars().count() > 255 => {
            v.error(
                "password",
                "Ensure this field has no more than 255 characters.",
            );
            None
        }
        Some(Value::String(p)) => Some(Some(p.clone())),
        Some(_) => {
            v.error("password", "Not a valid string.");
            None
        }
    };
    put_int(
        &mut values,
        "update_frequency",
        v.int("update_frequency", false, Some(1)),
    );
    if let Some(debug) = v.bool("debug", false) {
        values.push(("debug", Val::Bool(debug)));
    }
    if let Some(doc) = v.json_object("settings") {
        let doc = doc.cloned().unwrap_or_default();
        let problems = crate::settings::validate(&doc);
        if problems.is_empty() {
            values.push(("settings", Val::Text(Some(Value::Object(doc).to_string()))));
            values.push(("settings_pending", Val::Bool(true)));
        } else {
            for p in problems {
                v.error("settings", p);
            }
        }
    }
    // Operation flags are commands: absent means "leave as is", even in a PUT.
    for (field, col) in [
        ("reboot", "reboot_requested"),
        ("sync", "sync_requested"),
        ("factory", "factory_requested"),
    ] {
        if v.present(field)
            && let Some(on) = v.bool(field, false)
        {
            values.push((
                col,
                if on {
                    Val::IntIfNull(now)
                } else {
                    Val::Int(None)
                },
            ));
        }
    }

    // Scope first: an organization outside the caller's scope is a 403 whether it exists or not.
    if let Some(org) = org {
        caller.require_org(org)?;
    }
    let effective_org = org.or(current.map(|d| d.organization_id));
    if let Some(org) = org {
        if state
            .store
            .get_organization(org, &Scope::All)
            .await?
            .is_none()
        {
            v.error(
                "organization_id",
                format!("Invalid pk \"{org}\" - object does not exist."),
            );
        }
        values.push(("organization_id", Val::Int(Some(org))));
    }
    if let Some(t) = type_id {
        if state.store.get_device_type(t).await?.is_none() {
            v.error(
                "type",
                format!("Invalid pk \"{t}\" - object does not exist."),
            );
        }
        values.push(("type_id", Val::Int(Some(t))));
    }
    // The location must exist in the caller's scope and belong to the device's organization;
    // re-checked when a PATCH moves the device to another organization.
    let effective_location = location.unwrap_or(current.and_then(|d| d.location_id));
    let mut location_row = None;
    if let Some(loc) = effective_location.filter(|_| location.is_some() || org.is_some()) {
        match state.store.get_location(loc, &caller.scope).await? {
            None => v.error(
                "location",
                format!("Invalid pk \"{loc}\" - object does not exist."),
            ),
            Some(l) => {
                if effective_org.is_some_and(|o| o != l.organization_id) {
                    v.error("location", "This location belongs to another organization.");
                }
                location_row = Some(l);
            }
        }
    }
    if let Some(loc) = location {
        values.push(("location_id", Val::Int(loc)));
    }
    match location_name {
        // An omitted name follows the chosen location's name.
        Some(None) if !v.present("location_name") => {
            let inherited = location_row
                .as_ref()
                .filter(|_| location.flatten().is_some())
                .map(|l| l.name.clone());
            values.push(("location_name", Val::Text(inherited)));
        }
        Some(name) => values.push(("location_name", Val::Text(name))),
        None => {}
    }
    if let Some(fw) = firmware {
        let pending = match fw {
            None => false,
            Some(id) => match state.store.get_firmware_image(id).await? {
                None => {
                    v.error(
                        "firmware_image",
                        format!("Invalid pk \"{id}\" - object does not exist."),
                    );
                    false
                }
                Some(img) => {
                    current.and_then(|d| d.software_version.as_deref())
                        != Some(img.version.as_str())
                }
            },
        };
        values.push(("firmware_image_id", Val::Int(fw)));
        values.push(("firmware_image_is_pending", Val::Bool(pending)));
        values.push(("firmware_requested", Val::Int(pending.then_some(now))));
    }

    // Credentials are kept only as digests, which depend on the username: a new username needs
    // the password again.
    let current_user = current.and_then(|d| d.username.clone());
    let effective_user = match &username {
        Some(u) => u.clone(),
        None => current_user.clone(),
    };
    let username_changed = username.is_some() && effective_user != current_user;
    match (&password, &effective_user) {
        (Some(Some(_)), None) => v.error("password", "A username is required to set a password."),
        (Some(Some(pw)), Some(user)) => {
            let creds = crate::digest::StoredCredentials::derive(user, pw, &state.config.realm);
            values.push(("ha1_md5", Val::Text(Some(creds.ha1_md5))));
            values.push(("ha1_sha256", Val::Text(Some(creds.ha1_sha256))));
            values.push(("basic_hash", Val::Text(Some(creds.basic_hash))));
        }
        (Some(None), _) => clear_credentials(&mut values),
        (None, None) if username_changed => clear_credentials(&mut values),
        (None, Some(_)) if username_changed && current.is_some_and(|d| d.username.is_some()) => v
            .error(
                "password",
                "Required when the username changes (only password digests are stored).",
            ),
        _ => {}
    }
    if let Some(u) = username {
        values.push(("username", Val::Text(u)));
    }
    v.finish()?;
    values.push(("last_change", Val::Int(Some(now))));
    Ok(values)
}

fn clear_credentials(values: &mut Values) {
    for col in ["ha1_md5", "ha1_sha256", "basic_hash"] {
        values.push((col, Val::Text(None)));
    }
}

/// Maps a unique-constraint refusal to the seed's 409 (serial number) or DRF's 400. When
/// both the serial number and the username collide, the database reports either: the serial
/// number's 409 wins.
pub(super) async fn unique_error(
    state: &AppState,
    e: StoreError,
    body: &Map<String, Value>,
    id: Option<i64>,
) -> ApiError {
    let StoreError::Unique { column } = e else {
        return e.into();
    };
    let serial = body
        .get("serial_number")
        .and_then(Value::as_str)
        .map(str::trim)
        .unwrap_or("");
    let serial_taken = column == "serial_number"
        || (!serial.is_empty()
            && matches!(state.store.device_id_by_serial(serial).await, Ok(Some(other)) if Some(other) != id));
    if serial_taken {
        ApiError::Conflict(format!(
            "A device with serial number \"{serial}\" already exists."
        ))
    } else if column == "username" {
        ApiError::field(
            "username",
            "inventory device with this username already exists.",
        )
    } else {
        StoreError::Unique { column }.into()
    }
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    url: RequestUrl,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    let mut values = validate(&state, &caller, &body, None, false).await?;
    let now = now_micros();
    values.push(("uuid", Val::Text(Some(uuid::Uuid::new_v4().to_string()))));
    values.push(("status_up", Val::Bool(false)));
    values.push(("status_change", Val::Int(Some(now))));
    values.push(("created", Val::Int(Some(now))));
    let id = match state.store.insert(Table::Devices, &values).await {
        Ok(id) => id,
        Err(e) => return Err(unique_error(&state, e, &body, None).await),
    };
    let device = state
        .store
        .get_device(id, &Scope::All)
        .await?
        .ok_or(ApiError::NotFound)?;
    let location = url.absolute(&format!("/api/v1/inventory_device/{id}/"));
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(DeviceOut::new(device, &[], false)),
    )
        .into_response())
}

async fn write(
    state: AppState,
    caller: Caller,
    id: i64,
    body: Map<String, Value>,
    partial: bool,
) -> Result<Response, ApiError> {
    let current = state
        .store
        .get_device(id, &caller.scope)
        .await?
        .ok_or(ApiError::NotFound)?;
    let values = validate(&state, &caller, &body, Some(&current), partial).await?;
    let found = match state
        .store
        .update(Table::Devices, id, &caller.scope, &values)
        .await
    {
        Ok(found) => found,
        Err(e) => return Err(unique_error(&state, e, &body, Some(id)).await),
    };
    if !found {
        return Err(ApiError::NotFound);
    }
    let device = state
        .store
        .get_device(id, &caller.scope)
        .await?
        .ok_or(ApiError::NotFound)?;
    after_write(&state, &current, &device, &body).await?;
    let out = present(&state, vec![device], false)
        .await?
        .pop()
        .ok_or(ApiError::NotFound)?;
    Ok(Json(out).into_response())
}

/// What a write starts: a new or cancelled operation forgets the previous one's progress,
/// changed settings are retried afresh, and a device with new work is woken up now.
pub async fn after_write(
    state: &AppState,
    before: &Device,
    after: &Device,
    body: &Map<String, Value>,
) -> Result<(), ApiError> {
    let id = after.id;
    let mut wake = false;
    for (item, was, is) in [
        ("reboot", before.reboot_requested, after.reboot_requested),
        (
            "factory_reset",
            before.factory_requested,
            after.factory_requested,
        ),
        ("sync", before.sync_requested, after.sync_requested),
    ] {
        if was.is_none() != is.is_none() {
            state.store.op_reset(id, item).await?;
            wake |= is.is_some();
        }
    }
    if body.contains_key("firmware_image") {
        state.store.op_reset(id, "firmware").await?;
        wake |= after.firmware_image_is_pending;
    }
    if before.update_frequency != after.update_frequency {
        state.store.op_reset(id, "update_frequency").await?;
        wake |= after.update_frequency.is_some()
            && after.update_frequency != after.periodic_inform_interval;
    }
    if before.settings != after.settings {
        state.store.reset_settings_faults(Some(id), None).await?;
        wake |= crate::settings::effective(&after.type_settings, &after.settings)
            != crate::settings::effective(&before.type_settings, &before.settings);
    }
    if wake
        && after.is_active
        && let Some(cr) = &state.connreq
    {
        cr.wake(id);
    }
    Ok(())
}

async fn replace(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    write(state, caller, id, body, false).await
}

async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    write(state, caller, id, body, true).await
}

/// DELETE refuses (409) while a disruptive operation has been requested and not confirmed:
/// a factory reset or firmware upgrade in flight must not be orphaned.
async fn destroy(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> Result<Response, ApiError> {
    let device = state
        .store
        .get_device(id, &caller.scope)
        .await?
        .ok_or(ApiError::NotFound)?;
    if device.factory_requested.is_some() || device.firmware_image_is_pending {
        return Err(ApiError::Conflict(
            "The device has a factory reset or firmware upgrade in progress; cancel it (PATCH factory=false / firmware_image=null) or wait for it to finish.".into(),
        ));
    }
    if !state
        .store
        .delete(Table::Devices, id, &caller.scope)
        .await?
    {
        return Err(ApiError::NotFound);
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /api/v1/inventory_device/{id}/parameters/?prefix=...`: the values the device reported.
async fn parameters(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    url: RequestUrl,
    q: QueryPairs,
) -> Result<Response, ApiError> {
    state
        .store
        .get_device(id, &caller.scope)
        .await?
        .ok_or(ApiError::NotFound)?;
    let page = page_of(&q, state.config.default_limit, state.config.max_limit);
    let prefix = q.get("prefix").unwrap_or("");
    let (count, rows) = state.store.list_parameters(id, prefix, page).await?;
    let results: Vec<Value> = rows
        .into_iter()
        .map(|p| {
            serde_json::json!({
                "name": p.name,
                "value": p.value,
                "type": p.xsd_type,
                "writable": p.writable,
                "updated": format_micros(p.updated),
            })
        })
        .collect();
    Ok(Json(page_body(&url, &q, page, count, results)).into_response())
}

/// `GET /api/v1/inventory_device/{id}/sessions/`: transcripts of the device's last sessions
/// while it was in debug mode, newest first.
async fn sessions(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    url: RequestUrl,
    q: QueryPairs,
) -> Result<Response, ApiError> {
    state
        .store
        .get_device(id, &caller.scope)
        .await?
        .ok_or(ApiError::NotFound)?;
    let page = page_of(&q, state.config.default_limit, state.config.max_limit);
    let (count, rows) = state.store.list_session_logs(id, page).await?;
    let results: Vec<Value> = rows
        .into_iter()
        .map(|s| {
            serde_json::json!({
                "id": s.id,
                "started": format_micros(s.started),
                "ended": format_micros(s.ended),
                "transcript": s.transcript,
            })
        })
        .collect();
    Ok(Json(page_body(&url, &q, page, count, results)).into_response())
}

pub fn routes(router: Router<AppState>) -> Router<AppState> {
    let router = both_slashes(
        router,
        "/api/v1/inventory_device/bulk/",
        axum::routing::post(super::bulk::bulk),
    );
    let router = both_slashes(
        router,
        "/api/v1/inventory_device/bulk_create/",
        axum::routing::post(super::bulk::bulk_create),
    );
    let router = both_slashes(
        router,
        "/api/v1/inventory_device/{id}/sessions/",
        get(sessions),
    );
    let router = both_slashes(
        router,
        "/api/v1/inventory_device/{id}/parameters/",
        get(parameters),
    );
    let router = both_slashes(router, "/api/v1/inventory_device/", get(list).post(create));
    both_slashes(
        router,
        "/api/v1/inventory_device/{id}/",
        get(retrieve).put(replace).patch(patch).delete(destroy),
    )
}
