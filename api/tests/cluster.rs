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
        // A check that never answers (a node that stopped answering: the test client has no
        // request timeout) fails the test by the deadline instead of hanging it.
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left.max(Duration::from_secs(1)), check()).await {
            Ok(Some(value)) => return value,
            Ok(None) => {}
            Err(_) => panic!("not within {within:?}: {what} (a check went unanswered)"),
        }
        assert!(Instant::now() < deadline, "not within {within:?}: {what}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn start_cameras(count: usize) -> Vec<Camera> {
    let mut cameras = Vec::new();
    for _ in 0..count {
        cameras.push(Camera::start_watching_clients(0, Arc::new(Mutex::new(scene(None)))).await);
    }
    cameras
}

/// Creates a camera through `server` (input as `CameraInput`), failing the test if refused.
async fn create_camera(server: &TestServer, input: Value) {
    let id = input["cameraId"].clone();
    let data = server
        .gql(
            ADMIN_TOKEN,
            "mutation($i: CameraInput!) { createCamera(input: $i) { cameraId } }",
            json!({ "i": input }),
        )
        .await;
    assert_eq!(
        data["createCamera"]["cameraId"], id,
        "camera created: {data}"
    );
}

async fn create_cameras(server: &TestServer, cameras: &[Camera]) {
    for (index, camera) in cameras.iter().enumerate() {
        create_camera(
            server,
            json!({
                "cameraId": format!("C{index}"),
                "name": format!("Camera {index}"),
                "streamUrl": format!("http://127.0.0.1:{}/video.mjpg", camera.port),
                "sampleFps": 1.0,
            }),
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
    // Five MJPEG cameras that count their clients, and one RTSP stream.
    let cameras = start_cameras(CAMERAS - 1).await;
    let rtsp = common::camera::RtspCamera::start(0, &common::camera::test_video(), "/door");
    let a = TestServer::start(&db, &node("a", &folder));
    let b = TestServer::start(&db, &node("b", &folder));
    let mut c = TestServer::start(&db, &node("c", &folder));
    create_cameras(&a, &cameras).await;
    create_camera(&a, json!({ "cameraId": format!("C{}", CAMERAS - 1), "name": "Door (RTSP)", "streamUrl": rtsp.url })).await;

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
        .filter(|&i| i < cameras.len())
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
    eventually(
        Duration::from_secs(10),
        "a holds all six, the RTSP one delivering",
        || async {
            let now = owners(&a).await;
            let rtsp = &now[&format!("C{}", CAMERAS - 1)];
            if rtsp.0.as_deref() != Some("a") || rtsp.1.is_none() {
                return None;
            }
            (per_node(&owners(&a).await) == [("a".into(), CAMERAS)].into()).then_some(())
        },
    )
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
    let (status, answer) = b.health().await;
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
    let (status, answer) = d.health().await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["camera_folder"]["synced"], false, "{answer}");
    drop((servers, b, d));
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
    create_camera(
        &a,
        json!({
            "cameraId": "C0", "name": "Hall", "sampleFps": 2.0,
            "streamUrl": format!("http://127.0.0.1:{}/video.mjpg", cameras[0].port),
        }),
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
    create_camera(
        &a,
        json!({
            "cameraId": "PINNED", "name": "Back door", "pinnedNode": "x",
            "streamUrl": format!("http://127.0.0.1:{}/video.mjpg", more[0].port),
        }),
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

/// Every item a subscription yields within `within` of the last one (at most `within` in
/// all after the last).
async fn drain<S>(stream: &mut S, within: Duration) -> Vec<Value>
where
    S: futures_util::Stream<Item = Result<Value, graphql_ws_client::Error>> + Unpin,
{
    use futures_util::StreamExt as _;
    let mut items = Vec::new();
    while let Ok(Some(item)) = tokio::time::timeout(within, stream.next()).await {
        items.push(item.expect("a subscription item"));
    }
    items
}

/// The subscriptions a node's client makes, by name.
const SUBSCRIPTIONS: [(&str, &str); 7] = [
    (
        "employeeStatusChanged",
        "subscription { employeeStatusChanged { employeeId presence { status lastSeen camera { cameraId } } } }",
    ),
    (
        "employeeDetected",
        "subscription { employeeDetected { employee { employeeId } camera { cameraId streamUrl } seenAt } }",
    ),
    (
        "unknownFaceDetected",
        "subscription { unknownFaceDetected { camera { cameraId } seenAt bestScore } }",
    ),
    (
        "notificationCreated",
        "subscription { notificationCreated { id type employee { employeeId } } }",
    ),
    (
        "cameraChanged",
        "subscription { cameraChanged { kind cameraId camera { streamUrl } } }",
    ),
    (
        "notificationsRead",
        "subscription { notificationsRead { notificationIds all unreadCount } }",
    ),
    (
        "presenceSummaryChanged",
        "subscription { presenceSummaryChanged { present alert unavailable total } }",
    ),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_subscriber_on_every_node_gets_each_event_once() {
    let _serial = SERIAL.lock().await;
    let Some(db) = TestDb::create(Backend::Postgres, "cluster_events") else {
        return;
    };
    let folder = shared_folder(&db);
    let with_lost = |id: &str| ServerOptions {
        lost_after_secs: 3,
        ..node(id, &folder)
    };
    let servers = [
        TestServer::start(&db, &with_lost("a")),
        TestServer::start(&db, &with_lost("b")),
        TestServer::start(&db, &with_lost("c")),
    ];
    let [a, b, c] = &servers;
    a.create_employee("E1", "Ani").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut clients = Vec::new();
    let mut streams = Vec::new();
    for server in &servers {
        let client = server.ws(ADMIN_TOKEN).await;
        let mut of_node = Vec::new();
        for (name, query) in SUBSCRIPTIONS {
            of_node.push((name, common::camera::subscribe_to(&client, query).await));
        }
        clients.push(client);
        streams.push(of_node);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    // A camera on a, a sighting and an unknown face on b; E1 is lost 3 s later (on the
    // leader, wherever it is); that notification is marked read on c.
    create_camera(a, json!({ "cameraId": "DESK", "name": "Desk", "streamUrl": "http://admin:pw@127.0.0.1:9/desk.mjpg" })).await;
    let receipt = b
        .gql(
            ADMIN_TOKEN,
            "mutation { reportSighting(input: {employeeId: \"E1\", cameraId: \"DESK\"}) { seenAt } }",
            json!({}),
        )
        .await;
    let seen_at = receipt["reportSighting"]["seenAt"]
        .as_str()
        .unwrap()
        .to_owned();
    b.gql(
        ADMIN_TOKEN,
        "mutation { reportUnknownFace(input: {cameraId: \"DESK\", bestScore: 0.25}) }",
        json!({}),
    )
    .await;
    let notification = eventually(Duration::from_secs(15), "EMPLOYEE_LOST", || async {
        let data = c
            .gql(
                ADMIN_TOKEN,
                "{ notifications { nodes { id type } } }",
                json!({}),
            )
            .await;
        data["notifications"]["nodes"]
            .as_array()
            .and_then(|n| n.iter().find(|n| n["type"] == "EMPLOYEE_LOST").cloned())
    })
    .await;
    c.gql(
        ADMIN_TOKEN,
        "mutation($id: ID!) { markNotificationRead(id: $id) { isRead } }",
        json!({ "id": notification["id"] }),
    )
    .await;

    let expected: BTreeMap<&str, usize> = [
        ("employeeStatusChanged", 2),
        ("employeeDetected", 1),
        ("unknownFaceDetected", 1),
        ("notificationCreated", 1),
        ("cameraChanged", 1),
        ("notificationsRead", 1),
        ("presenceSummaryChanged", 2),
    ]
    .into();
    for (node, of_node) in ["a", "b", "c"].iter().zip(&mut streams) {
        for (name, stream) in of_node.iter_mut() {
            let items = drain(stream, Duration::from_secs(3)).await;
            assert_eq!(
                items.len(),
                expected[name],
                "node {node}: {name} exactly as often as it happened: {items:#?}"
            );
            let first = &items[0][*name];
            match *name {
                "employeeStatusChanged" => {
                    assert_eq!(first["employeeId"], "E1");
                    assert_eq!(first["presence"]["status"], "AVAILABLE");
                    assert_eq!(first["presence"]["lastSeen"], seen_at.as_str());
                    assert_eq!(first["presence"]["camera"]["cameraId"], "DESK");
                    assert_eq!(items[1][*name]["presence"]["status"], "OFFLINE");
                }
                "employeeDetected" => {
                    assert_eq!(first["employee"]["employeeId"], "E1");
                    assert_eq!(first["seenAt"], seen_at.as_str());
                    assert_eq!(
                        first["camera"]["streamUrl"], "http://admin:pw@127.0.0.1:9/desk.mjpg",
                        "an admin sees the URL, restored from the node's own table"
                    );
                }
                "unknownFaceDetected" => {
                    assert_eq!(first["camera"]["cameraId"], "DESK");
                    assert_eq!(first["bestScore"], 0.25);
                }
                "notificationCreated" => {
                    assert_eq!(first["type"], "EMPLOYEE_LOST");
                    assert_eq!(first["id"], notification["id"]);
                }
                "cameraChanged" => {
                    assert_eq!(first["kind"], "CREATED");
                    assert_eq!(first["cameraId"], "DESK");
                }
                "notificationsRead" => {
                    assert_eq!(first["notificationIds"], json!([notification["id"]]));
                    assert_eq!(first["unreadCount"], 0, "as the database says");
                }
                "presenceSummaryChanged" => {
                    assert_eq!(
                        first,
                        &json!({ "present": 1, "alert": 0, "unavailable": 0, "total": 1 })
                    );
                    assert_eq!(
                        items[1][*name],
                        json!({ "present": 0, "alert": 1, "unavailable": 0, "total": 1 })
                    );
                }
                _ => unreachable!(),
            }
        }
    }
    let lost: u64 = a
        .gql(
            ADMIN_TOKEN,
            "{ notifications(type: EMPLOYEE_LOST) { totalCount } }",
            json!({}),
        )
        .await["notifications"]["totalCount"]
        .as_u64()
        .unwrap();
    assert_eq!(lost, 1, "one EMPLOYEE_LOST row, whichever node leads");
    drop(clients);
}

/// What a webhook receiver of the test's own got: (event, delivery id) per request.
type Deliveries = Arc<Mutex<Vec<(String, String)>>>;

/// A webhook receiver on 127.0.0.1 answering 204 to everything; its URL and what it got.
async fn webhook_receiver() -> (String, Deliveries) {
    use axum::{extract::State, http::HeaderMap, routing::post};
    let got: Deliveries = Arc::default();
    let app = axum::Router::new()
        .route(
            "/hook",
            post(
                |State(got): State<Deliveries>, headers: HeaderMap| async move {
                    let header = |name: &str| {
                        headers
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_owned()
                    };
                    got.lock()
                        .unwrap()
                        .push((header("x-hadir-event"), header("x-hadir-delivery")));
                    axum::http::StatusCode::NO_CONTENT
                },
            ),
        )
        .with_state(got.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, got)
}

/// A camera's status, as `server` says.
async fn camera_status(server: &TestServer, camera_id: &str) -> String {
    server
        .gql(
            ADMIN_TOKEN,
            "query($c: ID!) { camera(cameraId: $c) { status } }",
            json!({ "c": camera_id }),
        )
        .await["camera"]["status"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The embeddings in `server`'s gallery.
async fn embeddings(server: &TestServer) -> f64 {
    server.metrics().await.value("hadir_enrolled_embeddings")
}

/// How many EMPLOYEE_LOST rows the database holds, as `server` says.
async fn lost_rows(server: &TestServer) -> u64 {
    server
        .gql(
            ADMIN_TOKEN,
            "{ notifications(type: EMPLOYEE_LOST) { totalCount } }",
            json!({}),
        )
        .await["notifications"]["totalCount"]
        .as_u64()
        .unwrap()
}

/// Employees `from..to` seen at `camera` through `server`.
async fn sightings(server: &TestServer, camera: &str, from: usize, to: usize) {
    for i in from..to {
        let id = format!("E{i}");
        server.create_employee(&id, &format!("Employee {i}")).await;
        server
            .gql(
                ADMIN_TOKEN,
                "mutation($e: ID!, $c: ID!) { reportSighting(input: {employeeId: $e, cameraId: $c}) { seenAt } }",
                json!({ "e": id, "c": camera }),
            )
            .await;
    }
}

/// Items of `stream` until there are `expected` (within `within`), then any more within 3 s.
async fn collect<S>(stream: &mut S, expected: usize, within: Duration) -> Vec<Value>
where
    S: futures_util::Stream<Item = Result<Value, graphql_ws_client::Error>> + Unpin,
{
    use futures_util::StreamExt as _;
    let deadline = tokio::time::Instant::now() + within;
    let mut items = Vec::new();
    while items.len() < expected {
        match tokio::time::timeout_at(deadline, stream.next()).await {
            Ok(Some(item)) => items.push(item.expect("a subscription item")),
            _ => break,
        }
    }
    items.extend(drain(stream, Duration::from_secs(3)).await);
    items
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leader_alone_notifies_publishes_and_posts_once() {
    let _serial = SERIAL.lock().await;
    let Some(db) = TestDb::create(Backend::Postgres, "cluster_leader_once") else {
        return;
    };
    let folder = shared_folder(&db);
    let (hook, deliveries) = webhook_receiver().await;
    let prefix = format!("hadir-cluster-{}", std::process::id());
    let (mqtt_client, mut messages) =
        common::mqtt::subscribe(&format!("{prefix}/notifications")).await;
    let (host, port) = common::mqtt::broker();
    let options = |id: &str| ServerOptions {
        lost_after_secs: 3,
        extra_env: vec![
            ("HADIR_MQTT_URL".into(), format!("mqtt://{host}:{port}")),
            ("HADIR_MQTT_TOPIC_PREFIX".into(), prefix.clone()),
            ("HADIR_WEBHOOK_URLS".into(), hook.clone()),
            ("HADIR_WEBHOOK_EVENTS".into(), "notification.created".into()),
        ],
        ..node(id, &folder)
    };
    let mut servers = vec![
        TestServer::start(&db, &options("a")),
        TestServer::start(&db, &options("b")),
        TestServer::start(&db, &options("c")),
    ];
    // One leader, and only it talks to the broker.
    let leader = eventually(
        Duration::from_secs(20),
        "one leader, alone on MQTT",
        || async {
            let mut leading = Vec::new();
            for (index, server) in servers.iter().enumerate() {
                let metrics = server.metrics().await;
                let leads = metrics.value("hadir_cluster_leader") == 1.0;
                let connected = metrics.value("hadir_mqtt_connected") == 1.0;
                if leads != connected {
                    return None;
                }
                if leads {
                    leading.push(index);
                }
            }
            (leading.len() == 1).then(|| leading[0])
        },
    )
    .await;
    create_camera(
        &servers[0],
        json!({ "cameraId": "DESK", "name": "Desk", "streamUrl": "http://127.0.0.1:9/desk.mjpg" }),
    )
    .await;
    let clients: Vec<_> =
        futures_util::future::join_all(servers.iter().map(|s| s.ws(ADMIN_TOKEN))).await;
    let mut created = Vec::new();
    for client in &clients {
        created.push(
            common::camera::subscribe_to(
                client,
                "subscription { notificationCreated(type: EMPLOYEE_LOST) { id } }",
            )
            .await,
        );
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    // 20 employees seen through b, lost 3 s later: 20 rows, 20 events per subscriber, 20
    // MQTT messages, 20 webhook deliveries.
    sightings(&servers[1], "DESK", 0, 20).await;
    eventually(Duration::from_secs(30), "20 EMPLOYEE_LOST rows", || async {
        (lost_rows(&servers[0]).await >= 20).then_some(())
    })
    .await;
    for (node, stream) in created.iter_mut().enumerate() {
        let items = drain(stream, Duration::from_secs(3)).await;
        assert_eq!(items.len(), 20, "node {node}: 20 notificationCreated");
    }
    assert_eq!(lost_rows(&servers[2]).await, 20, "exactly 20 rows");
    let mut published = Vec::new();
    while let Ok(Some(message)) =
        tokio::time::timeout(Duration::from_secs(2), messages.recv()).await
    {
        published.push(message.payload);
    }
    assert_eq!(
        published.len(),
        20,
        "each notification published once: {published:#?}"
    );
    let posted: Vec<_> = deliveries.lock().unwrap().clone();
    assert_eq!(
        posted.len(),
        20,
        "each notification posted once: {posted:?}"
    );
    assert!(
        posted
            .iter()
            .all(|(event, id)| event == "notification.created" && id.starts_with("notification-"))
    );

    // Again, the leader killed right after the sightings: a new one takes over within two
    // leases and the counts hold (40 rows; each delivery id once, or repeated unchanged).
    sightings(&servers[1], "DESK", 20, 40).await;
    servers[leader].kill();
    let survivors: Vec<usize> = (0..3).filter(|&i| i != leader).collect();
    eventually(
        Duration::from_secs(2 * LEASE_SECS + 5),
        "a new leader",
        || async {
            let mut leading = 0;
            for &i in &survivors {
                leading += usize::from(gauge(&servers[i], "hadir_cluster_leader").await == 1.0);
            }
            (leading == 1).then_some(())
        },
    )
    .await;
    eventually(Duration::from_secs(30), "40 EMPLOYEE_LOST rows", || async {
        (lost_rows(&servers[survivors[0]]).await >= 40).then_some(())
    })
    .await;
    for &i in &survivors {
        let items = drain(&mut created[i], Duration::from_secs(3)).await;
        assert_eq!(items.len(), 20, "node {i}: 20 more notificationCreated");
    }
    assert_eq!(
        lost_rows(&servers[survivors[1]]).await,
        40,
        "exactly 40 rows"
    );
    let posted: std::collections::BTreeSet<String> = deliveries
        .lock()
        .unwrap()
        .iter()
        .map(|(_, id)| id.clone())
        .collect();
    assert_eq!(
        posted.len(),
        40,
        "every notification posted, under its own id"
    );
    let _ = mqtt_client.disconnect().await;
    drop((clients, servers));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_faults_neither_double_read_nor_lose_owners() {
    let _serial = SERIAL.lock().await;
    let Some(db) = TestDb::create(Backend::Postgres, "cluster_db_faults") else {
        return;
    };
    let folder = shared_folder(&db);
    let cameras = start_cameras(CAMERAS).await;
    // The default lease (15 s) with a 30 s camera timeout, each node through its own proxy.
    let proxies = [
        common::pg_proxy::PgProxy::start(&db.url).await,
        common::pg_proxy::PgProxy::start(&db.url).await,
        common::pg_proxy::PgProxy::start(&db.url).await,
    ];
    let options = |id: &str, proxy: &common::pg_proxy::PgProxy| {
        let url = proxy.url(&db.url);
        ServerOptions {
            camera_timeout_secs: 30,
            lease_secs: None,
            extra_env: vec![("HADIR_DATABASE_URL".into(), url)],
            ..node(id, &folder)
        }
    };
    let a = TestServer::start(&db, &options("a", &proxies[0]));
    let b = TestServer::start(&db, &options("b", &proxies[1]));
    let c = TestServer::start(&db, &options("c", &proxies[2]));
    create_cameras(&a, &cameras).await;
    let spread = eventually(Duration::from_secs(40), "two cameras per node", || async {
        let seen = owners(&a).await;
        let counts = per_node(&seen);
        (counts == [("a".into(), 2), ("b".into(), 2), ("c".into(), 2)].into()).then_some(seen)
    })
    .await;
    let holders = |seen: &BTreeMap<String, (Option<String>, Option<String>)>| -> BTreeMap<String, Option<String>> {
        seen.iter().map(|(id, (holder, _))| (id.clone(), holder.clone())).collect()
    };

    // Every connection reset and refused for 5 s: events flow again within 10 s of the
    // return, with the same owners.
    for proxy in &proxies {
        proxy.refuse_for(Duration::from_secs(5));
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    let back = Instant::now();
    let client = b.ws(ADMIN_TOKEN).await;
    let mut changes =
        common::camera::subscribe_to(&client, "subscription { cameraChanged { cameraId kind } }")
            .await;
    loop {
        a.post(
            Some(ADMIN_TOKEN),
            "mutation { updateCamera(cameraId: \"C0\", input: {name: \"Hall\"}) { cameraId } }",
            json!({}),
        )
        .await;
        let item = tokio::time::timeout(
            Duration::from_secs(1),
            futures_util::StreamExt::next(&mut changes),
        )
        .await;
        if matches!(item, Ok(Some(Ok(_)))) {
            break;
        }
        assert!(
            back.elapsed() < Duration::from_secs(10),
            "no camera change from a on b within 10 s of the database's return"
        );
    }
    assert!(back.elapsed() < Duration::from_secs(10));
    eventually(Duration::from_secs(20), "the same owners", || async {
        (holders(&owners(&a).await) == holders(&spread)).then_some(())
    })
    .await;

    // a alone cut off (reset, refused 5 s) while b records a status change: a's subscriber
    // gets it exactly once after a is back (the relay's resync); then every hadir backend
    // terminated while b records another: the same.
    a.create_employee("E1", "Ani").await;
    a.create_employee("E2", "Budi").await;
    let watcher = a.ws(ADMIN_TOKEN).await;
    let mut statuses = common::camera::subscribe_to(
        &watcher,
        "subscription { employeeStatusChanged { employeeId presence { status } } }",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    proxies[0].refuse_for(Duration::from_secs(5));
    b.gql(
        ADMIN_TOKEN,
        "mutation { reportSighting(input: {employeeId: \"E1\", cameraId: \"C0\"}) { seenAt } }",
        json!({}),
    )
    .await;
    let first = common::next_event(&mut statuses, Duration::from_secs(30)).await;
    assert_eq!(
        first["employeeStatusChanged"]["presence"]["status"],
        "AVAILABLE"
    );
    let again = drain(&mut statuses, Duration::from_secs(3)).await;
    assert!(again.is_empty(), "exactly once: {again:?}");
    let admin = sea_orm::Database::connect(std::env::var(common::POSTGRES_URL_VAR).unwrap())
        .await
        .unwrap();
    let name = url::Url::parse(&db.url)
        .unwrap()
        .path()
        .trim_start_matches('/')
        .to_owned();
    {
        use sea_orm::ConnectionTrait;
        admin
            .execute_unprepared(&format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"
            ))
            .await
            .unwrap();
    }
    // Written once the database takes b's requests again.
    eventually(Duration::from_secs(15), "b records E2", || async {
        let (status, body) = b
            .post(
                Some(ADMIN_TOKEN),
                "mutation { reportSighting(input: {employeeId: \"E2\", cameraId: \"C0\"}) { seenAt } }",
                json!({}),
            )
            .await;
        (status == 200 && body["errors"].is_null()).then_some(())
    })
    .await;
    let second = common::next_event(&mut statuses, Duration::from_secs(30)).await;
    assert_eq!(
        second["employeeStatusChanged"]["employeeId"], "E2",
        "{second}"
    );
    let again = drain(&mut statuses, Duration::from_secs(3)).await;
    assert!(again.is_empty(), "exactly once: {again:?}");
    let _ = admin.close().await;
    drop(watcher);

    // c alone in a black hole: it stops reading within 10 s, a and b take its cameras, its
    // /healthz says 503; healed, it rejoins and takes its share again.
    let of_c: Vec<usize> = spread
        .iter()
        .filter(|(_, (holder, _))| holder.as_deref() == Some("c"))
        .map(|(id, _)| id[1..].parse().unwrap())
        .collect();
    proxies[2].black_hole();
    let cut = Instant::now();
    eventually(Duration::from_secs(12), "c stops reading", || async {
        of_c.iter()
            .all(|&i| cameras[i].clients.now() == 0)
            .then_some(())
    })
    .await;
    eventually(
        Duration::from_secs(30),
        "a and b read c's cameras",
        || async {
            let seen = owners(&a).await;
            (per_node(&seen) == [("a".into(), 3), ("b".into(), 3)].into()).then_some(())
        },
    )
    .await;
    let (status, answer) = c.health().await;
    assert_eq!(status, 503, "c is unhealthy while cut off: {answer}");
    eprintln!(
        "c stopped and its cameras moved {:?} after the cut",
        cut.elapsed()
    );
    proxies[2].heal();
    eventually(Duration::from_secs(60), "c rejoins with two", || async {
        let seen = owners(&a).await;
        (per_node(&seen) == [("a".into(), 2), ("b".into(), 2), ("c".into(), 2)].into())
            .then_some(())
    })
    .await;
    for (index, camera) in cameras.iter().enumerate() {
        assert_eq!(
            camera.clients.most(),
            1,
            "camera C{index} had two clients at once"
        );
    }
    assert_eq!(camera_down_rows(&a).await, 0, "no CAMERA_DOWN");
    drop((client, a, b, c));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_of_everyone_keeps_owners_and_counts_and_a_death_moves_cameras_within_30_s() {
    let _serial = SERIAL.lock().await;
    let Some(db) = TestDb::create(Backend::Postgres, "cluster_long_outage") else {
        return;
    };
    let folder = shared_folder(&db);
    let cameras = start_cameras(CAMERAS).await;
    // The default lease (15 s) with a 30 s camera timeout, each node through its own proxy;
    // employees are lost 3 s after their last sighting.
    let proxies = [
        common::pg_proxy::PgProxy::start(&db.url).await,
        common::pg_proxy::PgProxy::start(&db.url).await,
        common::pg_proxy::PgProxy::start(&db.url).await,
    ];
    let options = |id: &str, proxy: &common::pg_proxy::PgProxy| ServerOptions {
        camera_timeout_secs: 30,
        lease_secs: None,
        lost_after_secs: 3,
        extra_env: vec![("HADIR_DATABASE_URL".into(), proxy.url(&db.url))],
        ..node(id, &folder)
    };
    let a = TestServer::start(&db, &options("a", &proxies[0]));
    let b = TestServer::start(&db, &options("b", &proxies[1]));
    let mut c = TestServer::start(&db, &options("c", &proxies[2]));
    create_cameras(&a, &cameras).await;
    let spread = eventually(Duration::from_secs(40), "two cameras per node", || async {
        let seen = owners(&a).await;
        let counts = per_node(&seen);
        (counts == [("a".into(), 2), ("b".into(), 2), ("c".into(), 2)].into()).then_some(seen)
    })
    .await;
    let holders = |seen: &BTreeMap<String, (Option<String>, Option<String>)>| -> BTreeMap<String, Option<String>> {
        seen.iter().map(|(id, (holder, _))| (id.clone(), holder.clone())).collect()
    };
    let clients: Vec<_> =
        futures_util::future::join_all([&a, &b, &c].map(|s| s.ws(ADMIN_TOKEN))).await;
    let mut created = Vec::new();
    for client in &clients {
        created.push(
            common::camera::subscribe_to(
                client,
                "subscription { notificationCreated(type: EMPLOYEE_LOST) { id } }",
            )
            .await,
        );
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    // 20 employees seen through b, and every node cut off from the database for 20 s while
    // they are being lost: every node stops reading within 10 s of the cut (the fence at ⅔ of
    // the lease), and resumes within 10 s of the return with the same cameras.
    sightings(&b, "C0", 0, 20).await;
    for proxy in &proxies {
        proxy.refuse_for(Duration::from_secs(20));
    }
    let cut = Instant::now();
    eventually(
        Duration::from_secs(11),
        "every node stops reading",
        || async { cameras.iter().all(|c| c.clients.now() == 0).then_some(()) },
    )
    .await;
    eprintln!(
        "every node stopped reading {:?} after the cut",
        cut.elapsed()
    );
    tokio::time::sleep(Duration::from_secs(20).saturating_sub(cut.elapsed())).await;
    let back = Instant::now();
    eventually(
        Duration::from_secs(10),
        "every camera read again",
        || async { cameras.iter().all(|c| c.clients.now() == 1).then_some(()) },
    )
    .await;
    eprintln!(
        "every camera read again {:?} after the return",
        back.elapsed()
    );
    assert_eq!(
        holders(&owners(&a).await),
        holders(&spread),
        "the same owners after the outage"
    );
    // The counts of a quiet run: 20 rows, 20 notificationCreated per subscriber.
    eventually(Duration::from_secs(30), "20 EMPLOYEE_LOST rows", || async {
        (lost_rows(&a).await >= 20).then_some(())
    })
    .await;
    for (node, stream) in created.iter_mut().enumerate() {
        let items = collect(stream, 20, Duration::from_secs(45)).await;
        assert_eq!(
            items.len(),
            20,
            "node {node}: 20 notificationCreated: {items:?}"
        );
    }
    assert_eq!(lost_rows(&b).await, 20, "exactly 20 rows");

    // c killed: within 30 s at the default lease its cameras are read by a and b, and their
    // frames advance.
    let of_c: Vec<String> = spread
        .iter()
        .filter(|(_, (holder, _))| holder.as_deref() == Some("c"))
        .map(|(id, _)| id.clone())
        .collect();
    let before = owners(&a).await;
    // For one lease after its own outage a node takes nobody else's camera (the owners
    // renew their lapsed leases first: `cluster::rules::takes_others`); the failover measured
    // here is the ordinary one, after that.
    let settled = back + Duration::from_secs(api::cluster::settings::DEFAULT_LEASE_SECS + 1);
    tokio::time::sleep_until(settled.into()).await;
    c.kill();
    let killed = Instant::now();
    eventually(
        Duration::from_secs(30),
        "c's cameras read by a and b",
        || async {
            let seen = owners(&a).await;
            of_c.iter()
                .all(|id| {
                    matches!(&seen[id].0, Some(holder) if holder != "c")
                        && seen[id].1.is_some()
                        && seen[id].1 != before[id].1
                })
                .then_some(())
        },
    )
    .await;
    eprintln!("c's cameras moved {:?} after its death", killed.elapsed());
    for (index, camera) in cameras.iter().enumerate() {
        assert_eq!(
            camera.clients.most(),
            1,
            "camera C{index} had two clients at once"
        );
    }
    assert_eq!(camera_down_rows(&a).await, 0, "no CAMERA_DOWN");
    drop((clients, a, b, c));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn camera_changes_reach_their_reader_within_two_seconds() {
    let _serial = SERIAL.lock().await;
    let Some(db) = TestDb::create(Backend::Postgres, "cluster_configuration") else {
        return;
    };
    let folder = shared_folder(&db);
    let cameras = start_cameras(3).await;
    let with_max = |id: &str, max: &str| ServerOptions {
        extra_env: vec![("HADIR_MAX_CAMERAS".into(), max.into())],
        ..node(id, &folder)
    };
    // Room only on c.
    let a = TestServer::start(&db, &with_max("a", "0"));
    let b = TestServer::start(&db, &with_max("b", "0"));
    let mut c = TestServer::start(&db, &with_max("c", "5"));
    let url = |i: usize| format!("http://127.0.0.1:{}/video.mjpg", cameras[i].port);

    // Created on a: c connects within 2 s.
    let created = Instant::now();
    create_camera(
        &a,
        json!({ "cameraId": "MOVING", "name": "Moving", "streamUrl": url(0) }),
    )
    .await;
    eventually(Duration::from_secs(2), "c reads the new camera", || async {
        (cameras[0].clients.now() == 1).then_some(())
    })
    .await;
    eprintln!("created on a, read by c after {:?}", created.elapsed());
    assert_eq!(owners(&b).await["MOVING"].0.as_deref(), Some("c"));

    // Its URL changed on a: c moves to the new one within 2 s.
    let changed = Instant::now();
    a.gql(
        ADMIN_TOKEN,
        "mutation($u: String!) { updateCamera(cameraId: \"MOVING\", input: {streamUrl: $u}) { cameraId } }",
        json!({ "u": url(1) }),
    )
    .await;
    eventually(Duration::from_secs(2), "c reads the new URL", || async {
        (cameras[1].clients.now() == 1 && cameras[0].clients.now() == 0).then_some(())
    })
    .await;
    eprintln!(
        "URL changed on a, followed by c after {:?}",
        changed.elapsed()
    );

    // Deleted on b: c lets go within 2 s.
    b.gql(
        ADMIN_TOKEN,
        "mutation { deleteCamera(cameraId: \"MOVING\") }",
        json!({}),
    )
    .await;
    eventually(
        Duration::from_secs(2),
        "c lets the deleted camera go",
        || async { (cameras[1].clients.now() == 0).then_some(()) },
    )
    .await;

    // With no node left with room, a camera that was up goes down once, saying why.
    create_camera(
        &a,
        json!({ "cameraId": "ORPHAN", "name": "Orphan", "streamUrl": url(2) }),
    )
    .await;
    eventually(Duration::from_secs(15), "ORPHAN online", || async {
        let data = a
            .gql(
                ADMIN_TOKEN,
                "{ camera(cameraId: \"ORPHAN\") { status } }",
                json!({}),
            )
            .await;
        (data["camera"]["status"] == "ONLINE").then_some(())
    })
    .await;
    c.kill();
    let down = eventually(
        Duration::from_secs(CAMERA_TIMEOUT_SECS + 15),
        "ORPHAN down",
        || async {
            let data = a
                .gql(
                    ADMIN_TOKEN,
                    "{ camera(cameraId: \"ORPHAN\") { status statusMessage } }",
                    json!({}),
                )
                .await;
            (data["camera"]["status"] == "OFFLINE").then_some(data)
        },
    )
    .await;
    assert!(
        down["camera"]["statusMessage"]
            .as_str()
            .is_some_and(|m| m.contains("no hadir node holds it")),
        "{down}"
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(camera_down_rows(&a).await, 1, "down once");
    assert_eq!(cameras[2].clients.now(), 0, "nobody reads it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gallery_follows_enrolments_on_every_node_within_a_second() {
    let _serial = SERIAL.lock().await;
    let Some(db) = TestDb::create(Backend::Postgres, "cluster_gallery") else {
        return;
    };
    let folder = shared_folder(&db);
    let showing = Arc::new(Mutex::new(scene(None)));
    let camera = Camera::start_watching_clients(0, showing.clone()).await;
    // b reads every camera; a and c serve the API.
    let with_max = |id: &str, max: &str| ServerOptions {
        lost_after_secs: 600,
        extra_env: vec![("HADIR_MAX_CAMERAS".into(), max.into())],
        ..node(id, &folder)
    };
    let a = TestServer::start(&db, &with_max("a", "0"));
    let b = TestServer::start(&db, &with_max("b", "4"));
    let c = TestServer::start(&db, &with_max("c", "0"));
    a.create_employee("E1", "Barack Obama").await;
    create_camera(&a, json!({ "cameraId": "DOOR", "name": "Door", "streamUrl": format!("http://127.0.0.1:{}/video.mjpg", camera.port) })).await;

    // enrollFace on a: b's gallery has it within 1 s, and b's camera recognises him for a's
    // subscriber.
    let client = a.ws(ADMIN_TOKEN).await;
    let mut detections = common::camera::subscribe_to(
        &client,
        "subscription { employeeDetected { employee { employeeId } camera { cameraId } } }",
    )
    .await;
    common::camera::enrol(&a, "E1", "obama.jpg").await;
    let enrolled = Instant::now();
    eventually(Duration::from_secs(1), "b's gallery has E1", || async {
        (embeddings(&b).await >= 1.0).then_some(())
    })
    .await;
    eprintln!(
        "enrolled on a, in b's gallery after {:?}",
        enrolled.elapsed()
    );
    *showing.lock().unwrap() = scene(Some("obama2.jpg"));
    let detection = common::next_event(&mut detections, Duration::from_secs(30)).await;
    assert_eq!(
        detection["employeeDetected"]["employee"]["employeeId"],
        "E1"
    );
    assert_eq!(detection["employeeDetected"]["camera"]["cameraId"], "DOOR");
    *showing.lock().unwrap() = scene(None);

    // `hadir enroll`, a process of its own: every node within 1 s.
    let before = embeddings(&c).await;
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hadir"))
        .args(["enroll", "--employee-id", "E1"])
        .arg(
            vision::models::runtime::cache_dir()
                .join("photos")
                .join("obama2.jpg"),
        )
        .env("HADIR_DATABASE_URL", &db.url)
        .env("HADIR_LOG", "warn")
        .output()
        .expect("hadir enroll");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let done = Instant::now();
    for server in [&a, &b, &c] {
        eventually(
            Duration::from_secs(1),
            "the CLI's face everywhere",
            || async { (embeddings(server).await > before).then_some(()) },
        )
        .await;
    }
    eprintln!("hadir enroll, on every node after {:?}", done.elapsed());

    // removeFaces on c: a and b drop them within 1 s.
    c.gql(
        ADMIN_TOKEN,
        "mutation { removeFaces(employeeId: \"E1\") { faceCount } }",
        json!({}),
    )
    .await;
    for server in [&a, &b] {
        eventually(
            Duration::from_secs(1),
            "the faces gone everywhere",
            || async { (embeddings(server).await == 0.0).then_some(()) },
        )
        .await;
    }
    drop(client);
}

/// A PgBouncer in transaction-pooling mode in front of this machine's PostgreSQL, run as the
/// `postgres` user (PgBouncer refuses to run as root); killed when dropped.
struct PgBouncer {
    child: std::process::Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl PgBouncer {
    fn start() -> Self {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let path = |name: &str| dir.path().join(name).display().to_string();
        std::fs::write(path("userlist.txt"), "\"postgres\" \"\"\n").unwrap();
        std::fs::write(
            path("pgbouncer.ini"),
            format!(
                "[databases]\n* = host=127.0.0.1 port=5432\n\n[pgbouncer]\nlisten_addr = 127.0.0.1\n\
                 listen_port = {port}\nauth_type = trust\nauth_file = {}\npool_mode = transaction\n\
                 logfile = {}\npidfile = {}\nignore_startup_parameters = extra_float_digits,search_path\n",
                path("userlist.txt"),
                path("pgbouncer.log"),
                path("pgbouncer.pid"),
            ),
        )
        .unwrap();
        for name in ["userlist.txt", "pgbouncer.ini"] {
            std::fs::set_permissions(path(name), std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        let child = std::process::Command::new("runuser")
            .args(["-u", "postgres", "--", "pgbouncer"])
            .arg(path("pgbouncer.ini"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("PgBouncer (scripts/install-test-deps installs it)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "PgBouncer did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Self {
            child,
            port,
            _dir: dir,
        }
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listen_url_through_a_transaction_pooler_is_named_and_unhealthy() {
    let _serial = SERIAL.lock().await;
    let Some(db) = TestDb::create(Backend::Postgres, "cluster_pgbouncer") else {
        return;
    };
    let bouncer = PgBouncer::start();
    let name = url::Url::parse(&db.url).unwrap().path().to_owned();
    let listen = format!("postgres://postgres@127.0.0.1:{}{name}", bouncer.port);
    let folder = shared_folder(&db);
    let a = TestServer::start(
        &db,
        &ServerOptions {
            extra_env: vec![("HADIR_CLUSTER_LISTEN_URL".into(), listen)],
            ..node("a", &folder)
        },
    );
    // LISTEN is accepted through the pooler, and nothing ever arrives: within 15 s (and a
    // margin) the node says so, and is unhealthy.
    let answer = eventually(Duration::from_secs(40), "/healthz says 503", || async {
        let (status, answer) = a.health().await;
        (status == 503).then_some(answer)
    })
    .await;
    assert!(
        answer["cluster"]["problem"]
            .as_str()
            .is_some_and(|p| p.contains("point cluster.listen_url at PostgreSQL directly")),
        "{answer}"
    );
    // The receiver logs it at its next ping tick (every 5 s), which may come a little after
    // /healthz first reports it.
    eventually(
        Duration::from_secs(20),
        "the log says what to do",
        || async { a.log().contains("session mode").then_some(()) },
    )
    .await;
    drop(bouncer);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_camera_stopped_and_restarted_is_down_once_and_up_once_everywhere() {
    let _serial = SERIAL.lock().await;
    let Some(db) = TestDb::create(Backend::Postgres, "cluster_camera_down_up") else {
        return;
    };
    let folder = shared_folder(&db);
    let servers = [
        TestServer::start(&db, &node("a", &folder)),
        TestServer::start(&db, &node("b", &folder)),
        TestServer::start(&db, &node("c", &folder)),
    ];
    let mut camera = Camera::start_watching_clients(0, Arc::new(Mutex::new(scene(None)))).await;
    let port = camera.port;
    create_camera(&servers[0], json!({ "cameraId": "GATE", "name": "Gate", "streamUrl": format!("http://127.0.0.1:{port}/video.mjpg") })).await;
    eventually(Duration::from_secs(20), "GATE online", || async {
        (camera_status(&servers[1], "GATE").await == "ONLINE").then_some(())
    })
    .await;
    let clients: Vec<_> =
        futures_util::future::join_all(servers.iter().map(|s| s.ws(ADMIN_TOKEN))).await;
    let mut created = Vec::new();
    for client in &clients {
        created.push(
            common::camera::subscribe_to(client, "subscription { notificationCreated { type } }")
                .await,
        );
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let kinds = |items: &[Value]| -> Vec<String> {
        items
            .iter()
            .map(|i| {
                i["notificationCreated"]["type"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    };
    let rows = |kind: &'static str| {
        let server = &servers[2];
        async move {
            server
                .gql(
                    ADMIN_TOKEN,
                    &format!("{{ notifications(type: {kind}) {{ totalCount }} }}"),
                    json!({}),
                )
                .await["notifications"]["totalCount"]
                .as_u64()
                .unwrap()
        }
    };

    // The camera dies: one CAMERA_DOWN row, one event per subscriber on every node.
    camera.kill();
    eventually(
        Duration::from_secs(CAMERA_TIMEOUT_SECS + 15),
        "GATE down",
        || async { (rows("CAMERA_DOWN").await == 1).then_some(()) },
    )
    .await;
    for (node, stream) in created.iter_mut().enumerate() {
        let items = drain(stream, Duration::from_secs(3)).await;
        assert_eq!(kinds(&items), ["CAMERA_DOWN"], "node {node}");
    }
    // It comes back: one CAMERA_UP, once each.
    let _back = Camera::start_watching_clients(port, Arc::new(Mutex::new(scene(None)))).await;
    eventually(Duration::from_secs(20), "GATE up", || async {
        (rows("CAMERA_UP").await == 1).then_some(())
    })
    .await;
    for (node, stream) in created.iter_mut().enumerate() {
        let items = drain(stream, Duration::from_secs(3)).await;
        assert_eq!(kinds(&items), ["CAMERA_UP"], "node {node}");
    }
    assert_eq!(rows("CAMERA_DOWN").await, 1, "down once");
    assert_eq!(camera_status(&servers[0], "GATE").await, "ONLINE");
    drop(clients);
}
