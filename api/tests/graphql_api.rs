//! The GraphQL API end to end: a real `hadir` process on SQLite and on PostgreSQL, used over
//! HTTP and over WebSocket (`graphql-transport-ws`) with a real client.

mod common;

use std::time::Duration;

use common::{
    ADMIN_TOKEN, Backend, Operation, ServerOptions, TestDb, TestServer, create_token, next_event,
    no_event, raw::RawSocket,
};
use serde_json::{Value, json};

const EMPLOYEE_FIELDS: &str = "employeeId name department role presence { status lastSeen lastSeenAgo camera { cameraId name } }";

async fn create_employee(server: &TestServer, id: &str, name: &str) -> Value {
    server
        .gql(
            ADMIN_TOKEN,
            &format!("mutation($input: EmployeeInput!) {{ createEmployee(input: $input) {{ {EMPLOYEE_FIELDS} }} }}"),
            json!({ "input": { "employeeId": id, "name": name, "department": "Engineering" } }),
        )
        .await["createEmployee"]
        .clone()
}

/// Reports a sighting with `token`; returns its receipt.
async fn sighting(server: &TestServer, token: &str, employee: &str, camera: &str) -> Value {
    server
        .gql(
            token,
            "mutation($input: SightingInput!) { reportSighting(input: $input) { employeeId cameraId seenAt status latest } }",
            json!({ "input": { "employeeId": employee, "cameraId": camera, "score": 0.71 } }),
        )
        .await["reportSighting"]
        .clone()
}

/// An employee as an admin reads them.
async fn employee(server: &TestServer, id: &str) -> Value {
    server
        .gql(
            ADMIN_TOKEN,
            &format!("query($id: ID!) {{ employee(employeeId: $id) {{ {EMPLOYEE_FIELDS} }} }}"),
            json!({ "id": id }),
        )
        .await["employee"]
        .clone()
}

async fn summary(server: &TestServer) -> Value {
    server
        .gql(
            ADMIN_TOKEN,
            "{ presenceSummary { present alert unavailable total } }",
            json!({}),
        )
        .await["presenceSummary"]
        .clone()
}

async fn crud_round_trip(backend: Backend) {
    let Some(db) = TestDb::create(backend, "crud_round_trip") else {
        return;
    };
    let server = TestServer::start(&db, &ServerOptions::default());

    let created = create_employee(&server, "E1", "Ann Lee").await;
    assert_eq!(created["employeeId"], "E1");
    assert_eq!(created["presence"]["status"], "UNAVAILABLE");
    assert_eq!(created["presence"]["lastSeenAgo"], Value::Null);

    let updated = server
        .gql(
            ADMIN_TOKEN,
            "mutation { updateEmployee(employeeId: \"E1\", input: {name: \"Ann Lee-Park\", department: null, role: \"Engineer\"}) { name department role } }",
            json!({}),
        )
        .await;
    assert_eq!(
        updated["updateEmployee"],
        json!({ "name": "Ann Lee-Park", "department": null, "role": "Engineer" })
    );
    let fetched = server
        .gql(ADMIN_TOKEN, "{ employee(employeeId: \"E1\") { name role } missing: employee(employeeId: \"NOPE\") { name } }", json!({}))
        .await;
    assert_eq!(fetched["employee"]["name"], "Ann Lee-Park");
    assert_eq!(fetched["missing"], Value::Null);

    // Cameras: the files were synced; the API adds, changes and removes its own.
    let cameras = server
        .gql(
            ADMIN_TOKEN,
            "{ cameras { cameraId name status isActive source } }",
            json!({}),
        )
        .await;
    assert_eq!(
        cameras["cameras"],
        json!([
            { "cameraId": "CAM1", "name": "Lobby", "status": "OFFLINE", "isActive": false, "source": "CONFIG_FILE" },
            { "cameraId": "CAM2", "name": "Gate", "status": "OFFLINE", "isActive": false, "source": "CONFIG_FILE" },
        ])
    );
    let camera = server
        .gql(
            ADMIN_TOKEN,
            "mutation { createCamera(input: {cameraId: \"CAM9\", name: \"Roof\", streamUrl: \"rtsp://10.1.1.9/s\", sampleFps: 2}) { cameraId name streamUrl sampleFps source status } }",
            json!({}),
        )
        .await;
    assert_eq!(
        camera["createCamera"],
        json!({ "cameraId": "CAM9", "name": "Roof", "streamUrl": "rtsp://10.1.1.9/s", "sampleFps": 2.0, "source": "API", "status": "OFFLINE" })
    );
    let camera = server
        .gql(
            ADMIN_TOKEN,
            "mutation { updateCamera(cameraId: \"CAM9\", input: {name: \"Roof east\", sampleFps: null}) { name sampleFps } }",
            json!({}),
        )
        .await;
    assert_eq!(
        camera["updateCamera"],
        json!({ "name": "Roof east", "sampleFps": 1.0 })
    );
    let deleted = server
        .gql(
            ADMIN_TOKEN,
            "mutation { deleteCamera(cameraId: \"CAM9\") }",
            json!({}),
        )
        .await;
    assert_eq!(deleted["deleteCamera"], true);
    let (code, message) = server
        .gql_error(
            Some(ADMIN_TOKEN),
            "mutation { deleteCamera(cameraId: \"CAM1\") }",
            json!({}),
        )
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(message.contains("lobby.json"), "{message}");

    let deleted = server
        .gql(
            ADMIN_TOKEN,
            "mutation { deleteEmployee(employeeId: \"E1\") }",
            json!({}),
        )
        .await;
    assert_eq!(deleted["deleteEmployee"], true);
    let (code, _) = server
        .gql_error(
            Some(ADMIN_TOKEN),
            "mutation { deleteEmployee(employeeId: \"E1\") }",
            json!({}),
        )
        .await;
    assert_eq!(code, "NOT_FOUND");
    let listed = server
        .gql(ADMIN_TOKEN, "{ employees { employeeId } }", json!({}))
        .await;
    assert_eq!(listed["employees"], json!([]));
}

async fn sighting_then_lost_over_websocket(backend: Backend) {
    let Some(db) = TestDb::create(backend, "sighting_then_lost_over_websocket") else {
        return;
    };
    let server = TestServer::start(
        &db,
        &ServerOptions {
            lost_after_secs: 2,
            ..Default::default()
        },
    );
    create_employee(&server, "E1", "Ann Lee").await;
    create_employee(&server, "E2", "Budi Santoso").await;

    let client = server.ws(ADMIN_TOKEN).await;
    let mut statuses = client
        .subscribe(Operation::new(
            "subscription { employeeStatusChanged { employeeId presence { status camera { cameraId } } } }",
            json!({}),
        ))
        .await
        .expect("subscribe employeeStatusChanged");
    let mut notifications = client
        .subscribe(Operation::new(
            "subscription { notificationCreated { id type message isRead employee { employeeId presence { status } } camera { cameraId } } }",
            json!({}),
        ))
        .await
        .expect("subscribe notificationCreated");
    let mut summaries = client
        .subscribe(Operation::new(
            "subscription { presenceSummaryChanged { present alert unavailable total } }",
            json!({}),
        ))
        .await
        .expect("subscribe presenceSummaryChanged");
    // Let the server register the subscriptions before the first event.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let receipt = sighting(&server, ADMIN_TOKEN, "E1", "CAM1").await;
    assert_eq!(receipt["status"], "AVAILABLE");
    let after = employee(&server, "E1").await;
    assert_eq!(after["presence"]["status"], "AVAILABLE");
    assert_eq!(after["presence"]["camera"]["cameraId"], "CAM1");
    assert_eq!(after["presence"]["lastSeenAgo"], "just now");

    let event = next_event(&mut statuses, Duration::from_secs(5)).await;
    assert_eq!(
        event["employeeStatusChanged"],
        json!({ "employeeId": "E1", "presence": { "status": "AVAILABLE", "camera": { "cameraId": "CAM1" } } })
    );
    let event = next_event(&mut summaries, Duration::from_secs(5)).await;
    assert_eq!(
        event["presenceSummaryChanged"],
        json!({ "present": 1, "alert": 0, "unavailable": 1, "total": 2 })
    );
    assert_eq!(
        summary(&server).await,
        json!({ "present": 1, "alert": 0, "unavailable": 1, "total": 2 })
    );

    // Not seen for longer than lost_after (2 s): OFFLINE and one EMPLOYEE_LOST.
    let event = next_event(&mut statuses, Duration::from_secs(10)).await;
    assert_eq!(
        event["employeeStatusChanged"]["presence"]["status"],
        "OFFLINE"
    );
    let event = next_event(&mut notifications, Duration::from_secs(5)).await;
    let lost = &event["notificationCreated"];
    assert_eq!(lost["type"], "EMPLOYEE_LOST");
    assert_eq!(lost["isRead"], false);
    assert_eq!(lost["employee"]["employeeId"], "E1");
    assert_eq!(lost["employee"]["presence"]["status"], "OFFLINE");
    assert_eq!(lost["camera"]["cameraId"], "CAM1");
    assert!(
        lost["message"].as_str().unwrap().contains("Ann Lee"),
        "{lost}"
    );
    // Exactly once: several more monitor ticks pass without another.
    no_event(&mut notifications, Duration::from_secs(3)).await;
    let listed = server
        .gql(
            ADMIN_TOKEN,
            "{ notifications(type: EMPLOYEE_LOST) { totalCount } unreadNotificationCount }",
            json!({}),
        )
        .await;
    assert_eq!(listed["notifications"]["totalCount"], 1);
    assert_eq!(listed["unreadNotificationCount"], 1);
    assert_eq!(
        summary(&server).await,
        json!({ "present": 0, "alert": 1, "unavailable": 1, "total": 2 })
    );

    // Seen again: AVAILABLE again.
    sighting(&server, ADMIN_TOKEN, "E1", "CAM2").await;
    let event = next_event(&mut statuses, Duration::from_secs(5)).await;
    assert_eq!(
        event["employeeStatusChanged"]["presence"],
        json!({ "status": "AVAILABLE", "camera": { "cameraId": "CAM2" } })
    );

    // Mark read.
    let id = lost["id"].as_str().unwrap().to_owned();
    let read = server
        .gql(
            ADMIN_TOKEN,
            "mutation($id: ID!) { markNotificationRead(id: $id) { id isRead } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        read["markNotificationRead"],
        json!({ "id": id, "isRead": true })
    );
    let unread = server
        .gql(ADMIN_TOKEN, "{ unreadNotificationCount notifications(unreadOnly: true) { totalCount nodes { id } } }", json!({}))
        .await;
    assert_eq!(unread["unreadNotificationCount"], 0);
    assert_eq!(unread["notifications"]["totalCount"], 0);
}

async fn notifications_paginate_newest_first(backend: Backend) {
    let Some(db) = TestDb::create(backend, "notifications_paginate_newest_first") else {
        return;
    };
    let server = TestServer::start(
        &db,
        &ServerOptions {
            lost_after_secs: 1,
            ..Default::default()
        },
    );
    for i in 1..=3 {
        create_employee(&server, &format!("E{i}"), &format!("Person {i}")).await;
        sighting(&server, ADMIN_TOKEN, &format!("E{i}"), "CAM1").await;
    }
    // Wait until the three are lost.
    let mut total = 0;
    for _ in 0..50 {
        let data = server
            .gql(ADMIN_TOKEN, "{ notifications { totalCount } }", json!({}))
            .await;
        total = data["notifications"]["totalCount"].as_i64().unwrap();
        if total == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(total, 3);
    let page = "query($after: String) { notifications(first: 2, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id type } } nodes { id } } }";
    let first = server.gql(ADMIN_TOKEN, page, json!({})).await["notifications"].clone();
    assert_eq!(first["totalCount"], 3);
    assert_eq!(first["pageInfo"]["hasNextPage"], true);
    assert_eq!(first["nodes"].as_array().unwrap().len(), 2);
    let ids: Vec<i64> = first["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(ids[0] > ids[1], "newest first: {ids:?}");
    let second = server
        .gql(
            ADMIN_TOKEN,
            page,
            json!({ "after": first["pageInfo"]["endCursor"] }),
        )
        .await["notifications"]
        .clone();
    assert_eq!(second["pageInfo"]["hasNextPage"], false);
    assert_eq!(second["nodes"].as_array().unwrap().len(), 1);

    // Marking read is pushed to every client (a viewer's bell follows an admin's clicks);
    // marking an already read one again pushes nothing.
    let viewer = create_token(&server, "VIEWER").await;
    let client = server.ws(&viewer).await;
    let mut reads = client
        .subscribe(Operation::new(
            "subscription { notificationsRead { notificationIds all unreadCount } }",
            json!({}),
        ))
        .await
        .expect("a viewer subscribes to notificationsRead");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let newest = ids[0].to_string();
    for _ in 0..2 {
        server
            .gql(
                ADMIN_TOKEN,
                "mutation($id: ID!) { markNotificationRead(id: $id) { isRead } }",
                json!({ "id": newest }),
            )
            .await;
    }
    let read = next_event(&mut reads, Duration::from_secs(5)).await;
    assert_eq!(
        read["notificationsRead"],
        json!({ "notificationIds": [newest], "all": false, "unreadCount": 2 })
    );
    let marked = server
        .gql(
            ADMIN_TOKEN,
            "mutation { markAllNotificationsRead }",
            json!({}),
        )
        .await;
    assert_eq!(marked["markAllNotificationsRead"], 2);
    let read = next_event(&mut reads, Duration::from_secs(5)).await;
    assert_eq!(
        read["notificationsRead"],
        json!({ "notificationIds": [], "all": true, "unreadCount": 0 })
    );
    server
        .gql(
            ADMIN_TOKEN,
            "mutation { markAllNotificationsRead }",
            json!({}),
        )
        .await;
    no_event(&mut reads, Duration::from_millis(500)).await;
    let (code, _) = server
        .gql_error(
            Some(ADMIN_TOKEN),
            "{ notifications(after: \"abc\") { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
}

async fn roles_are_enforced(backend: Backend) {
    let Some(db) = TestDb::create(backend, "roles_are_enforced") else {
        return;
    };
    let server = TestServer::start(&db, &ServerOptions::default());
    create_employee(&server, "E1", "Ann Lee").await;
    let viewer = create_token(&server, "VIEWER").await;
    let ingest = create_token(&server, "INGEST").await;

    // A viewer reads, and is refused every mutation.
    let data = server
        .gql(
            &viewer,
            "{ employees { employeeId } me { role } }",
            json!({}),
        )
        .await;
    assert_eq!(data["me"]["role"], "VIEWER");
    let mutations = [
        "mutation { createEmployee(input: {employeeId: \"E2\", name: \"B\"}) { employeeId } }",
        "mutation { updateEmployee(employeeId: \"E1\", input: {name: \"B\"}) { employeeId } }",
        "mutation { deleteEmployee(employeeId: \"E1\") }",
        "mutation { createCamera(input: {cameraId: \"C9\", name: \"B\", streamUrl: \"0\"}) { cameraId } }",
        "mutation { updateCamera(cameraId: \"CAM1\", input: {name: \"B\"}) { cameraId } }",
        "mutation { deleteCamera(cameraId: \"CAM2\") }",
        "mutation { markNotificationRead(id: \"1\") { id } }",
        "mutation { markAllNotificationsRead }",
        "mutation { reportSighting(input: {employeeId: \"E1\", cameraId: \"CAM1\"}) { employeeId } }",
        "mutation { reportCameraHeartbeat(cameraId: \"CAM1\") { cameraId } }",
        "mutation { createApiToken(input: {name: \"x\", role: ADMIN}) { token } }",
        "mutation { revokeApiToken(id: \"1\") }",
    ];
    for mutation in mutations {
        let (code, _) = server.gql_error(Some(&viewer), mutation, json!({})).await;
        assert_eq!(code, "FORBIDDEN", "{mutation}");
    }
    // Nothing changed.
    let data = server
        .gql(
            ADMIN_TOKEN,
            "{ employees { employeeId name presence { status } } cameras { cameraId name } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data["employees"],
        json!([{ "employeeId": "E1", "name": "Ann Lee", "presence": { "status": "UNAVAILABLE" } }])
    );
    assert_eq!(data["cameras"].as_array().unwrap().len(), 2);

    // An ingest token reports sightings and learns nothing but the receipt.
    let seen = sighting(&server, &ingest, "E1", "CAM1").await;
    assert_eq!(seen["status"], "AVAILABLE");
    assert_eq!(seen["latest"], true);
    assert_eq!(seen["cameraId"], "CAM1");
    let (code, _) = server
        .gql_error(
            Some(&ingest),
            "mutation { reportSighting(input: {employeeId: \"E1\", cameraId: \"CAM1\"}) { department } }",
            json!({}),
        )
        .await;
    assert_eq!(
        code, "GRAPHQL_VALIDATION_FAILED",
        "the receipt has no employee fields"
    );
    let (code, _) = server
        .gql_error(Some(&ingest), "{ employees { employeeId } }", json!({}))
        .await;
    assert_eq!(code, "FORBIDDEN");
    let (code, _) = server
        .gql_error(Some(&ingest), mutations[0], json!({}))
        .await;
    assert_eq!(code, "FORBIDDEN");

    // No token: refused over HTTP and over WebSocket.
    let (code, _) = server
        .gql_error(None, "{ employees { employeeId } }", json!({}))
        .await;
    assert_eq!(code, "UNAUTHENTICATED");
    let (code, _) = server.gql_error(None, mutations[0], json!({})).await;
    assert_eq!(code, "UNAUTHENTICATED");
    let (status, body) = server
        .post(
            Some("not-a-token"),
            "{ employees { employeeId } }",
            json!({}),
        )
        .await;
    assert_eq!(status, 401);
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    assert!(
        server.ws_client(json!({})).await.is_err(),
        "a WebSocket without a token must be refused"
    );
    assert!(
        server
            .ws_client(json!({ "authorization": "Bearer wrong" }))
            .await
            .is_err(),
        "a WebSocket with an unknown token must be refused"
    );

    // A viewer subscribes; a revoked token is refused.
    let client = server.ws(&viewer).await;
    let subscription = client
        .subscribe(Operation::new("subscription { serverTime }", json!({})))
        .await;
    let mut ticks = subscription.expect("viewer subscribes");
    let tick = next_event(&mut ticks, Duration::from_secs(5)).await;
    assert!(tick["serverTime"].is_string());

    let tokens = server
        .gql(ADMIN_TOKEN, "{ apiTokens { id role } }", json!({}))
        .await;
    let viewer_id = tokens["apiTokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["role"] == "VIEWER")
        .unwrap()["id"]
        .clone();
    server
        .gql(
            ADMIN_TOKEN,
            "mutation($id: ID!) { revokeApiToken(id: $id) }",
            json!({ "id": viewer_id }),
        )
        .await;
    let (status, _) = server
        .post(Some(&viewer), "{ employees { employeeId } }", json!({}))
        .await;
    assert_eq!(status, 401);
}

async fn stream_credentials_only_for_admins(backend: Backend) {
    let Some(db) = TestDb::create(backend, "stream_credentials_only_for_admins") else {
        return;
    };
    let server = TestServer::start(&db, &ServerOptions::default());
    let viewer = create_token(&server, "VIEWER").await;
    let query = "{ camera(cameraId: \"CAM1\") { streamUrl } }";
    let admin = server.gql(ADMIN_TOKEN, query, json!({})).await;
    assert_eq!(
        admin["camera"]["streamUrl"],
        "rtsp://admin:s3cret@127.0.0.1:8554/lobby"
    );
    let seen = server.gql(&viewer, query, json!({})).await;
    assert_eq!(seen["camera"]["streamUrl"], "rtsp://127.0.0.1:8554");
    let all = server
        .gql(&viewer, "{ cameras { streamUrl } }", json!({}))
        .await;
    assert!(!all.to_string().contains("s3cret"), "{all}");
}

async fn restart_after_sigkill_keeps_state(backend: Backend) {
    let Some(db) = TestDb::create(backend, "restart_after_sigkill_keeps_state") else {
        return;
    };
    let options = ServerOptions {
        lost_after_secs: 2,
        ..Default::default()
    };
    let mut server = TestServer::start(&db, &options);
    create_employee(&server, "E1", "Ann Lee").await;
    create_employee(&server, "E2", "Budi Santoso").await;
    create_employee(&server, "E3", "Citra Dewi").await;
    sighting(&server, ADMIN_TOKEN, "E1", "CAM1").await;
    sighting(&server, ADMIN_TOKEN, "E2", "CAM2").await;
    // Wait for E1 and E2 to be lost once.
    let mut count = 0;
    for _ in 0..50 {
        count = server
            .gql(ADMIN_TOKEN, "{ notifications { totalCount } }", json!({}))
            .await["notifications"]["totalCount"]
            .as_i64()
            .unwrap();
        if count == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(count, 2);
    // E3 seen just before the crash.
    sighting(&server, ADMIN_TOKEN, "E3", "CAM1").await;
    let before = server
        .gql(ADMIN_TOKEN, "{ employees { employeeId presence { status lastSeen camera { cameraId } } } notifications { totalCount nodes { id type message } } }", json!({}))
        .await;
    server.kill();

    let server = TestServer::start(&db, &options);
    let after = server
        .gql(ADMIN_TOKEN, "{ employees { employeeId presence { status lastSeen camera { cameraId } } } notifications { totalCount nodes { id type message } } }", json!({}))
        .await;
    // Every notification kept as it was; E3's own EMPLOYEE_LOST may already have come if the
    // restart took longer than lost_after (2 s).
    let ids = |v: &Value| -> Vec<Value> {
        v["notifications"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["id"].clone())
            .collect()
    };
    let before_ids = ids(&before);
    let (kept, new): (Vec<Value>, Vec<Value>) = after["notifications"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .cloned()
        .partition(|n| before_ids.contains(&n["id"]));
    assert_eq!(json!(kept), before["notifications"]["nodes"], "{after}");
    assert!(
        new.iter().all(|n| n["type"] == "EMPLOYEE_LOST"
            && n["message"].as_str().is_some_and(|m| m.contains("(E3)"))),
        "only E3's loss is new: {after}"
    );
    for (b, a) in before["employees"]
        .as_array()
        .unwrap()
        .iter()
        .zip(after["employees"].as_array().unwrap())
    {
        assert_eq!(a["employeeId"], b["employeeId"]);
        assert_eq!(a["presence"]["lastSeen"], b["presence"]["lastSeen"]);
        assert_eq!(a["presence"]["camera"], b["presence"]["camera"]);
    }
    // E3 becomes lost after the restart: exactly one more notification, none repeated.
    for _ in 0..50 {
        let notes = server
            .gql(
                ADMIN_TOKEN,
                "{ notifications { totalCount nodes { type employee { employeeId } } } }",
                json!({}),
            )
            .await["notifications"]
            .clone();
        if notes["totalCount"] == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let notes = server
        .gql(
            ADMIN_TOKEN,
            "{ notifications { totalCount nodes { type employee { employeeId } } } }",
            json!({}),
        )
        .await["notifications"]
        .clone();
    assert_eq!(notes["totalCount"], 3, "{notes}");
    let mut lost: Vec<&str> = notes["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["employee"]["employeeId"].as_str().unwrap())
        .collect();
    lost.sort();
    assert_eq!(lost, ["E1", "E2", "E3"]);
}

async fn bad_input_is_refused_and_changes_nothing(backend: Backend) {
    let Some(db) = TestDb::create(backend, "bad_input_is_refused_and_changes_nothing") else {
        return;
    };
    // A broken camera file next to good ones: the server starts, the good ones load.
    let camera_dir = common::write_camera_folder(db.dir.path());
    std::fs::write(
        camera_dir.join("broken.json"),
        r#"{"id": "CAM7", "name": "Dock", "fps": "fast", "rtsp_url": "0"}"#,
    )
    .unwrap();
    std::fs::write(camera_dir.join("truncated.json"), r#"{"id": "CAM8", "#).unwrap();
    let server = TestServer::start(
        &db,
        &ServerOptions {
            camera_dir: Some(camera_dir),
            ..Default::default()
        },
    );
    let log = server.log();
    assert!(
        log.contains("broken.json") && log.contains("\\\"fps\\\"")
            || log.contains("broken.json: field \"fps\""),
        "{log}"
    );
    assert!(log.contains("truncated.json"), "{log}");
    let cameras = server
        .gql(ADMIN_TOKEN, "{ cameras { cameraId } }", json!({}))
        .await;
    assert_eq!(
        cameras["cameras"],
        json!([{ "cameraId": "CAM1" }, { "cameraId": "CAM2" }])
    );

    create_employee(&server, "E1", "Ann Lee").await;
    let snapshot = "{ employees { employeeId name department role presence { status lastSeen } } cameras { cameraId name } notifications { totalCount } }";
    let before = server.gql(ADMIN_TOKEN, snapshot, json!({})).await;

    let long = "x".repeat(5_000);
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        (
            "mutation($i: SightingInput!) { reportSighting(input: $i) { employeeId } }",
            json!({ "i": { "employeeId": "NOBODY", "cameraId": "CAM1" } }),
            "NOT_FOUND",
            "NOBODY",
        ),
        (
            "mutation($i: SightingInput!) { reportSighting(input: $i) { employeeId } }",
            json!({ "i": { "employeeId": "E1", "cameraId": "CAM404" } }),
            "NOT_FOUND",
            "CAM404",
        ),
        (
            "mutation($i: SightingInput!) { reportSighting(input: $i) { employeeId } }",
            json!({ "i": { "employeeId": "E1", "cameraId": "CAM1", "score": 3.5 } }),
            "BAD_USER_INPUT",
            "score",
        ),
        (
            "mutation($i: SightingInput!) { reportSighting(input: $i) { employeeId } }",
            json!({ "i": { "employeeId": "E1", "cameraId": "CAM1", "seenAt": "2999-01-01T00:00:00Z" } }),
            "BAD_USER_INPUT",
            "seenAt",
        ),
        (
            "mutation($i: EmployeeInput!) { createEmployee(input: $i) { employeeId } }",
            json!({ "i": { "employeeId": "E1", "name": "Another Ann" } }),
            "BAD_USER_INPUT",
            "already exists",
        ),
        (
            "mutation($i: EmployeeInput!) { createEmployee(input: $i) { employeeId } }",
            json!({ "i": { "employeeId": "E2", "name": "   " } }),
            "BAD_USER_INPUT",
            "name",
        ),
        (
            "mutation($i: EmployeeInput!) { createEmployee(input: $i) { employeeId } }",
            json!({ "i": { "employeeId": "E2", "name": long } }),
            "BAD_USER_INPUT",
            "at most",
        ),
        (
            "mutation($i: EmployeeInput!) { createEmployee(input: $i) { employeeId } }",
            json!({ "i": { "employeeId": long, "name": "B" } }),
            "BAD_USER_INPUT",
            "employeeId",
        ),
        (
            "mutation($i: EmployeeInput!) { createEmployee(input: $i) { employeeId } }",
            json!({ "i": { "employeeId": "E2", "name": "B", "department": long } }),
            "BAD_USER_INPUT",
            "department",
        ),
        (
            "mutation { updateEmployee(employeeId: \"E1\", input: {name: \"\"}) { employeeId } }",
            json!({}),
            "BAD_USER_INPUT",
            "name",
        ),
        (
            "mutation { createCamera(input: {cameraId: \"CAM1\", name: \"Dup\", streamUrl: \"0\"}) { cameraId } }",
            json!({}),
            "BAD_USER_INPUT",
            "already exists",
        ),
        (
            "mutation { createCamera(input: {cameraId: \"CAM5\", name: \"Bad\", streamUrl: \"ftp://x/y\"}) { cameraId } }",
            json!({}),
            "BAD_USER_INPUT",
            "streamUrl",
        ),
        (
            "mutation { createCamera(input: {cameraId: \"CAM5\", name: \"Bad\", streamUrl: \"0\", sampleFps: -1}) { cameraId } }",
            json!({}),
            "BAD_USER_INPUT",
            "sampleFps",
        ),
        ("{ employees { name ", json!({}), "GRAPHQL_PARSE_FAILED", ""),
        (
            "{ employees { salary } }",
            json!({}),
            "GRAPHQL_VALIDATION_FAILED",
            "salary",
        ),
        (
            "{ notifications { nodes { employee { presence { camera { name } } } } } employees { presence { camera { name } } } }",
            json!({}),
            "",
            "",
        ),
    ];
    for (query, variables, code, needle) in cases {
        if code.is_empty() {
            // A legitimately nested query stays within the limits.
            server.gql(ADMIN_TOKEN, query, variables).await;
            continue;
        }
        let (got, message) = server.gql_error(Some(ADMIN_TOKEN), query, variables).await;
        assert_eq!(got, code, "{query}: {message}");
        assert!(message.contains(needle), "{query}: {message}");
    }

    // Too deep: the schema's own types have no cycles, but introspection does.
    let mut nested = String::from("name");
    for _ in 0..14 {
        nested = format!("ofType {{ {nested} }}");
    }
    let (code, message) = server
        .gql_error(
            Some(ADMIN_TOKEN),
            &format!("{{ __schema {{ types {{ fields {{ type {{ {nested} }} }} }} }} }}"),
            json!({}),
        )
        .await;
    assert_eq!(code, "GRAPHQL_VALIDATION_FAILED", "{message}");
    assert!(
        message.contains("too deep") || message.contains("depth"),
        "{message}"
    );
    // Too complex: thousands of aliased fields.
    let wide: String = (0..3000).map(|i| format!("a{i}: serverTime ")).collect();
    let (code, message) = server
        .gql_error(Some(ADMIN_TOKEN), &format!("{{ {wide} }}"), json!({}))
        .await;
    assert_eq!(code, "GRAPHQL_VALIDATION_FAILED", "{message}");
    assert!(message.contains("complex"), "{message}");
    let after = server.gql(ADMIN_TOKEN, snapshot, json!({})).await;
    assert_eq!(before, after, "bad input must change nothing");
}

async fn legacy_graphql_ws_protocol_works(backend: Backend) {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest, http::HeaderValue};

    let Some(db) = TestDb::create(backend, "legacy_graphql_ws_protocol_works") else {
        return;
    };
    let server = TestServer::start(&db, &ServerOptions::default());
    create_employee(&server, "E1", "Ann Lee").await;
    let mut request = format!("ws://{}/graphql", server.addr)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("graphql-ws"),
    );
    let (mut socket, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(
        response.headers().get("sec-websocket-protocol").unwrap(),
        "graphql-ws"
    );
    let send = |v: Value| Message::Text(v.to_string().into());
    socket
        .send(send(json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {ADMIN_TOKEN}") } })))
        .await
        .unwrap();
    socket
        .send(send(json!({ "id": "1", "type": "start", "payload": { "query": "subscription { employeeStatusChanged { employeeId presence { status } } }" } })))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    sighting(&server, ADMIN_TOKEN, "E1", "CAM1").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let message = tokio::time::timeout_at(deadline, socket.next())
            .await
            .expect("a data message in time")
            .expect("open socket")
            .expect("message");
        let Message::Text(text) = message else {
            continue;
        };
        let value: Value = serde_json::from_str(&text).unwrap();
        if value["type"] == "data" {
            assert_eq!(value["id"], "1");
            assert_eq!(
                value["payload"]["data"]["employeeStatusChanged"],
                json!({ "employeeId": "E1", "presence": { "status": "AVAILABLE" } })
            );
            break;
        }
        assert!(
            value["type"] == "connection_ack" || value["type"] == "ka",
            "unexpected {value}"
        );
    }
}

async fn camera_heartbeats_and_health(backend: Backend) {
    let Some(db) = TestDb::create(backend, "camera_heartbeats_and_health") else {
        return;
    };
    let server = TestServer::start(
        &db,
        &ServerOptions {
            camera_timeout_secs: 2,
            ..Default::default()
        },
    );
    let client = server.ws(ADMIN_TOKEN).await;
    let mut cameras = client
        .subscribe(Operation::new(
            "subscription { cameraStatusChanged { cameraId status isActive statusMessage } }",
            json!({}),
        ))
        .await
        .unwrap();
    let mut notifications = client
        .subscribe(Operation::new(
            "subscription { notificationCreated(type: null) { type camera { cameraId } } }",
            json!({}),
        ))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ingest = create_token(&server, "INGEST").await;
    let beat =
        "mutation { reportCameraHeartbeat(cameraId: \"CAM1\") { cameraId status lastFrameAt } }";
    let data = server.gql(&ingest, beat, json!({})).await;
    assert_eq!(data["reportCameraHeartbeat"]["status"], "ONLINE");
    assert!(data["reportCameraHeartbeat"]["lastFrameAt"].is_string());
    let event = next_event(&mut cameras, Duration::from_secs(5)).await;
    assert_eq!(event["cameraStatusChanged"]["status"], "ONLINE");
    // Silent past camera_timeout (and past the server's own start): down, one CAMERA_DOWN.
    let event = next_event(&mut cameras, Duration::from_secs(10)).await;
    assert_eq!(
        event["cameraStatusChanged"],
        json!({ "cameraId": "CAM1", "status": "OFFLINE", "isActive": false, "statusMessage": "no frame for 2 seconds" })
    );
    let event = next_event(&mut notifications, Duration::from_secs(5)).await;
    assert_eq!(
        event["notificationCreated"],
        json!({ "type": "CAMERA_DOWN", "camera": { "cameraId": "CAM1" } })
    );
    no_event(&mut notifications, Duration::from_secs(1)).await;
    // Back: online and one CAMERA_UP.
    server.gql(&ingest, beat, json!({})).await;
    let event = next_event(&mut cameras, Duration::from_secs(5)).await;
    assert_eq!(event["cameraStatusChanged"]["status"], "ONLINE");
    let event = next_event(&mut notifications, Duration::from_secs(5)).await;
    assert_eq!(
        event["notificationCreated"],
        json!({ "type": "CAMERA_UP", "camera": { "cameraId": "CAM1" } })
    );
}

async fn explorer_health_and_schema_are_served(backend: Backend) {
    let Some(db) = TestDb::create(backend, "explorer_health_and_schema_are_served") else {
        return;
    };
    let server = TestServer::start(&db, &ServerOptions::default());
    let page = server.http.get(server.url("/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("graphiql"), "GraphiQL page expected");
    let health: Value = server
        .http
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    let sdl = server
        .http
        .get(server.url("/schema.graphql"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(sdl, api::graphql::sdl());
    let dashboard = server
        .http
        .get(server.url("/dashboard/"))
        .send()
        .await
        .unwrap();
    assert_eq!(dashboard.status(), 200);
    let html = dashboard.text().await.unwrap();
    for id in [
        "employee-list",
        "camera-buttons",
        "notification-btn",
        "present-count",
    ] {
        assert!(html.contains(id), "the dashboard has #{id}");
    }
    // A link to the dashboard keeps its query through the redirect to the folder.
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for (asked, location) in [
        ("/dashboard", "/dashboard/"),
        (
            "/dashboard?api=http://x:1&token=abc",
            "/dashboard/?api=http://x:1&token=abc",
        ),
    ] {
        let redirect = no_redirects.get(server.url(asked)).send().await.unwrap();
        assert_eq!(redirect.status(), 308, "{asked}");
        assert_eq!(redirect.headers()["location"], location, "{asked}");
    }
    let script = server
        .http
        .get(server.url("/dashboard/app.js"))
        .send()
        .await
        .unwrap();
    assert!(
        script.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    let data = server
        .gql(
            ADMIN_TOKEN,
            "{ serverTime aiStatus { running state message } }",
            json!({}),
        )
        .await;
    assert_eq!(data["aiStatus"]["running"], true, "{data}");
    assert_eq!(data["aiStatus"]["state"], "RUNNING");
    assert!(
        data["aiStatus"]["message"]
            .as_str()
            .unwrap()
            .contains("fr_feature")
    );
    let time = chrono::DateTime::parse_from_rfc3339(data["serverTime"].as_str().unwrap()).unwrap();
    assert!((chrono::Utc::now() - time.to_utc()).num_seconds().abs() < 30);
}

async fn websocket_operations_share_executions_by_role(backend: Backend) {
    let Some(db) = TestDb::create(backend, "websocket_operations_share_executions_by_role") else {
        return;
    };
    let server = TestServer::start(&db, &ServerOptions::default());
    let viewer = create_token(&server, "VIEWER").await;
    let ingest = create_token(&server, "INGEST").await;
    let subscription =
        json!({ "query": "subscription { cameraStatusChanged { cameraId streamUrl status } }" });

    // Two viewers and an admin on the same selection: the viewers share one execution, the
    // admin gets another (roles see different stream URLs).
    let mut first_viewer = RawSocket::open(&server, &viewer).await;
    let mut second_viewer = RawSocket::open(&server, &viewer).await;
    let mut admin = RawSocket::open(&server, ADMIN_TOKEN).await;
    for socket in [&mut first_viewer, &mut second_viewer, &mut admin] {
        socket
            .send(json!({ "id": "s1", "type": "subscribe", "payload": subscription }))
            .await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    server
        .gql(
            &ingest,
            "mutation { reportCameraHeartbeat(cameraId: \"CAM1\") { cameraId } }",
            json!({}),
        )
        .await;
    for socket in [&mut first_viewer, &mut second_viewer] {
        let message = socket.next().await;
        assert_eq!(
            message,
            json!({ "type": "next", "id": "s1", "payload": { "data": { "cameraStatusChanged": {
                "cameraId": "CAM1", "streamUrl": "rtsp://127.0.0.1:8554", "status": "ONLINE" } } } })
        );
    }
    let message = admin.next().await;
    assert_eq!(
        message["payload"]["data"]["cameraStatusChanged"]["streamUrl"],
        "rtsp://admin:s3cret@127.0.0.1:8554/lobby"
    );

    // complete stops a subscription; a query over the socket answers next + complete.
    first_viewer
        .send(json!({ "id": "s1", "type": "complete" }))
        .await;
    first_viewer
        .send(json!({ "id": "q1", "type": "subscribe", "payload": { "query": "{ camera(cameraId: \"CAM1\") { status } }" } }))
        .await;
    assert_eq!(
        first_viewer.next().await,
        json!({ "type": "next", "id": "q1", "payload": { "data": { "camera": { "status": "ONLINE" } } } })
    );
    assert_eq!(
        first_viewer.next().await,
        json!({ "type": "complete", "id": "q1" })
    );

    // A subscription the schema refuses, and one the role may not open: `error` messages.
    second_viewer
        .send(json!({ "id": "bad", "type": "subscribe", "payload": { "query": "subscription { noSuchField }" } }))
        .await;
    let message = second_viewer.next().await;
    assert_eq!(
        (message["type"].as_str(), message["id"].as_str()),
        (Some("error"), Some("bad"))
    );
    assert_eq!(
        message["payload"][0]["extensions"]["code"],
        "GRAPHQL_VALIDATION_FAILED"
    );
    let mut edge = RawSocket::open(&server, &ingest).await;
    edge.send(json!({ "id": "x", "type": "subscribe", "payload": subscription }))
        .await;
    let message = edge.next().await;
    assert_eq!(message["type"], "error");
    assert_eq!(message["payload"][0]["extensions"]["code"], "FORBIDDEN");

    // A duplicate id closes the socket with 4409, as the protocol says.
    second_viewer
        .send(json!({ "id": "s1", "type": "subscribe", "payload": subscription }))
        .await;
    use futures_util::StreamExt;
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(message)) = second_viewer.0.next().await {
            if let tokio_tungstenite::tungstenite::Message::Close(Some(frame)) = message {
                return u16::from(frame.code);
            }
        }
        0
    })
    .await
    .unwrap();
    assert_eq!(closed, 4409);
}

async fn tokens_from_first_start_and_command_line(backend: Backend) {
    let Some(db) = TestDb::create(backend, "tokens_from_first_start_and_command_line") else {
        return;
    };
    let options = ServerOptions {
        bootstrap_admin: false,
        ..Default::default()
    };
    let mut server = TestServer::start(&db, &options);
    let printed: Vec<&str> = server
        .startup_output
        .iter()
        .map(|l| l.trim())
        .filter(|l| l.starts_with("hdr_"))
        .collect();
    assert_eq!(printed.len(), 1, "{:?}", server.startup_output);
    let admin = printed[0].to_owned();
    let me = server.gql(&admin, "{ me { role } }", json!({})).await;
    assert_eq!(me["me"]["role"], "ADMIN");
    server.kill();
    // Printed once: a second start creates none.
    let server = TestServer::start(&db, &options);
    assert!(
        !server
            .startup_output
            .iter()
            .any(|l| l.trim().starts_with("hdr_")),
        "{:?}",
        server.startup_output
    );
    // `hadir token create` makes a token the running server accepts.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hadir"))
        .args([
            "token",
            "create",
            "--role",
            "viewer",
            "--name",
            "wall display",
        ])
        .env("HADIR_DATABASE_URL", &db.url)
        .current_dir(db.dir.path())
        .output()
        .expect("hadir token create");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let viewer = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    let me = server.gql(&viewer, "{ me { role } }", json!({})).await;
    assert_eq!(me["me"]["role"], "VIEWER");
    let tokens = server
        .gql(&admin, "{ apiTokens { name role revokedAt } }", json!({}))
        .await;
    assert_eq!(
        tokens["apiTokens"],
        json!([
            { "name": "first start", "role": "ADMIN", "revokedAt": null },
            { "name": "wall display", "role": "VIEWER", "revokedAt": null },
        ])
    );
    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_hadir"))
        .args(["token", "create", "--role", "root"])
        .env("HADIR_DATABASE_URL", &db.url)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("admin, viewer or ingest"));
}

async fn unknown_faces_are_reported_not_stored(backend: Backend) {
    let Some(db) = TestDb::create(backend, "unknown_faces_are_reported_not_stored") else {
        return;
    };
    let server = TestServer::start(&db, &ServerOptions::default());
    let viewer = create_token(&server, "VIEWER").await;
    let ingest = create_token(&server, "INGEST").await;
    let client = server.ws(&viewer).await;
    let mut unknown = client
        .subscribe(Operation::new(
            "subscription { unknownFaceDetected(cameraId: \"CAM2\") { camera { cameraId name } seenAt bestScore } }",
            json!({}),
        ))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let snapshot = "{ employees { employeeId } notifications { totalCount } cameras { cameraId status lastFrameAt } }";
    let before = server.gql(ADMIN_TOKEN, snapshot, json!({})).await;
    let report = "mutation($i: UnknownFaceInput!) { reportUnknownFace(input: $i) }";
    // Another camera's unknown face is not this subscriber's.
    server
        .gql(
            &ingest,
            report,
            json!({ "i": { "cameraId": "CAM1", "bestScore": 0.1 } }),
        )
        .await;
    server
        .gql(&ingest, report, json!({ "i": { "cameraId": "CAM2", "bestScore": 0.21, "seenAt": "2026-01-05T09:00:00Z" } }))
        .await;
    let event = next_event(&mut unknown, Duration::from_secs(5)).await;
    assert_eq!(
        event["unknownFaceDetected"],
        json!({ "camera": { "cameraId": "CAM2", "name": "Gate" }, "seenAt": "2026-01-05T09:00:00.000Z", "bestScore": 0.21 })
    );
    let (code, _) = server
        .gql_error(
            Some(&ingest),
            report,
            json!({ "i": { "cameraId": "CAM404" } }),
        )
        .await;
    assert_eq!(code, "NOT_FOUND");
    let (code, message) = server
        .gql_error(
            Some(&ingest),
            report,
            json!({ "i": { "cameraId": "CAM1", "bestScore": 2.0 } }),
        )
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(message.starts_with("bestScore"), "{message}");
    let (code, _) = server
        .gql_error(
            Some(&viewer),
            report,
            json!({ "i": { "cameraId": "CAM1" } }),
        )
        .await;
    assert_eq!(code, "FORBIDDEN");
    assert_eq!(
        server.gql(ADMIN_TOKEN, snapshot, json!({})).await,
        before,
        "nothing stored"
    );
}

on_both_backends!(
    crud_round_trip,
    sighting_then_lost_over_websocket,
    notifications_paginate_newest_first,
    roles_are_enforced,
    stream_credentials_only_for_admins,
    restart_after_sigkill_keeps_state,
    bad_input_is_refused_and_changes_nothing,
    legacy_graphql_ws_protocol_works,
    camera_heartbeats_and_health,
    explorer_health_and_schema_are_served,
    websocket_operations_share_executions_by_role,
    tokens_from_first_start_and_command_line,
    unknown_faces_are_reported_not_stored,
);
