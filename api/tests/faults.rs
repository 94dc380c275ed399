//! Faults hadir must survive, against a real `hadir` process: a camera that comes and goes
//! twenty times, the server killed with SIGKILL ten times while sightings stream in, the
//! PostgreSQL connection cut and restored, and an SQLite disk that fills up or turns
//! read-only. Each holds on to everything it acknowledged and serves again by itself.
//!
//! Timing matters here (functional bounds with wide margins): the tests of this binary run
//! one at a time.

mod common;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use common::{
    ADMIN_TOKEN, Backend, ServerOptions, TestDb, TestServer,
    camera::{Camera, scene, server_with_obama_and, subscribe_to},
    next_event, sqlite_url,
};
use futures_util::StreamExt;
use serde_json::{Value, json};

/// One fault test at a time: they measure recovery times on a shared 2-core machine.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn add_camera(server: &TestServer, id: &str, port: u16) {
    server
        .gql(
            ADMIN_TOKEN,
            "mutation($i: CameraInput!) { createCamera(input: $i) { cameraId } }",
            json!({ "i": { "cameraId": id, "name": id, "streamUrl": format!("http://127.0.0.1:{port}/video.mjpg"), "sampleFps": 2 } }),
        )
        .await;
}

/// The notifications of the database, oldest first: (type, camera, employee).
async fn notifications(server: &TestServer) -> Vec<(String, String, String)> {
    let data = server
        .gql(
            ADMIN_TOKEN,
            "{ notifications(first: 200) { nodes { type camera { cameraId } employee { employeeId } } } }",
            json!({}),
        )
        .await;
    let mut all: Vec<(String, String, String)> = data["notifications"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["type"].as_str().unwrap_or_default().to_owned(),
                n["camera"]["cameraId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                n["employee"]["employeeId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    all.reverse();
    all
}

fn count(all: &[(String, String, String)], kind: &str, camera: &str) -> usize {
    all.iter()
        .filter(|(k, c, _)| k == kind && c == camera)
        .count()
}

/// Waits for the next notification of `kind` at `camera` on a `notificationCreated`
/// subscription, skipping others; the time it took.
async fn wait_notification<S>(
    stream: &mut S,
    kind: &str,
    camera: &str,
    within: Duration,
) -> Duration
where
    S: futures_util::Stream<Item = Result<Value, graphql_ws_client::Error>> + Unpin,
{
    let started = Instant::now();
    loop {
        let left = within.saturating_sub(started.elapsed());
        let event = next_event(stream, left).await;
        let n = &event["notificationCreated"];
        if n["type"] == kind && n["camera"]["cameraId"] == camera {
            return started.elapsed();
        }
    }
}

async fn a_camera_flapping_twenty_times(backend: Backend) {
    let _serial = SERIAL.lock().await;
    let Some(db) = TestDb::create(backend, "a_camera_flapping_twenty_times") else {
        return;
    };
    let showing = Arc::new(Mutex::new(scene(Some("obama2.jpg"))));
    let mut flapping = Camera::start(0, showing.clone()).await;
    let port = flapping.port;
    let steady = Camera::start(0, Arc::new(Mutex::new(scene(None)))).await;
    // A full-frame pass every second: the still scene is looked at again soon after the
    // camera is back (motion gating skips frames that did not change).
    let server = server_with_obama_and(
        &db,
        ServerOptions {
            lost_after_secs: 600,
            camera_timeout_secs: 2,
            extra_env: vec![("HADIR_FULL_FRAME_INTERVAL_SECS".into(), "1".into())],
            ..Default::default()
        },
    )
    .await;
    let client = server.ws(ADMIN_TOKEN).await;
    let mut notes = subscribe_to(
        &client,
        "subscription { notificationCreated { type camera { cameraId } } }",
    )
    .await;
    let mut detections = subscribe_to(
        &client,
        "subscription { employeeDetected(cameraId: \"FLAP\") { employee { employeeId } } }",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    add_camera(&server, "STEADY", steady.port).await;
    add_camera(&server, "FLAP", port).await;
    next_event(&mut detections, Duration::from_secs(30)).await;
    let before = notifications(&server).await;
    let steady_reconnects = server
        .metrics()
        .await
        .value("hadir_camera_reconnects_total{camera=\"STEADY\"}");

    let mut slowest_return = Duration::ZERO;
    for round in 1..=20 {
        flapping.kill();
        wait_notification(&mut notes, "CAMERA_DOWN", "FLAP", Duration::from_secs(20)).await;
        flapping = Camera::start(port, showing.clone()).await;
        let back =
            wait_notification(&mut notes, "CAMERA_UP", "FLAP", Duration::from_secs(20)).await;
        slowest_return = slowest_return.max(back);
        assert!(
            back <= Duration::from_secs(10),
            "round {round}: the camera was read again {back:?} after it came back"
        );
        // Recognition at the camera resumes: the enrolled person is seen again.
        while tokio::time::timeout(Duration::from_millis(1), detections.next())
            .await
            .is_ok()
        {}
        let seen = next_event(&mut detections, Duration::from_secs(20)).await;
        assert_eq!(seen["employeeDetected"]["employee"]["employeeId"], "E1");
    }
    let after = notifications(&server).await;
    let new = &after[before.len()..];
    assert_eq!(count(new, "CAMERA_DOWN", "FLAP"), 20, "{new:?}");
    assert_eq!(count(new, "CAMERA_UP", "FLAP"), 20, "{new:?}");
    assert_eq!(count(new, "CAMERA_DOWN", "STEADY"), 0, "{new:?}");
    let metrics = server.metrics().await;
    assert_eq!(
        metrics.value("hadir_camera_reconnects_total{camera=\"STEADY\"}"),
        steady_reconnects,
        "the other camera was never interrupted"
    );
    assert_eq!(metrics.value("hadir_camera_online{camera=\"STEADY\"}"), 1.0);
    eprintln!("slowest return of the flapping camera: {slowest_return:?}");
}

/// A sighting as the client sent it.
#[derive(Clone, Debug)]
struct Sent {
    employee: String,
    seen_at: chrono::DateTime<chrono::Utc>,
}

async fn killed_ten_times_while_sightings_stream_in(backend: Backend) {
    let _serial = SERIAL.lock().await;
    let Some(db) = TestDb::create(backend, "killed_ten_times_while_sightings_stream_in") else {
        return;
    };
    let options = ServerOptions {
        lost_after_secs: 8,
        camera_timeout_secs: 4,
        ..Default::default()
    };
    let mut server = TestServer::start(&db, &options);
    for id in ["E1", "E2", "E3", "E9"] {
        server.create_employee(id, id).await;
    }
    // E9 is seen once, and CAM2 heartbeats once: each must be lost/down exactly once.
    let report = "mutation($i: SightingInput!) { reportSighting(input: $i) { seenAt } }";
    server
        .gql(
            ADMIN_TOKEN,
            report,
            json!({ "i": { "employeeId": "E9", "cameraId": "CAM1" } }),
        )
        .await;
    server
        .gql(
            ADMIN_TOKEN,
            "mutation { reportCameraHeartbeat(cameraId: \"CAM2\") { status } }",
            json!({}),
        )
        .await;

    let acknowledged: Arc<Mutex<Vec<Sent>>> = Arc::default();
    let uncertain: Arc<Mutex<Vec<Sent>>> = Arc::default();
    let mut slowest_start = Duration::ZERO;
    for round in 0..=10 {
        // Two edge devices report sightings as fast as they are answered.
        let addr = Arc::new(server.addr.clone());
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut clients = Vec::new();
        for device in 0..2 {
            let (addr, stop) = (addr.clone(), stop.clone());
            let (acknowledged, uncertain) = (acknowledged.clone(), uncertain.clone());
            clients.push(tokio::spawn(async move {
                let http = reqwest::Client::new();
                let mut n = 0usize;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    n += 1;
                    // Milliseconds, as stored.
                    let now = chrono::Utc::now().timestamp_millis();
                    let sent = Sent {
                        employee: ["E1", "E2", "E3"][(n + device) % 3].to_owned(),
                        seen_at: chrono::DateTime::from_timestamp_millis(now).unwrap(),
                    };
                    let body = json!({ "query": report, "variables": { "i": {
                        "employeeId": sent.employee, "cameraId": "CAM1",
                        "seenAt": sent.seen_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true) } } });
                    let answer = http
                        .post(format!("http://{addr}/graphql"))
                        .bearer_auth(ADMIN_TOKEN)
                        .json(&body)
                        .timeout(Duration::from_secs(5))
                        .send()
                        .await;
                    let acked = match answer {
                        Ok(response) => response
                            .json::<Value>()
                            .await
                            .is_ok_and(|b| b["data"]["reportSighting"]["seenAt"].is_string()),
                        Err(_) => false,
                    };
                    if acked {
                        acknowledged.lock().unwrap().push(sent);
                    } else {
                        // Cut off by the kill: it may or may not have been stored.
                        uncertain.lock().unwrap().push(sent);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        if round == 10 {
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            for client in clients {
                client.await.unwrap();
            }
            break;
        }
        server.kill();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for client in clients {
            client.await.unwrap();
        }
        let started = Instant::now();
        server = TestServer::start(&db, &options);
        let response = server
            .http
            .get(server.url("/healthz"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        slowest_start = slowest_start.max(started.elapsed());
        assert!(
            started.elapsed() <= Duration::from_secs(5),
            "round {round}: serving again took {:?}",
            started.elapsed()
        );
    }
    // Past lost_after and camera_timeout for E9 and CAM2, with the server up.
    tokio::time::sleep(Duration::from_secs(9)).await;

    let acknowledged = acknowledged.lock().unwrap().clone();
    let uncertain = uncertain.lock().unwrap().clone();
    assert!(
        acknowledged.len() > 100,
        "{} acknowledged",
        acknowledged.len()
    );
    let mut per_employee: HashMap<&str, Vec<&Sent>> = HashMap::new();
    for sent in &acknowledged {
        per_employee.entry(&sent.employee).or_default().push(sent);
    }
    for (employee, sent) in &per_employee {
        let data = server
            .gql(
                ADMIN_TOKEN,
                "query($e: ID!) { visits(employeeId: $e) { startedAt endedAt sightings } employee(employeeId: $e) { presence { lastSeen } } }",
                json!({ "e": employee }),
            )
            .await;
        let visits = data["visits"].as_array().unwrap();
        let stored: i64 = visits
            .iter()
            .map(|v| v["sightings"].as_i64().unwrap())
            .sum();
        let cut_off = uncertain.iter().filter(|u| u.employee == *employee).count() as i64;
        let acked = sent.len() as i64;
        assert!(
            stored >= acked && stored <= acked + cut_off,
            "{employee}: {stored} sightings stored, {acked} acknowledged, {cut_off} cut off by a kill"
        );
        let parse = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
        for s in sent {
            assert!(
                visits
                    .iter()
                    .any(|v| parse(&v["startedAt"]) <= s.seen_at
                        && s.seen_at <= parse(&v["endedAt"])),
                "{employee}: the acknowledged sighting at {} lies in no visit",
                s.seen_at
            );
        }
        // Tracking state: the latest acknowledged sighting (or a later one cut off) is the
        // employee's last seen.
        let last_seen = parse(&data["employee"]["presence"]["lastSeen"]);
        let latest = sent.iter().map(|s| s.seen_at).max().unwrap();
        assert!(
            last_seen.timestamp_millis() >= latest.timestamp_millis(),
            "{employee}: last seen {last_seen}, latest acknowledged {latest}"
        );
    }
    let all = notifications(&server).await;
    let lost_e9 = all
        .iter()
        .filter(|(k, _, e)| k == "EMPLOYEE_LOST" && e == "E9")
        .count();
    assert_eq!(lost_e9, 1, "one EMPLOYEE_LOST for E9: {all:?}");
    assert_eq!(count(&all, "CAMERA_DOWN", "CAM2"), 1, "{all:?}");
    eprintln!(
        "{} acknowledged, {} cut off by kills; slowest restart {slowest_start:?}",
        acknowledged.len(),
        uncertain.len()
    );
}

/// A TCP proxy in front of PostgreSQL that the test can cut (every connection closed, new
/// ones refused) and restore.
struct CuttableProxy {
    port: u16,
    open: Arc<std::sync::atomic::AtomicBool>,
    connections: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    _accept: tokio::task::JoinHandle<()>,
}

impl CuttableProxy {
    async fn start(target: String) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let open = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let connections: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>> = Arc::default();
        let (is_open, tasks) = (open.clone(), connections.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !is_open.load(std::sync::atomic::Ordering::SeqCst) {
                    continue; // dropped: the connection is closed at once
                }
                let target = target.clone();
                tasks.lock().unwrap().push(tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                }));
            }
        });
        Self {
            port,
            open,
            connections,
            _accept: accept,
        }
    }

    fn cut(&self) {
        self.open.store(false, std::sync::atomic::Ordering::SeqCst);
        for task in self.connections.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    fn restore(&self) {
        self.open.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgresql_connections_lost_and_found_again() {
    let _serial = SERIAL.lock().await;
    let Some(db) = TestDb::create(Backend::Postgres, "postgresql_connections_lost") else {
        return;
    };
    let mut url = url::Url::parse(&db.url).unwrap();
    let target = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432));
    let proxy = CuttableProxy::start(target).await;
    url.set_port(Some(proxy.port)).unwrap();
    let showing = Arc::new(Mutex::new(scene(None)));
    let camera = Camera::start(0, showing.clone()).await;
    let server = TestServer::start(
        &db,
        &ServerOptions {
            lost_after_secs: 600,
            camera_timeout_secs: 5,
            ..ServerOptions::with_database(url.to_string())
        },
    );
    server.create_employee("E1", "Barack Obama").await;
    common::camera::enrol(&server, "E1", "obama.jpg").await;
    add_camera(&server, "DOOR", camera.port).await;
    let client = server.ws(ADMIN_TOKEN).await;
    let mut statuses = subscribe_to(
        &client,
        "subscription { employeeStatusChanged { employeeId presence { status camera { cameraId } } } }",
    )
    .await;
    let mut ticks = subscribe_to(&client, "subscription { serverTime }").await;
    assert_eq!(server.health().await.0, 200);

    // Cut: /healthz says 503 promptly, without the database's error to anonymous callers;
    // subscribers stay connected.
    proxy.cut();
    let deadline = Instant::now() + Duration::from_secs(20);
    let (status, body) = loop {
        let (status, body) = server.health().await;
        if status == 503 || Instant::now() > deadline {
            break (status, body);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["database"], "unavailable");
    assert!(
        body.get("error").is_none(),
        "no error text for anonymous callers: {body}"
    );
    next_event(&mut ticks, Duration::from_secs(5)).await;
    // Done with: a subscription nobody reads fills the client's buffer, and then the client
    // stops reading the socket, for every subscription on it.
    drop(ticks);
    // Writes fail with a clear error meanwhile, and the server stays up.
    let (_, answer) = server
        .post(
            Some(ADMIN_TOKEN),
            "mutation { reportSighting(input: {employeeId: \"E1\", cameraId: \"DOOR\"}) { seenAt } }",
            json!({}),
        )
        .await;
    assert!(answer["errors"][0]["message"].is_string(), "{answer}");
    tokio::time::sleep(Duration::from_secs(3)).await;

    // Restored: healthy again by itself, and what is written after reaches subscribers.
    proxy.restore();
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.health().await.0 != 200 {
        assert!(
            Instant::now() < deadline,
            "not healthy again within 30 s:\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    *showing.lock().unwrap() = scene(Some("obama2.jpg"));
    let event = match tokio::time::timeout(
        Duration::from_secs(30),
        futures_util::StreamExt::next(&mut statuses),
    )
    .await
    {
        Ok(Some(Ok(event))) => event,
        other => panic!(
            "no status change within 30 s of the database's return ({other:?}); the log:\n{}",
            server.log()
        ),
    };
    assert_eq!(
        event["employeeStatusChanged"]["presence"]["status"], "AVAILABLE",
        "{event}"
    );
    let log = server.log();
    assert!(
        log.contains("the database does not answer"),
        "the outage is logged clearly:\n{log}"
    );

    // Every backend of the test's database terminated, again and again, while it runs.
    let base = std::env::var(common::POSTGRES_URL_VAR).unwrap();
    let name = url.path().trim_start_matches('/').to_owned();
    let admin = sea_orm::Database::connect(&base).await.unwrap();
    for _ in 0..5 {
        use sea_orm::ConnectionTrait;
        admin
            .execute_unprepared(&format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"
            ))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = server
            .post(Some(ADMIN_TOKEN), "{ employees { employeeId } }", json!({}))
            .await;
        if status == 200 && body["errors"].is_null() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no recovery after terminations: {body}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(server.health().await.0, 200);
    let _ = admin.close().await;
}

/// A small ext4 file system of the test's own (a loop-mounted image), unmounted when
/// dropped.
struct SmallDisk {
    image: tempfile::TempDir,
    dir: tempfile::TempDir,
}

impl SmallDisk {
    /// None (the test is skipped) where this process may not make or mount file systems.
    fn mount(megabytes: u32) -> Option<Self> {
        let image = tempfile::tempdir().unwrap();
        let file = image.path().join("disk.img");
        std::fs::File::create(&file)
            .unwrap()
            .set_len(u64::from(megabytes) << 20)
            .unwrap();
        let made = std::process::Command::new("mkfs.ext4")
            .args(["-q", "-F", "-m", "0"])
            .arg(&file)
            .status()
            .ok()?;
        let dir = tempfile::tempdir().unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-o", "loop"])
            .arg(&file)
            .arg(dir.path())
            .status()
            .ok()?;
        (made.success() && mounted.success()).then_some(Self { image, dir })
    }

    /// Sets or clears the immutable attribute of `path` (which binds root too).
    fn immutable(&self, path: &std::path::Path, on: bool) {
        let status = std::process::Command::new("chattr")
            .arg(if on { "+i" } else { "-i" })
            .arg(path)
            .status()
            .unwrap();
        assert!(status.success(), "chattr on {}", path.display());
    }

    /// Fills the disk with a file; returns its path.
    fn fill(&self) -> std::path::PathBuf {
        use std::io::Write;
        let path = self.dir.path().join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        let block = vec![0u8; 64 * 1024];
        while file.write_all(&block).is_ok() {}
        let _ = file.flush();
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.dir.path())
            .status();
        let _ = &self.image;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_or_read_only_sqlite_disk() {
    let _serial = SERIAL.lock().await;
    let Some(disk) = SmallDisk::mount(16) else {
        eprintln!(
            "SKIPPED a_full_or_read_only_sqlite_disk: this process may not make and mount an ext4 image"
        );
        return;
    };
    let db = TestDb::create(Backend::Sqlite, "a_full_or_read_only_sqlite_disk").unwrap();
    let file = disk.dir.path().join("hadir.sqlite");
    let server = TestServer::start(&db, &ServerOptions::with_database(sqlite_url(&file)));
    server.create_employee("E1", "Ann").await;
    let mut acknowledged = 0i64;
    for _ in 0..5 {
        assert!(report_sighting(&server, &mut acknowledged).await.is_none());
    }

    // Full: refused with an error, the server up, reads still served.
    let filler = disk.fill();
    let mut refused = 0;
    for _ in 0..20 {
        if let Some(error) = report_sighting(&server, &mut acknowledged).await {
            refused += 1;
            assert!(error["message"].is_string(), "{error}");
        }
    }
    assert!(refused > 0, "a full disk refuses writes");
    let data = server
        .gql(ADMIN_TOKEN, "{ employees { employeeId } }", json!({}))
        .await;
    assert_eq!(data["employees"][0]["employeeId"], "E1");
    // Space comes back: service resumes.
    std::fs::remove_file(filler).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while report_sighting(&server, &mut acknowledged).await.is_some() {
        assert!(
            Instant::now() < deadline,
            "writes did not resume:\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Read-only (an immutable file, which binds root too): a clear error at start, no
    // crash; writable again: it starts with everything it acknowledged.
    let mut server = server;
    assert!(server.terminate().success());
    disk.immutable(&file, true);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hadir"))
        .arg("serve")
        .env("HADIR_DATABASE_URL", sqlite_url(&file))
        .env("HADIR_LISTEN", "127.0.0.1:0")
        .env("HADIR_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("HADIR_CAMERA_CONFIGS", db.dir.path())
        .current_dir(db.dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "a read-only database stops the start"
    );
    assert!(
        stderr.contains("read-only") && stderr.contains("hadir.sqlite"),
        "the error names the file: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    disk.immutable(&file, false);
    let server = TestServer::start(&db, &ServerOptions::with_database(sqlite_url(&file)));

    // Nothing acknowledged was lost.
    let data = server
        .gql(
            ADMIN_TOKEN,
            "{ visits(employeeId: \"E1\") { sightings } }",
            json!({}),
        )
        .await;
    let stored: i64 = data["visits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["sightings"].as_i64().unwrap())
        .sum();
    assert_eq!(
        stored, acknowledged,
        "every acknowledged sighting is stored"
    );
}

/// Reports a sighting of E1; None when acknowledged (and counted), else the error.
async fn report_sighting(server: &TestServer, acknowledged: &mut i64) -> Option<Value> {
    let (_, body) = server
        .post(
            Some(ADMIN_TOKEN),
            "mutation { reportSighting(input: {employeeId: \"E1\", cameraId: \"CAM1\"}) { seenAt } }",
            json!({}),
        )
        .await;
    if body["data"]["reportSighting"]["seenAt"].is_string() {
        *acknowledged += 1;
        None
    } else {
        Some(body["errors"][0].clone())
    }
}

on_both_backends!(
    a_camera_flapping_twenty_times,
    killed_ten_times_while_sightings_stream_in,
);
