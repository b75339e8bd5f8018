//! How a device looks through the API: its fields in the seed's order, `pending_settings`, and
//! the `pending` detail, computed from the device row, its effective settings and the progress
//! rows of its pending items.

use serde::Serialize;
use serde_json::Value;

use crate::settings::{self, Groups};
use crate::store::{Device, OpRow};
use crate::time::format_micros;

/// One queued item of a device, in the order it is carried out.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PendingItem {
    pub name: String,
    pub since: String,
    pub attempts: i64,
    pub last_fault: Option<String>,
    /// Retrying stopped after a fault that will not go away (the request must change).
    pub given_up: bool,
    pub next_attempt: Option<String>,
    /// Sent to the CPE and waiting for it to confirm (reboot, reset, firmware).
    pub sent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
    /// Setting groups and update_frequency, as opposed to operations.
    #[serde(skip)]
    pub is_setting: bool,
}

fn item(name: &str, since: i64, op: Option<&OpRow>) -> PendingItem {
    PendingItem {
        name: name.to_string(),
        since: format_micros(since),
        attempts: op.map(|o| o.attempts).unwrap_or(0),
        last_fault: op.and_then(|o| o.last_fault.clone()),
        given_up: op.is_some_and(|o| o.gave_up),
        next_attempt: op.and_then(|o| o.next_attempt).map(format_micros),
        sent: op.and_then(|o| o.sent_at).map(format_micros),
        parameters: None,
        is_setting: false,
    }
}

/// What is pending for a device, in delivery order: `initial` until it was configured once,
/// then factory reset, firmware, setting groups (by name), update_frequency, sync, reboot.
pub fn pending_items(d: &Device, groups: &Groups, ops: &[OpRow]) -> Vec<PendingItem> {
    let op = |name: &str| ops.iter().find(|o| o.item == name);
    let mut items = Vec::new();
    if d.last_configuration.is_none() {
        items.push(item("initial", d.created, None));
    }
    if let Some(t) = d.factory_requested {
        items.push(item("factory_reset_requested", t, op("factory_reset")));
    }
    if d.firmware_image_is_pending {
        let since = d.firmware_requested.unwrap_or(d.last_change);
        items.push(item("firmware_upgrade_requested", since, op("firmware")));
    }
    for (group, params) in groups {
        let key = format!("settings:{group}");
        let row = op(&key);
        if row.and_then(|o| o.confirmed_hash.as_deref()) == Some(settings::hash(params).as_str()) {
            continue;
        }
        let mut it = item(
            group,
            row.and_then(|o| o.confirmed_at)
                .unwrap_or(d.last_change)
                .max(d.created),
            row,
        );
        it.parameters = Some(
            params
                .iter()
                .map(|s| {
                    let value = if settings::is_secret(&s.name) {
                        "********".to_string()
                    } else {
                        s.value.clone()
                    };
                    (s.name.clone(), Value::String(value))
                })
                .collect::<serde_json::Map<_, _>>()
                .into(),
        );
        it.is_setting = true;
        items.push(it);
    }
    if let Some(f) = d.update_frequency
        && d.periodic_inform_interval != Some(f)
    {
        let mut it = item("update_frequency", d.last_change, op("update_frequency"));
        it.parameters = Some(serde_json::json!({ "PeriodicInformInterval": f.to_string() }));
        it.is_setting = true;
        items.push(it);
    }
    if let Some(t) = d.sync_requested {
        items.push(item("sync_requested", t, op("sync")));
    }
    if let Some(t) = d.reboot_requested {
        items.push(item("reboot_requested", t, op("reboot")));
    }
    items
}

/// The seed's `pending_settings`: pending items comma-separated, `none` when there are none.
/// Before the first configuration, `initial` stands for the settings to apply (the detail lists
/// them); requested operations are still named.
pub fn pending_settings(items: &[PendingItem]) -> String {
    let initial = items.first().is_some_and(|i| i.name == "initial");
    let names: Vec<&str> = items
        .iter()
        .filter(|i| !(initial && i.is_setting))
        .map(|i| i.name.as_str())
        .collect();
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(",")
    }
}

#[derive(Debug, Serialize)]
pub struct PendingDetail {
    pub items: Vec<PendingItem>,
    pub last_fault: Option<String>,
    pub connection_request: Option<ConnectionRequestState>,
}

#[derive(Debug, Serialize)]
pub struct ConnectionRequestState {
    pub url: Option<String>,
    pub last_attempt: Option<String>,
    pub last_result: Option<String>,
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
    /// The device's own setting overrides (writable).
    pub settings: Value,
    /// Its type's settings merged with its overrides: what ferroacs makes the CPE hold.
    pub effective_settings: Value,
    pub pending_settings: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingDetail>,
}

impl DeviceOut {
    /// `ops` may hold other devices' rows too; only this device's are used.
    pub fn new(d: Device, ops: &[OpRow], with_pending: bool) -> DeviceOut {
        let own: Vec<OpRow> = ops
            .iter()
            .filter(|o| o.device_id == d.id)
            .cloned()
            .collect();
        let groups = settings::effective(&d.type_settings, &d.settings);
        let items = pending_items(&d, &groups, &own);
        let pending_settings = pending_settings(&items);
        let pending = with_pending.then(|| PendingDetail {
            items,
            last_fault: d.last_fault.clone(),
            connection_request: Some(ConnectionRequestState {
                url: d.connection_request_url.clone(),
                last_attempt: d.cr_last_attempt.map(format_micros),
                last_result: d.cr_last_result.clone(),
            }),
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
            settings: masked(
                serde_json::from_str(&d.settings).unwrap_or_else(|_| serde_json::json!({})),
            ),
            effective_settings: masked(settings::to_json(&groups)),
            pending_settings,
            pending,
        }
    }
}

/// Secret setting values (passwords, keys) are write-only like the device password.
fn masked(mut v: Value) -> Value {
    if let Value::Object(groups) = &mut v {
        for params in groups.values_mut() {
            if let Value::Object(p) = params {
                for (name, value) in p.iter_mut() {
                    if settings::is_secret(name) {
                        match value {
                            Value::Object(o) => {
                                o.insert("value".into(), Value::String("********".into()));
                            }
                            other => *other = Value::String("********".into()),
                        }
                    }
                }
            }
        }
    }
    v
}
