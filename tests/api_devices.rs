//! The seed's `/api/v1/inventory_device/` endpoints through a real server, on both back ends.

mod common;

use common::{Backend, TestApp};
use serde_json::{Value, json};

/// An organization, a device type and a location to hang devices on.
async fn fixture(app: &TestApp) -> (i64, i64, i64) {
    let org = app.create_org("Zequenze").await;
    let ty = app
        .create_type("Enterprise router", "enterprise-router")
        .await;
    let loc = app.create_location(org, "Seattle Branch", "SEA").await;
    (org, ty, loc)
}

fn seed_post(org: i64, ty: i64, loc: i64) -> Value {
    json!({
        "name": "Router-Branch-Office-Seattle",
        "customer_id": "CUST-045",
        "is_active": true,
        "type": ty,
        "serial_number": "ZN2024001156",
        "description": "Seattle branch office gateway",
        "organization_id": org,
        "location_name": "Seattle Branch",
        "location": loc,
        "latitude": "47.6062",
        "longitude": "-122.3321",
        "username": "device-seattle-001",
        "password": "SecurePassword123!",
        "update_frequency": 300
    })
}

const ALL_FIELDS: &[&str] = &[
    "id",
    "uuid",
    "name",
    "customer_id",
    "is_active",
    "status",
    "status_change",
    "type",
    "type_short_name",
    "software_version",
    "hardware_version",
    "manufacturer",
    "unique_identifier",
    "product_class",
    "serial_number",
    "serial_number_alt",
    "description",
    "organization_id",
    "firmware_image",
    "firmware_image_is_pending",
    "location_name",
    "location",
    "location_short_name",
    "latitude",
    "longitude",
    "username",
    "update_frequency",
    "address",
    "last_connection",
    "last_configuration",
    "last_change",
    "created",
    "debug",
    "reboot",
    "sync",
    "factory",
    "pending_settings",
];

async fn create_as_in_seed(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (org, ty, loc) = fixture(&app).await;
    let resp = app
        .post("/api/v1/inventory_device/", seed_post(org, ty, loc))
        .await
        .expect(201);
    let d = &resp.body;
    let id = d["id"].as_i64().unwrap();
    assert_eq!(
        resp.headers["location"].to_str().unwrap(),
        format!("{}/api/v1/inventory_device/{id}/", app.base)
    );
    for f in ALL_FIELDS {
        assert!(d.get(*f).is_some(), "field {f} missing from {d}");
    }
    assert!(
        d.get("password").is_none(),
        "password must never be returned"
    );
    assert!(uuid::Uuid::parse_str(d["uuid"].as_str().unwrap()).is_ok());
    assert_eq!(d["name"], "Router-Branch-Office-Seattle");
    assert_eq!(d["customer_id"], "CUST-045");
    assert_eq!(d["status"], "Down");
    assert_eq!(d["status_change"], d["created"]);
    assert!(d["created"].as_str().unwrap().ends_with('Z'));
    assert_eq!(d["type"], ty);
    assert_eq!(d["type_short_name"], "enterprise-router");
    assert_eq!(d["organization_id"], org);
    assert_eq!(d["location"], loc);
    assert_eq!(d["location_name"], "Seattle Branch");
    assert_eq!(d["location_short_name"], "SEA");
    assert_eq!(d["latitude"], "47.6062");
    assert_eq!(d["longitude"], "-122.3321");
    assert_eq!(d["username"], "device-seattle-001");
    assert_eq!(d["update_frequency"], 300);
    assert_eq!(d["pending_settings"], "initial");
    assert_eq!(d["reboot"], false);
    assert_eq!(d["is_active"], true);

    let got = app
        .get(&format!("/api/v1/inventory_device/{id}/"))
        .await
        .expect(200)
        .body;
    assert_eq!(&got, d);
    // Without the trailing slash too.
    let got = app
        .get(&format!("/api/v1/inventory_device/{id}"))
        .await
        .expect(200)
        .body;
    assert_eq!(got["id"], id);

    // Two devices get different UUIDs; a second one with the same serial is a 409.
    let dup = app
        .post("/api/v1/inventory_device/", seed_post(org, ty, loc))
        .await
        .expect(409);
    assert!(
        dup.body["detail"]
            .as_str()
            .unwrap()
            .contains("ZN2024001156")
    );
    let mut other = seed_post(org, ty, loc);
    other["serial_number"] = json!("ZN2024001157");
    other["username"] = json!("device-seattle-002");
    let d2 = app.create_device(other).await;
    assert_ne!(d2["uuid"], d["uuid"]);
    assert!(d2["id"].as_i64().unwrap() > id);
    app.stop().await;
}

async fn minimal_post_and_defaults(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (org, ty, _) = fixture(&app).await;
    let d = app
        .create_device(json!({ "name": "r1", "type": ty.to_string(), "organization_id": org }))
        .await;
    assert_eq!(d["is_active"], true);
    assert_eq!(d["debug"], false);
    assert_eq!(d["serial_number"], Value::Null);
    assert_eq!(d["location"], Value::Null);
    assert_eq!(d["firmware_image"], Value::Null);
    assert_eq!(d["firmware_image_is_pending"], false);
    assert_eq!(d["last_connection"], Value::Null);
    // Devices without serial numbers do not collide with each other.
    app.create_device(
        json!({ "name": "r2", "type": ty, "organization_id": org, "serial_number": "" }),
    )
    .await;
    app.stop().await;
}

async fn validation_errors(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (org, ty, loc) = fixture(&app).await;
    let r = app
        .post("/api/v1/inventory_device/", json!({}))
        .await
        .expect(400);
    for f in ["name", "type", "organization_id"] {
        assert_eq!(
            r.body[f],
            json!(["This field is required."]),
            "{f}: {}",
            r.text
        );
    }
    let r = app
        .post(
            "/api/v1/inventory_device/",
            json!({
                "name": "x", "type": 9999, "organization_id": 8888, "location": 7777, "firmware_image": 6666,
                "latitude": "91", "longitude": "abc", "update_frequency": 0, "is_active": "maybe",
                "customer_id": ["list"], "debug": 3
            }),
        )
        .await
        .expect(400);
    let b = &r.body;
    assert_eq!(
        b["type"],
        json!(["Invalid pk \"9999\" - object does not exist."])
    );
    assert_eq!(
        b["organization_id"],
        json!(["Invalid pk \"8888\" - object does not exist."])
    );
    assert_eq!(
        b["location"],
        json!(["Invalid pk \"7777\" - object does not exist."])
    );
    assert_eq!(
        b["firmware_image"],
        json!(["Invalid pk \"6666\" - object does not exist."])
    );
    assert_eq!(
        b["latitude"],
        json!(["Ensure this value is less than or equal to 90."])
    );
    assert_eq!(b["longitude"], json!(["A valid number is required."]));
    assert_eq!(
        b["update_frequency"],
        json!(["Ensure this value is greater than or equal to 1."])
    );
    assert_eq!(b["is_active"], json!(["Must be a valid boolean."]));
    assert_eq!(b["customer_id"], json!(["Not a valid string."]));
    assert_eq!(b["debug"], json!(["Must be a valid boolean."]));
    let r = app
        .post(
            "/api/v1/inventory_device/",
            json!({ "name": "", "type": "abc", "organization_id": true, "update_frequency": -5, "longitude": -180.5 }),
        )
        .await
        .expect(400);
    assert_eq!(r.body["name"], json!(["This field may not be blank."]));
    assert_eq!(
        r.body["type"],
        json!(["Invalid pk \"abc\" - object does not exist."])
    );
    assert_eq!(
        r.body["organization_id"],
        json!(["Incorrect type. Expected pk value, received bool."])
    );
    assert_eq!(
        r.body["update_frequency"],
        json!(["Ensure this value is greater than or equal to 1."])
    );
    assert_eq!(
        r.body["longitude"],
        json!(["Ensure this value is greater than or equal to -180."])
    );
    // A location of another organization cannot be used.
    let org2 = app.create_org("Other").await;
    let r = app
        .post(
            "/api/v1/inventory_device/",
            json!({ "name": "x", "type": ty, "organization_id": org2, "location": loc }),
        )
        .await
        .expect(400);
    assert_eq!(
        r.body["location"],
        json!(["This location belongs to another organization."])
    );
    // A password needs a username to be hashed with.
    let r = app
        .post(
            "/api/v1/inventory_device/",
            json!({ "name": "x", "type": ty, "organization_id": org, "password": "p" }),
        )
        .await
        .expect(400);
    assert!(r.body["password"].is_array());
    // Nothing was created by any of the refused requests.
    assert_eq!(
        app.get("/api/v1/inventory_device/").await.expect(200).body["count"],
        0
    );
    app.stop().await;
}

async fn bad_bodies(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (org, ty, _) = fixture(&app).await;
    let url = app.url("/api/v1/inventory_device/");
    let send = |body: &'static str, ct: &'static str| {
        app.client
            .post(&url)
            .bearer_auth(&app.admin)
            .header("content-type", ct)
            .body(body)
            .send()
    };
    let r = TestApp::read(send("{\"name\": ", "application/json").await.unwrap())
        .await
        .expect(400);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .starts_with("JSON parse error")
    );
    let r = TestApp::read(send("[1,2]", "application/json").await.unwrap())
        .await
        .expect(400);
    assert_eq!(
        r.body["non_field_errors"],
        json!(["Invalid data. Expected a dictionary, but got list."])
    );
    let r = TestApp::read(
        send("name=x", "application/x-www-form-urlencoded")
            .await
            .unwrap(),
    )
    .await
    .expect(415);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("Unsupported media type")
    );
    let big = format!(
        "{{\"name\": \"{}\", \"type\": {ty}, \"organization_id\": {org}}}",
        "x".repeat(100 * 1024)
    );
    // A client of its own: the server closes this connection while the body is still coming,
    // and a pooled connection could otherwise be picked for the next request as it closes.
    let r = reqwest::Client::new()
        .post(&url)
        .bearer_auth(&app.admin)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    let r = TestApp::read(r).await.expect(413);
    assert!(r.body["detail"].is_string());
    // Non-integer ids are not found, whatever the method.
    app.get("/api/v1/inventory_device/abc/").await.expect(404);
    app.delete("/api/v1/inventory_device/1.5/")
        .await
        .expect(404);
    app.get("/api/v1/inventory_device/99999/").await.expect(404);
    let r = app
        .send(
            "POST",
            "/api/v1/inventory_device/1/",
            Some(&app.admin),
            Some(json!({})),
        )
        .await
        .expect(405);
    assert_eq!(r.body["detail"], "Method \"POST\" not allowed.");
    app.get("/api/v1/no_such_thing/").await.expect(404);
    assert_eq!(
        app.get("/api/v1/inventory_device/").await.expect(200).body["count"],
        0
    );
    app.stop().await;
}

/// Forces a device's status/timestamps, as CWMP sessions would, through the database itself.
async fn set_status(
    app: &TestApp,
    id: i64,
    up: bool,
    status_change: i64,
    last_connection: Option<i64>,
) {
    let sql =
        "UPDATE devices SET status_up = $1, status_change = $2, last_connection = $3 WHERE id = $4";
    match app.db.backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&app.db.url).await.unwrap();
            sqlx::query(sql)
                .bind(up)
                .bind(status_change)
                .bind(last_connection)
                .bind(id)
                .execute(&pool)
                .await
                .unwrap();
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&app.db.url).await.unwrap();
            sqlx::query(sql)
                .bind(up)
                .bind(status_change)
                .bind(last_connection)
                .bind(id)
                .execute(&pool)
                .await
                .unwrap();
        }
    }
}

async fn list_filters_and_pagination(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (org, ty, _) = fixture(&app).await;
    let org2 = app.create_org("Second").await;
    let ty2 = app.create_type("CPE", "cpe").await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let (o, t) = if i % 2 == 0 { (org, ty) } else { (org2, ty2) };
        let d = app
            .create_device(json!({ "name": format!("dev{i}"), "type": t, "organization_id": o }))
            .await;
        ids.push(d["id"].as_i64().unwrap());
    }
    // dev0 and dev2 are Up since 2024-01-15; the rest Down since creation (now).
    let jan15 = 1_705_311_000_000_000;
    set_status(
        &app,
        ids[0],
        true,
        jan15,
        Some(ferroacs::time::now_micros()),
    )
    .await;
    set_status(
        &app,
        ids[2],
        true,
        jan15,
        Some(ferroacs::time::now_micros()),
    )
    .await;

    let list = app.get("/api/v1/inventory_device/").await.expect(200).body;
    assert_eq!(list["count"], 7);
    let got: Vec<i64> = list["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_i64().unwrap())
        .collect();
    assert_eq!(got, ids, "ordered by id");
    assert_eq!(list["next"], Value::Null);
    assert_eq!(list["previous"], Value::Null);

    let names = |v: &Value| -> Vec<String> {
        v["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["name"].as_str().unwrap().to_string())
            .collect()
    };
    let r = app
        .get(&format!("/api/v1/inventory_device/?organization={org}"))
        .await
        .expect(200)
        .body;
    assert_eq!(names(&r), ["dev0", "dev2", "dev4", "dev6"]);
    let r = app
        .get(&format!("/api/v1/inventory_device/?type={ty2}"))
        .await
        .expect(200)
        .body;
    assert_eq!(names(&r), ["dev1", "dev3", "dev5"]);
    for up in ["1", "true", "True"] {
        let r = app
            .get(&format!("/api/v1/inventory_device/?status={up}"))
            .await
            .expect(200)
            .body;
        assert_eq!(names(&r), ["dev0", "dev2"], "status={up}");
        assert!(
            r["results"]
                .as_array()
                .unwrap()
                .iter()
                .all(|d| d["status"] == "Up")
        );
    }
    for down in ["0", "false", "False"] {
        let r = app
            .get(&format!("/api/v1/inventory_device/?status={down}"))
            .await
            .expect(200)
            .body;
        assert_eq!(r["count"], 5, "status={down}");
    }
    let r = app
        .get("/api/v1/inventory_device/?status=up")
        .await
        .expect(400);
    assert!(r.body["status"].is_array());
    let r = app
        .get(&format!(
            "/api/v1/inventory_device/?organization={org}&status=true"
        ))
        .await
        .expect(200)
        .body;
    assert_eq!(names(&r), ["dev0", "dev2"]);

    // last_status_change_from: dev0/dev2 changed in January 2024, the others just now.
    let r = app
        .get("/api/v1/inventory_device/?last_status_change_from=2024-02-01")
        .await
        .expect(200)
        .body;
    assert_eq!(r["count"], 5);
    let r = app
        .get("/api/v1/inventory_device/?last_status_change_from=2024-01-15")
        .await
        .expect(200)
        .body;
    assert_eq!(r["count"], 7);
    let r = app
        .get("/api/v1/inventory_device/?last_status_change_from=2024-01-15%2009:30:01%2B00:00")
        .await
        .expect(200)
        .body;
    assert_eq!(r["count"], 5);
    let r = app
        .get("/api/v1/inventory_device/?last_status_change_from=2024-01-15T11:30:00%2B02:00")
        .await
        .expect(200)
        .body;
    assert_eq!(r["count"], 7, "an offset is honoured");
    let r = app
        .get("/api/v1/inventory_device/?last_status_change_from=15/01/2024")
        .await
        .expect(400);
    assert!(r.body["last_status_change_from"].is_array());
    app.get("/api/v1/inventory_device/?organization=abc")
        .await
        .expect(400);
    app.get("/api/v1/inventory_device/?type=abc")
        .await
        .expect(400);
    app.get("/api/v1/inventory_device/?pending=perhaps")
        .await
        .expect(400);

    // Pagination: links keep the other parameters, sorted as DRF does.
    let r = app
        .get(&format!(
            "/api/v1/inventory_device/?organization={org}&limit=3"
        ))
        .await
        .expect(200)
        .body;
    assert_eq!(r["count"], 4);
    assert_eq!(names(&r), ["dev0", "dev2", "dev4"]);
    assert_eq!(r["previous"], Value::Null);
    let next = r["next"].as_str().unwrap().to_string();
    assert_eq!(
        next,
        format!(
            "{}/api/v1/inventory_device/?limit=3&offset=3&organization={org}",
            app.base
        )
    );
    let r = app
        .client
        .get(&next)
        .bearer_auth(&app.admin)
        .send()
        .await
        .unwrap();
    let r = TestApp::read(r).await.expect(200).body;
    assert_eq!(names(&r), ["dev6"]);
    assert_eq!(r["next"], Value::Null);
    assert_eq!(
        r["previous"].as_str().unwrap(),
        format!(
            "{}/api/v1/inventory_device/?limit=3&organization={org}",
            app.base
        )
    );
    let r = app
        .get("/api/v1/inventory_device/?limit=2&offset=5")
        .await
        .expect(200)
        .body;
    assert_eq!(names(&r), ["dev5", "dev6"]);
    assert_eq!(
        r["previous"].as_str().unwrap(),
        format!("{}/api/v1/inventory_device/?limit=2&offset=3", app.base)
    );
    let r = app
        .get("/api/v1/inventory_device?limit=100000")
        .await
        .expect(200)
        .body;
    assert_eq!(r["count"], 7);
    app.stop().await;
}

async fn put_replaces_and_patch_changes(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (org, ty, loc) = fixture(&app).await;
    let d = app.create_device(seed_post(org, ty, loc)).await;
    let id = d["id"].as_i64().unwrap();
    let path = format!("/api/v1/inventory_device/{id}/");
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;

    // The seed's PUT example.
    let r = app
        .put(
            &path,
            json!({
                "name": "Router-Main-Office-Updated", "customer_id": "CUST-001", "is_active": true,
                "type": ty, "organization_id": org, "sync": true
            }),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(r["name"], "Router-Main-Office-Updated");
    assert_eq!(r["customer_id"], "CUST-001");
    assert_eq!(r["sync"], true);
    assert_eq!(r["pending_settings"], "initial,sync_requested");
    assert_ne!(r["last_change"], d["last_change"]);
    // Omitted optional fields went back to their defaults.
    assert_eq!(r["description"], Value::Null);
    assert_eq!(r["location"], Value::Null);
    assert_eq!(r["latitude"], Value::Null);
    assert_eq!(r["update_frequency"], Value::Null);
    assert_eq!(r["username"], Value::Null);
    assert_eq!(r["uuid"], d["uuid"], "read-only fields are kept");
    assert_eq!(r["created"], d["created"]);
    // PUT validates like POST.
    let e = app
        .put(&path, json!({ "name": "only a name" }))
        .await
        .expect(400);
    assert_eq!(e.body["type"], json!(["This field is required."]));
    assert_eq!(
        e.body["organization_id"],
        json!(["This field is required."])
    );

    // The seed's PATCH example: only the named fields change.
    let before = app.get(&path).await.expect(200).body;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let r = app
        .patch(
            &path,
            json!({ "debug": true, "reboot": true, "description": "Rebooting for maintenance" }),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(r["debug"], true);
    assert_eq!(r["reboot"], true);
    assert_eq!(r["description"], "Rebooting for maintenance");
    assert_eq!(r["name"], before["name"]);
    assert_eq!(r["customer_id"], before["customer_id"]);
    assert_eq!(
        r["sync"], true,
        "a pending sync survives an unrelated PATCH"
    );
    assert_eq!(
        r["pending_settings"],
        "initial,sync_requested,reboot_requested"
    );
    assert_ne!(r["last_change"], before["last_change"]);
    // Cancelling: writing false clears a queued operation.
    let r = app
        .patch(
            &path,
            json!({ "reboot": false, "sync": false, "factory": true }),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(r["pending_settings"], "initial,factory_reset_requested");
    assert_eq!(r["factory"], true);
    // PATCH validates what it names.
    let e = app
        .patch(&path, json!({ "update_frequency": "often", "name": null }))
        .await
        .expect(400);
    assert_eq!(
        e.body["update_frequency"],
        json!(["A valid integer is required."])
    );
    assert_eq!(e.body["name"], json!(["This field may not be null."]));
    app.patch("/api/v1/inventory_device/424242/", json!({ "debug": true }))
        .await
        .expect(404);
    app.put(
        "/api/v1/inventory_device/424242/",
        json!({ "name": "x", "type": ty, "organization_id": org }),
    )
    .await
    .expect(404);

    // Moving to another organization checks the location again.
    let org2 = app.create_org("Other").await;
    app.patch(&path, json!({ "location": loc }))
        .await
        .expect(200);
    let e = app
        .patch(&path, json!({ "organization_id": org2 }))
        .await
        .expect(400);
    assert!(e.body["location"].is_array());
    // A serial number taken by another device is a 409 on update too.
    app.create_device(
        json!({ "name": "b", "type": ty, "organization_id": org, "serial_number": "TAKEN" }),
    )
    .await;
    app.patch(&path, json!({ "serial_number": "TAKEN" }))
        .await
        .expect(409);
    app.stop().await;
}

async fn pending_detail_and_delete(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (org, ty, _) = fixture(&app).await;
    let d = app
        .create_device(json!({ "name": "a", "type": ty, "organization_id": org }))
        .await;
    let id = d["id"].as_i64().unwrap();
    let path = format!("/api/v1/inventory_device/{id}/");
    app.patch(&path, json!({ "reboot": true, "sync": true }))
        .await
        .expect(200);
    let r = app
        .get(&format!("{path}?pending=true"))
        .await
        .expect(200)
        .body;
    let items = r["pending"]["items"].as_array().unwrap();
    let names: Vec<&str> = items.iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["initial", "sync_requested", "reboot_requested"]);
    assert!(
        items
            .iter()
            .all(|i| i["since"].as_str().unwrap().ends_with('Z'))
    );
    assert!(
        items
            .iter()
            .all(|i| i.get("last_fault").is_some() && i.get("attempts").is_some())
    );
    assert!(app.get(&path).await.body.get("pending").is_none());
    let list = app
        .get("/api/v1/inventory_device/?pending=true")
        .await
        .expect(200)
        .body;
    assert!(list["results"][0]["pending"]["items"].is_array());
    let list = app
        .get("/api/v1/inventory_device/?has_pending=false")
        .await
        .expect(200)
        .body;
    assert_eq!(list["count"], 0);

    // A factory reset in flight blocks deletion; cancelling it unblocks.
    app.patch(&path, json!({ "factory": true }))
        .await
        .expect(200);
    let r = app.delete(&path).await.expect(409);
    assert!(r.body["detail"].is_string());
    app.patch(&path, json!({ "factory": false }))
        .await
        .expect(200);
    app.delete(&path).await.expect(204);
    app.get(&path).await.expect(404);
    app.delete(&path).await.expect(404);
    app.stop().await;
}

async fn update_status_marks_silent_devices_down(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (org, ty, _) = fixture(&app).await;
    let a = app
        .create_device(
            json!({ "name": "a", "type": ty, "organization_id": org, "update_frequency": 60 }),
        )
        .await;
    let c = app
        .create_device(
            json!({ "name": "c", "type": ty, "organization_id": org, "update_frequency": 60 }),
        )
        .await;
    let (a, c) = (a["id"].as_i64().unwrap(), c["id"].as_i64().unwrap());
    let now = ferroacs::time::now_micros();
    // a: last Inform 10 minutes ago with a 60 s interval (silent); c: 30 s ago (alive).
    set_status(&app, a, true, now - 3_600_000_000, Some(now - 600_000_000)).await;
    set_status(&app, c, true, now - 3_600_000_000, Some(now - 30_000_000)).await;
    let r = app
        .get(&format!("/api/v1/inventory_device/{a}/"))
        .await
        .expect(200)
        .body;
    assert_eq!(
        r["status"], "Up",
        "without update_status the stored status is shown"
    );
    let r = app
        .get(&format!("/api/v1/inventory_device/{a}/?update_status=true"))
        .await
        .expect(200)
        .body;
    assert_eq!(r["status"], "Down");
    assert!(r["status_change"].as_str().unwrap() > "2025");
    let r = app
        .get("/api/v1/inventory_device/?update_status=true&status=true")
        .await
        .expect(200)
        .body;
    assert_eq!(r["count"], 1);
    assert_eq!(r["results"][0]["id"], c);
    app.stop().await;
}

async fn password_is_never_disclosed(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (org, ty, loc) = fixture(&app).await;
    let secret = "SecurePassword123!";
    let d = app.create_device(seed_post(org, ty, loc)).await;
    let id = d["id"].as_i64().unwrap();
    let path = format!("/api/v1/inventory_device/{id}/");
    let mut texts = vec![
        app.get(&path).await.text,
        app.get("/api/v1/inventory_device/?pending=true").await.text,
        app.patch(&path, json!({ "password": "NewSecurePassword456!" }))
            .await
            .text,
    ];
    let mut put = seed_post(org, ty, loc);
    put["password"] = json!("Third-Password-789");
    texts.push(app.put(&path, put).await.text);
    for t in &texts {
        assert!(!t.contains("password"), "{t}");
        assert!(!t.contains("Password"), "{t}");
    }
    // Changing the username without the password is refused: digests depend on it.
    let e = app
        .patch(&path, json!({ "username": "renamed" }))
        .await
        .expect(400);
    assert!(e.body["password"].is_array());
    app.patch(&path, json!({ "username": "renamed", "password": "p4ss" }))
        .await
        .expect(200);
    // The clear password is nowhere in the database.
    let rows: Vec<String> = match app.db.backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&app.db.url).await.unwrap();
            sqlx::query_scalar("SELECT COALESCE(ha1_md5,'') || COALESCE(ha1_sha256,'') || COALESCE(basic_hash,'') FROM devices")
                .fetch_all(&pool)
                .await
                .unwrap()
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&app.db.url).await.unwrap();
            sqlx::query_scalar("SELECT COALESCE(ha1_md5,'') || COALESCE(ha1_sha256,'') || COALESCE(basic_hash,'') FROM devices")
                .fetch_all(&pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(rows.len(), 1);
    assert!(rows[0].len() > 64, "digests are stored");
    for pw in [
        secret,
        "NewSecurePassword456!",
        "Third-Password-789",
        "p4ss",
    ] {
        assert!(!rows[0].contains(pw));
    }
    if app.db.backend == Backend::Sqlite {
        let file = std::fs::read(app.db.dir.path().join("ferroacs.db")).unwrap_or_default();
        let wal = std::fs::read(app.db.dir.path().join("ferroacs.db-wal")).unwrap_or_default();
        for blob in [file, wal] {
            assert!(!blob.windows(secret.len()).any(|w| w == secret.as_bytes()));
        }
    }
    app.stop().await;
}

async fn bulk_create_registers_many(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (org, ty, _) = fixture(&app).await;
    let dev = |i: usize| json!({ "name": format!("r{i}"), "type": ty, "organization_id": org, "serial_number": format!("BULK{i}"), "username": format!("u{i}"), "password": "pw" });
    let r = app
        .post(
            "/api/v1/inventory_device/bulk_create/",
            json!({ "devices": [dev(1), dev(2), dev(3)] }),
        )
        .await
        .expect(201);
    assert_eq!(r.body["created"], 3);
    assert_eq!(r.body["ids"].as_array().unwrap().len(), 3);
    let one = app
        .get(&format!("/api/v1/inventory_device/{}/", r.body["ids"][1]))
        .await
        .expect(200)
        .body;
    assert_eq!(one["serial_number"], "BULK2");
    assert_eq!(one["pending_settings"], "initial");
    // A batch with a registered serial: 409 and nothing created; with skip_existing, skipped.
    app.post(
        "/api/v1/inventory_device/bulk_create/",
        json!({ "devices": [dev(3), dev(4)] }),
    )
    .await
    .expect(409);
    assert_eq!(app.get("/api/v1/inventory_device/").await.body["count"], 3);
    let r = app
        .post(
            "/api/v1/inventory_device/bulk_create/",
            json!({ "devices": [dev(3), dev(4)], "skip_existing": true }),
        )
        .await
        .expect(201);
    assert_eq!(
        (r.body["created"].as_i64(), r.body["skipped"].as_i64()),
        (Some(1), Some(1))
    );
    // Validation errors name the device; nothing is created.
    let r = app
        .post(
            "/api/v1/inventory_device/bulk_create/",
            json!({ "devices": [dev(5), { "name": "x" }] }),
        )
        .await
        .expect(400);
    assert!(r.body["devices[1]"].is_array(), "{}", r.text);
    assert_eq!(app.get("/api/v1/inventory_device/").await.body["count"], 4);
    app.post(
        "/api/v1/inventory_device/bulk_create/",
        json!({ "devices": [] }),
    )
    .await
    .expect(400);
    let many: Vec<Value> = (0..1001).map(|_| json!({})).collect();
    app.post(
        "/api/v1/inventory_device/bulk_create/",
        json!({ "devices": many }),
    )
    .await
    .expect(400);
    // Outside a scoped token's organizations: 403.
    let other = app.create_org("other").await;
    let tok = app.scoped_token("s", &[other]).await;
    app.send(
        "POST",
        "/api/v1/inventory_device/bulk_create/",
        Some(&tok),
        Some(json!({ "devices": [dev(9)] })),
    )
    .await
    .expect(403);
    app.stop().await;
}

both_backends!(
    bulk_create_registers_many,
    create_as_in_seed,
    minimal_post_and_defaults,
    validation_errors,
    bad_bodies,
    list_filters_and_pagination,
    put_replaces_and_patch_changes,
    pending_detail_and_delete,
    update_status_marks_silent_devices_down,
    password_is_never_disclosed,
);
