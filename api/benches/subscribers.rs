//! Benchmark: one `reportSighting` fanned out to many WebSocket subscribers.
//! Run: `cargo bench -p api --bench subscribers [-- SUBSCRIBERS] [--setups hadir,reference]`
//! (default 10,000 subscribers, both setups).
//!
//! Per setup it starts a server, opens SUBSCRIBERS `graphql-transport-ws` connections on
//! 127.0.0.1 (the same Rust clients for both), each subscribed to `employeeStatusChanged`
//! with the same selection, then reports sightings that change an employee's status and
//! measures, per event, the time from sending the mutation to its arrival at every
//! subscriber (p50, p99, max), and the server's resident memory (VmRSS, VmHWM). Then both
//! side by side.
//!
//! - `hadir`: the release `hadir` binary on SQLite in a temporary folder, without the demo
//!   site (each sighting written, the day's attendance kept; one execution per selection and
//!   role).
//! - `reference`: the usual Node.js stack, graphql-js with graphql-ws's own server
//!   (`bench/node/fanout-server.mjs`, installed with `npm ci`): employees in memory, no token
//!   checked, the selection executed once per subscriber.

#[path = "../tests/common/bench_node.rs"]
mod bench_node;

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context as _;
use bench_node::{rss_mb, status_mb};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest, http::HeaderValue};

const ADMIN_TOKEN: &str = "bench-admin-token";
/// Subscribers when none is given on the command line.
const DEFAULT_SUBSCRIBERS: usize = 10_000;
/// Setups when `--setups` is not given.
const DEFAULT_SETUPS: &str = "hadir,reference";
/// Connections opened at once while connecting.
const CONNECT_CONCURRENCY: usize = 256;
/// Measured events (each a status change of another employee).
const ROUNDS: usize = 10;
/// How long to wait for one event to reach everyone.
const ROUND_TIMEOUT: Duration = Duration::from_secs(30);
/// How long all subscribers may take to connect.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(300);
/// The pause before each event, so that one event's delivery does not overlap the next.
const ROUND_GAP: Duration = Duration::from_millis(300);
const SUBSCRIPTION: &str = "subscription { employeeStatusChanged { employeeId name department presence { status lastSeen lastSeenAgo camera { cameraId name } } } }";

/// The server under test.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Setup {
    Hadir,
    Reference,
}

impl Setup {
    fn parse(name: &str) -> anyhow::Result<Self> {
        match name {
            "hadir" => Ok(Self::Hadir),
            "reference" => Ok(Self::Reference),
            other => anyhow::bail!("unknown setup {other:?} (hadir, reference)"),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::Hadir => {
                "hadir (release binary, SQLite, no demo: each sighting written, attendance kept; one execution per selection and role)"
            }
            Self::Reference => {
                "reference (Node.js: graphql-js + graphql-ws's server, employees in memory, no token checked; the selection executed per subscriber)"
            }
        }
    }
}

/// A running server: the process, where it listens, and what it needs kept alive.
struct Server {
    child: Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(setup: Setup, node_dir: Option<&std::path::Path>) -> anyhow::Result<Server> {
    let dir = tempfile::tempdir()?;
    let (mut child, prefix) = match setup {
        Setup::Hadir => {
            let cameras = dir.path().join("camera_configs");
            std::fs::create_dir_all(&cameras)?;
            std::fs::write(
                cameras.join("lobby.json"),
                r#"{"id": "CAM1", "name": "Lobby", "rtsp_url": "rtsp://127.0.0.1/lobby"}"#,
            )?;
            let child = Command::new(env!("CARGO_BIN_EXE_hadir"))
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
                // Fan-out alone: no demo site (its camera's recognition would run beside).
                .env("HADIR_DEMO_ENABLED", "false")
                .env("HADIR_DEMO_FOLDER", dir.path().join("demo"))
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()?;
            (child, "hadir listening on http://")
        }
        Setup::Reference => {
            let node_dir = node_dir.context("bench/node is not installed")?;
            let child = Command::new("node")
                .arg("fanout-server.mjs")
                .current_dir(node_dir)
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .context("node (Node.js 20 or later is needed)")?;
            (child, "listening on http://")
        }
    };
    let stdout = child.stdout.take().context("stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        let line = lines
            .next()
            .context("the server exited before listening")??;
        if let Some(a) = line.strip_prefix(prefix) {
            break a.trim().to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Ok(Server {
        child,
        addr,
        _dir: dir,
    })
}

/// Arrival times per round, in microseconds since the round's mutation was sent.
struct Rounds {
    sent: Mutex<Vec<Option<Instant>>>,
    latencies: Mutex<Vec<Vec<u64>>>,
    arrived: Vec<AtomicUsize>,
}

/// What one setup measured.
struct Summary {
    setup: Setup,
    connect: Duration,
    delivered: usize,
    p50: f64,
    p99: f64,
    max: f64,
    rss_idle: f64,
    rss: f64,
    peak: f64,
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
    let args: Vec<String> = std::env::args().skip(1).collect();
    let subscribers: usize = args
        .iter()
        .find(|a| !a.starts_with('-') && a.parse::<usize>().is_ok())
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(DEFAULT_SUBSCRIBERS);
    let setups = args
        .iter()
        .position(|a| a == "--setups")
        .and_then(|i| args.get(i + 1))
        .map_or(DEFAULT_SETUPS, String::as_str)
        .split(',')
        .map(Setup::parse)
        .collect::<anyhow::Result<Vec<_>>>()?;
    let node_dir = if setups.contains(&Setup::Reference) {
        Some(bench_node::install()?)
    } else {
        None
    };
    println!(
        "fan-out of employeeStatusChanged: {subscribers} graphql-transport-ws subscribers on 127.0.0.1, {ROUNDS} events, clients and server on the same cores"
    );
    let mut summaries = Vec::new();
    for setup in setups {
        let server = start(setup, node_dir.as_deref())?;
        println!("{}", setup.describe());
        summaries.push(measure(setup, &server, subscribers).await?);
        drop(server);
    }
    if summaries.len() > 1 {
        println!("side by side:");
        println!(
            "  {:<10} {:>10} {:>9} {:>10} {:>10} {:>10} {:>14} {:>10}",
            "setup",
            "connect s",
            "delivered",
            "p50 ms",
            "p99 ms",
            "max ms",
            "resident MB",
            "peak MB"
        );
        for s in &summaries {
            println!(
                "  {:<10} {:>10.1} {:>9} {:>10.1} {:>10.1} {:>10.1} {:>14.1} {:>10.1}",
                match s.setup {
                    Setup::Hadir => "hadir",
                    Setup::Reference => "reference",
                },
                s.connect.as_secs_f64(),
                s.delivered,
                s.p50,
                s.p99,
                s.max,
                s.rss,
                s.peak
            );
        }
    }
    Ok(())
}

async fn measure(setup: Setup, server: &Server, subscribers: usize) -> anyhow::Result<Summary> {
    let addr = server.addr.clone();
    let pid = server.child.id();
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
    let rss_idle = rss_mb(pid);

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
    // Subscribers that could not connect or were closed before their acknowledgement, and
    // the first reason given.
    let failed = Arc::new(AtomicUsize::new(0));
    let failure = Arc::new(Mutex::new(None::<String>));
    let gate = Arc::new(Semaphore::new(CONNECT_CONCURRENCY));
    let started = Instant::now();
    for _ in 0..subscribers {
        let mut permit = Some(gate.clone().acquire_owned().await?);
        let (addr, rounds, connected) = (addr.clone(), rounds.clone(), connected.clone());
        let (failed, failure) = (failed.clone(), failure.clone());
        tokio::spawn(async move {
            let fail = |why: String| {
                failed.fetch_add(1, Ordering::Relaxed);
                failure.lock().unwrap().get_or_insert(why);
            };
            let mut request = format!("ws://{addr}/graphql")
                .into_client_request()
                .expect("request");
            request.headers_mut().insert(
                "Sec-WebSocket-Protocol",
                HeaderValue::from_static("graphql-transport-ws"),
            );
            let mut socket = match tokio_tungstenite::connect_async(request).await {
                Ok((socket, _)) => socket,
                Err(error) => {
                    fail(format!("a connection failed: {error}"));
                    return;
                }
            };
            let text = |v: Value| Message::Text(v.to_string().into());
            let _ = socket
                .send(text(json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {ADMIN_TOKEN}") } })))
                .await;
            // graphql-transport-ws: subscribe once acknowledged (graphql-ws's server closes a
            // connection that subscribes before, with 4401).
            let mut acked = false;
            while let Some(Ok(message)) = socket.next().await {
                let body = match message {
                    Message::Text(body) => body,
                    Message::Close(frame) if !acked => {
                        fail(format!("closed before its acknowledgement: {frame:?}"));
                        return;
                    }
                    _ => continue,
                };
                let now = Instant::now();
                let value: Value = serde_json::from_str(&body).unwrap_or_default();
                match value["type"].as_str() {
                    Some("connection_ack") => {
                        acked = true;
                        let _ = socket
                            .send(text(json!({ "id": "1", "type": "subscribe", "payload": { "query": SUBSCRIPTION } })))
                            .await;
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
                fail("the connection ended before its acknowledgement".to_owned());
            }
            drop(permit);
        });
    }
    while connected.load(Ordering::Relaxed) < subscribers {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let failed = failed.load(Ordering::Relaxed);
        if failed > 0 && connected.load(Ordering::Relaxed) + failed >= subscribers {
            anyhow::bail!(
                "{failed} of {subscribers} subscribers failed; the first: {}",
                failure.lock().unwrap().as_deref().unwrap_or("?")
            );
        }
        if started.elapsed() > CONNECT_TIMEOUT {
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
        tokio::time::sleep(ROUND_GAP).await;
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
    let (rss, peak) = (rss_mb(pid), status_mb(pid, "VmHWM:"));
    let mut all: Vec<u64> = report
        .iter()
        .flat_map(|(_, _, l)| l.iter().copied())
        .collect();
    all.sort_unstable();
    println!("  connected in {:.1} s", connect_time.as_secs_f64());
    for (round, arrived, latencies) in &report {
        println!(
            "  event {round:>2}: delivered to {arrived}/{subscribers}, p50 {:>7.1} ms, p99 {:>7.1} ms, max {:>7.1} ms",
            percentile(latencies, 0.5),
            percentile(latencies, 0.99),
            percentile(latencies, 1.0)
        );
    }
    let summary = Summary {
        setup,
        connect: connect_time,
        delivered: report.iter().map(|(_, arrived, _)| arrived).sum(),
        p50: percentile(&all, 0.5),
        p99: percentile(&all, 0.99),
        max: percentile(&all, 1.0),
        rss_idle,
        rss,
        peak,
    };
    println!(
        "  all events: delivered {}/{}, p50 {:.1} ms, p99 {:.1} ms{}",
        summary.delivered,
        subscribers * ROUNDS,
        summary.p50,
        summary.p99,
        if setup == Setup::Hadir {
            " (target p99 < 250 ms)"
        } else {
            ""
        }
    );
    println!(
        "  server memory: {:.1} MB resident with {subscribers} subscribers (peak {:.1} MB; {:.1} MB before they connected){}",
        summary.rss,
        summary.peak,
        summary.rss_idle,
        if setup == Setup::Hadir {
            "; target ≤ 250 MB"
        } else {
            ""
        }
    );
    Ok(summary)
}
