//! Benchmark: the time from a face's first frame to its subscription event.
//! Run: `cargo bench -p api --bench event_latency`.
//!
//! A camera of the bench's own (MJPEG on 127.0.0.1, 5 frames/s) shows an empty scene, then
//! at a known instant an enrolled person; `hadir` (release build, the real models, the camera
//! sampled at 1 frame/s) recognises them and a `graphql-transport-ws` subscriber receives
//! `employeeDetected`. Repeated over several rounds, each a new pass (the empty scene between
//! them outlasts a face track); prints each latency, the median and the worst against the
//! target (sampling interval + 300 ms).

#[path = "../tests/common/mod.rs"]
mod common;

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use common::{
    ADMIN_TOKEN, TestDb,
    camera::{Camera, scene, server_with_obama, subscribe_to},
};
use futures_util::StreamExt;
use serde_json::json;

const ROUNDS: usize = 8;
/// The camera's sampling rate in hadir.
const SAMPLE_FPS: f64 = 1.0;

#[tokio::main]
async fn main() {
    let db = TestDb::create(common::Backend::Sqlite, "event_latency").expect("SQLite");
    let (enrolled, empty) = (scene(Some("obama2.jpg")), scene(None));
    let showing = Arc::new(Mutex::new(empty.clone()));
    let camera = Camera::start(0, showing).await;
    // lost_after is short so that each round starts with the employee OFFLINE again.
    let server = server_with_obama(&db, 2, 30).await;
    let client = server.ws(ADMIN_TOKEN).await;
    let mut detections = subscribe_to(
        &client,
        "subscription { employeeDetected { employee { employeeId } score } }",
    )
    .await;
    server
        .gql(
            ADMIN_TOKEN,
            "mutation($i: CameraInput!) { createCamera(input: $i) { cameraId } }",
            json!({ "i": { "cameraId": "DOOR", "name": "Door", "streamUrl": format!("http://127.0.0.1:{}/stream.mjpg", camera.port), "sampleFps": SAMPLE_FPS } }),
        )
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut latencies = Vec::new();
    for round in 0..ROUNDS {
        camera.show(&empty);
        // An empty scene long enough for the last pass's face track to end (someone back
        // within `track_end_after_secs` is the same pass, announced at most every
        // `announce_interval_secs`): each round is a new pass.
        tokio::time::sleep(
            vision::track::DEFAULT_END_AFTER + Duration::from_millis(2_300 + 137 * round as u64),
        )
        .await;
        while let Ok(Some(_)) =
            tokio::time::timeout(Duration::from_millis(1), detections.next()).await
        {}
        camera.show(&enrolled);
        let shown = Instant::now();
        match tokio::time::timeout(Duration::from_secs(10), detections.next()).await {
            Ok(Some(Ok(_))) => {
                let latency = shown.elapsed();
                println!("  round {round}: {:.0} ms", latency.as_secs_f64() * 1e3);
                latencies.push(latency);
            }
            other => println!("  round {round}: no detection ({other:?})"),
        }
    }
    latencies.sort();
    let target = Duration::from_secs_f64(1.0 / SAMPLE_FPS) + Duration::from_millis(300);
    if let (Some(median), Some(worst)) = (latencies.get(latencies.len() / 2), latencies.last()) {
        println!(
            "face's first frame → employeeDetected at the subscriber, sampling at {SAMPLE_FPS} frame/s: median {:.0} ms, worst {:.0} ms of {} rounds (target ≤ {:.0} ms)",
            median.as_secs_f64() * 1e3,
            worst.as_secs_f64() * 1e3,
            latencies.len(),
            target.as_secs_f64() * 1e3
        );
    }
}
