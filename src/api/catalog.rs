//! The reference resources devices point at: organizations, device types, locations and
//! firmware images (the firmware file upload lives in `firmware_file.rs`).

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use super::AppState;
use super::crud::Resource;
use super::extract::Caller;
use super::fields::Validator;
use crate::error::ApiError;
use crate::store::{
    DeviceType, FirmwareImage, Location, Organization, Page, Scope, StoreError, Table, Val, Values,
};
use crate::time::format_micros;

/// Appends a text column when the validator produced a value for it.
pub fn put_text(values: &mut Values, col: &'static str, v: Option<Option<String>>) {
    if let Some(v) = v {
        values.push((col, Val::Text(v)));
    }
}

pub fn put_int(values: &mut Values, col: &'static str, v: Option<Option<i64>>) {
    if let Some(v) = v {
        values.push((col, Val::Int(v)));
    }
}

pub struct Organizations;

#[async_trait]
impl Resource for Organizations {
    type Row = Organization;
    const TABLE: Table = Table::Organizations;
    const PATH: &'static str = "organization";
    const ADMIN_WRITE: bool = true;
    const IN_USE: &'static str =
        "Cannot delete this organization: devices or locations still belong to it.";

    fn to_json(o: &Organization) -> Value {
        json!({ "id": o.id, "name": o.name, "created": format_micros(o.created) })
    }

    async fn list(
        state: &AppState,
        scope: &Scope,
        page: Page,
    ) -> Result<(i64, Vec<Organization>), StoreError> {
        state.store.list_organizations(scope, page).await
    }

    async fn get(
        state: &AppState,
        id: i64,
        scope: &Scope,
    ) -> Result<Option<Organization>, StoreError> {
        state.store.get_organization(id, scope).await
    }

    async fn validate(
        _: &AppState,
        _: &Caller,
        body: &Map<String, Value>,
        _: Option<&Organization>,
        partial: bool,
    ) -> Result<Values, ApiError> {
        let mut v = Validator::new(body, partial);
        let mut values = Values::new();
        if let Some(name) = v.required_text("name", 255) {
            values.push(("name", Val::Text(Some(name))));
        }
        v.finish()?;
        Ok(values)
    }
}

pub struct DeviceTypes;

#[async_trait]
impl Resource for DeviceTypes {
    type Row = DeviceType;
    const TABLE: Table = Table::DeviceTypes;
    const PATH: &'static str = "inventory_device_type";
    const ADMIN_WRITE: bool = true;
    const IN_USE: &'static str = "Cannot delete this device type: devices still use it.";

    fn to_json(t: &DeviceType) -> Value {
        json!({
            "id": t.id,
            "name": t.name,
            "short_name": t.short_name,
            "manufacturer": t.manufacturer,
            "product_class": t.product_class,
            "settings": serde_json::from_str::<Value>(&t.settings).unwrap_or_else(|_| json!({})),
            "created": format_micros(t.created),
        })
    }

    async fn list(
        state: &AppState,
        _: &Scope,
        page: Page,
    ) -> Result<(i64, Vec<DeviceType>), StoreError> {
        state.store.list_device_types(page).await
    }

    async fn get(state: &AppState, id: i64, _: &Scope) -> Result<Option<DeviceType>, StoreError> {
        state.store.get_device_type(id).await
    }

    async fn validate(
        _: &AppState,
        _: &Caller,
        body: &Map<String, Value>,
        _: Option<&DeviceType>,
        partial: bool,
    ) -> Result<Values, ApiError> {
        let mut v = Validator::new(body, partial);
        let mut values = Values::new();
        if let Some(name) = v.required_text("name", 255) {
            values.push(("name", Val::Text(Some(name))));
        }
        if let Some(short) = v.required_text("short_name", 64) {
            values.push(("short_name", Val::Text(Some(short))));
        }
        put_text(
            &mut values,
            "manufacturer",
            v.text("manufacturer", false, 255),
        );
        put_text(
            &mut values,
            "product_class",
            v.text("product_class", false, 255),
        );
        if let Some(doc) = v.json_object("settings") {
            let doc = doc.cloned().unwrap_or_default();
            let problems = crate::settings::validate(&doc);
            if problems.is_empty() {
                values.push(("settings", Val::Text(Some(Value::Object(doc).to_string()))));
            } else {
                for p in problems {
                    v.error("settings", p);
                }
            }
        }
        v.finish()?;
        Ok(values)
    }

    /// New default settings make them pending on every device of the type: their retry state
    /// starts afresh and the devices are woken up.
    async fn after_write(
        state: &AppState,
        before: &DeviceType,
        after: &DeviceType,
    ) -> Result<(), ApiError> {
        if before.settings == after.settings {
            return Ok(());
        }
        state.store.mark_type_settings_pending(after.id).await?;
        state
            .store
            .reset_settings_faults(None, Some(after.id))
            .await?;
        if let Some(cr) = &state.connreq {
            let filter = crate::store::DeviceFilter {
                type_id: Some(after.id),
                ..Default::default()
            };
            let ids = state
                .store
                .device_ids(&filter, &Scope::All, 1_000_000)
                .await?;
            cr.wake_many(ids);
        }
        Ok(())
    }
}

pub struct Locations;

#[async_trait]
impl Resource for Locations {
    type Row = Location;
    const TABLE: Table = Table::Locations;
    const PATH: &'static str = "inventory_location";
    const ADMIN_WRITE: bool = false;
    const IN_USE: &'static str = "Cannot delete this location: devices are still placed at it.";

    fn to_json(l: &Location) -> Value {
        json!({
            "id": l.id,
            "name": l.name,
            "short_name": l.short_name,
            "latitude": l.latitude,
            "longitude": l.longitude,
            "organization_id": l.organization_id,
            "created": format_micros(l.created),
        })
    }

    async fn list(
        state: &AppState,
        scope: &Scope,
        page: Page,
    ) -> Result<(i64, Vec<Location>), StoreError> {
        state.store.list_locations(scope, page).await
    }

    async fn get(state: &AppState, id: i64, scope: &Scope) -> Result<Option<Location>, StoreError> {
        state.store.get_location(id, scope).await
    }

    async fn validate(
        state: &AppState,
        caller: &Caller,
        body: &Map<String, Value>,
        _: Option<&Location>,
        partial: bool,
    ) -> Result<Values, ApiError> {
        let mut v = Validator::new(body, partial);
        let mut values = Values::new();
        if let Some(name) = v.required_text("name", 255) {
            values.push(("name", Val::Text(Some(name))));
        }
        put_text(&mut values, "short_name", v.text("short_name", false, 64));
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
        let org = v.pk("organization_id", true).flatten();
        if let Some(org) = org {
            caller.require_org(org)?;
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
        v.finish()?;
        Ok(values)
    }
}

pub struct FirmwareImages;

#[async_trait]
impl Resource for FirmwareImages {
    type Row = FirmwareImage;
    const TABLE: Table = Table::FirmwareImages;
    const PATH: &'static str = "inventory_firmware_image";
    const ADMIN_WRITE: bool = true;
    const IN_USE: &'static str = "Cannot delete this firmware image: devices still reference it.";

    fn to_json(f: &FirmwareImage) -> Value {
        json!({
            "id": f.id,
            "name": f.name,
            "version": f.version,
            "manufacturer": f.manufacturer,
            "product_class": f.product_class,
            "size": f.size,
            "sha256": f.sha256,
            "created": format_micros(f.created),
        })
    }

    async fn list(
        state: &AppState,
        _: &Scope,
        page: Page,
    ) -> Result<(i64, Vec<FirmwareImage>), StoreError> {
        state.store.list_firmware_images(page).await
    }

    async fn get(
        state: &AppState,
        id: i64,
        _: &Scope,
    ) -> Result<Option<FirmwareImage>, StoreError> {
        state.store.get_firmware_image(id).await
    }

    async fn validate(
        _: &AppState,
        _: &Caller,
        body: &Map<String, Value>,
        _: Option<&FirmwareImage>,
        partial: bool,
    ) -> Result<Values, ApiError> {
        let mut v = Validator::new(body, partial);
        let mut values = Values::new();
        if let Some(name) = v.required_text("name", 255) {
            values.push(("name", Val::Text(Some(name))));
        }
        if let Some(version) = v.required_text("version", 255) {
            values.push(("version", Val::Text(Some(version))));
        }
        put_text(
            &mut values,
            "manufacturer",
            v.text("manufacturer", false, 255),
        );
        put_text(
            &mut values,
            "product_class",
            v.text("product_class", false, 255),
        );
        v.finish()?;
        Ok(values)
    }
}
