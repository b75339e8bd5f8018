//! Bearer tokens and organization scoping, through a real server on both back ends.

mod common;

use common::{Backend, TestApp};
use serde_json::json;

async fn tokens_are_required(b: Backend) {
    let app = TestApp::spawn(b).await;
    for path in [
        "/api/v1/inventory_device/",
        "/api/v1/inventory_device/1/",
        "/api/v1/organization/",
        "/api/v1/inventory_device_type/",
        "/api/v1/inventory_location/",
        "/api/v1/inventory_firmware_image/",
    ] {
        let r = app.send("GET", path, None, None).await.expect(401);
        assert_eq!(
            r.body["detail"],
            "Authentication credentials were not provided."
        );
        assert_eq!(r.headers["www-authenticate"], "Bearer");
        let r = app
            .send("GET", path, Some("fat_not-a-real-token"), None)
            .await
            .expect(401);
        assert_eq!(r.body["detail"], "Invalid token.");
    }
    let r = app
        .send("POST", "/api/v1/inventory_device/", None, Some(json!({})))
        .await
        .expect(401);
    assert_eq!(r.headers["www-authenticate"], "Bearer");
    let r = app
        .client
        .get(app.url("/api/v1/inventory_device/"))
        .header("authorization", format!("Basic {}", app.admin))
        .send()
        .await
        .unwrap();
    TestApp::read(r).await.expect(401);

    // A revoked token stops working at once.
    let org = app.create_org("o").await;
    let scoped = app.scoped_token("ops", &[org]).await;
    app.send("GET", "/api/v1/inventory_device/", Some(&scoped), None)
        .await
        .expect(200);
    assert!(
        app.running
            .as_ref()
            .unwrap()
            .store
            .revoke_token("ops", 1)
            .await
            .unwrap()
    );
    let r = app
        .send("GET", "/api/v1/inventory_device/", Some(&scoped), None)
        .await
        .expect(401);
    assert_eq!(r.body["detail"], "Invalid token.");
    app.stop().await;
}

async fn organization_scoping(b: Backend) {
    let app = TestApp::spawn(b).await;
    let mine = app.create_org("mine").await;
    let theirs = app.create_org("theirs").await;
    let ty = app.create_type("t", "t").await;
    let my_loc = app.create_location(mine, "home", "H").await;
    let their_loc = app.create_location(theirs, "away", "A").await;
    let my_dev = app
        .create_device(
            json!({ "name": "m", "type": ty, "organization_id": mine, "serial_number": "S-M" }),
        )
        .await;
    let their_dev = app
        .create_device(
            json!({ "name": "t", "type": ty, "organization_id": theirs, "serial_number": "S-T" }),
        )
        .await;
    let (my_id, their_id) = (
        my_dev["id"].as_i64().unwrap(),
        their_dev["id"].as_i64().unwrap(),
    );
    let tok = app.scoped_token("scoped", &[mine]).await;
    let t = Some(tok.as_str());

    // Lists show only the token's organizations.
    let r = app
        .send("GET", "/api/v1/inventory_device/", t, None)
        .await
        .expect(200);
    assert_eq!(r.body["count"], 1);
    assert_eq!(r.body["results"][0]["id"], my_id);
    let r = app
        .send(
            "GET",
            &format!("/api/v1/inventory_device/?organization={mine}"),
            t,
            None,
        )
        .await
        .expect(200);
    assert_eq!(r.body["count"], 1);
    app.send(
        "GET",
        &format!("/api/v1/inventory_device/?organization={theirs}"),
        t,
        None,
    )
    .await
    .expect(403);
    let r = app
        .send("GET", "/api/v1/inventory_location/", t, None)
        .await
        .expect(200);
    assert_eq!(r.body["count"], 1);
    assert_eq!(r.body["results"][0]["id"], my_loc);
    let r = app
        .send("GET", "/api/v1/organization/", t, None)
        .await
        .expect(200);
    assert_eq!(r.body["count"], 1);
    assert_eq!(r.body["results"][0]["id"], mine);
    // Device types and firmware images are shared catalogues: readable by all.
    app.send(
        "GET",
        &format!("/api/v1/inventory_device_type/{ty}/"),
        t,
        None,
    )
    .await
    .expect(200);

    // Another organization's objects are not found.
    app.send(
        "GET",
        &format!("/api/v1/inventory_device/{their_id}/"),
        t,
        None,
    )
    .await
    .expect(404);
    app.send(
        "PATCH",
        &format!("/api/v1/inventory_device/{their_id}/"),
        t,
        Some(json!({ "debug": true })),
    )
    .await
    .expect(404);
    app.send(
        "DELETE",
        &format!("/api/v1/inventory_device/{their_id}/"),
        t,
        None,
    )
    .await
    .expect(404);
    app.send(
        "GET",
        &format!("/api/v1/inventory_location/{their_loc}/"),
        t,
        None,
    )
    .await
    .expect(404);
    app.send("GET", &format!("/api/v1/organization/{theirs}/"), t, None)
        .await
        .expect(404);

    // Writing outside the scope is forbidden.
    app.send(
        "POST",
        "/api/v1/inventory_device/",
        t,
        Some(json!({ "name": "x", "type": ty, "organization_id": theirs })),
    )
    .await
    .expect(403);
    app.send(
        "PATCH",
        &format!("/api/v1/inventory_device/{my_id}/"),
        t,
        Some(json!({ "organization_id": theirs })),
    )
    .await
    .expect(403);
    app.send(
        "POST",
        "/api/v1/inventory_location/",
        t,
        Some(json!({ "name": "x", "organization_id": theirs })),
    )
    .await
    .expect(403);
    // Another organization's location is not even visible.
    let r = app
        .send(
            "PATCH",
            &format!("/api/v1/inventory_device/{my_id}/"),
            t,
            Some(json!({ "location": their_loc })),
        )
        .await
        .expect(400);
    assert!(r.body["location"].is_array());
    // Only admins manage organizations, device types and firmware images.
    app.send(
        "POST",
        "/api/v1/organization/",
        t,
        Some(json!({ "name": "new" })),
    )
    .await
    .expect(403);
    app.send(
        "PATCH",
        &format!("/api/v1/organization/{mine}/"),
        t,
        Some(json!({ "name": "new" })),
    )
    .await
    .expect(403);
    app.send("DELETE", &format!("/api/v1/organization/{mine}/"), t, None)
        .await
        .expect(403);
    app.send(
        "POST",
        "/api/v1/inventory_device_type/",
        t,
        Some(json!({ "name": "n", "short_name": "n" })),
    )
    .await
    .expect(403);
    app.send(
        "POST",
        "/api/v1/inventory_firmware_image/",
        t,
        Some(json!({ "name": "n", "version": "1" })),
    )
    .await
    .expect(403);

    // Inside the scope everything works.
    let r = app
        .send(
            "POST",
            "/api/v1/inventory_device/",
            t,
            Some(json!({ "name": "new", "type": ty, "organization_id": mine, "location": my_loc })),
        )
        .await
        .expect(201);
    let new_id = r.body["id"].as_i64().unwrap();
    app.send(
        "PATCH",
        &format!("/api/v1/inventory_device/{new_id}/"),
        t,
        Some(json!({ "reboot": true })),
    )
    .await
    .expect(200);
    app.send(
        "DELETE",
        &format!("/api/v1/inventory_device/{new_id}/"),
        t,
        None,
    )
    .await
    .expect(204);
    // The other organization's device was never touched.
    let r = app
        .get(&format!("/api/v1/inventory_device/{their_id}/"))
        .await
        .expect(200);
    assert_eq!(r.body["debug"], false);

    // A token with two organizations sees both.
    let both = app.scoped_token("both", &[mine, theirs]).await;
    let r = app
        .send("GET", "/api/v1/inventory_device/", Some(&both), None)
        .await
        .expect(200);
    assert_eq!(r.body["count"], 2);
    app.stop().await;
}

both_backends!(tokens_are_required, organization_scoping);
