//! Several `hadir serve` processes on one PostgreSQL (issue #12's acceptance): cameras spread
//! over the nodes and read by exactly one, moved when their node dies or stops, one leader,
//! start-ups that race, node ids that clash; and on SQLite, one `serve` per file.
//!
//! The PostgreSQL tests print `SKIPPED` without `HADIR_TEST_POSTGRES_URL`. Each test runs its
//! nodes with a 3 s lease and a 10 s camera timeout, against MJPEG test cameras that count
//! their clients.

mod common;

use std::{
    collections::BTreeMap,
    process::Stdio,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use common::{
    ADMIN_TOKEN, Backend, ServerOptions, TestDb, TestServer,
    camera::{Camera, scene},
};
use serde_json::{Value, json};

/// The tests here run one at a time: each starts several servers, and their timings
/// (failover, frames within seconds) hold on a quiet machine, not beside each other.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The lease the nodes run with here.
const LEASE_SECS: u64 = 3;
/// The camera timeout the nodes run with here (a lease fits twice and more).
const CAMERA_TIMEOUT_SECS: u64 = 10;
/// The cameras spread over the three nodes.
const CAMERAS: usize = 6;

/// One folder of camera files for every node (empty: the cameras come through the API).
fn shared_folder(db: &TestDb) -> std::path::PathBuf {
    let folder = db.dir.path().join("cluster_cameras");
    std::fs::create_dir_all(&folder).unwrap();
    folder
}

fn node(id: &str, folder: &std::path::Path) -> ServerOptions {
    ServerOptions {
        camera_timeout_secs: CAMERA_TIMEOUT_SECS,
        lease_secs: Some(LEASE_SECS),
        node_id: Some(id.to_owned()),
        camera_dir: Some(folder.to_owned()),
        ..Default::default()
    }
}

/// Each camera's holder (None: no node reads it) and last frame, as `server` says.
async fn owners(server: &TestServer) -> BTreeMap<String, (Option<String>, Option<String>)> {
    let data = server
        .gql(
            ADMIN_TOKEN,
            "{ cameras { cameraId lastFrameAt node { nodeId } } }",
            json!({}),
        )
        .await;
    data["cameras"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["cameraId"].as_str().unwrap().to_owned(),
                (
                    c["node"]["nodeId"].as_str().map(str::to_owned),
                    c["lastFrameAt"].as_str().map(str::to_owned),
                ),
            )
        })
        .collect()
}

/// How many cameras each node holds, as `server` sees the leases.
fn per_node(
    owners: &BTreeMap<String, (Option<String>, Option<String>)>,
) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for (holder, _) in owners.values() {
        *counts
            .entry(holder.clone().unwrap_or_else(|| "-".into()))
            .or_default() += 1;
    }
    counts
}

async fn gauge(server: &TestServer, name: &str) -> f64 {
    server.metrics().await.value(name)
}

/// Polls `check` every 250 ms until it gives Some, or fails after `within` saying `what`.
async fn eventually<T, F, Fut>(within: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "not within {within:?}: {what}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn start_cameras(count: usize) -> Vec<Camera> {
    let mut cameras = Vec::new();
    for _ in 0..count {
        cameras.push(Camera::start(0, Arc::new(Mutex::new(scene(None)))).await);
    }
    cameras
}

async fn create_cameras(server: &TestServer, cameras: &[Camera]) {
    for (index, camera) in cameras.iter().enumerate() {
        server
            .gql(
                ADMIN_TOKEN,
                "mutation($i: CameraInput!) { createCamera(input: $i) { cameraId } }",
                json!({ "i": {
                    "cameraId": format!("C{index}"),
                    "name": format!("Camera {index}"),
                    "streamUrl": format!("http://127.0.0.1:{}/video.mjpg", camera.port),
                    "sampleFps": 1.0,
                } }),
            )
            .await;
    }
}

/// How many of `servers` say they lead.
async fn leaders(servers: &[&TestServer]) -> Vec<usize> {
    let mut leading = Vec::new();
    for (index, server) in servers.iter().enumerate() {
        if gauge(server, "hadir_cluster_leader").await == 1.0 {
            leading.push(index);
        }
    }
    leading
}

async fn camera_down_rows(server: &TestServer) -> u64 {
    let data = server
        .gql(
            ADMIN_TOKEN,
            "{ notifications(type: CAMERA_DOWN) { totalCount } }",
            json!({}),
        )
        .await;
    data["notifications"]["totalCount"].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cameras_spread_fail_over_and_follow_one_leader() {
    let _serial = SERIAL.lock().await;
    let Some(db) = TestDb::create(Backend::Postgres, "cluster_spread") else {
        return;
    };
    let folder = shared_folder(&db);
    let cameras = start_cameras(CAMERAS).await;
    let a = TestServer::start(&db, &node("a", &folder));
    let b = TestServer::start(&db, &node("b", &folder));
    let mut c = TestServer::start(&db, &node("c", &folder));
    create_cameras(&a, &cameras).await;

    // Spread: two each, every node agreeing, each node's gauge saying so.
    let spread = eventually(Duration::from_secs(20), "two cameras per node", || async {
        let seen = owners(&a).await;
        let counts = per_node(&seen);
        let expected: BTreeMap<String, usize> =
            [("a".into(), 2), ("b".into(), 2), ("c".into(), 2)].into();
        (counts == expected).then_some(seen)
    })
    .await;
    for server in [&a, &b, &c] {
        let holders: BTreeMap<_, _> = owners(server)
            .await
            .into_iter()
            .map(|(id, (holder, _))| (id, holder))
            .collect();
        let expected: BTreeMap<_, _> = spread
            .iter()
            .map(|(id, (holder, _))| (id.clone(), holder.clone()))
            .collect();
        assert_eq!(holders, expected, "every node agrees on the holders");
        assert_eq!(gauge(server, "hadir_cluster_cameras_held").await, 2.0);
    }
    // Each camera is read, by one client at a time.
    eventually(Duration::from_secs(10), "every camera read", || async {
        cameras.iter().all(|c| c.clients.now() == 1).then_some(())
    })
    .await;
    let nodes = a
        .gql(
            ADMIN_TOKEN,
            "{ clusterNodes { nodeId live leader cameras url } }",
            json!({}),
        )
        .await;
    let listed: Vec<&str> = nodes["clusterNodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["nodeId"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["a", "b", "c"], "{nodes}");
    assert!(
        nodes["clusterNodes"][0]["url"]
            .as_str()
            .is_some_and(|u| u.starts_with("http://127.0.0.1:")),
        "admins see how nodes reach each other: {nodes}"
    );
    let leading = eventually(Duration::from_secs(10), "one leader", || async {
        let leading = leaders(&[&a, &b, &c]).await;
        (leading.len() == 1).then_some(leading)
    })
    .await;
    let led = nodes["clusterNodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["leader"] == true)
        .count();
    assert_eq!(led, 1, "one leader in clusterNodes: {nodes}");

    // Failover: c dies; its cameras are read by a or b within 15 s, with no CAMERA_DOWN.
    let of_c: Vec<String> = spread
        .iter()
        .filter(|(_, (holder, _))| holder.as_deref() == Some("c"))
        .map(|(id, _)| id.clone())
        .collect();
    let killed = Instant::now();
    c.kill();
    eventually(
        Duration::from_secs(15),
        "c's cameras taken over and delivering",
        || async {
            let now = owners(&a).await;
            of_c.iter()
                .all(|id| {
                    let (holder, last) = &now[id];
                    let before = &spread[id].1;
                    matches!(holder.as_deref(), Some("a" | "b")) && last > before
                })
                .then_some(())
        },
    )
    .await;
    let took = killed.elapsed();
    assert_eq!(
        per_node(&owners(&b).await),
        [("a".into(), 3), ("b".into(), 3)].into()
    );
    // With c gone, a new leader if c led, within two leases.
    eventually(
        Duration::from_secs(2 * LEASE_SECS + 4),
        "one leader among a and b",
        || async { (leaders(&[&a, &b]).await.len() == 1).then_some(()) },
    )
    .await;
    if leading == [2] {
        eprintln!("the leader c was killed; another took over");
    }

    // A clean stop: b's cameras are read by a within 3 s of its exit.
    let of_b: Vec<usize> = owners(&a)
        .await
        .iter()
        .filter(|(_, (holder, _))| holder.as_deref() == Some("b"))
        .map(|(id, _)| id[1..].parse().unwrap())
        .collect();
    let connects_before: Vec<usize> = of_b.iter().map(|&i| cameras[i].clients.total()).collect();
    let mut b = b;
    let status = b.terminate();
    assert!(status.success(), "b stops cleanly: {status:?}\n{}", b.log());
    let stopped = Instant::now();
    assert!(b.log().contains("leases released"), "{}", b.log());
    eventually(Duration::from_secs(3), "b's cameras read by a", || async {
        of_b.iter()
            .zip(&connects_before)
            .all(|(&i, &before)| cameras[i].clients.total() > before)
            .then_some(())
    })
    .await;
    let moved = stopped.elapsed();
    eventually(Duration::from_secs(10), "a holds all six", || async {
        (per_node(&owners(&a).await) == [("a".into(), CAMERAS)].into()).then_some(())
    })
    .await;
    assert_eq!(
        gauge(&a, "hadir_cluster_leader").await,
        1.0,
        "a leads alone"
    );

    // Never two readers of one camera, and no camera ever taken for down.
    for (index, camera) in cameras.iter().enumerate() {
        assert_eq!(
            camera.clients.most(),
            1,
            "camera C{index} had two clients at once"
        );
    }
    assert_eq!(camera_down_rows(&a).await, 0, "no CAMERA_DOWN");
    eprintln!("failover after kill -9: {took:?}; after SIGTERM: {moved:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_ups_race_and_node_ids_are_one_process_each() {
    let _serial = SERIAL.lock().await;
    let Some(db) = TestDb::create(Backend::Postgres, "cluster_start_up") else {
        return;
    };
    let folder = shared_folder(&db);
    let without_token = |id: &str| ServerOptions {
        bootstrap_admin: false,
        ..node(id, &folder)
    };
    // Three nodes at once on an empty database, none with HADIR_ADMIN_TOKEN: all start,
    // one admin token is made.
    let mut servers: Vec<TestServer> = std::thread::scope(|scope| {
        let starting: Vec<_> = ["a", "b", "c"]
            .into_iter()
            .map(|id| {
                let options = without_token(id);
                let db = &db;
                scope.spawn(move || TestServer::start(db, &options))
            })
            .collect();
        starting.into_iter().map(|s| s.join().unwrap()).collect()
    });
    let made: Vec<&str> = servers
        .iter()
        .filter(|s| {
            s.startup_output
                .iter()
                .any(|line| line.contains("hadir created one"))
        })
        .map(|s| s.addr.as_str())
        .collect();
    assert_eq!(made.len(), 1, "exactly one admin token printed: {made:?}");

    // A second process under a live node's id gives up, naming it.
    let (mut command, log) = TestServer::serve_command(&db, &node("a", &folder));
    let started = Instant::now();
    let status = command
        .stdout(Stdio::null())
        .status()
        .expect("hadir serve runs");
    let log = std::fs::read_to_string(log).unwrap();
    assert!(!status.success(), "a second node a must not run: {log}");
    assert!(
        started.elapsed() < Duration::from_secs(LEASE_SECS + 10),
        "it gives up after about one lease"
    );
    assert!(log.contains("\"a\""), "the error names the id: {log}");

    // A killed node restarted under its id runs within one lease (its row lapses).
    servers[1].kill();
    let restarted = Instant::now();
    let b = TestServer::start(&db, &node("b", &folder));
    assert!(
        restarted.elapsed() < Duration::from_secs(LEASE_SECS + 5),
        "restarted within a lease: {:?}",
        restarted.elapsed()
    );
    let (status, answer) = health(&b).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["cluster"]["node"], "b", "{answer}");

    // A node whose camera folder lacks a file syncs nothing and disables nothing.
    std::fs::write(
        folder.join("door.json"),
        r#"{"id": "DOOR", "name": "Door", "rtsp_url": "http://127.0.0.1:9/door.mjpg"}"#,
    )
    .unwrap();
    let d = TestServer::start(&db, &node("d", &folder));
    let cameras = d
        .gql(ADMIN_TOKEN, "{ cameras { cameraId enabled } }", json!({}))
        .await;
    assert_eq!(
        cameras["cameras"],
        json!([]),
        "d's folder was not synced: {cameras}"
    );
    let log = d.log();
    assert!(log.contains("differs from node"), "said in the log: {log}");
    let (status, answer) = health(&d).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["camera_folder"]["synced"], false, "{answer}");
    drop((servers, b, d));
}

async fn health(server: &TestServer) -> (u16, Value) {
    let response = server
        .http
        .get(server.url("/healthz"))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .expect("/healthz answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_second_serve_on_one_sqlite_file_is_refused() {
    let _serial = SERIAL.lock().await;
    let db = TestDb::create(Backend::Sqlite, "cluster_sqlite_lock").unwrap();
    let first = TestServer::start(&db, &ServerOptions::default());
    let (mut command, log) = TestServer::serve_command(&db, &ServerOptions::default());
    let started = Instant::now();
    let mut child = command.stdout(Stdio::null()).spawn().unwrap();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(5) {
            let _ = child.kill();
            panic!("a second serve on the same file still runs after 5 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let log = std::fs::read_to_string(log).unwrap();
    assert_eq!(status.code(), Some(2), "{log}");
    assert!(log.contains("hadir.sqlite"), "names the file: {log}");
    assert!(log.contains("PostgreSQL"), "says how to run several: {log}");
    assert!(
        log.contains(&format!("pid {}", first.child.id())),
        "names the holder: {log}"
    );
    // The CLI's other commands work beside the server.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hadir"))
        .args(["token", "list"])
        .env("HADIR_DATABASE_URL", &db.url)
        .current_dir(db.dir.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    drop(first);
}

/// `GET path` on `server` with the admin token: status and body.
async fn get_bytes(server: &TestServer, path: &str) -> (u16, Vec<u8>) {
    let response = server
        .http
        .get(server.url(path))
        .bearer_auth(ADMIN_TOKEN)
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .expect("an answer");
    let status = response.status().as_u16();
    (status, response.bytes().await.unwrap_or_default().to_vec())
}

/// Reads `live.mjpeg` of `camera` on `server` in the background, counting its parts.
async fn watch_parts(
    server: &TestServer,
    camera: &str,
) -> (
    Arc<std::sync::atomic::AtomicUsize>,
    tokio::task::JoinHandle<()>,
) {
    let mut response = server
        .http
        .get(server.url(&format!("/cameras/{camera}/live.mjpeg?fps=5")))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("live.mjpeg answers");
    assert_eq!(response.status().as_u16(), 200);
    let parts = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counting = parts.clone();
    let reader = tokio::spawn(async move {
        let mut tail: Vec<u8> = Vec::new();
        while let Ok(Some(chunk)) = response.chunk().await {
            tail.extend_from_slice(&chunk);
            let text = String::from_utf8_lossy(&tail).into_owned();
            let found = text.matches("--hadirframe").count();
            counting.fetch_add(found, std::sync::atomic::Ordering::SeqCst);
            // Keep what might be the start of a boundary split between chunks.
            let keep = tail.len().saturating_sub(16);
            if found > 0 {
                tail.clear();
            } else {
                tail.drain(..keep);
            }
        }
    });
    (parts, reader)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_video_from_any_node() {
    let _serial = SERIAL.lock().await;
    let Some(db) = TestDb::create(Backend::Postgres, "cluster_video") else {
        return;
    };
    let folder = shared_folder(&db);
    let cameras = start_cameras(1).await;
    // a reads nothing (API only): every camera is another node's.
    let a = TestServer::start(
        &db,
        &ServerOptions {
            extra_env: vec![("HADIR_MAX_CAMERAS".into(), "0".into())],
            ..node("a", &folder)
        },
    );
    let mut b = TestServer::start(&db, &node("b", &folder));
    a.gql(
        ADMIN_TOKEN,
        "mutation($i: CameraInput!) { createCamera(input: $i) { cameraId } }",
        json!({ "i": {
            "cameraId": "C0", "name": "Hall", "sampleFps": 2.0,
            "streamUrl": format!("http://127.0.0.1:{}/video.mjpg", cameras[0].port),
        } }),
    )
    .await;
    eventually(Duration::from_secs(20), "b reads C0", || async {
        let now = owners(&a).await;
        (now["C0"].0.as_deref() == Some("b") && now["C0"].1.is_some()).then_some(())
    })
    .await;

    // A snapshot on a is the camera's picture, at its size.
    let own = eventually(Duration::from_secs(10), "a snapshot on b", || async {
        let (status, own) = get_bytes(&b, "/cameras/C0/snapshot.jpg").await;
        (status == 200).then_some(own)
    })
    .await;
    let (status, relayed) = get_bytes(&a, "/cameras/C0/snapshot.jpg").await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&relayed));
    let (own, relayed) = (
        image::load_from_memory(&own).expect("a JPEG from b"),
        image::load_from_memory(&relayed).expect("a JPEG from a"),
    );
    assert_eq!(
        (relayed.width(), relayed.height()),
        (own.width(), own.height())
    );
    assert_eq!((relayed.width(), relayed.height()), (1280, 720));

    // live.mjpeg on a: three parts within 5 s.
    let (parts, reader) = watch_parts(&a, "C0").await;
    eventually(Duration::from_secs(5), "three parts on a", || async {
        (parts.load(std::sync::atomic::Ordering::SeqCst) >= 3).then_some(())
    })
    .await;
    // videoFrames on a.
    let client = a.ws(ADMIN_TOKEN).await;
    let mut frames = common::camera::subscribe_to(
        &client,
        "subscription { videoFrames(cameraId: \"C0\", maxFps: 2) { width height } }",
    )
    .await;
    let frame = common::next_event(&mut frames, Duration::from_secs(10)).await;
    assert_eq!(frame["videoFrames"]["width"], 1280, "{frame}");
    // Only one upstream per camera and node, whatever the viewers: b's camera still has one
    // client (b), and a reads from b.
    assert_eq!(cameras[0].clients.now(), 1);

    // b dies; c takes the camera; the same stream on a goes on.
    let c = TestServer::start(&db, &node("c", &folder));
    b.kill();
    eventually(Duration::from_secs(15), "c reads C0", || async {
        (owners(&a).await["C0"].0.as_deref() == Some("c")).then_some(())
    })
    .await;
    let seen = parts.load(std::sync::atomic::Ordering::SeqCst);
    eventually(
        Duration::from_secs(15),
        "a new part from c on a",
        || async { (parts.load(std::sync::atomic::Ordering::SeqCst) > seen).then_some(()) },
    )
    .await;
    assert!(!reader.is_finished(), "the viewer's stream was never cut");
    reader.abort();

    // A node that cannot be reached at its advertised URL: its camera's video on a is a 502
    // naming it; nothing else is affected.
    let x = TestServer::start(
        &db,
        &ServerOptions {
            extra_env: vec![("HADIR_ADVERTISE_URL".into(), "http://127.0.0.1:9".into())],
            ..node("x", &folder)
        },
    );
    let more = start_cameras(1).await;
    a.gql(
        ADMIN_TOKEN,
        "mutation($i: CameraInput!) { createCamera(input: $i) { cameraId pinnedNode } }",
        json!({ "i": {
            "cameraId": "PINNED", "name": "Back door", "pinnedNode": "x",
            "streamUrl": format!("http://127.0.0.1:{}/video.mjpg", more[0].port),
        } }),
    )
    .await;
    eventually(Duration::from_secs(20), "x reads PINNED", || async {
        (owners(&a).await["PINNED"].0.as_deref() == Some("x")).then_some(())
    })
    .await;
    let (status, body) = get_bytes(&a, "/cameras/PINNED/snapshot.jpg").await;
    let body = String::from_utf8_lossy(&body);
    assert_eq!(status, 502, "{body}");
    assert!(body.contains("node x"), "names the node: {body}");
    let (status, body) = get_bytes(&a, "/cameras/C0/snapshot.jpg").await;
    assert_eq!(
        status,
        200,
        "the other camera is unaffected: {}",
        String::from_utf8_lossy(&body)
    );
    drop((c, x));
}
