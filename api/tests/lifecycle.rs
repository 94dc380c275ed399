//! The server's life as a service manager sees it: `hadir serve` with a real RTSP camera, a
//! real MQTT broker (this machine's Mosquitto; `HADIR_TEST_MQTT_HOST`/`_PORT` name another)
//! and a webhook receiver of the test's own, stopped with SIGTERM: it logs each stage of its
//! ordered stop, says `offline` on MQTT, and exits 0 within 10 s. (SQLite only: the stop
//! does not depend on the database's kind.)

mod common;

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{Router, extract::State, http::StatusCode, routing::post};
use common::{
    Backend, ServerOptions, TestDb, TestServer,
    camera::{RtspCamera, test_video},
    mqtt::{Received, broker, subscribe},
};
use tokio::sync::mpsc;

/// The most a stop may take (the issue's bound; the stop's own waits add up to ~8 s at worst).
const STOP_WITHIN: Duration = Duration::from_secs(10);

async fn payload(messages: &mut mpsc::UnboundedReceiver<Received>, wanted: &str, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, messages.recv()).await {
            Ok(Some(message)) if message.payload == wanted => return,
            Ok(Some(_)) => {}
            _ => panic!("no {wanted:?} on the status topic within {within:?}"),
        }
    }
}

/// A webhook receiver on 127.0.0.1 that counts deliveries and answers 204.
async fn webhook_receiver() -> (String, Arc<AtomicUsize>) {
    let received = Arc::new(AtomicUsize::new(0));
    let app = Router::new()
        .route(
            "/hook",
            post(|State(count): State<Arc<AtomicUsize>>| async move {
                count.fetch_add(1, Ordering::SeqCst);
                StatusCode::NO_CONTENT
            }),
        )
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the receiver");
    let url = format!("http://{}/hook", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_every_part_in_order_and_exits_zero() {
    let Some(db) = TestDb::create(Backend::Sqlite, "sigterm_stops_every_part_in_order") else {
        return;
    };
    let camera = RtspCamera::start(0, &test_video(), "/door");
    let camera_dir = db.dir.path().join("cameras");
    std::fs::create_dir_all(&camera_dir).expect("camera folder");
    std::fs::write(
        camera_dir.join("door.json"),
        format!(
            r#"{{"id": "DOOR", "name": "Door", "rtsp_url": "{}", "fps": 2}}"#,
            camera.url
        ),
    )
    .expect("camera file");
    let prefix = format!("hadir-lifecycle-{}", std::process::id());
    let (_client, mut status) = subscribe(&format!("{prefix}/status")).await;
    let (hook_url, deliveries) = webhook_receiver().await;
    let (host, port) = broker();
    let mut server = TestServer::start(
        &db,
        &ServerOptions {
            camera_dir: Some(camera_dir),
            extra_env: vec![
                ("HADIR_MQTT_URL".into(), format!("mqtt://{host}:{port}")),
                ("HADIR_MQTT_TOPIC_PREFIX".into(), prefix.clone()),
                ("HADIR_WEBHOOK_URLS".into(), hook_url),
                (
                    "HADIR_WEBHOOK_EVENTS".into(),
                    "camera.status_changed".into(),
                ),
            ],
            ..Default::default()
        },
    );

    // Everything runs: MQTT said online, the camera delivers frames, a webhook came.
    payload(&mut status, "online", Duration::from_secs(20)).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let metrics = server.metrics().await;
        let frames = metrics
            .get("hadir_camera_frames_total{camera=\"DOOR\"}")
            .unwrap_or(0.0);
        if frames > 0.0 && deliveries.load(Ordering::SeqCst) > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the camera's frames ({frames}) and a webhook delivery ({}) within 60 s; log:\n{}",
            deliveries.load(Ordering::SeqCst),
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    let asked = Instant::now();
    let exit = tokio::task::spawn_blocking(move || {
        let exit = server.terminate();
        (exit, server)
    });
    let (exit, server) = tokio::time::timeout(STOP_WITHIN + Duration::from_secs(20), exit)
        .await
        .expect("hadir exits after SIGTERM")
        .expect("the waiting thread");
    let took = asked.elapsed();
    let log = server.log();
    assert!(exit.success(), "exit status {exit:?}; log:\n{log}");
    assert!(
        took <= STOP_WITHIN,
        "stopped in {took:?}, more than {STOP_WITHIN:?}; log:\n{log}"
    );
    // Each stage, in order.
    let stages = [
        "shutting down",
        "stopping: no new connections",
        "stopping: requests finished",
        "stopping: background tasks stopped",
        "stopping: cameras stopped",
        "stopping: MQTT flushed",
        "stopping: webhooks flushed",
        "stopping: database closed",
        "stopped",
    ];
    let mut from = 0;
    for stage in stages {
        match log[from..].find(stage) {
            Some(at) => from += at + stage.len(),
            None => panic!("stage {stage:?} not logged after the previous one; log:\n{log}"),
        }
    }
    assert!(
        log.contains("cameras=1"),
        "the one camera was stopped; log:\n{log}"
    );
    if std::env::var_os("HADIR_TEST_SHOW_LOG").is_some() {
        eprintln!("{log}");
    }
    // MQTT's clean stop: `offline`, published by hadir itself (not its last will).
    payload(&mut status, "offline", Duration::from_secs(5)).await;
}
