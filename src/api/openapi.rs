//! The OpenAPI 3 description of the API (`/api/v1/openapi.json`) and Swagger UI
//! (`/api/v1/docs/`, assets compiled into the binary: no internet needed).

use axum::Router;
use serde_json::{Map, Value, json};
use utoipa_swagger_ui::SwaggerUi;

use super::AppState;

fn s(t: &str) -> Value {
    json!({ "type": t })
}

fn nullable(t: &str) -> Value {
    json!({ "type": [t, "null"] })
}

fn ts(null: bool) -> Value {
    if null {
        json!({ "type": ["string", "null"], "format": "date-time" })
    } else {
        json!({ "type": "string", "format": "date-time" })
    }
}

fn obj(props: &[(&str, Value)], required: &[&str]) -> Value {
    let mut p = Map::new();
    for (k, v) in props {
        p.insert((*k).to_string(), v.clone());
    }
    json!({ "type": "object", "properties": p, "required": required })
}

fn reference(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn page_of(name: &str) -> Value {
    obj(
        &[
            ("count", s("integer")),
            (
                "next",
                json!({ "type": ["string", "null"], "format": "uri" }),
            ),
            (
                "previous",
                json!({ "type": ["string", "null"], "format": "uri" }),
            ),
            (
                "results",
                json!({ "type": "array", "items": reference(name) }),
            ),
        ],
        &["count", "next", "previous", "results"],
    )
}

fn resp(desc: &str, schema: Option<Value>) -> Value {
    match schema {
        Some(schema) => {
            json!({ "description": desc, "content": { "application/json": { "schema": schema } } })
        }
        None => json!({ "description": desc }),
    }
}

fn errors(codes: &[u16]) -> Vec<(String, Value)> {
    codes
        .iter()
        .map(|c| {
            let (desc, schema) = match c {
                400 => (
                    "Bad Request - invalid data (per-field messages)",
                    reference("ValidationError"),
                ),
                401 => (
                    "Unauthorized - invalid or missing API token",
                    reference("Detail"),
                ),
                403 => (
                    "Forbidden - outside the token's organizations or admin only",
                    reference("Detail"),
                ),
                404 => ("Not Found", reference("Detail")),
                409 => ("Conflict", reference("Detail")),
                413 => ("Request body too large", reference("Detail")),
                415 => ("Unsupported media type", reference("Detail")),
                _ => ("Error", reference("Detail")),
            };
            (c.to_string(), resp(desc, Some(schema)))
        })
        .collect()
}

fn op(
    summary: &str,
    params: Vec<Value>,
    body: Option<Value>,
    ok: (u16, &str, Option<Value>),
    errs: &[u16],
) -> Value {
    let mut responses = Map::new();
    responses.insert(ok.0.to_string(), resp(ok.1, ok.2));
    for (code, r) in errors(errs) {
        responses.insert(code, r);
    }
    let mut o = json!({ "summary": summary, "parameters": params, "responses": responses });
    if let Some(b) = body {
        o["requestBody"] =
            json!({ "required": true, "content": { "application/json": { "schema": b } } });
    }
    o
}

fn query(name: &str, schema: Value, desc: &str) -> Value {
    json!({ "name": name, "in": "query", "required": false, "schema": schema, "description": desc })
}

fn id_param() -> Value {
    json!({ "name": "id", "in": "path", "required": true, "schema": { "type": "integer" } })
}

fn page_params() -> Vec<Value> {
    vec![
        query(
            "limit",
            s("integer"),
            "Number of results per page (default 100, at most 1000)",
        ),
        query("offset", s("integer"), "Starting index of the page"),
    ]
}

/// Collection and item paths of a reference resource.
fn resource(paths: &mut Map<String, Value>, path: &str, schema: &str, write: &str, tag: &str) {
    let page = format!("{schema}Page");
    let mut list = op(
        &format!("List {tag}"),
        page_params(),
        None,
        (200, "Success", Some(reference(&page))),
        &[401],
    );
    let mut create = op(
        &format!("Create {tag}"),
        vec![],
        Some(reference(write)),
        (
            201,
            "Created (Location header names it)",
            Some(reference(schema)),
        ),
        &[400, 401, 403, 413, 415],
    );
    list["tags"] = json!([tag]);
    create["tags"] = json!([tag]);
    paths.insert(
        format!("/api/v1/{path}/"),
        json!({ "get": list, "post": create }),
    );
    let mut item = Map::new();
    for (method, summary, body, ok, errs) in [
        (
            "get",
            "Retrieve",
            None,
            (200, "Success", Some(reference(schema))),
            &[401, 404][..],
        ),
        (
            "put",
            "Replace",
            Some(reference(write)),
            (200, "Updated", Some(reference(schema))),
            &[400, 401, 403, 404, 413, 415][..],
        ),
        (
            "patch",
            "Update some fields of",
            Some(reference(write)),
            (200, "Updated", Some(reference(schema))),
            &[400, 401, 403, 404, 413, 415][..],
        ),
        (
            "delete",
            "Delete",
            None,
            (204, "Deleted", None),
            &[401, 403, 404, 409][..],
        ),
    ] {
        let mut o = op(
            &format!("{summary} {tag}"),
            vec![id_param()],
            body,
            ok,
            errs,
        );
        o["tags"] = json!([tag]);
        item.insert(method.to_string(), o);
    }
    paths.insert(format!("/api/v1/{path}/{{id}}/"), Value::Object(item));
}

/// The document. Every path is also served without its trailing slash.
pub fn document() -> Value {
    let device_props: Vec<(&str, Value)> = vec![
        ("id", s("integer")),
        ("uuid", json!({ "type": "string", "format": "uuid" })),
        ("name", s("string")),
        ("customer_id", nullable("string")),
        ("is_active", s("boolean")),
        (
            "status",
            json!({ "type": "string", "enum": ["Up", "Down"] }),
        ),
        ("status_change", ts(false)),
        ("type", s("integer")),
        ("type_short_name", nullable("string")),
        ("software_version", nullable("string")),
        ("hardware_version", nullable("string")),
        ("manufacturer", nullable("string")),
        ("unique_identifier", nullable("string")),
        ("product_class", nullable("string")),
        ("serial_number", nullable("string")),
        ("serial_number_alt", nullable("string")),
        ("description", nullable("string")),
        ("organization_id", s("integer")),
        ("firmware_image", nullable("integer")),
        ("firmware_image_is_pending", s("boolean")),
        ("location_name", nullable("string")),
        ("location", nullable("integer")),
        ("location_short_name", nullable("string")),
        (
            "latitude",
            json!({ "type": ["string", "null"], "format": "decimal", "example": "47.6062" }),
        ),
        (
            "longitude",
            json!({ "type": ["string", "null"], "format": "decimal", "example": "-122.3321" }),
        ),
        ("username", nullable("string")),
        ("update_frequency", nullable("integer")),
        ("address", nullable("string")),
        ("last_connection", ts(true)),
        ("last_configuration", ts(true)),
        ("last_change", ts(false)),
        ("created", ts(false)),
        ("debug", s("boolean")),
        ("reboot", s("boolean")),
        ("sync", s("boolean")),
        ("factory", s("boolean")),
        ("settings", reference("Settings")),
        ("effective_settings", reference("Settings")),
        (
            "pending_settings",
            json!({ "type": "string", "example": "wifi_config,port_forwarding" }),
        ),
        ("pending", reference("PendingDetail")),
    ];
    let device_write: Vec<(&str, Value)> = vec![
        ("name", s("string")),
        ("customer_id", nullable("string")),
        ("is_active", s("boolean")),
        ("type", s("integer")),
        ("serial_number", nullable("string")),
        ("serial_number_alt", nullable("string")),
        ("description", nullable("string")),
        ("organization_id", s("integer")),
        ("firmware_image", nullable("integer")),
        ("location_name", nullable("string")),
        ("location", nullable("integer")),
        (
            "latitude",
            json!({ "type": ["string", "number", "null"], "minimum": -90, "maximum": 90 }),
        ),
        (
            "longitude",
            json!({ "type": ["string", "number", "null"], "minimum": -180, "maximum": 180 }),
        ),
        ("username", nullable("string")),
        (
            "password",
            json!({ "type": ["string", "null"], "writeOnly": true }),
        ),
        (
            "update_frequency",
            json!({ "type": ["integer", "null"], "minimum": 1 }),
        ),
        ("debug", s("boolean")),
        ("reboot", s("boolean")),
        ("sync", s("boolean")),
        ("factory", s("boolean")),
        ("settings", reference("Settings")),
    ];
    let schemas = json!({
        "Detail": obj(&[("detail", s("string"))], &["detail"]),
        "ValidationError": { "type": "object", "additionalProperties": { "type": "array", "items": { "type": "string" } } },
        "PendingItem": obj(&[("name", s("string")), ("since", ts(false)), ("attempts", s("integer")), ("last_fault", nullable("string")), ("given_up", s("boolean")), ("next_attempt", ts(true)), ("sent", ts(true)), ("parameters", json!({ "type": "object", "additionalProperties": { "type": "string" } }))], &["name", "since", "attempts"]),
        "PendingDetail": obj(&[("items", json!({ "type": "array", "items": reference("PendingItem") })), ("last_fault", nullable("string")), ("connection_request", json!({ "type": ["object", "null"], "properties": { "url": { "type": ["string", "null"] }, "last_attempt": { "type": ["string", "null"], "format": "date-time" }, "last_result": { "type": ["string", "null"] } } }))], &["items"]),
        "Settings": {
            "type": "object",
            "description": "Setting groups: group name -> parameter path -> value (string, number, boolean) or {\"value\": v, \"type\": \"xsd:...\"}; null removes an inherited parameter or group. Secret values read back as ********.",
            "additionalProperties": { "type": ["object", "null"], "additionalProperties": {} }
        },
        "Parameter": obj(&[("name", s("string")), ("value", s("string")), ("type", nullable("string")), ("writable", nullable("boolean")), ("updated", ts(false))], &["name", "value"]),
        "ParameterPage": page_of("Parameter"),
        "SessionLog": obj(&[("id", s("integer")), ("started", ts(false)), ("ended", ts(false)), ("transcript", s("string"))], &["id", "transcript"]),
        "SessionLogPage": page_of("SessionLog"),
        "BulkRequest": obj(&[("filter", json!({ "type": "object", "properties": { "type": { "type": "integer" }, "status": { "type": "string" }, "last_status_change_from": { "type": "string" }, "organization": { "type": "integer" }, "has_pending": { "type": "boolean" }, "ids": { "type": "array", "items": { "type": "integer" } } } })), ("update", json!({ "type": "object", "description": "Any of: reboot, sync, factory, debug, is_active, update_frequency, firmware_image, settings, description, customer_id, location, location_name" }))], &["filter", "update"]),
        "BulkResult": obj(&[("matched", s("integer")), ("updated", s("integer")), ("failed", json!({ "type": "array", "items": { "type": "object" } }))], &["matched", "updated", "failed"]),
        "Device": obj(&device_props, &["id", "uuid", "name", "status", "type", "organization_id", "pending_settings"]),
        "DeviceWrite": obj(&device_write, &["name", "type", "organization_id"]),
        "DevicePage": page_of("Device"),
        "Organization": obj(&[("id", s("integer")), ("name", s("string")), ("created", ts(false))], &["id", "name"]),
        "OrganizationWrite": obj(&[("name", s("string"))], &["name"]),
        "OrganizationPage": page_of("Organization"),
        "DeviceType": obj(&[("id", s("integer")), ("name", s("string")), ("short_name", s("string")), ("manufacturer", nullable("string")), ("product_class", nullable("string")), ("settings", reference("Settings")), ("created", ts(false))], &["id", "name", "short_name"]),
        "DeviceTypeWrite": obj(&[("name", s("string")), ("short_name", s("string")), ("manufacturer", nullable("string")), ("product_class", nullable("string")), ("settings", reference("Settings"))], &["name", "short_name"]),
        "DeviceTypePage": page_of("DeviceType"),
        "Location": obj(&[("id", s("integer")), ("name", s("string")), ("short_name", nullable("string")), ("latitude", nullable("string")), ("longitude", nullable("string")), ("organization_id", s("integer")), ("created", ts(false))], &["id", "name", "organization_id"]),
        "LocationWrite": obj(&[("name", s("string")), ("short_name", nullable("string")), ("latitude", json!({ "type": ["string", "number", "null"] })), ("longitude", json!({ "type": ["string", "number", "null"] })), ("organization_id", s("integer"))], &["name", "organization_id"]),
        "LocationPage": page_of("Location"),
        "FirmwareImage": obj(&[("id", s("integer")), ("name", s("string")), ("version", s("string")), ("manufacturer", nullable("string")), ("product_class", nullable("string")), ("size", nullable("integer")), ("sha256", nullable("string")), ("created", ts(false))], &["id", "name", "version"]),
        "FirmwareImageWrite": obj(&[("name", s("string")), ("version", s("string")), ("manufacturer", nullable("string")), ("product_class", nullable("string"))], &["name", "version"]),
        "FirmwareImagePage": page_of("FirmwareImage"),
    });

    let mut paths = Map::new();
    let bool_q = json!({ "type": "string", "enum": ["true", "false", "1", "0", "True", "False"] });
    let mut list_params = vec![
        query("type", s("integer"), "Device type id"),
        query(
            "status",
            json!({ "type": "string", "enum": ["0", "false", "False", "1", "true", "True"] }),
            "0/false/False = Down, 1/true/True = Up; anything else is a 400",
        ),
        query(
            "last_status_change_from",
            s("string"),
            "status_change at or after this ISO date or date-time (e.g. 2000-01-01, 2000-01-01 00:01:00+00:00)",
        ),
        query(
            "organization",
            s("integer"),
            "Organization id (403 outside the token's organizations)",
        ),
    ];
    list_params.extend(page_params());
    list_params.push(query(
        "pending",
        bool_q.clone(),
        "Include the detailed `pending` object",
    ));
    list_params.push(query(
        "update_status",
        bool_q.clone(),
        "Recompute status before answering",
    ));
    list_params.push(query(
        "has_pending",
        bool_q.clone(),
        "Only devices with (true) or without (false) pending items",
    ));
    let mut list = op(
        "List devices",
        list_params,
        None,
        (
            200,
            "Success - paginated device list",
            Some(reference("DevicePage")),
        ),
        &[400, 401, 403],
    );
    let mut create = op(
        "Create a device",
        vec![],
        Some(reference("DeviceWrite")),
        (201, "Created", Some(reference("Device"))),
        &[400, 401, 403, 409, 413, 415],
    );
    list["tags"] = json!(["Inventory Device"]);
    create["tags"] = json!(["Inventory Device"]);
    paths.insert(
        "/api/v1/inventory_device/".into(),
        json!({ "get": list, "post": create }),
    );
    let detail_params = vec![
        id_param(),
        query(
            "pending",
            bool_q.clone(),
            "Include the detailed `pending` object",
        ),
        query("update_status", bool_q, "Recompute status before answering"),
    ];
    let mut item = json!({
        "get": op("Retrieve a device", detail_params, None, (200, "Success", Some(reference("Device"))), &[400, 401, 404]),
        "put": op("Replace a device", vec![id_param()], Some(reference("DeviceWrite")), (200, "Updated", Some(reference("Device"))), &[400, 401, 403, 404, 409, 413, 415]),
        "patch": op("Update some fields of a device", vec![id_param()], Some(reference("DeviceWrite")), (200, "Updated", Some(reference("Device"))), &[400, 401, 403, 404, 409, 413, 415]),
        "delete": op("Delete a device", vec![id_param()], None, (204, "Deleted", None), &[401, 404, 409]),
    });
    for m in ["get", "put", "patch", "delete"] {
        item[m]["tags"] = json!(["Inventory Device"]);
    }
    paths.insert("/api/v1/inventory_device/{id}/".into(), item);
    let mut params = vec![
        id_param(),
        query("prefix", s("string"), "Only names starting with this path"),
    ];
    params.extend(page_params());
    let mut params_op = op(
        "Parameter values the device reported",
        params,
        None,
        (200, "Success", Some(reference("ParameterPage"))),
        &[401, 404],
    );
    params_op["tags"] = json!(["Inventory Device"]);
    paths.insert(
        "/api/v1/inventory_device/{id}/parameters/".into(),
        json!({ "get": params_op }),
    );
    let mut params = vec![id_param()];
    params.extend(page_params());
    let mut sessions_op = op(
        "Transcripts of the device's last sessions in debug mode (newest first)",
        params,
        None,
        (200, "Success", Some(reference("SessionLogPage"))),
        &[401, 404],
    );
    sessions_op["tags"] = json!(["Inventory Device"]);
    paths.insert(
        "/api/v1/inventory_device/{id}/sessions/".into(),
        json!({ "get": sessions_op }),
    );
    let mut bulk_op = op(
        "Apply one partial update to every device a filter selects (in the token's scope)",
        vec![],
        Some(reference("BulkRequest")),
        (
            200,
            "Applied; per-device refusals are listed in failed",
            Some(reference("BulkResult")),
        ),
        &[400, 401, 403, 413, 415],
    );
    bulk_op["tags"] = json!(["Inventory Device"]);
    paths.insert(
        "/api/v1/inventory_device/bulk/".into(),
        json!({ "post": bulk_op }),
    );
    let mut create_op = op(
        "Register up to 1,000 devices at once (each validated like a POST; all or none)",
        vec![],
        Some(
            json!({ "type": "object", "required": ["devices"], "properties": {
            "devices": { "type": "array", "maxItems": 1000, "items": reference("DeviceWrite") },
            "skip_existing": { "type": "boolean", "description": "Skip devices whose serial number is already registered" }
        } }),
        ),
        (
            201,
            "Created",
            Some(
                json!({ "type": "object", "properties": { "created": { "type": "integer" }, "skipped": { "type": "integer" }, "ids": { "type": "array", "items": { "type": "integer" } } } }),
            ),
        ),
        &[400, 401, 403, 409, 413, 415],
    );
    create_op["tags"] = json!(["Inventory Device"]);
    paths.insert(
        "/api/v1/inventory_device/bulk_create/".into(),
        json!({ "post": create_op }),
    );

    resource(
        &mut paths,
        "organization",
        "Organization",
        "OrganizationWrite",
        "Organization",
    );
    resource(
        &mut paths,
        "inventory_device_type",
        "DeviceType",
        "DeviceTypeWrite",
        "Inventory Device Type",
    );
    resource(
        &mut paths,
        "inventory_location",
        "Location",
        "LocationWrite",
        "Inventory Location",
    );
    resource(
        &mut paths,
        "inventory_firmware_image",
        "FirmwareImage",
        "FirmwareImageWrite",
        "Inventory Firmware Image",
    );
    let mut upload = op(
        "Upload the image file (raw body, streamed to disk)",
        vec![id_param()],
        None,
        (
            200,
            "Stored; size and sha256 updated",
            Some(reference("FirmwareImage")),
        ),
        &[400, 401, 403, 404, 413],
    );
    upload["requestBody"] = json!({ "required": true, "content": { "application/octet-stream": { "schema": { "type": "string", "format": "binary" } } } });
    upload["tags"] = json!(["Inventory Firmware Image"]);
    paths.insert(
        "/api/v1/inventory_firmware_image/{id}/file/".into(),
        json!({ "put": upload }),
    );

    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "ferroacs inventory API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Device inventory of the ferroacs TR-069/CWMP ACS. Every path also works without its trailing slash."
        },
        "servers": [{ "url": "/" }],
        "security": [{ "bearer": [] }],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } }
        }
    })
}

pub fn routes(router: Router<AppState>) -> Router<AppState> {
    router.merge(
        SwaggerUi::new("/api/v1/docs").external_url_unchecked("/api/v1/openapi.json", document()),
    )
}
