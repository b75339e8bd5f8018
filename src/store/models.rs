//! Rows as the store returns them.

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Organization {
    pub id: i64,
    pub name: String,
    pub created: i64,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct DeviceType {
    pub id: i64,
    pub name: String,
    pub short_name: String,
    pub manufacturer: Option<String>,
    pub product_class: Option<String>,
    pub settings: String,
    pub created: i64,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Location {
    pub id: i64,
    pub name: String,
    pub short_name: Option<String>,
    pub latitude: Option<String>,
    pub longitude: Option<String>,
    pub organization_id: i64,
    pub created: i64,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct FirmwareImage {
    pub id: i64,
    pub name: String,
    pub version: String,
    pub manufacturer: Option<String>,
    pub product_class: Option<String>,
    pub size: Option<i64>,
    pub sha256: Option<String>,
    pub created: i64,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub token_hash: String,
    pub admin: bool,
    pub created: i64,
    pub revoked: Option<i64>,
    /// Comma-separated organization ids (aggregated in SQL).
    pub organizations: Option<String>,
}

impl ApiToken {
    pub fn organization_ids(&self) -> Vec<i64> {
        self.organizations
            .as_deref()
            .unwrap_or("")
            .split(',')
            .filter_map(|s| s.trim().parse().ok())
            .collect()
    }
}

/// A device row with the names joined from its type and location.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Device {
    pub id: i64,
    pub uuid: String,
    pub name: String,
    pub customer_id: Option<String>,
    pub is_active: bool,
    pub status_up: bool,
    pub status_change: i64,
    pub type_id: i64,
    pub type_short_name: Option<String>,
    pub software_version: Option<String>,
    pub hardware_version: Option<String>,
    pub manufacturer: Option<String>,
    pub oui: Option<String>,
    pub unique_identifier: Option<String>,
    pub product_class: Option<String>,
    pub serial_number: Option<String>,
    pub serial_number_alt: Option<String>,
    pub description: Option<String>,
    pub organization_id: i64,
    pub firmware_image_id: Option<i64>,
    pub firmware_image_is_pending: bool,
    pub location_name: Option<String>,
    pub location_id: Option<i64>,
    pub location_short_name: Option<String>,
    pub latitude: Option<String>,
    pub longitude: Option<String>,
    pub username: Option<String>,
    pub update_frequency: Option<i64>,
    pub address: Option<String>,
    pub last_connection: Option<i64>,
    pub last_configuration: Option<i64>,
    pub last_change: i64,
    pub created: i64,
    pub debug: bool,
    pub reboot_requested: Option<i64>,
    pub factory_requested: Option<i64>,
    pub sync_requested: Option<i64>,
    pub last_fault: Option<String>,
    pub settings: String,
    pub type_settings: String,
    pub settings_pending: bool,
    pub firmware_requested: Option<i64>,
    pub periodic_inform_interval: Option<i64>,
    pub connection_request_url: Option<String>,
    pub cr_configured: bool,
    pub cr_last_attempt: Option<i64>,
    pub cr_last_result: Option<String>,
}

/// The column list `Device` reads, for `FROM devices d JOIN device_types t LEFT JOIN locations l`.
pub(crate) const DEVICE_COLUMNS: &str = "d.id, d.uuid, d.name, d.customer_id, d.is_active, \
    d.status_up, d.status_change, d.type_id, t.short_name AS type_short_name, d.software_version, \
    d.hardware_version, d.manufacturer, d.oui, d.unique_identifier, d.product_class, \
    d.serial_number, d.serial_number_alt, d.description, d.organization_id, d.firmware_image_id, \
    d.firmware_image_is_pending, d.location_name, d.location_id, \
    l.short_name AS location_short_name, d.latitude, d.longitude, d.username, d.update_frequency, \
    d.address, d.last_connection, d.last_configuration, d.last_change, d.created, d.debug, \
    d.reboot_requested, d.factory_requested, d.sync_requested, d.last_fault, d.settings, \
    t.settings AS type_settings, d.settings_pending, d.firmware_requested, \
    d.periodic_inform_interval, d.connection_request_url, d.cr_configured, d.cr_last_attempt, \
    d.cr_last_result";

pub(crate) const DEVICE_FROM: &str = "devices d JOIN device_types t ON t.id = d.type_id \
    LEFT JOIN locations l ON l.id = d.location_id";

/// What the CWMP side needs of a device: identity, credentials and the state the planner reads.
#[derive(Debug, Clone, Default, PartialEq, sqlx::FromRow)]
pub struct CwmpDevice {
    pub id: i64,
    pub organization_id: i64,
    pub serial_number: Option<String>,
    pub username: Option<String>,
    pub ha1_md5: Option<String>,
    pub ha1_sha256: Option<String>,
    pub basic_hash: Option<String>,
    pub is_active: bool,
    pub status_up: bool,
    pub software_version: Option<String>,
    pub hardware_version: Option<String>,
    pub connection_request_url: Option<String>,
    pub periodic_inform_interval: Option<i64>,
    pub update_frequency: Option<i64>,
    pub data_model: Option<String>,
    pub inform_params_hash: Option<String>,
    pub debug: bool,
    pub reboot_requested: Option<i64>,
    pub factory_requested: Option<i64>,
    pub sync_requested: Option<i64>,
    pub firmware_image_id: Option<i64>,
    pub firmware_image_is_pending: bool,
    pub last_configuration: Option<i64>,
    pub settings_pending: bool,
    pub cr_configured: bool,
    pub firmware_requested: Option<i64>,
}

impl CwmpDevice {
    /// Whether a session may have work beyond identity: loads the planning context only then.
    pub fn may_have_work(&self) -> bool {
        self.settings_pending
            || !self.cr_configured
            || self.reboot_requested.is_some()
            || self.factory_requested.is_some()
            || self.sync_requested.is_some()
            || self.firmware_image_is_pending
            || (self.update_frequency.is_some()
                && self.update_frequency != self.periodic_inform_interval)
    }

    /// Tag of the credentials a session authenticated against: a write made for that session
    /// applies only while the device still has them (see `InformWrite::cred_tag`).
    pub fn cred_tag(&self) -> String {
        self.ha1_sha256.clone().unwrap_or_default()
    }
}

pub(crate) const CWMP_COLUMNS: &str = "devices.id, devices.organization_id, devices.serial_number, \
    devices.username, devices.ha1_md5, devices.ha1_sha256, devices.basic_hash, devices.is_active, \
    devices.status_up, devices.software_version, devices.hardware_version, \
    devices.connection_request_url, devices.periodic_inform_interval, devices.update_frequency, \
    devices.data_model, devices.inform_params_hash, devices.debug, devices.reboot_requested, \
    devices.factory_requested, devices.sync_requested, devices.firmware_image_id, \
    devices.firmware_image_is_pending, devices.last_configuration, devices.settings_pending, \
    devices.cr_configured, devices.firmware_requested";

/// A parameter value reported by a device.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct DeviceParameter {
    pub name: String,
    pub value: String,
    pub xsd_type: Option<String>,
    pub writable: Option<bool>,
    pub updated: i64,
}

/// What one CWMP exchange writes about a device. `None` fields keep the stored value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InformWrite {
    pub device_id: i64,
    /// The write applies only if the device's `ha1_sha256` still equals this ('' = none), so a
    /// session authenticated against credentials changed since (another instance, a cache) never
    /// writes.
    pub cred_tag: String,
    pub now: i64,
    /// Marks the device Up and sets `last_connection` (an Inform); false for later exchanges.
    pub contact: bool,
    /// The session saw the device Up: the write leaves the status columns (and the three
    /// indexes on them) alone, and falls back to the full write if the database has it Down.
    pub known_up: bool,
    pub address: Option<String>,
    pub manufacturer: Option<String>,
    pub oui: Option<String>,
    pub product_class: Option<String>,
    pub unique_identifier: Option<String>,
    pub software_version: Option<String>,
    pub hardware_version: Option<String>,
    pub connection_request_url: Option<String>,
    pub periodic_inform_interval: Option<i64>,
    pub data_model: Option<String>,
    pub events: Option<String>,
    pub params_hash: Option<String>,
    /// The parameters were left out because the session's view of the device (possibly a
    /// cache) has this hash: the write applies only while the database has it too, or another
    /// instance's newer values would stand while the CPE reports these.
    pub params_hash_seen: Option<String>,
    pub cwmp_version: Option<String>,
    /// Filled into `serial_number` when the inventory has none (and no other device has it).
    pub fill_serial: Option<String>,
    /// Parameter values to upsert.
    pub params: Vec<ParamWrite>,
    /// `0 BOOTSTRAP`: the CPE lost its configuration (stored values, confirmations and
    /// connection-request credentials are forgotten; a sent factory reset is complete).
    pub bootstrap: bool,
    /// `1 BOOT` or `M Reboot`: a sent reboot is complete.
    pub booted: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamWrite {
    pub name: String,
    pub value: String,
    pub xsd_type: Option<String>,
    pub writable: Option<bool>,
}

/// Progress of one pending item of a device (`device_ops`).
#[derive(Debug, Clone, PartialEq, Default, sqlx::FromRow)]
pub struct OpRow {
    pub device_id: i64,
    pub item: String,
    pub attempts: i64,
    pub last_attempt: Option<i64>,
    pub next_attempt: Option<i64>,
    pub last_fault: Option<String>,
    pub gave_up: bool,
    pub command_key: Option<String>,
    pub sent_at: Option<i64>,
    pub confirmed_hash: Option<String>,
    pub confirmed_at: Option<i64>,
}

/// What the planner needs beyond the device row.
#[derive(Debug, Clone, Default)]
pub struct PlanData {
    pub type_settings: String,
    pub device_settings: String,
    pub ops: Vec<OpRow>,
    pub firmware: Option<FirmwareImage>,
    /// xsd types the device reported, by parameter name (for the names in its settings).
    pub reported_types: Vec<(String, Option<String>)>,
}

/// A debug-mode session transcript.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct SessionLog {
    pub id: i64,
    pub device_id: i64,
    pub started: i64,
    pub ended: i64,
    pub transcript: String,
}
