//! The OpenAPI document and the vendored Swagger UI.

mod common;

use common::{Backend, TestApp};
use serde_json::{Value, json};

#[tokio::test]
async fn openapi_describes_every_endpoint_and_field() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let doc = app
        .send("GET", "/api/v1/openapi.json", None, None)
        .await
        .expect(200)
        .body;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    let expect = [
        ("/api/v1/inventory_device/", &["get", "post"][..]),
        (
            "/api/v1/inventory_device/{id}/",
            &["get", "put", "patch", "delete"][..],
        ),
        ("/api/v1/organization/", &["get", "post"][..]),
        (
            "/api/v1/organization/{id}/",
            &["get", "put", "patch", "delete"][..],
        ),
        ("/api/v1/inventory_device_type/", &["get", "post"][..]),
        (
            "/api/v1/inventory_device_type/{id}/",
            &["get", "put", "patch", "delete"][..],
        ),
        ("/api/v1/inventory_location/", &["get", "post"][..]),
        (
            "/api/v1/inventory_location/{id}/",
            &["get", "put", "patch", "delete"][..],
        ),
        ("/api/v1/inventory_firmware_image/", &["get", "post"][..]),
        (
            "/api/v1/inventory_firmware_image/{id}/",
            &["get", "put", "patch", "delete"][..],
        ),
        ("/api/v1/inventory_firmware_image/{id}/file/", &["put"][..]),
    ];
    for (path, methods) in expect {
        for m in methods {
            let op = &paths[path][m];
            assert!(op.is_object(), "{m} {path} undocumented");
            assert!(
                op["responses"]["401"].is_object() || path.ends_with("openapi.json"),
                "{m} {path}: 401"
            );
        }
    }
    let list_params: Vec<&str> = paths["/api/v1/inventory_device/"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for p in [
        "type",
        "status",
        "last_status_change_from",
        "organization",
        "limit",
        "offset",
        "pending",
        "update_status",
    ] {
        assert!(list_params.contains(&p), "list parameter {p}");
    }
    for code in ["200", "401", "403"] {
        assert!(paths["/api/v1/inventory_device/"]["get"]["responses"][code].is_object());
    }
    for code in ["201", "400", "401", "409"] {
        assert!(paths["/api/v1/inventory_device/"]["post"]["responses"][code].is_object());
    }

    // The Device schema and a real device response have the same fields.
    let org = app.create_org("o").await;
    let ty = app.create_type("t", "t").await;
    let dev = app
        .create_device(json!({ "name": "d", "type": ty, "organization_id": org }))
        .await;
    let id = dev["id"].as_i64().unwrap();
    let dev = app
        .get(&format!("/api/v1/inventory_device/{id}/?pending=true"))
        .await
        .expect(200)
        .body;
    let props = doc["components"]["schemas"]["Device"]["properties"]
        .as_object()
        .unwrap();
    let mut got: Vec<&String> = dev.as_object().unwrap().keys().collect();
    let mut documented: Vec<&String> = props.keys().collect();
    got.sort();
    documented.sort();
    assert_eq!(got, documented);
    let write = doc["components"]["schemas"]["DeviceWrite"]["properties"]
        .as_object()
        .unwrap();
    assert!(write.contains_key("password"));
    assert!(!props.contains_key("password"));
    app.stop().await;
}

#[tokio::test]
async fn swagger_ui_is_served_offline() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let r = app
        .client
        .get(app.url("/api/v1/docs/"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.to_lowercase().contains("swagger"));
    let r = app
        .client
        .get(app.url("/api/v1/docs/swagger-ui.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.bytes().await.unwrap().len() > 1000);
    let init = app
        .client
        .get(app.url("/api/v1/docs/swagger-initializer.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(init.status(), 200);
    assert!(init.text().await.unwrap().contains("/api/v1/openapi.json"));
    let _: Value = app
        .send("GET", "/api/v1/openapi.json", None, None)
        .await
        .expect(200)
        .body;
    app.stop().await;
}
