//! Secrets stay where they belong, against a real `hadir` process: camera credentials and
//! query tokens reach admins only (never logs, viewers or integrations' payloads), viewers
//! see no server paths, edge devices get receipts instead of records, and the SQLite files
//! that hold embeddings and token hashes are the owner's only.

mod common;

use std::time::Duration;

use common::{ADMIN_TOKEN, Backend, ServerOptions, TestDb, TestServer, create_token, sqlite_url};
use serde_json::{Value, json};

/// A camera whose URL holds a password and a token, pointing at a port nobody listens on.
const SECRET_CAMERA: &str =
    "http://viewer:pa55word@127.0.0.1:9/snapshot.jpg?token=SECRETTOKEN&channel=1";

async fn camera(server: &TestServer, token: &str, id: &str) -> Value {
    server
        .gql(
            token,
            "query($id: ID!) { camera(cameraId: $id) { streamUrl statusMessage configPath } }",
            json!({ "id": id }),
        )
        .await["camera"]
        .clone()
}

#[tokio::test]
async fn camera_secrets_reach_admins_only() {
    let db = TestDb::create(Backend::Sqlite, "camera_secrets_reach_admins_only").unwrap();
    let dir = db.dir.path().join("cams");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("door.json"),
        format!(r#"{{"id": "DOOR", "name": "Door", "rtsp_url": "{SECRET_CAMERA}"}}"#),
    )
    .unwrap();
    // A file camera whose file does not exist: viewers must not learn which paths exist.
    std::fs::write(
        dir.join("replay.json"),
        r#"{"id": "REPLAY", "name": "Replay", "rtsp_url": "file:///nonexistent/secret-folder/door.mp4"}"#,
    )
    .unwrap();
    // A broken camera file whose URL holds a password: its error is logged without it.
    std::fs::write(
        dir.join("broken.json"),
        r#"{"id": "BROKEN", "name": "Broken", "rtsp_url": "rtsp://admin:hunter22@/no-host"}"#,
    )
    .unwrap();
    let server = TestServer::start(
        &db,
        &ServerOptions {
            camera_dir: Some(dir.clone()),
            ..Default::default()
        },
    );
    let viewer = create_token(&server, "VIEWER").await;

    // Wait for the camera's first failure to be recorded.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let admin_view = loop {
        let view = camera(&server, ADMIN_TOKEN, "DOOR").await;
        if view["statusMessage"].is_string() || std::time::Instant::now() > deadline {
            break view;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        admin_view["streamUrl"], SECRET_CAMERA,
        "admins see it whole"
    );
    assert!(
        admin_view["configPath"]
            .as_str()
            .unwrap()
            .ends_with("door.json")
    );
    let admin_message = admin_view["statusMessage"]
        .as_str()
        .expect("a status message");
    assert!(
        !admin_message.contains("pa55word") && !admin_message.contains("SECRETTOKEN"),
        "stored messages hold no secret: {admin_message}"
    );

    let viewer_view = camera(&server, &viewer, "DOOR").await;
    assert_eq!(viewer_view["streamUrl"], "http://127.0.0.1:9");
    assert_eq!(viewer_view["configPath"], Value::Null, "no server path");
    let viewer_message = viewer_view["statusMessage"].as_str().unwrap();
    assert!(
        !viewer_message.contains("snapshot.jpg") && !viewer_message.contains("token"),
        "{viewer_message}"
    );

    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while camera(&server, ADMIN_TOKEN, "REPLAY").await["statusMessage"].is_null() {
        assert!(std::time::Instant::now() < deadline, "no status for REPLAY");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let admin_replay = camera(&server, ADMIN_TOKEN, "REPLAY").await;
    assert!(
        admin_replay["statusMessage"]
            .as_str()
            .unwrap()
            .contains("secret-folder"),
        "admins see why: {admin_replay}"
    );
    let viewer_replay = camera(&server, &viewer, "REPLAY").await;
    assert_eq!(viewer_replay["streamUrl"], "file://");
    assert_eq!(
        viewer_replay["statusMessage"],
        "the camera's file cannot be read (an admin sees why)"
    );

    let log = server.log();
    for secret in ["pa55word", "SECRETTOKEN", "hunter22"] {
        assert!(!log.contains(secret), "{secret} in the log:\n{log}");
    }
    assert!(
        log.contains("broken.json"),
        "the broken file is reported:\n{log}"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn the_sqlite_files_are_the_owners_only() {
    use std::os::unix::fs::PermissionsExt;
    let db = TestDb::create(Backend::Sqlite, "the_sqlite_files_are_the_owners_only").unwrap();
    let folder = db.dir.path().join("private").join("data");
    let file = folder.join("hadir.sqlite");
    let server = TestServer::start(&db, &ServerOptions::with_database(sqlite_url(&file)));
    server.create_employee("E1", "Ann").await;
    let mode = |path: &std::path::Path| {
        std::fs::metadata(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(&folder), 0o700);
    for suffix in ["", "-wal", "-shm"] {
        let path = std::path::PathBuf::from(format!("{}{suffix}", file.display()));
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
}
