//! Benchmark: 10,000 dashboard clients connecting at once, and reconnecting after a restart
//! (issue #10, "10,000 clients reconnecting at once").
//! Run: `cargo bench -p api --bench reconnect [-- --clients 10000 --processes 4
//! --setups hadir-shared,hadir-distinct,reference --retry-wait-ms 200]`.
//!
//! The clients are real `graphql-ws` clients (npm `graphql-ws` + `ws`, pinned in
//! `bench/node/package-lock.json`, installed with `npm ci` into the cache folder), spread
//! over several Node.js processes (`bench/node/fleet.mjs`; one Node.js process is one
//! thread). Each client sends its token in `connectionParams`, is not lazy, subscribes to
//! `serverTime` (ticking every second) and retries for ever with a short randomised wait.
//! A client counts as *acked* at its `connection_ack` and as *receiving* at its first
//! `next` after that.
//!
//! For each setup, two phases:
//! - **cold**: every client starts at once against a running server;
//! - **restart**: the server is killed (SIGKILL) under the connected fleet and started again
//!   on the same database and port; measured until every client is acked and receiving again.
//!
//! Setups: `hadir-shared` (the release `hadir` on SQLite, every client with one viewer
//! token), `hadir-distinct` (a viewer token of its own per client), `reference` (graphql-ws's
//! own Node.js server, `bench/node/reference-server.mjs`, which checks no token). Printed per
//! phase: the time until all are acked and until all are receiving, per-client p50/p99, the
//! server's CPU, the client fleet's CPU (the Node.js processes, from /proc), and the server's
//! resident memory. The server and each Node.js process are separate processes, each with
//! its own open-files limit (raised to the hard limit).

#[path = "../tests/common/mod.rs"]
mod common;

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context as _, bail};
use common::{
    ADMIN_TOKEN, Backend, ServerOptions, TestDb, TestServer,
    bench_node::{self, rss_mb, status_mb},
};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    process::{Child, ChildStdin, Command},
    sync::mpsc,
};

/// Clients when `--clients` is not given.
const DEFAULT_CLIENTS: usize = 10_000;
/// Node.js processes the clients are spread over when `--processes` is not given.
const DEFAULT_PROCESSES: usize = 4;
/// The shortest wait of a client before it retries (each wait is up to twice this).
const DEFAULT_RETRY_WAIT_MS: u64 = 200;
/// The setups run when `--setups` is not given.
const DEFAULT_SETUPS: &str = "hadir-shared,hadir-distinct,reference";
/// The subscription every client holds.
const SUBSCRIPTION: &str = "subscription { serverTime }";
/// The longest one phase may take before the benchmark gives up.
const PHASE_TIMEOUT: Duration = Duration::from_secs(180);
/// How long the fleet stays connected between the phases.
const SETTLE: Duration = Duration::from_secs(3);
/// How often progress is printed while a phase runs.
const PROGRESS_EVERY: Duration = Duration::from_secs(2);
/// Tokens created per request when every client gets its own (aliases in one mutation).
const TOKENS_PER_REQUEST: usize = 50;
/// The target: every client connected and authenticated within this long.
const TARGET: Duration = Duration::from_secs(5);

struct Args {
    clients: usize,
    processes: usize,
    retry_wait_ms: u64,
    setups: Vec<String>,
}

fn args() -> anyhow::Result<Args> {
    let mut args = Args {
        clients: DEFAULT_CLIENTS,
        processes: DEFAULT_PROCESSES,
        retry_wait_ms: DEFAULT_RETRY_WAIT_MS,
        setups: DEFAULT_SETUPS.split(',').map(str::to_owned).collect(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--clients" => args.clients = value()?.parse()?,
            "--processes" => args.processes = value()?.parse()?,
            "--retry-wait-ms" => args.retry_wait_ms = value()?.parse()?,
            "--setups" => args.setups = value()?.split(',').map(str::to_owned).collect(),
            // What `cargo bench` adds.
            "--bench" => {}
            other => bail!("unknown argument {other}"),
        }
    }
    anyhow::ensure!(args.processes > 0 && args.clients >= args.processes);
    Ok(args)
}

fn wall_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1e3)
        .unwrap_or_default()
}

/// Raises this process's open-files limit to the hard limit (children inherit it); returns
/// (soft, hard) after.
fn raise_open_files_limit() -> (u64, u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write the struct given, nothing else.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        limit.rlim_cur = limit.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
    }
    (limit.rlim_cur, limit.rlim_max)
}

/// User and system CPU seconds a process has used so far (0 when it is gone).
fn cpu_of(pid: u32) -> (f64, f64) {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return (0.0, 0.0);
    };
    // The fields after the command name (which may hold spaces) in parentheses.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // SAFETY: sysconf reads a constant of the system.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of /proc/PID/stat: 12 and 13 after the name.
    (field(11) / ticks, field(12) / ticks)
}

/// CPU seconds every process of the machine has used so far (/proc/stat: user, nice,
/// system, irq, softirq, steal).
fn machine_cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().find(|l| l.starts_with("cpu ")) else {
        return 0.0;
    };
    let v: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let busy: f64 = [0, 1, 2, 5, 6, 7].iter().filter_map(|&i| v.get(i)).sum();
    // SAFETY: sysconf reads a constant of the system.
    busy / unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64
}

/// The 1-minute load average.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .next()
        .unwrap_or("?")
        .to_owned()
}

/// SYNs the kernel dropped because a listening socket's accept queue was full
/// (`TcpExt: ListenOverflows` of /proc/net/netstat, all sockets of this network namespace):
/// each costs its client a SYN retransmission, 1 s later, then 3 s, 7 s, 15 s after its first.
fn listen_overflows() -> u64 {
    let text = std::fs::read_to_string("/proc/net/netstat").unwrap_or_default();
    let mut tcp_ext = text.lines().filter(|l| l.starts_with("TcpExt:"));
    let (Some(names), Some(values)) = (tcp_ext.next(), tcp_ext.next()) else {
        return 0;
    };
    names
        .split_whitespace()
        .zip(values.split_whitespace())
        .find(|(name, _)| *name == "ListenOverflows")
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// The server under test.
enum Target {
    Hadir {
        db: TestDb,
        server: Option<TestServer>,
        /// Where it listens, kept across restarts.
        addr: String,
    },
    Reference {
        node_dir: PathBuf,
        child: Child,
        port: u16,
    },
}

impl Target {
    fn pid(&self) -> u32 {
        match self {
            Target::Hadir { server, .. } => server.as_ref().map(|s| s.child.id()).unwrap_or(0),
            Target::Reference { child, .. } => child.id().unwrap_or(0),
        }
    }

    fn ws_url(&self) -> String {
        match self {
            Target::Hadir { addr, .. } => format!("ws://{addr}/graphql"),
            Target::Reference { port, .. } => format!("ws://127.0.0.1:{port}/graphql"),
        }
    }

    async fn kill(&mut self) {
        match self {
            Target::Hadir { server, .. } => {
                if let Some(mut server) = server.take() {
                    server.kill();
                }
            }
            Target::Reference { child, .. } => {
                let _ = child.kill().await;
            }
        }
    }

    /// Starts the server again on the same database and port; returns when it listens.
    async fn restart(&mut self) -> anyhow::Result<()> {
        match self {
            Target::Hadir { db, server, addr } => {
                let options = hadir_options(Some(addr));
                // TestServer::start waits for the listening line, blocking.
                let started = tokio::task::block_in_place(|| TestServer::start(db, &options));
                *server = Some(started);
            }
            Target::Reference {
                node_dir,
                child,
                port,
            } => {
                let (new_child, _) = start_reference(node_dir, *port).await?;
                *child = new_child;
            }
        }
        Ok(())
    }
}

fn hadir_options(listen: Option<&str>) -> ServerOptions {
    let mut extra_env = vec![("HADIR_LOG".to_owned(), "warn".to_owned())];
    if let Some(listen) = listen {
        extra_env.push(("HADIR_LISTEN".to_owned(), listen.to_owned()));
    }
    ServerOptions {
        extra_env,
        ..Default::default()
    }
}

async fn start_reference(node_dir: &Path, port: u16) -> anyhow::Result<(Child, u16)> {
    let mut child = Command::new("node")
        .arg("reference-server.mjs")
        .args(["--port", &port.to_string()])
        .current_dir(node_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("node")?;
    let stdout = child.stdout.take().context("stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    while let Some(line) = lines.next_line().await? {
        if let Some(rest) = line.strip_prefix("listening on ws://127.0.0.1:") {
            let port = rest.split('/').next().unwrap_or_default().parse()?;
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            return Ok((child, port));
        }
    }
    bail!("the reference server exited before it listened")
}

/// One phase's figures from one Node.js process.
struct Done {
    /// When the process had created all its clients.
    created: f64,
    opened: Vec<f64>,
    acked: Vec<f64>,
    received: Vec<f64>,
    errors: u64,
}

/// The Node.js processes of the client fleet.
struct Fleet {
    children: Vec<Child>,
    stdins: Vec<ChildStdin>,
    messages: mpsc::UnboundedReceiver<(usize, Value)>,
}

impl Fleet {
    async fn start(
        node_dir: &Path,
        url: &str,
        tokens: &Path,
        clients: usize,
        processes: usize,
        retry_wait_ms: u64,
    ) -> anyhow::Result<Self> {
        let (sender, messages) = mpsc::unbounded_channel();
        let (mut children, mut stdins) = (Vec::new(), Vec::new());
        let mut first = 0;
        for index in 0..processes {
            let count = clients / processes + usize::from(index < clients % processes);
            let mut child = Command::new("node")
                .arg("fleet.mjs")
                .args(["--url", url, "--tokens"])
                .arg(tokens)
                .args(["--first", &first.to_string(), "--count", &count.to_string()])
                .args(["--query", SUBSCRIPTION])
                .args(["--retry-wait-ms", &retry_wait_ms.to_string()])
                .current_dir(node_dir)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .context("node")?;
            first += count;
            stdins.push(child.stdin.take().context("stdin")?);
            let stdout = child.stdout.take().context("stdout")?;
            let sender = sender.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stdout).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    match serde_json::from_str::<Value>(&line) {
                        Ok(value) => {
                            let _ = sender.send((index, value));
                        }
                        Err(_) => eprintln!("fleet {index}: {line}"),
                    }
                }
            });
            children.push(child);
        }
        let mut fleet = Self {
            children,
            stdins,
            messages,
        };
        fleet.wait_all("ready").await?;
        Ok(fleet)
    }

    async fn wait_all(&mut self, key: &str) -> anyhow::Result<()> {
        let mut seen = vec![false; self.children.len()];
        while !seen.iter().all(|s| *s) {
            let (index, value) = self
                .messages
                .recv()
                .await
                .context("a fleet process ended")?;
            if value.get(key).is_some() {
                seen[index] = true;
            }
        }
        Ok(())
    }

    fn pids(&self) -> Vec<u32> {
        self.children.iter().filter_map(Child::id).collect()
    }

    /// CPU seconds (user, system) of every Node.js process so far.
    fn cpu(&self) -> (f64, f64) {
        self.pids()
            .into_iter()
            .map(cpu_of)
            .fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1))
    }

    /// Starts measuring `phase` in every process; returns once every process took it.
    async fn go(&mut self, phase: &str) -> anyhow::Result<()> {
        for stdin in &mut self.stdins {
            stdin.write_all(format!("go {phase}\n").as_bytes()).await?;
            stdin.flush().await?;
        }
        self.wait_all("started").await
    }

    /// Waits until every process reports the phase done; prints progress meanwhile.
    async fn wait_done(&mut self, started: Instant, total: usize) -> anyhow::Result<Vec<Done>> {
        let processes = self.children.len();
        let mut done: Vec<Option<Done>> = (0..processes).map(|_| None).collect();
        let mut progress = vec![(0u64, 0u64); processes];
        let mut last_print = Instant::now();
        while done.iter().any(Option::is_none) {
            let left = PHASE_TIMEOUT.saturating_sub(started.elapsed());
            let Ok(message) = tokio::time::timeout(left, self.messages.recv()).await else {
                let (a, r) = progress.iter().fold((0, 0), |x, p| (x.0 + p.0, x.1 + p.1));
                bail!("after {PHASE_TIMEOUT:?} only {a} of {total} acked and {r} receiving");
            };
            let (index, value) = message.context("a fleet process ended")?;
            if let Some(p) = value.get("progress") {
                progress[index] = (
                    p["acked"].as_u64().unwrap_or(0),
                    p["received"].as_u64().unwrap_or(0),
                );
                if last_print.elapsed() >= PROGRESS_EVERY {
                    last_print = Instant::now();
                    let (a, r) = progress.iter().fold((0, 0), |x, p| (x.0 + p.0, x.1 + p.1));
                    println!(
                        "    … {:>5.1} s: {a} acked, {r} receiving",
                        started.elapsed().as_secs_f64()
                    );
                }
            } else if let Some(d) = value.get("done") {
                let times = |key: &str| -> Vec<f64> {
                    d[key]
                        .as_array()
                        .map(|a| a.iter().filter_map(Value::as_f64).collect())
                        .unwrap_or_default()
                };
                done[index] = Some(Done {
                    created: d["created"].as_f64().unwrap_or(f64::NAN),
                    opened: times("opened"),
                    acked: times("acked"),
                    received: times("received"),
                    errors: d["errors"].as_u64().unwrap_or(0),
                });
            }
        }
        Ok(done.into_iter().flatten().collect())
    }

    async fn exit(mut self) {
        for stdin in &mut self.stdins {
            let _ = stdin.write_all(b"exit\n").await;
        }
        for child in &mut self.children {
            if tokio::time::timeout(Duration::from_secs(10), child.wait())
                .await
                .is_err()
            {
                let _ = child.kill().await;
            }
        }
    }
}

/// What one phase measured, times in seconds from `origin` (a wall-clock instant, ms).
struct PhaseFigures {
    all_acked: f64,
    all_received: f64,
    ack_p50: f64,
    ack_p99: f64,
    received_p50: f64,
    received_p99: f64,
    errors: u64,
    /// Seconds from the origin until the slowest process had created its clients.
    created: f64,
    /// Per client, seconds: until its socket opened, from then to its ack, from then to its
    /// first `next` (p50, p99).
    open: (f64, f64),
    open_to_ack: (f64, f64),
    ack_to_next: (f64, f64),
}

fn figures(done: &[Done], origin_ms: f64) -> PhaseFigures {
    let relative = |pick: fn(&Done) -> &Vec<f64>| {
        let mut all: Vec<f64> = done
            .iter()
            .flat_map(|d| pick(d).iter().map(|t| (t - origin_ms) / 1e3))
            .collect();
        all.sort_by(f64::total_cmp);
        all
    };
    let acked = relative(|d| &d.acked);
    let received = relative(|d| &d.received);
    let open = relative(|d| &d.opened);
    let gaps = |from: fn(&Done) -> &Vec<f64>, to: fn(&Done) -> &Vec<f64>| {
        let mut all: Vec<f64> = done
            .iter()
            .flat_map(|d| from(d).iter().zip(to(d)).map(|(a, b)| (b - a) / 1e3))
            .filter(|g| g.is_finite())
            .collect();
        all.sort_by(f64::total_cmp);
        (percentile(&all, 0.5), percentile(&all, 0.99))
    };
    PhaseFigures {
        created: done
            .iter()
            .map(|d| (d.created - origin_ms) / 1e3)
            .fold(f64::NAN, f64::max),
        open: (percentile(&open, 0.5), percentile(&open, 0.99)),
        open_to_ack: gaps(|d| &d.opened, |d| &d.acked),
        ack_to_next: gaps(|d| &d.acked, |d| &d.received),
        all_acked: acked.last().copied().unwrap_or(f64::NAN),
        all_received: received.last().copied().unwrap_or(f64::NAN),
        ack_p50: percentile(&acked, 0.5),
        ack_p99: percentile(&acked, 0.99),
        received_p50: percentile(&received, 0.5),
        received_p99: percentile(&received, 0.99),
        errors: done.iter().map(|d| d.errors).sum(),
    }
}

/// CPU seconds the rest of the machine used since `machine0` (this benchmark's own since
/// `own0` is not counted as others').
fn others_cpu(machine0: f64, own0: (f64, f64), server: (f64, f64), fleet: (f64, f64)) -> f64 {
    let own = cpu_of(std::process::id());
    let own = own.0 + own.1 - own0.0 - own0.1;
    (machine_cpu() - machine0 - own - server.0 - server.1 - fleet.0 - fleet.1).max(0.0)
}

/// Where each client's time went.
fn print_breakdown(f: &PhaseFigures, cold: bool) {
    if cold {
        println!(
            "    the Node.js processes had created their clients {:.2} s after the start (their own CPU: connections start after that)",
            f.created
        );
    }
    println!(
        "    per client: socket open (TCP + upgrade) p50 {:.2} s, p99 {:.2} s {}; open → connection_ack p50 {:.3} s, p99 {:.3} s; ack → first next p50 {:.2} s, p99 {:.2} s (the tick)",
        f.open.0,
        f.open.1,
        if cold {
            "from the start"
        } else {
            "from the kill"
        },
        f.open_to_ack.0,
        f.open_to_ack.1,
        f.ack_to_next.0,
        f.ack_to_next.1,
    );
}

/// One line of the summary table.
struct Summary {
    setup: String,
    phase: &'static str,
    all_acked: f64,
    all_received: f64,
    server_cpu: f64,
    fleet_cpu: f64,
    server_rss: f64,
    syn_drops: u64,
}

/// Creates `count` viewer tokens through the API, [`TOKENS_PER_REQUEST`] per request.
async fn create_viewer_tokens(server: &TestServer, count: usize) -> Vec<String> {
    let mut tokens = Vec::with_capacity(count);
    while tokens.len() < count {
        let batch = TOKENS_PER_REQUEST.min(count - tokens.len());
        let fields: String = (0..batch)
            .map(|i| {
                format!(
                    "t{i}: createApiToken(input: {{name: \"dashboard {}\", role: VIEWER}}) {{ token }} ",
                    tokens.len() + i
                )
            })
            .collect();
        let data = server
            .gql(ADMIN_TOKEN, &format!("mutation {{ {fields}}}"), json!({}))
            .await;
        for i in 0..batch {
            tokens.push(
                data[format!("t{i}")]["token"]
                    .as_str()
                    .expect("token")
                    .to_owned(),
            );
        }
    }
    tokens
}

async fn run_setup(
    setup: &str,
    args: &Args,
    node_dir: &Path,
    summaries: &mut Vec<Summary>,
) -> anyhow::Result<()> {
    let work = tempfile::tempdir()?;
    let tokens_file = work.path().join("tokens.txt");
    let (mut target, description) = match setup {
        "hadir-shared" | "hadir-distinct" => {
            let db = TestDb::create(Backend::Sqlite, "reconnect").context("SQLite")?;
            let server =
                tokio::task::block_in_place(|| TestServer::start(&db, &hadir_options(None)));
            let distinct = setup == "hadir-distinct";
            let count = if distinct { args.clients } else { 1 };
            let made = Instant::now();
            let tokens = create_viewer_tokens(&server, count).await;
            std::fs::write(&tokens_file, tokens.join("\n"))?;
            let description = if distinct {
                format!(
                    "hadir (release, SQLite), a viewer token of its own per client ({count} tokens in the database, made in {:.1} s)",
                    made.elapsed().as_secs_f64()
                )
            } else {
                "hadir (release, SQLite), one viewer token (in the database) for every client"
                    .to_owned()
            };
            (
                Target::Hadir {
                    db,
                    addr: server.addr.clone(),
                    server: Some(server),
                },
                description,
            )
        }
        "reference" => {
            std::fs::write(&tokens_file, "not-checked")?;
            let (child, port) = start_reference(node_dir, 0).await?;
            (
                Target::Reference {
                    node_dir: node_dir.to_owned(),
                    child,
                    port,
                },
                "graphql-ws's Node.js reference server (useServer, one field, one thread): checks no token, no database".to_owned(),
            )
        }
        other => bail!("unknown setup {other} (hadir-shared, hadir-distinct, reference)"),
    };
    println!(
        "\n== {setup}: {description} (load average {} at the start)",
        load_average()
    );
    println!(
        "   {} graphql-ws clients in {} Node.js processes, each subscribed to `{SUBSCRIPTION}` (ticks every 1 s), retry wait {}–{} ms",
        args.clients,
        args.processes,
        args.retry_wait_ms,
        2 * args.retry_wait_ms
    );
    let url = target.ws_url();
    let mut fleet = Fleet::start(
        node_dir,
        &url,
        &tokens_file,
        args.clients,
        args.processes,
        args.retry_wait_ms,
    )
    .await?;

    // Cold: everyone at once against a running server.
    let rss_idle = rss_mb(target.pid());
    let server_cpu0 = cpu_of(target.pid());
    let fleet_cpu0 = fleet.cpu();
    let overflows0 = listen_overflows();
    let (machine0, own0) = (machine_cpu(), cpu_of(std::process::id()));
    let started = Instant::now();
    let origin = wall_ms();
    fleet.go("cold").await?;
    let done = fleet.wait_done(started, args.clients).await?;
    let elapsed = started.elapsed().as_secs_f64();
    let (server_cpu1, fleet_cpu1) = (cpu_of(target.pid()), fleet.cpu());
    let overflows = listen_overflows() - overflows0;
    let f = figures(&done, origin);
    let server_cpu = (server_cpu1.0 - server_cpu0.0, server_cpu1.1 - server_cpu0.1);
    let fleet_cpu = (fleet_cpu1.0 - fleet_cpu0.0, fleet_cpu1.1 - fleet_cpu0.1);
    let others = others_cpu(machine0, own0, server_cpu, fleet_cpu);
    let rss = rss_mb(target.pid());
    let peak = status_mb(target.pid(), "VmHWM:");
    println!(
        "  cold connect: all {} acked in {:.2} s, all receiving in {:.2} s (target ≤ {:.0} s acked)",
        args.clients,
        f.all_acked,
        f.all_received,
        TARGET.as_secs_f64()
    );
    println!(
        "    per client from the start: acked p50 {:.2} s, p99 {:.2} s; first next p50 {:.2} s, p99 {:.2} s; errors {}; SYNs dropped on a full accept queue {overflows}",
        f.ack_p50, f.ack_p99, f.received_p50, f.received_p99, f.errors
    );
    print_breakdown(&f, true);
    println!(
        "    CPU over {elapsed:.1} s: server {:.2} s (user {:.2}, sys {:.2}), client fleet {:.2} s (user {:.2}, sys {:.2}), other processes of the machine {others:.2} s; server resident {rss:.0} MB (peak {peak:.0} MB, {rss_idle:.0} MB before the storm)",
        server_cpu.0 + server_cpu.1,
        server_cpu.0,
        server_cpu.1,
        fleet_cpu.0 + fleet_cpu.1,
        fleet_cpu.0,
        fleet_cpu.1,
    );
    summaries.push(Summary {
        setup: setup.to_owned(),
        phase: "cold",
        all_acked: f.all_acked,
        all_received: f.all_received,
        server_cpu: server_cpu.0 + server_cpu.1,
        fleet_cpu: fleet_cpu.0 + fleet_cpu.1,
        server_rss: rss,
        syn_drops: overflows,
    });

    tokio::time::sleep(SETTLE).await;

    // Restart: kill -9 under the connected fleet, start again on the same database and port.
    fleet.go("restart").await?;
    let fleet_cpu0 = fleet.cpu();
    let overflows0 = listen_overflows();
    let (machine0, own0) = (machine_cpu(), cpu_of(std::process::id()));
    let started = Instant::now();
    let origin = wall_ms();
    target.kill().await;
    let respawn = started.elapsed().as_secs_f64();
    target.restart().await?;
    let listening = started.elapsed().as_secs_f64();
    let server_cpu_at_listen = cpu_of(target.pid());
    let done = fleet.wait_done(started, args.clients).await?;
    let elapsed = started.elapsed().as_secs_f64();
    let (server_cpu1, fleet_cpu1) = (cpu_of(target.pid()), fleet.cpu());
    let overflows = listen_overflows() - overflows0;
    let f = figures(&done, origin);
    let fleet_cpu = (fleet_cpu1.0 - fleet_cpu0.0, fleet_cpu1.1 - fleet_cpu0.1);
    // The killed server's share of the phase is not known: counted among the others.
    let others = others_cpu(machine0, own0, server_cpu1, fleet_cpu);
    let rss = rss_mb(target.pid());
    let peak = status_mb(target.pid(), "VmHWM:");
    println!(
        "  restart (kill -9, started again at {respawn:.2} s, listening at {listening:.2} s; from the kill): all acked in {:.2} s, all receiving in {:.2} s ({:.2} s and {:.2} s after it listened)",
        f.all_acked,
        f.all_received,
        f.all_acked - listening,
        f.all_received - listening
    );
    println!(
        "    per client from the kill: acked p50 {:.2} s, p99 {:.2} s; first next p50 {:.2} s, p99 {:.2} s; errors {}; SYNs dropped on a full accept queue {overflows}",
        f.ack_p50, f.ack_p99, f.received_p50, f.received_p99, f.errors
    );
    print_breakdown(&f, false);
    println!(
        "    CPU over {elapsed:.1} s: server {:.2} s (user {:.2}, sys {:.2}; {:.2} s of it starting up), client fleet {:.2} s (user {:.2}, sys {:.2}), other processes of the machine (and the killed server) {others:.2} s; server resident {rss:.0} MB (peak {peak:.0} MB)",
        server_cpu1.0 + server_cpu1.1,
        server_cpu1.0,
        server_cpu1.1,
        server_cpu_at_listen.0 + server_cpu_at_listen.1,
        fleet_cpu.0 + fleet_cpu.1,
        fleet_cpu.0,
        fleet_cpu.1,
    );
    summaries.push(Summary {
        setup: setup.to_owned(),
        phase: "restart",
        all_acked: f.all_acked,
        all_received: f.all_received,
        server_cpu: server_cpu1.0 + server_cpu1.1,
        fleet_cpu: fleet_cpu.0 + fleet_cpu.1,
        server_rss: rss,
        syn_drops: overflows,
    });
    fleet.exit().await;
    target.kill().await;
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = args()?;
    let (soft, hard) = raise_open_files_limit();
    println!(
        "10,000 clients reconnecting at once (issue #10): open files {soft} (hard {hard}) for the benchmark and each of its Node.js processes; {} CPU cores shared by server and clients",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let needed = (args.clients / args.processes + 64) as u64;
    anyhow::ensure!(
        soft >= needed,
        "each Node.js process needs {needed} open files; the limit is {soft}"
    );
    let node_dir = bench_node::install()?;
    let mut summaries = Vec::new();
    for setup in &args.setups {
        run_setup(setup, &args, &node_dir, &mut summaries).await?;
    }
    println!(
        "\nsummary ({} graphql-ws clients; seconds from the start of the storm, or from the kill):",
        args.clients
    );
    println!(
        "  {:<16} {:<8} {:>9} {:>11} {:>11} {:>11} {:>11} {:>10}",
        "setup",
        "phase",
        "all acked",
        "all receiv.",
        "server CPU",
        "fleet CPU",
        "server RSS",
        "SYN drops"
    );
    for s in &summaries {
        println!(
            "  {:<16} {:<8} {:>7.2} s {:>9.2} s {:>9.2} s {:>9.2} s {:>8.0} MB {:>10}",
            s.setup,
            s.phase,
            s.all_acked,
            s.all_received,
            s.server_cpu,
            s.fleet_cpu,
            s.server_rss,
            s.syn_drops
        );
    }
    println!(
        "  differences: hadir checks every token (hadir-shared: one token for all; hadir-distinct: one per client, each read from the database once, in batches), runs the real schema and its subscription hub on 2 runtime threads; the reference checks nothing, has a one-field schema and one thread. all receiving includes the wait for the next serverTime tick (up to 1 s)."
    );
    Ok(())
}
