//! Organizations, device types, locations and firmware images through a real server.

mod common;

use common::{Backend, TestApp};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

async fn organizations_crud(b: Backend) {
    let app = TestApp::spawn(b).await;
    let r = app
        .post("/api/v1/organization/", json!({ "name": "Zequenze" }))
        .await
        .expect(201);
    let id = r.body["id"].as_i64().unwrap();
    assert_eq!(
        r.headers["location"].to_str().unwrap(),
        format!("{}/api/v1/organization/{id}/", app.base)
    );
    assert_eq!(r.body["name"], "Zequenze");
    app.post("/api/v1/organization/", json!({}))
        .await
        .expect(400);
    let r = app
        .put(
            &format!("/api/v1/organization/{id}/"),
            json!({ "name": "Renamed" }),
        )
        .await
        .expect(200);
    assert_eq!(r.body["name"], "Renamed");
    let r = app
        .patch(
            &format!("/api/v1/organization/{id}"),
            json!({ "name": "Again" }),
        )
        .await
        .expect(200);
    assert_eq!(r.body["name"], "Again");
    let list = app.get("/api/v1/organization").await.expect(200).body;
    assert_eq!(list["count"], 1);
    // In use by a location: 409, and it stays.
    let loc = app.create_location(id, "l", "L").await;
    let r = app
        .delete(&format!("/api/v1/organization/{id}/"))
        .await
        .expect(409);
    assert!(r.body["detail"].as_str().unwrap().contains("organization"));
    app.get(&format!("/api/v1/organization/{id}/"))
        .await
        .expect(200);
    app.delete(&format!("/api/v1/inventory_location/{loc}/"))
        .await
        .expect(204);
    app.delete(&format!("/api/v1/organization/{id}/"))
        .await
        .expect(204);
    app.get(&format!("/api/v1/organization/{id}/"))
        .await
        .expect(404);
    app.stop().await;
}

async fn device_types_and_locations(b: Backend) {
    let app = TestApp::spawn(b).await;
    let org = app.create_org("o").await;
    let r = app
        .post(
            "/api/v1/inventory_device_type/",
            json!({ "name": "Router" }),
        )
        .await
        .expect(400);
    assert_eq!(r.body["short_name"], json!(["This field is required."]));
    let ty = app
        .create_type("Enterprise router", "enterprise-router")
        .await;
    let r = app
        .get(&format!("/api/v1/inventory_device_type/{ty}/"))
        .await
        .expect(200)
        .body;
    for f in ["id", "name", "short_name", "manufacturer", "product_class"] {
        assert!(r.get(f).is_some(), "{f}");
    }
    assert_eq!(r["short_name"], "enterprise-router");

    let r = app
        .post(
            "/api/v1/inventory_location/",
            json!({ "name": "x", "organization_id": org, "latitude": 95, "longitude": "-181" }),
        )
        .await
        .expect(400);
    assert!(r.body["latitude"].is_array() && r.body["longitude"].is_array());
    let r = app
        .post(
            "/api/v1/inventory_location/",
            json!({ "name": "x", "organization_id": 999 }),
        )
        .await
        .expect(400);
    assert_eq!(
        r.body["organization_id"],
        json!(["Invalid pk \"999\" - object does not exist."])
    );
    let loc = app
        .create_location(org, "New York Office", "NYC-Main")
        .await;
    let r = app
        .get(&format!("/api/v1/inventory_location/{loc}/"))
        .await
        .expect(200)
        .body;
    assert_eq!(r["latitude"], "40.7128");
    assert_eq!(r["longitude"], "-74.0060");
    assert_eq!(r["organization_id"], org);
    // A device uses both: neither can be deleted while it does.
    let d = app
        .create_device(json!({ "name": "d", "type": ty, "organization_id": org, "location": loc }))
        .await;
    assert_eq!(
        d["location_name"], "New York Office",
        "location_name follows the location when omitted"
    );
    assert_eq!(d["location_short_name"], "NYC-Main");
    app.delete(&format!("/api/v1/inventory_device_type/{ty}/"))
        .await
        .expect(409);
    app.delete(&format!("/api/v1/inventory_location/{loc}/"))
        .await
        .expect(409);
    app.delete(&format!("/api/v1/inventory_device/{}/", d["id"]))
        .await
        .expect(204);
    app.delete(&format!("/api/v1/inventory_device_type/{ty}/"))
        .await
        .expect(204);
    app.delete(&format!("/api/v1/inventory_location/{loc}/"))
        .await
        .expect(204);
    app.stop().await;
}

async fn firmware_images_and_upload(b: Backend) {
    let app = TestApp::spawn(b).await;
    let org = app.create_org("o").await;
    let ty = app.create_type("t", "t").await;
    let r = app
        .post(
            "/api/v1/inventory_firmware_image/",
            json!({ "name": "ZN 2.5", "version": "2.5.0", "manufacturer": "Zequenze Networks" }),
        )
        .await
        .expect(201);
    let fw = r.body["id"].as_i64().unwrap();
    assert_eq!(r.body["size"], Value::Null);
    assert_eq!(r.body["sha256"], Value::Null);

    // Upload the image as the raw body: size and SHA-256 are recorded, the file is on disk.
    let image: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let url = app.url(&format!("/api/v1/inventory_firmware_image/{fw}/file/"));
    let r = app
        .client
        .put(&url)
        .bearer_auth(&app.admin)
        .header("content-type", "application/octet-stream")
        .body(image.clone())
        .send()
        .await
        .unwrap();
    let r = TestApp::read(r).await.expect(200);
    assert_eq!(r.body["size"], image.len());
    assert_eq!(r.body["sha256"], hex::encode(Sha256::digest(&image)));
    let on_disk = std::fs::read(
        app.db
            .dir
            .path()
            .join("data/firmware")
            .join(format!("{fw}.bin")),
    )
    .unwrap();
    assert_eq!(on_disk, image);
    // Over the configured limit (1 MiB in tests): 413, and the previous file is untouched. (Its
    // own client: the server closes that connection mid-upload.)
    let r = reqwest::Client::new()
        .put(&url)
        .bearer_auth(&app.admin)
        .body(vec![0u8; 2 << 20])
        .send()
        .await
        .unwrap();
    TestApp::read(r).await.expect(413);
    let on_disk = std::fs::read(
        app.db
            .dir
            .path()
            .join("data/firmware")
            .join(format!("{fw}.bin")),
    )
    .unwrap();
    assert_eq!(on_disk, image);
    let leftovers = std::fs::read_dir(app.db.dir.path().join("data/firmware"))
        .unwrap()
        .count();
    assert_eq!(leftovers, 1, "no partial files remain");
    // Only admins upload; unknown images are 404.
    let scoped = app.scoped_token("s", &[org]).await;
    let r = app
        .client
        .put(&url)
        .bearer_auth(&scoped)
        .body("x")
        .send()
        .await
        .unwrap();
    TestApp::read(r).await.expect(403);
    let r = app
        .client
        .put(app.url("/api/v1/inventory_firmware_image/999/file/"))
        .bearer_auth(&app.admin)
        .body("x")
        .send()
        .await
        .unwrap();
    TestApp::read(r).await.expect(404);

    // A device pointed at an image it does not run has the upgrade pending.
    let d = app
        .create_device(
            json!({ "name": "d", "type": ty, "organization_id": org, "firmware_image": fw }),
        )
        .await;
    assert_eq!(d["firmware_image"], fw);
    assert_eq!(d["firmware_image_is_pending"], true);
    assert!(
        d["pending_settings"]
            .as_str()
            .unwrap()
            .contains("firmware_upgrade_requested")
    );
    app.delete(&format!("/api/v1/inventory_firmware_image/{fw}/"))
        .await
        .expect(409);
    // Deleting the device is refused while the upgrade is pending; clearing it allows both.
    let path = format!("/api/v1/inventory_device/{}/", d["id"]);
    app.delete(&path).await.expect(409);
    let d = app
        .patch(&path, json!({ "firmware_image": null }))
        .await
        .expect(200)
        .body;
    assert_eq!(d["firmware_image_is_pending"], false);
    app.delete(&path).await.expect(204);
    app.delete(&format!("/api/v1/inventory_firmware_image/{fw}/"))
        .await
        .expect(204);
    app.stop().await;
}

both_backends!(
    organizations_crud,
    device_types_and_locations,
    firmware_images_and_upload
);
