//! Soak run (issue #10): hadir under a steady load of cameras, sightings, subscribers and
//! reconnects for an hour (or as long as asked), watched for anything that keeps growing.
//! Run: `cargo bench -p api --bench soak [-- --minutes 60 --cameras 2 --subscribers 40
//! --sightings-per-second 5 --postgres]` (`--postgres` runs on the PostgreSQL server that
//! `HADIR_TEST_POSTGRES_URL` names, in a database of its own; default SQLite).
//!
//! Starts the release `hadir` (log filter `info`, its default) with short presence
//! thresholds, enrols Barack Obama from `obama.jpg`, and then, all at once:
//! - cameras of the bench's own (MJPEG on 127.0.0.1, 5 frames/s) that show a face photo
//!   (`obama2.jpg`) and an empty scene alternately, sampled by hadir at 1 frame/s with the
//!   real models; now and then one camera goes away (its server and connections killed)
//!   for longer than `camera_timeout` and comes back on the same port;
//! - `reportSighting` at a steady rate for other employees, as edge devices send them;
//! - `graphql-transport-ws` subscribers (presence, detections, notifications, cameras) that
//!   each stay a random while and then leave, cleanly or by dropping the socket, and connect
//!   again.
//!
//! Every 10 s it samples the server (VmRSS, open file descriptors, database size with its
//! WAL, bytes of log written, `/metrics`' connections and event-bus receivers); every minute
//! it prints one line. At the end it prints a verdict from the second half of the run
//! (least-squares slopes and new highs, see `RSS_TOLERANCE`) and exits 1 when something
//! keeps growing beyond its tolerance, or when anything failed (a sighting refused, a
//! subscriber closed by the server). The database grows legitimately: visits and notifications are kept for
//! `retention_*_days` (days; the purge runs hourly), so within a run nothing is purged.

#[path = "../tests/common/mod.rs"]
mod common;

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use common::{
    ADMIN_TOKEN, Backend, ServerOptions, TestDb, TestServer,
    camera::{Camera, enrol, scene},
    create_token,
};
use futures_util::{SinkExt, StreamExt};
use rand::Rng;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest, http::HeaderValue};

/// Minutes the run lasts when `--minutes` is not given.
const DEFAULT_MINUTES: f64 = 60.0;
/// Cameras of the bench's own, when `--cameras` is not given.
const DEFAULT_CAMERAS: usize = 2;
/// WebSocket subscribers connected at any time (each leaving and coming back).
const DEFAULT_SUBSCRIBERS: usize = 40;
/// `reportSighting` calls per second.
const DEFAULT_SIGHTINGS_PER_SECOND: f64 = 5.0;
/// Employees the sightings are reported for (besides the enrolled E1).
const SIGHTED_EMPLOYEES: usize = 20;
/// Viewer tokens the subscribers share out (each a database token).
const VIEWER_TOKENS: usize = 4;
/// hadir's thresholds for the run: employees go OFFLINE after this (so statuses, visits and
/// EMPLOYEE_LOST notifications keep changing) ...
const LOST_AFTER_SECS: u64 = 6;
/// ... and cameras offline after this without frames.
const CAMERA_TIMEOUT_SECS: u64 = 8;
/// Frames per second hadir samples of each camera.
const CAMERA_SAMPLE_FPS: f64 = 1.0;
/// How long a camera shows the face, then the empty scene.
const SCENE_SECS: u64 = 7;
/// Every this long one camera (in turn) goes away ...
const CAMERA_DROP_EVERY: Duration = Duration::from_secs(75);
/// ... for this long (more than the camera timeout: hadir marks it offline).
const CAMERA_DOWN_FOR: Duration = Duration::from_secs(15);
/// A subscriber stays between these many seconds before it leaves.
const SUBSCRIBER_STAY_SECS: (u64, u64) = (3, 40);
/// How long a subscriber that left waits before it connects again.
const SUBSCRIBER_AWAY: Duration = Duration::from_millis(500);
/// What each subscriber subscribes to, one operation each.
const SUBSCRIPTIONS: [&str; 4] = [
    "subscription { employeeStatusChanged { employeeId presence { status lastSeen camera { cameraId } } } }",
    "subscription { employeeDetected { employee { employeeId } camera { cameraId } score } }",
    "subscription { notificationCreated { id type message } }",
    "subscription { cameraStatusChanged { cameraId status } }",
];
/// Sources of the log listed at the end.
const LOG_SOURCES_SHOWN: usize = 5;
/// How often the server is sampled.
const SAMPLE_EVERY: Duration = Duration::from_secs(10);
/// How often a line is printed.
const PRINT_EVERY: Duration = Duration::from_secs(60);
/// The verdict: a figure *keeps growing* when, over the second half of the run, its
/// least-squares slope is above its tolerance and it also rose above its first-half highest
/// by more than its margin (subscribers coming and going, cameras dropping, and the
/// allocator settling make every figure wobble). Resident memory: MB per minute, MB ...
const RSS_TOLERANCE: (f64, f64) = (1.0, 8.0);
/// ... open file descriptors: per minute, count (sockets come and go) ...
const FDS_TOLERANCE: (f64, f64) = (1.0, 8.0);
/// ... event-bus receivers (shared subscriptions and their tasks): per minute, count ...
const BUS_TOLERANCE: (f64, f64) = (1.0, 2.0);
/// ... the SQLite WAL (checkpointed back to about 4 MB): MB per minute, MB ...
const WAL_TOLERANCE: (f64, f64) = (1.0, 4.0);
/// ... and the log volume per minute (the same load writes the same log), as fractions of
/// its mean over the second half: per minute, and of the first half's highest.
const LOG_RATE_TOLERANCE: (f64, f64) = (0.1, 0.5);

struct Args {
    minutes: f64,
    cameras: usize,
    subscribers: usize,
    sightings_per_second: f64,
    backend: Backend,
}

fn args() -> anyhow::Result<Args> {
    let mut args = Args {
        minutes: DEFAULT_MINUTES,
        cameras: DEFAULT_CAMERAS,
        subscribers: DEFAULT_SUBSCRIBERS,
        sightings_per_second: DEFAULT_SIGHTINGS_PER_SECOND,
        backend: Backend::Sqlite,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--minutes" => args.minutes = value()?.parse()?,
            "--cameras" => args.cameras = value()?.parse()?,
            "--subscribers" => args.subscribers = value()?.parse()?,
            "--sightings-per-second" => args.sightings_per_second = value()?.parse()?,
            "--postgres" => args.backend = Backend::Postgres,
            "--bench" => {}
            other => bail!("unknown argument {other}"),
        }
    }
    anyhow::ensure!(args.minutes > 0.0 && args.sightings_per_second > 0.0);
    Ok(args)
}

/// What the load has done so far.
#[derive(Default)]
struct Counters {
    events: AtomicU64,
    sightings: AtomicU64,
    connects: AtomicU64,
    errors: AtomicU64,
    camera_drops: AtomicU64,
}

/// One sample of the server.
#[derive(Clone, Copy, Default)]
struct Sample {
    minutes: f64,
    rss_mb: f64,
    fds: f64,
    db_mb: f64,
    wal_mb: f64,
    log_bytes: f64,
    connections: f64,
    bus_receivers: f64,
    recognitions: f64,
    camera_reconnects: f64,
    events: u64,
    sightings: u64,
    connects: u64,
    errors: u64,
}

fn rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

fn open_fds(pid: u32) -> f64 {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0.0, |d| d.count() as f64)
}

fn file_mb(path: &std::path::Path) -> f64 {
    std::fs::metadata(path).map_or(0.0, |m| m.len() as f64 / 1e6)
}

/// The database's size and its WAL's, MB.
async fn database_mb(db: &TestDb) -> (f64, f64) {
    let sqlite = db.url.starts_with("sqlite:");
    match api::db::sqlite_path(&db.url).filter(|_| sqlite) {
        Some(path) => {
            let mut wal = path.as_os_str().to_owned();
            wal.push("-wal");
            (file_mb(path), file_mb(std::path::Path::new(&wal)))
        }
        None => {
            use sea_orm::{ConnectionTrait, Statement};
            let size = async {
                let conn = sea_orm::Database::connect(&db.url).await.ok()?;
                let row = conn
                    .query_one_raw(Statement::from_string(
                        conn.get_database_backend(),
                        "SELECT pg_database_size(current_database())::BIGINT AS size",
                    ))
                    .await
                    .ok()??;
                let size: i64 = row.try_get("", "size").ok()?;
                let _ = conn.close().await;
                Some(size as f64 / 1e6)
            };
            (size.await.unwrap_or(0.0), 0.0)
        }
    }
}

/// (minutes, value) points of one figure.
type Points = Vec<(f64, f64)>;

/// Least-squares slope of y over x.
fn slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    if points.len() < 2 {
        return 0.0;
    }
    let (mx, my) = points
        .iter()
        .fold((0.0, 0.0), |a, p| (a.0 + p.0 / n, a.1 + p.1 / n));
    let (mut num, mut den) = (0.0, 0.0);
    for (x, y) in points {
        num += (x - mx) * (y - my);
        den += (x - mx) * (x - mx);
    }
    if den == 0.0 { 0.0 } else { num / den }
}

/// One subscriber, for ever: connect, subscribe, stay a while, leave, come back.
async fn subscriber(addr: String, token: String, counters: Arc<Counters>) {
    loop {
        let stay = Duration::from_secs(
            rand::rng().random_range(SUBSCRIBER_STAY_SECS.0..=SUBSCRIBER_STAY_SECS.1),
        );
        let clean = rand::rng().random_bool(0.5);
        if let Err(error) = subscribe_once(&addr, &token, stay, clean, &counters).await {
            counters.errors.fetch_add(1, Ordering::Relaxed);
            eprintln!("subscriber: {error:#}");
        }
        tokio::time::sleep(SUBSCRIBER_AWAY).await;
    }
}

async fn subscribe_once(
    addr: &str,
    token: &str,
    stay: Duration,
    clean: bool,
    counters: &Counters,
) -> anyhow::Result<()> {
    let mut request = format!("ws://{addr}/graphql").into_client_request()?;
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
    let text = |v: Value| Message::Text(v.to_string().into());
    socket
        .send(text(json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } })))
        .await?;
    let mut acked = false;
    let until = tokio::time::Instant::now() + stay;
    loop {
        let message = match tokio::time::timeout_at(until, socket.next()).await {
            Err(_) => break,
            Ok(None) => bail!("the server closed the socket"),
            Ok(Some(message)) => message?,
        };
        let Message::Text(body) = message else {
            if let Message::Close(frame) = message {
                bail!("closed by the server: {frame:?}");
            }
            continue;
        };
        let value: Value = serde_json::from_str(&body)?;
        match value["type"].as_str() {
            Some("connection_ack") => {
                acked = true;
                counters.connects.fetch_add(1, Ordering::Relaxed);
                for (i, query) in SUBSCRIPTIONS.iter().enumerate() {
                    socket
                        .send(text(json!({ "id": i.to_string(), "type": "subscribe", "payload": { "query": query } })))
                        .await?;
                }
            }
            Some("next") => {
                counters.events.fetch_add(1, Ordering::Relaxed);
            }
            Some("ping") => socket.send(text(json!({ "type": "pong" }))).await?,
            Some("error") => bail!("subscription error: {value}"),
            _ => {}
        }
    }
    anyhow::ensure!(acked, "never acknowledged within {stay:?}");
    if clean {
        for i in 0..SUBSCRIPTIONS.len() {
            socket
                .send(text(json!({ "id": i.to_string(), "type": "complete" })))
                .await?;
        }
        socket.close(None).await?;
    }
    // Otherwise dropped: the TCP connection ends without a close frame.
    Ok(())
}

/// Reports sightings at a steady rate, for ever.
async fn sightings(
    http: reqwest::Client,
    url: String,
    per_second: f64,
    cameras: usize,
    counters: Arc<Counters>,
) {
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / per_second));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut i = 0usize;
    loop {
        ticker.tick().await;
        let employee = format!("E{}", 2 + i % SIGHTED_EMPLOYEES);
        let camera = format!("CAM{}", 1 + i % cameras.max(1));
        i += 1;
        let answer = async {
            let response = http
                .post(&url)
                .bearer_auth(ADMIN_TOKEN)
                .json(&json!({
                    "query": "mutation($i: SightingInput!) { reportSighting(input: $i) { status } }",
                    "variables": { "i": { "employeeId": employee, "cameraId": camera, "score": 0.7 } },
                }))
                .send()
                .await?;
            let status = response.status().as_u16();
            anyhow::Ok((status, response.json::<Value>().await?))
        };
        let (status, body) = answer.await.unwrap_or_else(|e| (0, json!(e.to_string())));
        if status == 200 && body.get("errors").is_none() {
            counters.sightings.fetch_add(1, Ordering::Relaxed);
        } else {
            counters.errors.fetch_add(1, Ordering::Relaxed);
            eprintln!("reportSighting: {status} {body}");
        }
    }
}

/// The cameras: each alternates the face and the empty scene; one at a time goes away for a
/// while now and then and comes back on its port.
async fn cameras(mut cams: Vec<(Camera, Arc<Mutex<Vec<u8>>>)>, counters: Arc<Counters>) {
    let (face, empty) = (scene(Some("obama2.jpg")), scene(None));
    let started = Instant::now();
    let mut next_drop = started + CAMERA_DROP_EVERY;
    let mut down: Option<(usize, Instant)> = None;
    let mut turn = 0usize;
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = Instant::now();
        let phase = now.duration_since(started).as_secs();
        for (i, (camera, _)) in cams.iter().enumerate() {
            let showing_face = ((phase + i as u64 * 3) / SCENE_SECS).is_multiple_of(2);
            camera.show(if showing_face { &face } else { &empty });
        }
        if let Some((i, since)) = down
            && now.duration_since(since) >= CAMERA_DOWN_FOR
        {
            let (camera, showing) = &cams[i];
            let restarted = Camera::start(camera.port, showing.clone()).await;
            cams[i].0 = restarted;
            down = None;
        }
        if down.is_none() && now >= next_drop && !cams.is_empty() {
            let i = turn % cams.len();
            turn += 1;
            cams[i].0.kill();
            counters.camera_drops.fetch_add(1, Ordering::Relaxed);
            down = Some((i, now));
            next_drop = now + CAMERA_DROP_EVERY;
        }
    }
}

/// From `/metrics`: connections open, event-bus receivers, and (summed over the cameras)
/// faces recognised and camera reconnects.
async fn gauges(server: &TestServer) -> (f64, f64, f64, f64) {
    let metrics = server.metrics().await;
    let sum = |name: &str| -> f64 {
        metrics
            .0
            .lines()
            .filter(|l| l.starts_with(&format!("{name}{{")))
            .filter_map(|l| l.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()))
            .sum()
    };
    (
        metrics.get("hadir_http_connections").unwrap_or(f64::NAN),
        metrics.get("hadir_event_subscribers").unwrap_or(f64::NAN),
        sum("hadir_recognitions_total"),
        sum("hadir_camera_reconnects_total"),
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<std::process::ExitCode> {
    let args = args()?;
    let db = TestDb::create(args.backend, "soak").context(
        "--postgres needs HADIR_TEST_POSTGRES_URL (a server whose user may create databases)",
    )?;
    // The cameras first: hadir connects to them as soon as they are created.
    let mut cams = Vec::new();
    for _ in 0..args.cameras {
        let showing = Arc::new(Mutex::new(scene(None)));
        cams.push((Camera::start(0, showing.clone()).await, showing));
    }
    let options = ServerOptions {
        lost_after_secs: LOST_AFTER_SECS,
        camera_timeout_secs: CAMERA_TIMEOUT_SECS,
        monitor_interval_ms: 500,
        // A folder without cameras: the bench's own are created through the API.
        camera_dir: Some(db.dir.path().join("no-cameras")),
        extra_env: vec![
            ("HADIR_LOG".into(), "info".into()),
            ("HADIR_RETENTION_VISITS_DAYS".into(), "1".into()),
            ("HADIR_RETENTION_NOTIFICATIONS_DAYS".into(), "1".into()),
            ("HADIR_RETENTION_ATTENDANCE_DAYS".into(), "1".into()),
        ],
        ..Default::default()
    };
    std::fs::create_dir_all(db.dir.path().join("no-cameras"))?;
    let server = TestServer::start(&db, &options);
    let pid = server.child.id();
    server.create_employee("E1", "Barack Obama").await;
    enrol(&server, "E1", "obama.jpg").await;
    for i in 0..SIGHTED_EMPLOYEES {
        server
            .create_employee(&format!("E{}", i + 2), &format!("Employee {}", i + 2))
            .await;
    }
    for (i, (camera, _)) in cams.iter().enumerate() {
        server
            .gql(
                ADMIN_TOKEN,
                "mutation($i: CameraInput!) { createCamera(input: $i) { cameraId } }",
                json!({ "i": { "cameraId": format!("CAM{}", i + 1), "name": format!("Camera {}", i + 1), "streamUrl": format!("http://127.0.0.1:{}/stream.mjpg", camera.port), "sampleFps": CAMERA_SAMPLE_FPS } }),
            )
            .await;
    }
    let mut tokens = Vec::new();
    for _ in 0..VIEWER_TOKENS {
        tokens.push(create_token(&server, "VIEWER").await);
    }

    let counters = Arc::new(Counters::default());
    let mut load = vec![
        tokio::spawn(cameras(cams, counters.clone())),
        tokio::spawn(sightings(
            server.http.clone(),
            server.url("/graphql"),
            args.sightings_per_second,
            args.cameras,
            counters.clone(),
        )),
    ];
    for i in 0..args.subscribers {
        load.push(tokio::spawn(subscriber(
            server.addr.clone(),
            tokens[i % tokens.len()].clone(),
            counters.clone(),
        )));
    }

    println!(
        "soak: {:.0} min, hadir (release, {}), {} MJPEG cameras at {CAMERA_SAMPLE_FPS} frame/s (face/empty every {SCENE_SECS} s; one away for {} s every {} s), {} reportSighting/s, {} WebSocket subscribers staying {}–{} s each; lost_after {LOST_AFTER_SECS} s, camera_timeout {CAMERA_TIMEOUT_SECS} s, retention 1 day (purged hourly: nothing is purged within the run)",
        args.minutes,
        if args.backend == Backend::Sqlite {
            "SQLite"
        } else {
            "PostgreSQL"
        },
        args.cameras,
        CAMERA_DOWN_FOR.as_secs(),
        CAMERA_DROP_EVERY.as_secs(),
        args.sightings_per_second,
        args.subscribers,
        SUBSCRIBER_STAY_SECS.0,
        SUBSCRIBER_STAY_SECS.1,
    );
    println!(
        "  {:>5}  {:>7}  {:>5}  {:>7}  {:>7}  {:>9}  {:>6}  {:>6}  {:>8}  {:>9}  {:>6}  {:>6}  {:>7}  {:>6}",
        "min",
        "RSS MB",
        "fds",
        "db MB",
        "wal MB",
        "log B/min",
        "conns",
        "bus rx",
        "events",
        "sightings",
        "joins",
        "recog",
        "cam rec",
        "errors"
    );
    println!(
        "  (db MB: file + WAL; log B/min: log written per minute; conns: connections open; bus rx: event-bus receivers; then, in that minute: events delivered to subscribers, sightings acknowledged, subscriber joins, faces recognised, camera reconnects, errors)"
    );
    let log_path = server.log_path.clone();
    let started = Instant::now();
    let duration = Duration::from_secs_f64(args.minutes * 60.0);
    let mut samples: Vec<Sample> = Vec::new();
    let mut printed = Sample::default();
    let mut next_print = PRINT_EVERY;
    let mut ticker = tokio::time::interval(SAMPLE_EVERY);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        let elapsed = started.elapsed();
        let (db_mb, wal_mb) = database_mb(&db).await;
        let (connections, bus_receivers, recognitions, camera_reconnects) = gauges(&server).await;
        let sample = Sample {
            minutes: elapsed.as_secs_f64() / 60.0,
            rss_mb: rss_mb(pid),
            fds: open_fds(pid),
            db_mb,
            wal_mb,
            log_bytes: file_mb(&log_path) * 1e6,
            connections,
            bus_receivers,
            recognitions,
            camera_reconnects,
            events: counters.events.load(Ordering::Relaxed),
            sightings: counters.sightings.load(Ordering::Relaxed),
            connects: counters.connects.load(Ordering::Relaxed),
            errors: counters.errors.load(Ordering::Relaxed),
        };
        samples.push(sample);
        if elapsed >= next_print || elapsed >= duration {
            let span = (sample.minutes - printed.minutes).max(1e-9);
            println!(
                "  {:>5.1}  {:>7.1}  {:>5.0}  {:>7.2}  {:>7.2}  {:>9.0}  {:>6.0}  {:>6.0}  {:>8}  {:>9}  {:>6}  {:>6.0}  {:>7.0}  {:>6}",
                sample.minutes,
                sample.rss_mb,
                sample.fds,
                sample.db_mb + sample.wal_mb,
                sample.wal_mb,
                (sample.log_bytes - printed.log_bytes) / span,
                sample.connections,
                sample.bus_receivers,
                sample.events - printed.events,
                sample.sightings - printed.sightings,
                sample.connects - printed.connects,
                sample.recognitions - printed.recognitions,
                sample.camera_reconnects - printed.camera_reconnects,
                sample.errors - printed.errors,
            );
            printed = sample;
            next_print += PRINT_EVERY;
        }
        if elapsed >= duration {
            break;
        }
        if server_gone(pid) {
            bail!("hadir exited; its log:\n{}", server.log());
        }
    }
    print_log_sources(&log_path);
    let ok = verdict(&samples, counters.camera_drops.load(Ordering::Relaxed));
    // The load stops before the server does (its clients would report the server gone).
    for task in load {
        task.abort();
    }
    // Returned, not exited: the server, the PostgreSQL database and the temporary folder
    // are dropped (killed, dropped, removed) on the way out.
    drop(server);
    drop(db);
    Ok(if ok {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    })
}

/// `line` without ANSI escape sequences (`ESC [ … letter`).
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Where the log's bytes came from: the biggest (level, target) pairs of the whole run.
fn print_log_sources(path: &std::path::Path) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut by_source: std::collections::HashMap<String, (usize, usize)> = Default::default();
    for line in text.lines() {
        // `2026-12-01T22:00:00.000000Z  INFO target::path: message`, maybe with ANSI colours.
        let plain = strip_ansi(line);
        let mut words = plain.split_whitespace().skip(1);
        let level = words.next().unwrap_or("?");
        let target = words.next().unwrap_or("?").trim_end_matches(':');
        let target = target.split("::").take(2).collect::<Vec<_>>().join("::");
        let entry = by_source.entry(format!("{level} {target}")).or_default();
        entry.0 += 1;
        entry.1 += line.len() + 1;
    }
    let mut sources: Vec<_> = by_source.into_iter().collect();
    sources.sort_by_key(|(_, (_, bytes))| std::cmp::Reverse(*bytes));
    let listed: Vec<String> = sources
        .iter()
        .take(LOG_SOURCES_SHOWN)
        .map(|(source, (lines, bytes))| format!("{source} {lines} lines {bytes} B"))
        .collect();
    println!(
        "log: {} B in {} lines over the run; the most from: {}",
        text.len(),
        text.lines().count(),
        listed.join("; ")
    );
}

fn server_gone(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit_once(')')
                .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
        })
        .unwrap_or(true)
}

/// Prints the verdict over the second half of the samples; false when something keeps
/// growing (see [`RSS_TOLERANCE`]) or anything failed.
fn verdict(samples: &[Sample], camera_drops: u64) -> bool {
    let Some(last) = samples.last() else {
        println!("verdict: no samples");
        return false;
    };
    let half = last.minutes / 2.0;
    let series = |f: &dyn Fn(&Sample) -> f64| -> (Points, Points) {
        samples
            .iter()
            .map(|s| (s.minutes, f(s)))
            .partition(|(m, _)| *m < half)
    };
    // The log's rate per minute between consecutive samples.
    let log_rates: Points = samples
        .windows(2)
        .map(|w| {
            (
                w[1].minutes,
                (w[1].log_bytes - w[0].log_bytes) / (w[1].minutes - w[0].minutes),
            )
        })
        .collect();
    let (log_first, log_second): (Points, Points) =
        log_rates.into_iter().partition(|(m, _)| *m < half);
    let log_mean =
        (log_second.iter().map(|p| p.1).sum::<f64>() / log_second.len().max(1) as f64).max(1.0);
    let log_tolerance = (
        LOG_RATE_TOLERANCE.0 * log_mean,
        LOG_RATE_TOLERANCE.1 * log_mean,
    );
    let checks = [
        (
            "resident memory",
            series(&|s| s.rss_mb),
            RSS_TOLERANCE,
            "MB",
        ),
        (
            "open file descriptors",
            series(&|s| s.fds),
            FDS_TOLERANCE,
            "",
        ),
        (
            "event-bus receivers",
            series(&|s| s.bus_receivers),
            BUS_TOLERANCE,
            "",
        ),
        ("WAL (SQLite)", series(&|s| s.wal_mb), WAL_TOLERANCE, "MB"),
        (
            "log volume per minute",
            (log_first, log_second),
            log_tolerance,
            "B/min",
        ),
    ];
    println!(
        "verdict over the second half ({half:.1}–{:.1} min; {camera_drops} camera drops in the run):",
        last.minutes,
    );
    let mut ok = true;
    for (name, (first, second), (slope_tolerance, margin), unit) in checks {
        let trend = slope(&second);
        let highest = |points: &[(f64, f64)]| points.iter().map(|p| p.1).fold(f64::MIN, f64::max);
        let rise = highest(&second) - highest(&first).max(second.first().map_or(0.0, |p| p.1));
        let grows = trend > slope_tolerance && rise > margin;
        ok &= !grows;
        println!(
            "  {name:<22} slope {trend:>+10.2} {unit}/min (tolerance {slope_tolerance:.2}), above the first half's highest by {rise:>+9.2} {unit} (margin {margin:.2}): {}",
            if grows { "KEEPS GROWING" } else { "steady" }
        );
    }
    let (_, db) = series(&|s| s.db_mb + s.wal_mb);
    println!(
        "  database (file + WAL)  slope {:>+10.3} MB/min: grows legitimately (visits, notifications and attendance are kept for days; none is old enough to purge in the run)",
        slope(&db)
    );
    if last.errors > 0 {
        ok = false;
        println!(
            "  {} errors during the run (printed above as they happened): expected none",
            last.errors
        );
    }
    println!(
        "verdict: {}",
        if ok {
            "nothing keeps growing, no errors"
        } else {
            "FAILED (see above)"
        }
    );
    ok
}
