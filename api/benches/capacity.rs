//! Capacity of the real server: how many RTSP cameras one `hadir serve` recognises without
//! losing a frame.
//! Run: `cargo bench -p api --bench capacity [-- --cameras 8,16,24,32,40 --seconds 60
//! --warmup 20] [--server-env KEY=VALUE ...]` (after `scripts/test` built the videos and installed
//! GStreamer; `--server-env` sets an environment variable of the `hadir serve` process only,
//! a setting such as `HADIR_INFERENCE_WORKERS=3` or an allocator's tuning).
//!
//! Starts the release `hadir` (SQLite, default settings: 2 inference workers, motion gating,
//! key-frame decoding where it is enough) with two people enrolled (Obama from `obama.jpg`,
//! Grace Hopper from `grace_hopper.jpg`: both pass in the video), and the test fixtures' RTSP
//! server with one mount per camera, each looping the 1080p office video
//! (`office_1080p.mp4`: 60 s, GOP 25, people passing). Cameras are added through the API one
//! at a time, [`PHASE_STEP`] apart, so their streams are out of phase (each mount starts its
//! file when its camera first plays), each sampled at 1 frame/s. For each number of cameras
//! K (more are added to the same server), after a warm-up, over a measured window it prints:
//! hadir's CPU per camera-second (user + system, from /proc), frames delivered by the sources
//! vs configured (K × window), frames lost (replaced before recognition saw them, plus those
//! the sources did not deliver beyond one per camera of window alignment), resident memory
//! and its growth per camera since before the first camera, the RTSP server's CPU (it runs on
//! the same cores), and at the end the largest K with no frame lost, per core.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use common::{
    ADMIN_TOKEN, Backend, ServerOptions, TestDb, TestServer,
    camera::{RtspCamera, enrol, video},
};
use serde_json::json;

/// Numbers of cameras tried, when `--cameras` is not given.
const DEFAULT_CAMERAS: [usize; 6] = [8, 16, 24, 32, 40, 48];
/// Seconds measured at each number of cameras.
const DEFAULT_SECONDS: u64 = 60;
/// Seconds after the last camera was added before measuring.
const DEFAULT_WARMUP: u64 = 20;
/// Time between adding two cameras: their streams start this far apart.
const PHASE_STEP: Duration = Duration::from_millis(1_300);
/// Frames per second hadir samples of each camera.
const SAMPLE_FPS: f64 = 1.0;

struct Args {
    cameras: Vec<usize>,
    seconds: u64,
    warmup: u64,
    server_env: Vec<(String, String)>,
}

fn args() -> anyhow::Result<Args> {
    let mut args = Args {
        cameras: DEFAULT_CAMERAS.to_vec(),
        seconds: DEFAULT_SECONDS,
        warmup: DEFAULT_WARMUP,
        server_env: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--cameras" => {
                args.cameras = value()?
                    .split(',')
                    .map(|n| n.trim().parse())
                    .collect::<Result<_, _>>()?
            }
            "--seconds" => args.seconds = value()?.parse()?,
            "--warmup" => args.warmup = value()?.parse()?,
            "--server-env" => {
                let pair = value()?;
                let (key, val) = pair
                    .split_once('=')
                    .with_context(|| format!("--server-env {pair}: KEY=VALUE"))?;
                args.server_env.push((key.to_owned(), val.to_owned()));
            }
            "--bench" => {}
            other => bail!("unknown argument {other}"),
        }
    }
    args.cameras.sort_unstable();
    args.cameras.dedup();
    anyhow::ensure!(
        args.cameras.first().is_some_and(|&k| k > 0) && args.seconds > 0,
        "--cameras needs numbers above 0, --seconds a duration"
    );
    Ok(args)
}

/// CPU seconds (user + system) a process has used so far.
fn cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command's closing parenthesis: state is field 3, utime 14, stime 15.
    let rest = stat.rsplit_once(')').context("a stat line")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>()? + fields[12].parse::<f64>()?;
    // SAFETY: sysconf reads a configuration value.
    let per_second = unsafe { sysconf(SC_CLK_TCK) } as f64;
    Ok(ticks / per_second)
}

const SC_CLK_TCK: i32 = 2;
unsafe extern "C" {
    fn sysconf(name: i32) -> i64;
}

/// Resident memory of a process, MB.
fn rss_mb(pid: u32) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .context("VmRSS")?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()?;
    Ok(kb / 1024.0)
}

/// Sums of the per-camera series of `/metrics`.
struct Totals {
    delivered: f64,
    dropped: f64,
    processed: f64,
    recognitions: f64,
}

async fn totals(server: &TestServer) -> Totals {
    let metrics = server.metrics().await;
    let sum = |name: &str| -> f64 {
        metrics
            .0
            .lines()
            .filter(|l| l.starts_with(&format!("{name}{{")))
            .filter_map(|l| l.rsplit_once(' ').and_then(|(_, v)| v.parse::<f64>().ok()))
            .sum()
    };
    Totals {
        delivered: sum("hadir_camera_frames_total"),
        dropped: sum("hadir_camera_frames_dropped_total"),
        processed: sum("hadir_camera_frames_processed_total"),
        recognitions: sum("hadir_recognitions_total"),
    }
}

fn main() -> anyhow::Result<()> {
    let args = args()?;
    tokio::runtime::Runtime::new()?.block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let most = *args.cameras.last().context("cameras")?;
    let office = video("office_1080p.mp4");
    let mut rtsp_args = vec!["--loop".to_owned()];
    for n in 1..=most {
        rtsp_args.push("--mount".to_owned());
        rtsp_args.push(format!("/c{n}={}", office.display()));
    }
    let rtsp = RtspCamera::start_with(&rtsp_args, "/c1");
    let base = rtsp.url.trim_end_matches("/c1").to_owned();
    let rtsp_pid = rtsp.pid();

    let db = TestDb::create(Backend::Sqlite, "capacity").context("an SQLite database")?;
    let server = TestServer::start(
        &db,
        &ServerOptions {
            camera_dir: Some(db.dir.path().join("no-cameras")),
            extra_env: args.server_env.clone(),
            ..ServerOptions::default()
        },
    );
    let pid = server.child.id();
    for (id, name, photo) in [
        ("E1", "Barack Obama", "obama.jpg"),
        ("E2", "Grace Hopper", "grace_hopper.jpg"),
    ] {
        server.create_employee(id, name).await;
        enrol(&server, id, photo).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle_rss = rss_mb(pid)?;

    println!(
        "capacity: one hadir serve (release, SQLite, default recognition settings), {cores} cores; \
         RTSP cameras looping office_1080p.mp4 (1080p, GOP 25, 60 s) out of phase, sampled at {SAMPLE_FPS} frame/s; \
         {} s measured after {} s of warm-up at each K",
        args.seconds, args.warmup
    );
    for (key, value) in &args.server_env {
        println!("hadir serve's environment: {key}={value}");
    }
    println!("resident memory before the first camera: {idle_rss:.0} MB");
    println!();
    println!(
        "{:>4} {:>13} {:>18} {:>12} {:>10} {:>12} {:>11} {:>13} {:>10}",
        "K",
        "CPU ms/cam-s",
        "frames delivered",
        "frames lost",
        "looked at",
        "recognised",
        "RSS MB",
        "RSS MB/camera",
        "RTSP CPU"
    );
    let mut added = 0usize;
    let mut best_without_loss = None;
    for &k in &args.cameras {
        while added < k {
            added += 1;
            server
                .gql(
                    ADMIN_TOKEN,
                    "mutation($i: CameraInput!) { createCamera(input: $i) { cameraId } }",
                    json!({ "i": {
                        "cameraId": format!("C{added}"),
                        "name": format!("Office {added}"),
                        "streamUrl": format!("{base}/c{added}"),
                        "sampleFps": SAMPLE_FPS,
                    } }),
                )
                .await;
            tokio::time::sleep(PHASE_STEP).await;
        }
        tokio::time::sleep(Duration::from_secs(args.warmup)).await;
        let (before, cpu0, rtsp0, t0) = (
            totals(&server).await,
            cpu_seconds(pid)?,
            cpu_seconds(rtsp_pid)?,
            Instant::now(),
        );
        tokio::time::sleep(Duration::from_secs(args.seconds)).await;
        let (after, cpu1, rtsp1, window) = (
            totals(&server).await,
            cpu_seconds(pid)?,
            cpu_seconds(rtsp_pid)?,
            t0.elapsed().as_secs_f64(),
        );
        let rss = rss_mb(pid)?;
        let configured = k as f64 * SAMPLE_FPS * window;
        let delivered = after.delivered - before.delivered;
        let dropped = after.dropped - before.dropped;
        // One frame per camera of slack: the window's edges fall between samples.
        let undelivered = (configured - delivered - k as f64).max(0.0);
        let lost = dropped + undelivered;
        let cpu_per_camera_second = 1000.0 * (cpu1 - cpu0) / (k as f64 * window);
        println!(
            "{k:>4} {:>13.1} {:>18} {:>12} {:>10} {:>12} {:>11.0} {:>13.1} {:>9.0}%",
            cpu_per_camera_second,
            format!("{delivered:.0} / {configured:.0}"),
            format!("{lost:.0} ({:.1}%)", 100.0 * lost / configured.max(1.0)),
            format!("{:.0}", after.processed - before.processed),
            format!("{:.0}", after.recognitions - before.recognitions),
            rss,
            (rss - idle_rss) / k as f64,
            100.0 * (rtsp1 - rtsp0) / window,
        );
        if lost == 0.0 {
            best_without_loss = Some(k);
        } else if best_without_loss.is_some_and(|b| b < k) {
            // Past the first loss: larger K only lose more.
            break;
        }
    }
    println!();
    match best_without_loss {
        Some(k) => println!(
            "largest K with no frame lost: {k} cameras = {:.1} per core ({cores} cores; the RTSP server shares them)",
            k as f64 / cores as f64
        ),
        None => println!("frames were lost at every K tried"),
    }
    drop(server);
    drop(rtsp);
    Ok(())
}
