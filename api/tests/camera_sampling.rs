//! The camera pipeline says what it does, against a real `hadir` and real cameras: a
//! 25 frame/s, GOP-25 RTSP camera sampled at 1 frame/s delivers 60 ± 2 frames a minute, and
//! the dropped-frames counter stays at 0 while recognition keeps up and rises only when it
//! is made to fall behind; cameras read from their key frames share the pool's decoders, and
//! one sampled faster than its key frames decodes every frame with a decoder of its own.
//!
//! Timing-sensitive (a minute of real time): a test binary of its own, run alone.

mod common;

use std::time::{Duration, Instant};

use common::{
    ADMIN_TOKEN, Backend, ServerOptions, TestDb, TestServer,
    camera::{RtspCamera, video},
};
use serde_json::json;

async fn add_camera(server: &TestServer, id: &str, url: &str, fps: f64) {
    server
        .gql(
            ADMIN_TOKEN,
            "mutation($i: CameraInput!) { createCamera(input: $i) { cameraId } }",
            json!({ "i": { "cameraId": id, "name": id, "streamUrl": url, "sampleFps": fps } }),
        )
        .await;
}

/// The camera's counter `name` (e.g. `hadir_camera_frames_total`).
async fn counter(server: &TestServer, name: &str, camera: &str) -> f64 {
    server
        .metrics()
        .await
        .get(&format!("{name}{{camera=\"{camera}\"}}"))
        .unwrap_or(0.0)
}

async fn wait_for_frames(server: &TestServer, camera: &str, at_least: f64, within: Duration) {
    let deadline = Instant::now() + within;
    while counter(server, "hadir_camera_frames_total", camera).await < at_least {
        assert!(
            Instant::now() < deadline,
            "camera {camera} delivered fewer than {at_least} frames in {within:?}:\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn one_frame_a_second_is_sixty_a_minute_and_nothing_is_dropped_that_was_kept_up_with() {
    let db = TestDb::create(Backend::Sqlite, "camera_sampling").unwrap();
    let rtsp = RtspCamera::start(0, &video("office_1080p.mp4"), "/office");
    let server = TestServer::start(&db, &ServerOptions::default());
    add_camera(&server, "OFFICE", &rtsp.url, 1.0).await;
    wait_for_frames(&server, "OFFICE", 2.0, Duration::from_secs(30)).await;

    let start = counter(&server, "hadir_camera_frames_total", "OFFICE").await;
    let dropped_before = counter(&server, "hadir_camera_frames_dropped_total", "OFFICE").await;
    tokio::time::sleep(Duration::from_secs(60)).await;
    let frames = counter(&server, "hadir_camera_frames_total", "OFFICE").await - start;
    assert!(
        (58.0..=62.0).contains(&frames),
        "60 ± 2 frames in 60 s at 1 frame/s, got {frames}"
    );
    let dropped = counter(&server, "hadir_camera_frames_dropped_total", "OFFICE").await;
    assert_eq!(
        dropped, dropped_before,
        "recognition keeps up with 1 frame/s: nothing dropped"
    );
    let processed = counter(&server, "hadir_camera_frames_processed_total", "OFFICE").await;
    let unchanged = counter(&server, "hadir_camera_frames_unchanged_total", "OFFICE").await;
    let all = counter(&server, "hadir_camera_frames_total", "OFFICE").await;
    assert!(
        processed + unchanged + 1.0 >= all - dropped,
        "every frame kept was looked at: {processed} processed + {unchanged} unchanged of {all}"
    );

    // Made to fall behind: a camera of 25 frames per second of 720p pictures, all of them
    // looked at in full (no motion gating) for faces down to 12 px (several times the work of
    // the default 40 px), by one inference worker. (A debug build decodes only ~5 of these
    // JPEGs a second: with the default smallest face, recognition kept pace with that.)
    let db = TestDb::create(Backend::Sqlite, "camera_sampling_behind").unwrap();
    let server = TestServer::start(
        &db,
        &ServerOptions {
            extra_env: vec![
                ("HADIR_MOTION_GATING".into(), "false".into()),
                ("HADIR_INFERENCE_WORKERS".into(), "1".into()),
                ("HADIR_MIN_FACE_PX".into(), "12".into()),
            ],
            ..Default::default()
        },
    );
    let folder = video("enrolled_then_empty_then_stranger_jpg");
    let url = url::Url::from_directory_path(&folder).unwrap().to_string();
    add_camera(&server, "FAST", &url, 25.0).await;
    wait_for_frames(&server, "FAST", 60.0, Duration::from_secs(30)).await;
    let dropped = counter(&server, "hadir_camera_frames_dropped_total", "FAST").await;
    let frames = counter(&server, "hadir_camera_frames_total", "FAST").await;
    assert!(
        dropped > 0.0,
        "recognition cannot keep up with 25 full 720p frames a second: {dropped} of {frames} dropped"
    );
    assert!(dropped < frames);
}

/// Two RTSP cameras read from their key frames share one decoder (a pool of one here: a
/// 1080p decoder holds ~32 MB), and a camera sampled faster than its key frames come gets a
/// decoder of its own from its second key frame on and then every sample it asks for.
#[tokio::test]
async fn key_frame_cameras_share_decoders_and_a_faster_one_decodes_every_frame() {
    use vision::source::{
        FrameSource, SourceOptions, decoders::KeyFrameDecoders, rtsp::RtspSource,
    };
    let rtsp = RtspCamera::start_with(
        &[
            "--loop".to_owned(),
            "--mount".to_owned(),
            format!("/a={}", video("office_1080p.mp4").display()),
            "--mount".to_owned(),
            format!("/b={}", video("office_day_1080p.mp4").display()),
        ],
        "/a",
    );
    let base = rtsp.url.trim_end_matches("/a").to_owned();
    let pool = KeyFrameDecoders::new(1);
    let options = SourceOptions {
        key_frame_decoders: pool.clone(),
        ..SourceOptions::default()
    };
    let second = Duration::from_secs(1);
    let mut a = RtspSource::connect(&format!("{base}/a"), second, &options)
        .await
        .expect("camera a");
    let mut b = RtspSource::connect(&format!("{base}/b"), second, &options)
        .await
        .expect("camera b");
    for round in 0..3 {
        for (name, source) in [("a", &mut a), ("b", &mut b)] {
            let frame = tokio::time::timeout(Duration::from_secs(20), source.next_frame())
                .await
                .unwrap_or_else(|_| panic!("camera {name}, frame {round}: none within 20 s"))
                .unwrap_or_else(|e| panic!("camera {name}, frame {round}: {e}"));
            assert_eq!(frame.image.dimensions(), (1920, 1080));
        }
    }
    assert!(a.decodes_key_frames_only() && b.decodes_key_frames_only());
    assert_eq!(
        pool.idle(),
        1,
        "both cameras were decoded by the pool's one decoder"
    );

    // 5 samples a second of a stream with a key frame a second: every frame is decoded.
    let mut fast = RtspSource::connect(&format!("{base}/a"), Duration::from_millis(200), &options)
        .await
        .expect("camera a again");
    let started = Instant::now();
    let mut frames = 0;
    while started.elapsed() < Duration::from_secs(6) {
        tokio::time::timeout(Duration::from_secs(20), fast.next_frame())
            .await
            .expect("a frame within 20 s")
            .expect("a frame");
        frames += 1;
    }
    assert!(
        !fast.decodes_key_frames_only(),
        "key frames every second are too few for 5 a second"
    );
    // The first second gives its key frame only, then 5 a second (generous margins: a debug
    // build on a shared machine).
    assert!(
        frames >= 15,
        "{frames} frames in 6 s at 5 frames/s (its own decoder from the second key frame)"
    );
}

/// A camera read from its key frames whose pace quickens past its key-frame interval (as
/// hadir's recognition does when a newcomer appears) decodes at once from the last key frame
/// and what came after it, kept for this, instead of waiting for the next key frame; when the
/// pace slows again it goes back to key frames alone.
#[tokio::test]
async fn a_quickened_pace_decodes_from_the_last_key_frame_at_once_and_slows_back_to_key_frames() {
    use vision::source::{Frame, FrameSource, Pace, SourceOptions, rtsp::RtspSource};
    async fn next(camera: &mut RtspSource) -> Frame {
        tokio::time::timeout(Duration::from_secs(20), camera.next_frame())
            .await
            .expect("a frame within 20 s")
            .expect("a frame")
    }
    let rtsp = RtspCamera::start_with(
        &[
            "--loop".to_owned(),
            "--mount".to_owned(),
            format!("/a={}", video("office_1080p.mp4").display()),
        ],
        "/a",
    );
    let pace = Pace::new(Duration::from_secs(1));
    let mut camera = RtspSource::connect(&rtsp.url, &pace, &SourceOptions::default())
        .await
        .expect("camera");
    // Three key frames: the key-frame interval (1 s) is known from the second.
    for _ in 0..3 {
        assert_eq!(next(&mut camera).await.image.dimensions(), (1920, 1080));
    }
    let before = Instant::now();
    pace.set(Duration::from_millis(200));
    next(&mut camera).await;
    let first = before.elapsed();
    // The next key frame is a second after the last one taken; from the kept group the first
    // quick sample comes about 200 ms after it (generous margins: a shared machine).
    assert!(
        first < Duration::from_millis(700),
        "the first quick sample took {first:?}: it waited for the next key frame"
    );
    let started = Instant::now();
    let mut quick = 0;
    while started.elapsed() < Duration::from_secs(3) {
        next(&mut camera).await;
        quick += 1;
    }
    assert!(quick >= 9, "{quick} frames in 3 s at 5 frames/s");
    assert!(!camera.decodes_key_frames_only());
    pace.set(Duration::from_secs(1));
    let started = Instant::now();
    for _ in 0..3 {
        next(&mut camera).await;
    }
    let slow = started.elapsed();
    assert!(camera.decodes_key_frames_only(), "back to key frames alone");
    assert!(
        slow >= Duration::from_millis(1500),
        "3 frames at 1 frame/s took {slow:?}"
    );
}
