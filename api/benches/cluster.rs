//! Benchmark: three `hadir serve` nodes on one PostgreSQL (release builds; the database and
//! the clients on 127.0.0.1). Run: `cargo bench -p api --bench cluster [-- PART…]` (needs
//! `HADIR_TEST_POSTGRES_URL`, e.g. `postgres://postgres@127.0.0.1:5432/test`); the parts
//! are `fanout`, `throughput`, `gallery`, `failover` and `idle` (default: all).
//!
//! Prints, each against its target:
//! - cross-node fan-out: `reportSighting` on b at 100/s for 30 s, `employeeDetected` at 100
//!   subscribers on a (relayed) and 100 on b (local), side by side: the relay's extra p50
//!   and p99;
//! - throughput: sightings through b and c as fast as they are accepted for 20 s, delivered
//!   on a (missing = 0), then `reportUnknownFace` the same way (relay only), with the peak of
//!   `pg_notification_queue_usage()`;
//! - failover: the owner of cameras killed, 5 rounds at a 3 s lease and at the default
//!   15 s: seconds until each of its cameras delivers frames again;
//! - gallery: `enrollFace` on a until b's gallery has the face (p99);
//! - idle: database transactions per second, one node alone (the leader) and each follower.

#[path = "../tests/common/mod.rs"]
mod common;

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use chrono::{DateTime, TimeDelta, Utc};
use common::{
    ADMIN_TOKEN, Backend, ServerOptions, TestDb, TestServer,
    camera::{Camera, enrol, scene, subscribe_to},
};
use futures_util::StreamExt;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::{Value, json};

/// Subscribers per node in the fan-out.
const SUBSCRIBERS: usize = 100;
/// Sightings per second in the fan-out, and for how long.
const FANOUT_RATE: u64 = 100;
const FANOUT_SECS: u64 = 30;
/// How long the throughput runs last.
const THROUGHPUT_SECS: u64 = 20;
/// Failover rounds per lease.
const FAILOVER_ROUNDS: usize = 5;
/// Enrolments timed.
const GALLERY_ROUNDS: usize = 20;
/// How long idle nodes are watched.
const IDLE_SECS: u64 = 30;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn summary(values: &mut [f64]) -> (f64, f64, f64) {
    values.sort_by(|a, b| a.total_cmp(b));
    (
        percentile(values, 50.0),
        percentile(values, 99.0),
        values.last().copied().unwrap_or(f64::NAN),
    )
}

fn node(id: &str, folder: &std::path::Path, lease: Option<u64>, timeout: u64) -> ServerOptions {
    ServerOptions {
        lost_after_secs: 3_600,
        camera_timeout_secs: timeout,
        // The default, not the tests' quicker monitor: the idle figures are production's.
        monitor_interval_ms: api::presence::settings::DEFAULT_MONITOR_INTERVAL_MS,
        lease_secs: lease,
        node_id: Some(id.to_owned()),
        camera_dir: Some(folder.to_owned()),
        extra_env: vec![("HADIR_LOG".into(), "warn".into())],
        ..Default::default()
    }
}

/// The milliseconds of a `seenAt` as the API writes it.
fn millis(text: &str) -> i64 {
    DateTime::parse_from_rfc3339(text).map_or(0, |t| t.timestamp_millis())
}

/// Subscribers to `employeeDetected` on `server`, recording each arrival's latency from the
/// send time of its `seenAt` (in `sent`).
async fn detection_subscribers(
    server: &TestServer,
    count: usize,
    sent: Arc<Mutex<HashMap<i64, Instant>>>,
) -> (Arc<Mutex<Vec<f64>>>, Vec<tokio::task::JoinHandle<()>>) {
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for _ in 0..count {
        let client = server.ws(ADMIN_TOKEN).await;
        let mut stream =
            subscribe_to(&client, "subscription { employeeDetected { seenAt } }").await;
        let (sent, latencies) = (sent.clone(), latencies.clone());
        tasks.push(tokio::spawn(async move {
            let _client = client;
            while let Some(Ok(item)) = stream.next().await {
                let at = Instant::now();
                let key = millis(
                    item["employeeDetected"]["seenAt"]
                        .as_str()
                        .unwrap_or_default(),
                );
                if let Some(sent) = sent.lock().unwrap().get(&key) {
                    latencies
                        .lock()
                        .unwrap()
                        .push(at.duration_since(*sent).as_secs_f64() * 1_000.0);
                }
            }
        }));
    }
    (latencies, tasks)
}

async fn sighting(server: &TestServer, employee: &str, seen_at: DateTime<Utc>) -> bool {
    let (status, body) = server
        .post(
            Some(ADMIN_TOKEN),
            "mutation($i: SightingInput!) { reportSighting(input: $i) { seenAt } }",
            json!({ "i": { "employeeId": employee, "cameraId": "DESK", "seenAt": seen_at.to_rfc3339() } }),
        )
        .await;
    status == 200 && body["errors"].is_null()
}

async fn fan_out(a: &TestServer, b: &TestServer) {
    let sent: Arc<Mutex<HashMap<i64, Instant>>> = Arc::default();
    let (remote, remote_tasks) = detection_subscribers(a, SUBSCRIBERS, sent.clone()).await;
    let (local, local_tasks) = detection_subscribers(b, SUBSCRIBERS, sent.clone()).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let start = Utc::now() - TimeDelta::seconds(FANOUT_SECS as i64 + 5);
    let mut ticker = tokio::time::interval(Duration::from_millis(1_000 / FANOUT_RATE));
    let total = FANOUT_RATE * FANOUT_SECS;
    let mut sends = Vec::new();
    for i in 0..total {
        ticker.tick().await;
        // Distinct, increasing times (in the recent past), each a key of its own.
        let seen_at = start + TimeDelta::milliseconds(i as i64 * 10);
        let employee = format!("E{}", i % 20);
        sent.lock()
            .unwrap()
            .insert(seen_at.timestamp_millis(), Instant::now());
        let b = (b.url(""), b.http.clone());
        sends.push(tokio::spawn(async move {
            let _ = b
                .1
                .post(format!("{}/graphql", b.0))
                .bearer_auth(ADMIN_TOKEN)
                .json(&json!({
                    "query": "mutation($i: SightingInput!) { reportSighting(input: $i) { seenAt } }",
                    "variables": { "i": { "employeeId": employee, "cameraId": "DESK", "seenAt": seen_at.to_rfc3339() } },
                }))
                .send()
                .await;
        }));
    }
    futures_util::future::join_all(sends).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (mut r, mut l) = (
        remote.lock().unwrap().clone(),
        local.lock().unwrap().clone(),
    );
    let (r_count, l_count) = (r.len(), l.len());
    let (r50, r99, rmax) = summary(&mut r);
    let (l50, l99, lmax) = summary(&mut l);
    println!(
        "fan-out: {total} sightings on b at {FANOUT_RATE}/s, {SUBSCRIBERS} subscribers on each node"
    );
    println!(
        "  on b (local):   {l_count} events, p50 {l50:.1} ms, p99 {l99:.1} ms, max {lmax:.1} ms"
    );
    println!(
        "  on a (relayed): {r_count} events, p50 {r50:.1} ms, p99 {r99:.1} ms, max {rmax:.1} ms"
    );
    println!(
        "  the relay's extra: p50 {:.1} ms (target ≤ 10), p99 {:.1} ms (target ≤ 50)",
        r50 - l50,
        r99 - l99
    );
    for task in remote_tasks.into_iter().chain(local_tasks) {
        task.abort();
    }
}

/// Polls `pg_notification_queue_usage()` every 100 ms until stopped; the peak.
fn queue_watch(admin: DatabaseConnection) -> (Arc<AtomicU64>, tokio::task::JoinHandle<()>) {
    let peak = Arc::new(AtomicU64::new(0));
    let seen = peak.clone();
    let task = tokio::spawn(async move {
        loop {
            if let Ok(Some(row)) = admin
                .query_one_raw(sea_orm::Statement::from_string(
                    sea_orm::DbBackend::Postgres,
                    "SELECT pg_notification_queue_usage() AS u",
                ))
                .await
                && let Ok(usage) = row.try_get::<f64>("", "u")
            {
                seen.fetch_max((usage * 1e6) as u64, Ordering::Relaxed);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    (peak, task)
}

/// Sends `query` through `servers` as fast as they accept it for `secs`, from 8 workers per
/// server, one request at a time each (`variables` gets worker × 1,000,000 + its count);
/// counts what was accepted.
async fn flood(
    servers: &[&TestServer],
    query: &'static str,
    variables: fn(u64) -> Value,
    secs: u64,
) -> usize {
    let accepted = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut workers = Vec::new();
    for (index, server) in servers.iter().enumerate() {
        for worker in 0..8u64 {
            let (url, http, accepted) = (
                server.url("/graphql"),
                server.http.clone(),
                accepted.clone(),
            );
            let offset = (index as u64 * 8 + worker) * 1_000_000;
            workers.push(tokio::spawn(async move {
                let mut n = 0;
                while Instant::now() < deadline {
                    n += 1;
                    let response = http
                        .post(&url)
                        .bearer_auth(ADMIN_TOKEN)
                        .json(&json!({ "query": query, "variables": variables(offset + n) }))
                        .send()
                        .await;
                    if let Ok(response) = response
                        && response.status().is_success()
                        && let Ok(body) = response.json::<Value>().await
                        && body["errors"].is_null()
                    {
                        accepted.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }));
        }
    }
    futures_util::future::join_all(workers).await;
    accepted.load(Ordering::Relaxed)
}

async fn count_events(
    server: &TestServer,
    query: &'static str,
) -> (Arc<AtomicUsize>, tokio::task::JoinHandle<()>) {
    let client = server.ws(ADMIN_TOKEN).await;
    let mut stream = subscribe_to(&client, query).await;
    let count = Arc::new(AtomicUsize::new(0));
    let counting = count.clone();
    let task = tokio::spawn(async move {
        let _client = client;
        while let Some(Ok(_)) = stream.next().await {
            counting.fetch_add(1, Ordering::Relaxed);
        }
    });
    (count, task)
}

async fn throughput(a: &TestServer, b: &TestServer, c: &TestServer, admin: DatabaseConnection) {
    let (peak, watch) = queue_watch(admin);
    let (detected, task) = count_events(a, "subscription { employeeDetected { seenAt } }").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let start = Instant::now();
    let accepted = flood(
        &[b, c],
        "mutation($i: SightingInput!) { reportSighting(input: $i) { seenAt } }",
        // Each worker its own employee, seen now: every sighting is current (one seen
        // before what is known would be history only, with no event).
        |n| json!({ "i": { "employeeId": format!("E{}", n / 1_000_000), "cameraId": "DESK" } }),
        THROUGHPUT_SECS,
    )
    .await;
    let took = start.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let got = detected.load(Ordering::Relaxed);
    task.abort();
    println!(
        "throughput: {accepted} sightings accepted through b and c in {took:.0} s ({:.0}/s); \
         employeeDetected on a: {got} ({:.0}/s, target ≥ 300/s), missing {}",
        accepted as f64 / took,
        got as f64 / took,
        accepted.saturating_sub(got)
    );
    let (unknown, task) = count_events(a, "subscription { unknownFaceDetected { seenAt } }").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let start = Instant::now();
    let accepted = flood(
        &[b, c],
        "mutation($i: UnknownFaceInput!) { reportUnknownFace(input: $i) }",
        |_| json!({ "i": { "cameraId": "DESK" } }),
        THROUGHPUT_SECS,
    )
    .await;
    let took = start.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let got = unknown.load(Ordering::Relaxed);
    task.abort();
    watch.abort();
    println!(
        "throughput (relay only): {accepted} unknown faces through b and c ({:.0}/s); on a: {got} \
         ({:.0}/s, target ≥ 1,000/s), missing {}; peak pg_notification_queue_usage {:.6}",
        accepted as f64 / took,
        got as f64 / took,
        accepted.saturating_sub(got),
        peak.load(Ordering::Relaxed) as f64 / 1e6
    );
}

/// Each camera's holder, as `server` says.
async fn holders(server: &TestServer) -> HashMap<String, String> {
    let data = server
        .gql(
            ADMIN_TOKEN,
            "{ cameras { cameraId node { nodeId } } }",
            json!({}),
        )
        .await;
    data["cameras"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| {
            Some((
                c["cameraId"].as_str()?.to_owned(),
                c["node"]["nodeId"].as_str()?.to_owned(),
            ))
        })
        .collect()
}

async fn failover(lease: Option<u64>, timeout: u64, target: f64) {
    let db = TestDb::create(Backend::Postgres, "cluster_bench_failover").expect("PostgreSQL");
    let folder = db.dir.path().join("cameras");
    std::fs::create_dir_all(&folder).unwrap();
    let mut cameras = Vec::new();
    for _ in 0..6 {
        cameras.push(Camera::start(0, Arc::new(Mutex::new(scene(None)))).await);
    }
    let ids = ["a", "b", "c"];
    let mut servers: Vec<TestServer> = ids
        .iter()
        .map(|id| TestServer::start(&db, &node(id, &folder, lease, timeout)))
        .collect();
    for (i, camera) in cameras.iter().enumerate() {
        servers[0]
            .gql(
                ADMIN_TOKEN,
                "mutation($i: CameraInput!) { createCamera(input: $i) { cameraId } }",
                json!({ "i": { "cameraId": format!("C{i}"), "name": format!("C{i}"), "streamUrl": format!("http://127.0.0.1:{}/v.mjpg", camera.port) } }),
            )
            .await;
    }
    let mut times = Vec::new();
    for round in 0..FAILOVER_ROUNDS {
        // Settle: every camera read.
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let now = holders(&servers[0]).await;
            if now.len() == cameras.len() && cameras.iter().all(|c| c.clients.now() == 1) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "round {round}: cameras not settled"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let victim = round % servers.len();
        let now = holders(&servers[(victim + 1) % servers.len()]).await;
        let of_victim: Vec<usize> = now
            .iter()
            .filter(|(_, holder)| holder.as_str() == ids[victim])
            .map(|(id, _)| id[1..].parse().unwrap())
            .collect();
        let before: Vec<usize> = of_victim
            .iter()
            .map(|&i| cameras[i].clients.total())
            .collect();
        let killed = Instant::now();
        servers[victim].kill();
        let mut pending: Vec<(usize, usize)> = of_victim.into_iter().zip(before).collect();
        while !pending.is_empty() && killed.elapsed() < Duration::from_secs(120) {
            pending.retain(|&(i, before)| {
                if cameras[i].clients.total() > before && cameras[i].clients.now() == 1 {
                    times.push(killed.elapsed().as_secs_f64());
                    false
                } else {
                    true
                }
            });
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        servers[victim] = TestServer::start(&db, &node(ids[victim], &folder, lease, timeout));
    }
    let (p50, p99, max) = summary(&mut times);
    println!(
        "failover at a {} s lease ({FAILOVER_ROUNDS} rounds, {} cameras moved): median {p50:.1} s, \
         p99 {p99:.1} s, max {max:.1} s (target ≤ {target} s)",
        lease.unwrap_or(15),
        times.len()
    );
}

async fn gallery(a: &TestServer, b: &TestServer) {
    let mut waits = Vec::new();
    for round in 0..GALLERY_ROUNDS {
        let id = format!("G{round}");
        a.create_employee(&id, &format!("Gallery {round}")).await;
        let before = b.metrics().await.value("hadir_enrolled_embeddings");
        let start = Instant::now();
        enrol(
            a,
            &id,
            if round % 2 == 0 {
                "obama.jpg"
            } else {
                "obama2.jpg"
            },
        )
        .await;
        let enrolled = Instant::now();
        loop {
            if b.metrics().await.value("hadir_enrolled_embeddings") > before {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "b never saw {id}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        waits.push(enrolled.elapsed().as_secs_f64() * 1_000.0);
    }
    let (p50, p99, max) = summary(&mut waits);
    println!(
        "gallery: enrollFace on a → b's gallery, {GALLERY_ROUNDS} rounds: p50 {p50:.0} ms, p99 \
         {p99:.0} ms (target ≤ 500), max {max:.0} ms"
    );
}

/// Transactions committed or rolled back in `database` so far.
async fn transactions(admin: &DatabaseConnection, database: &str) -> f64 {
    let row = admin
        .query_one_raw(sea_orm::Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "SELECT (xact_commit + xact_rollback)::float8 AS n FROM pg_stat_database WHERE datname = $1",
            [database.into()],
        ))
        .await
        .ok()
        .flatten();
    row.and_then(|r| r.try_get::<f64>("", "n").ok())
        .unwrap_or(0.0)
}

async fn idle(admin: &DatabaseConnection) {
    let db = TestDb::create(Backend::Postgres, "cluster_bench_idle").expect("PostgreSQL");
    let name = url::Url::parse(&db.url)
        .unwrap()
        .path()
        .trim_start_matches('/')
        .to_owned();
    let folder = db.dir.path().join("cameras");
    std::fs::create_dir_all(&folder).unwrap();
    let rate = |admin: &DatabaseConnection| {
        let (admin, name) = (admin.clone(), name.clone());
        async move {
            // The statistics are flushed about every second: measure across a long window.
            tokio::time::sleep(Duration::from_secs(5)).await;
            let before = transactions(&admin, &name).await;
            tokio::time::sleep(Duration::from_secs(IDLE_SECS)).await;
            (transactions(&admin, &name).await - before) / IDLE_SECS as f64
        }
    };
    let a = TestServer::start(&db, &node("a", &folder, None, 30));
    let alone = rate(admin).await;
    let b = TestServer::start(&db, &node("b", &folder, None, 30));
    let c = TestServer::start(&db, &node("c", &folder, None, 30));
    let three = rate(admin).await;
    println!(
        "idle (no camera, no client), default lease: the leader alone {alone:.2} transactions/s \
         (target ≤ 4); with two followers {three:.2}/s in all, {:.2}/s per follower (target ≤ 1)",
        (three - alone) / 2.0
    );
    drop((a, b, c));
}

#[tokio::main]
async fn main() {
    let Ok(base) = std::env::var(common::POSTGRES_URL_VAR) else {
        println!(
            "SKIPPED: set {} to run the cluster benchmark",
            common::POSTGRES_URL_VAR
        );
        return;
    };
    let admin = Database::connect(&base).await.expect("PostgreSQL");
    // cargo passes `--bench`; the other arguments name the parts to run.
    let parts: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let run = |part: &str| parts.is_empty() || parts.iter().any(|p| p == part);
    println!(
        "three hadir nodes (release build) on one PostgreSQL, every process and the clients on \
         127.0.0.1 ({} cores)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    if run("fanout") || run("throughput") || run("gallery") {
        three_nodes(&run).await;
    }
    if run("failover") {
        failover(Some(3), 10, 6.0).await;
        failover(None, 30, 25.0).await;
    }
    if run("idle") {
        idle(&admin).await;
    }
}

/// The fan-out, throughput and gallery parts, on three nodes.
async fn three_nodes(run: &dyn Fn(&str) -> bool) {
    let base = std::env::var(common::POSTGRES_URL_VAR).expect("a PostgreSQL URL");
    let admin = Database::connect(&base).await.expect("PostgreSQL");
    let db = TestDb::create(Backend::Postgres, "cluster_bench").expect("PostgreSQL");
    let folder = db.dir.path().join("cameras");
    std::fs::create_dir_all(&folder).unwrap();
    let a = TestServer::start(&db, &node("a", &folder, Some(3), 10));
    let b = TestServer::start(&db, &node("b", &folder, Some(3), 10));
    let c = TestServer::start(&db, &node("c", &folder, Some(3), 10));
    a.gql(
        ADMIN_TOKEN,
        "mutation($i: CameraInput!) { createCamera(input: $i) { cameraId } }",
        json!({ "i": { "cameraId": "DESK", "name": "Desk", "streamUrl": "http://127.0.0.1:9/d.mjpg", "enabled": false } }),
    )
    .await;
    for i in 0..20 {
        a.create_employee(&format!("E{i}"), &format!("Employee {i}"))
            .await;
        sighting(&b, &format!("E{i}"), Utc::now() - TimeDelta::hours(2)).await;
    }
    if run("fanout") {
        fan_out(&a, &b).await;
    }
    if run("throughput") {
        throughput(&a, &b, &c, admin).await;
    }
    if run("gallery") {
        gallery(&a, &b).await;
    }
    drop((a, b, c));
}
