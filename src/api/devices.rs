//! `/api/v1/inventory_device/`: the seed's device endpoints.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{Map, Value};

use super::AppState;
use super::catalog::{put_int, put_text};
use super::crud::both_slashes;
use super::extract::{Caller, Id, JsonObject, QueryPairs};
use super::fields::{Validator, parse_bool};
use super::pagination::{RequestUrl, page_body, page_of};
use crate::error::ApiError;
use crate::store::{Device, DeviceFilter, Scope, StoreError, Table, Val, Values};
use crate::time::{format_micros, now_micros, parse_iso_filter};

/// One queued item of a device, in the order operations are carried out.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PendingItem {
    pub name: &'static str,
    pub since: String,
    pub attempts: i64,
    pub last_fault: Option<String>,
}

/// What is pending for a device, in delivery order (factory reset, firmware, settings, sync,
/// reboot last); `initial` until the device was configured once.
pub fn pending_items(d: &Device) -> Vec<PendingItem> {
    let mut items = Vec::new();
    let mut add = |name: &'static str, since: Option<i64>| {
        if let Some(since) = since {
            items.push(PendingItem {
                name,
                since: format_micros(since),
                attempts: 0,
                last_fault: None,
            });
        }
    };
    add(
        "initial",
        d.last_configuration.is_none().then_some(d.created),
    );
    add("factory_reset_requested", d.factory_requested);
    add(
        "firmware_upgrade_requested",
        d.firmware_image_is_pending.then_some(d.last_change),
    );
    add("sync_requested", d.sync_requested);
    add("reboot_requested", d.reboot_requested);
    items
}

pub fn pending_settings(items: &[PendingItem]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.iter().map(|i| i.name).collect::<Vec<_>>().join(",")
    }
}

#[derive(Debug, Serialize)]
pub struct PendingDetail {
    pub items: Vec<PendingItem>,
    pub last_fault: Option<String>,
}

/// A device as the API shows it; field order follows the seed's examples.
#[derive(Debug, Serialize)]
pub struct DeviceOut {
    pub id: i64,
    pub uuid: String,
    pub name: String,
    pub customer_id: Option<String>,
    pub is_active: bool,
    pub status: &'static str,
    pub status_change: String,
    #[serde(rename = "type")]
    pub type_id: i64,
    pub type_short_name: Option<String>,
    pub software_version: Option<String>,
    pub hardware_version: Option<String>,
    pub manufacturer: Option<String>,
    pub unique_identifier: Option<String>,
    pub product_class: Option<String>,
    pub serial_number: Option<String>,
    pub serial_number_alt: Option<String>,
    pub description: Option<String>,
    pub organization_id: i64,
    pub firmware_image: Option<i64>,
    pub firmware_image_is_pending: bool,
    pub location_name: Option<String>,
    pub location: Option<i64>,
    pub location_short_name: Option<String>,
    pub latitude: Option<String>,
    pub longitude: Option<String>,
    pub username: Option<String>,
    pub update_frequency: Option<i64>,
    pub address: Option<String>,
    pub last_connection: Option<String>,
    pub last_configuration: Option<String>,
    pub last_change: String,
    pub created: String,
    pub debug: bool,
    pub reboot: bool,
    pub sync: bool,
    pub factory: bool,
    pub pending_settings: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingDetail>,
}

impl DeviceOut {
    pub fn new(d: Device, with_pending: bool) -> DeviceOut {
        let items = pending_items(&d);
        let pending_settings = pending_settings(&items);
        let pending = with_pending.then(|| PendingDetail {
            items,
            last_fault: d.last_fault.clone(),
        });
        DeviceOut {
            id: d.id,
            uuid: d.uuid,
            name: d.name,
            customer_id: d.customer_id,
            is_active: d.is_active,
            status: if d.status_up { "Up" } else { "Down" },
            status_change: format_micros(d.status_change),
            type_id: d.type_id,
            type_short_name: d.type_short_name,
            software_version: d.software_version,
            hardware_version: d.hardware_version,
            manufacturer: d.manufacturer,
            unique_identifier: d.unique_identifier,
            product_class: d.product_class,
            serial_number: d.serial_number,
            serial_number_alt: d.serial_number_alt,
            description: d.description,
            organization_id: d.organization_id,
            firmware_image: d.firmware_image_id,
            firmware_image_is_pending: d.firmware_image_is_pending,
            location_name: d.location_name,
            location: d.location_id,
            location_short_name: d.location_short_name,
            latitude: d.latitude,
            longitude: d.longitude,
            username: d.username,
            update_frequency: d.update_frequency,
            address: d.address,
            last_connection: d.last_connection.map(format_micros),
            last_configuration: d.last_configuration.map(format_micros),
            last_change: format_micros(d.last_change),
            created: format_micros(d.created),
            debug: d.debug,
            reboot: d.reboot_requested.is_some(),
            sync: d.sync_requested.is_some(),
            factory: d.factory_requested.is_some(),
            pending_settings,
            pending,
        }
    }
}

/// The list filters of the seed (plus `has_pending`), validated.
fn filter_of(q: &QueryPairs, caller: &Caller) -> Result<DeviceFilter, ApiError> {
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
        let ids: Vec<i64> = rows.iter().map(|d| d.id).collect();
        if state.refresh_status(&ids).await? > 0 {
            // Statuses moved: the filter may now select other rows.
            (count, rows) = state
                .store
                .list_devices(&filter, &caller.scope, page)
                .await?;
        }
    }
    let results: Vec<DeviceOut> = rows
        .into_iter()
        .map(|d| DeviceOut::new(d, with_pending))
        .collect();
    Ok(Json(page_body(&url, &q, page, count, results)).into_response())
}

async fn retrieve(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    q: QueryPairs,
) -> Result<Response, ApiError> {
    let with_pending = q.flag("pending")?;
    if q.flag("update_status")? {
        state.refresh_status(&[id]).await?;
    }
    let device = state
        .store
        .get_device(id, &caller.scope)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(DeviceOut::new(device, with_pending)).into_response())
}

/// Validates a device body into the columns to write (`current` is the device a PUT/PATCH
/// changes). Reference checks and credential hashing happen here, inside the caller's scope.
async fn validate(
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
async fn unique_error(
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
        Json(DeviceOut::new(device, false)),
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
    Ok(Json(DeviceOut::new(device, false)).into_response())
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

pub fn routes(router: Router<AppState>) -> Router<AppState> {
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
