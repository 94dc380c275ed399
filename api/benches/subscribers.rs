//! Benchmark: one `reportSighting` fanned out to many WebSocket subscribers.
//! Run: `cargo bench -p api --bench subscribers [-- SUBSCRIBERS]` (default 10,000).
//!
//! Starts the release `hadir` binary on SQLite in a temporary folder, opens SUBSCRIBERS
//! `graphql-transport-ws` connections on 127.0.0.1, each subscribed to
//! `employeeStatusChanged`, then reports sightings that change an employee's status and
//! measures, per event, the time from sending the mutation to its arrival at every
//! subscriber (p50, p99, max), and the server's resident memory (VmRSS, VmHWM).

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest, http::HeaderValue};

const ADMIN_TOKEN: &str = "bench-admin-token";
/// Subscribers when none is given on the command line.
const DEFAULT_SUBSCRIBERS: usize = 10_000;
/// Connections opened at once while connecting.
const CONNECT_CONCURRENCY: usize = 256;
/// Measured events (each a status change of another employee).
const ROUNDS: usize = 10;
/// How long to wait for one event to reach everyone.
const ROUND_TIMEOUT: Duration = Duration::from_secs(30);
const SUBSCRIPTION: &str = "subscription { employeeStatusChanged { employeeId name department presence { status lastSeen lastSeenAgo camera { cameraId name } } } }";

/// Arrival times per round, in microseconds since the round's mutation was sent.
struct Rounds {
    sent: Mutex<Vec<Option<Instant>>>,
    latencies: Mutex<Vec<Vec<u64>>>,
    arrived: Vec<AtomicUsize>,
}

fn memory_of(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index] as f64 / 1_000.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let subscribers: usize = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(DEFAULT_SUBSCRIBERS);
    let dir = tempfile::tempdir()?;
    let cameras = dir.path().join("camera_configs");
    std::fs::create_dir_all(&cameras)?;
    std::fs::write(
        cameras.join("lobby.json"),
        r#"{"id": "CAM1", "name": "Lobby", "rtsp_url": "rtsp://127.0.0.1/lobby"}"#,
    )?;
    let mut child = Command::new(env!("CARGO_BIN_EXE_hadir"))
        .arg("serve")
        .env(
            "HADIR_DATABASE_URL",
            format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("b.sqlite").display()
            ),
        )
        .env("HADIR_LISTEN", "127.0.0.1:0")
        .env("HADIR_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("HADIR_CAMERA_CONFIGS", &cameras)
        .env("HADIR_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let pid = child.id();
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        let line = lines.next().expect("hadir exited")?;
        if let Some(a) = line.strip_prefix("hadir listening on http://") {
            break a.trim().to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    let http = reqwest::Client::new();
    let gql = |query: String, variables: Value| {
        let http = http.clone();
        let url = format!("http://{addr}/graphql");
        async move {
            let body: Value = http
                .post(url)
                .bearer_auth(ADMIN_TOKEN)
                .json(&json!({ "query": query, "variables": variables }))
                .send()
                .await?
                .json()
                .await?;
            anyhow::ensure!(body.get("errors").is_none(), "{body}");
            anyhow::Ok(body)
        }
    };
    for i in 0..=ROUNDS {
        gql(
            "mutation($i: EmployeeInput!) { createEmployee(input: $i) { employeeId } }".into(),
            json!({ "i": { "employeeId": format!("E{i}"), "name": format!("Employee {i}"), "department": "Bench" } }),
        )
        .await?;
    }
    let (rss_idle, _) = memory_of(pid);

    let rounds = Arc::new(Rounds {
        sent: Mutex::new(vec![None; ROUNDS + 1]),
        latencies: Mutex::new(
            (0..=ROUNDS)
                .map(|_| Vec::with_capacity(subscribers))
                .collect(),
        ),
        arrived: (0..=ROUNDS).map(|_| AtomicUsize::new(0)).collect(),
    });
    let connected = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(Semaphore::new(CONNECT_CONCURRENCY));
    let started = Instant::now();
    for _ in 0..subscribers {
        let mut permit = Some(gate.clone().acquire_owned().await?);
        let (addr, rounds, connected) = (addr.clone(), rounds.clone(), connected.clone());
        tokio::spawn(async move {
            let mut request = format!("ws://{addr}/graphql")
                .into_client_request()
                .expect("request");
            request.headers_mut().insert(
                "Sec-WebSocket-Protocol",
                HeaderValue::from_static("graphql-transport-ws"),
            );
            let Ok((mut socket, _)) = tokio_tungstenite::connect_async(request).await else {
                eprintln!("a connection failed");
                return;
            };
            let text = |v: Value| Message::Text(v.to_string().into());
            let _ = socket
                .send(text(json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {ADMIN_TOKEN}") } })))
                .await;
            let _ = socket
                .send(text(
                    json!({ "id": "1", "type": "subscribe", "payload": { "query": SUBSCRIPTION } }),
                ))
                .await;
            let mut acked = false;
            while let Some(Ok(message)) = socket.next().await {
                let Message::Text(body) = message else {
                    continue;
                };
                let now = Instant::now();
                let value: Value = serde_json::from_str(&body).unwrap_or_default();
                match value["type"].as_str() {
                    Some("connection_ack") => {
                        acked = true;
                        connected.fetch_add(1, Ordering::Relaxed);
                        // Let the next connection start while this one stays open.
                        permit.take();
                    }
                    Some("next") => {
                        let id = value["payload"]["data"]["employeeStatusChanged"]["employeeId"]
                            .as_str()
                            .and_then(|s| s.trim_start_matches('E').parse::<usize>().ok());
                        if let Some(round) = id {
                            if let Some(sent) = rounds.sent.lock().unwrap()[round] {
                                let micros = now.duration_since(sent).as_micros() as u64;
                                rounds.latencies.lock().unwrap()[round].push(micros);
                            }
                            rounds.arrived[round].fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Some("ping") => {
                        let _ = socket.send(text(json!({ "type": "pong" }))).await;
                    }
                    _ => {}
                }
            }
            if !acked {
                eprintln!("a subscriber was never acknowledged");
            }
            drop(permit);
        });
    }
    while connected.load(Ordering::Relaxed) < subscribers {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if started.elapsed() > Duration::from_secs(300) {
            anyhow::bail!(
                "only {} of {subscribers} subscribers connected",
                connected.load(Ordering::Relaxed)
            );
        }
    }
    let connect_time = started.elapsed();
    // Round 0 warms up and proves every subscription is registered.
    let mut report = Vec::new();
    for round in 0..=ROUNDS {
        tokio::time::sleep(Duration::from_millis(300)).await;
        rounds.sent.lock().unwrap()[round] = Some(Instant::now());
        gql(
            "mutation($i: SightingInput!) { reportSighting(input: $i) { employeeId } }".into(),
            json!({ "i": { "employeeId": format!("E{round}"), "cameraId": "CAM1", "score": 0.7 } }),
        )
        .await?;
        let deadline = Instant::now() + ROUND_TIMEOUT;
        while rounds.arrived[round].load(Ordering::Relaxed) < subscribers
            && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        if round > 0 {
            let mut latencies = rounds.latencies.lock().unwrap()[round].clone();
            latencies.sort_unstable();
            report.push((
                round,
                rounds.arrived[round].load(Ordering::Relaxed),
                latencies,
            ));
        }
    }
    let (rss, hwm) = memory_of(pid);
    let mut all: Vec<u64> = report
        .iter()
        .flat_map(|(_, _, l)| l.iter().copied())
        .collect();
    all.sort_unstable();
    println!(
        "fan-out of employeeStatusChanged: {subscribers} graphql-transport-ws subscribers on 127.0.0.1"
    );
    println!("  connected in {:.1} s", connect_time.as_secs_f64());
    for (round, arrived, latencies) in &report {
        println!(
            "  event {round:>2}: delivered to {arrived}/{subscribers}, p50 {:>7.1} ms, p99 {:>7.1} ms, max {:>7.1} ms",
            percentile(latencies, 0.5),
            percentile(latencies, 0.99),
            percentile(latencies, 1.0)
        );
    }
    println!(
        "  all events: p50 {:.1} ms, p99 {:.1} ms (target p99 < 250 ms)",
        percentile(&all, 0.5),
        percentile(&all, 0.99)
    );
    println!(
        "  server memory: {:.1} MB resident with {subscribers} subscribers (peak {:.1} MB; {:.1} MB before they connected; target ≤ 250 MB)",
        rss as f64 / 1024.0,
        hwm as f64 / 1024.0,
        rss_idle as f64 / 1024.0
    );
    let _ = child.kill();
    let _ = child.wait();
    Ok(())
}
