//! Unit tests of [`super`]: each kind of probe becomes the rows an operator needs.

use std::time::Duration;

use vision::source::{
    SourceError,
    probe::{Probe, Stage, StreamFacts},
};

use super::*;
use crate::doctor::Status;

fn camera(url: &str, fps: f64) -> Camera {
    Camera {
        id: "CAM1".into(),
        name: "Door".into(),
        url: url.into(),
        sample_fps: fps,
        source: "api".into(),
    }
}

fn h264(gop_ms: Option<u64>) -> StreamFacts {
    StreamFacts {
        codec: Some("H.264".into()),
        profile: Some("Constrained Baseline, level 3.1".into()),
        resolution: Some((1280, 720)),
        frame_rate: Some(25.0),
        key_frame_interval: gop_ms.map(Duration::from_millis),
        key_frame_distance: gop_ms.map(|ms| (ms / 40) as u32),
    }
}

fn probe(reached: Stage, facts: StreamFacts, error: Option<SourceError>) -> Probe {
    Probe {
        reached,
        facts,
        frame: (reached == Stage::Decoded).then(|| image::RgbImage::new(1280, 720)),
        error,
    }
}

fn row<'a>(rows: &'a [Check], aspect: &str) -> &'a Check {
    let name = format!("CAM1: {aspect}");
    rows.iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no row {name:?} in {rows:#?}"))
}

#[test]
fn a_camera_that_works_gets_every_row_ok() {
    let cam = camera("rtsp://admin:s3cret@10.0.0.5/stream1", 1.0);
    let found = probe(Stage::Decoded, h264(Some(1000)), None);
    let faces: Detected = Ok(vec![(198, 295)]);
    let rows = rows(&cam, &found, Some(&faces), 40.0);
    assert!(rows.iter().all(|c| c.status == Status::Ok), "{rows:#?}");
    assert!(
        row(&rows, "reachable")
            .detail
            .contains("rtsp://***@10.0.0.5/stream1")
    );
    assert!(!format!("{rows:?}").contains("s3cret"), "no secret shown");
    assert_eq!(row(&rows, "credentials").detail, "accepted");
    assert_eq!(
        row(&rows, "codec").detail,
        "H.264, Constrained Baseline, level 3.1"
    );
    assert_eq!(row(&rows, "resolution").detail, "1280×720");
    assert!(
        row(&rows, "key-frame interval")
            .detail
            .starts_with("25 frames, 1.00 s")
    );
    assert!(row(&rows, "key frames only").detail.starts_with("yes"));
    assert_eq!(row(&rows, "faces").detail, "1 face found: 198×295 px");
    let facts = facts(&cam, &found, Some(&faces));
    assert_eq!(
        (facts.width, facts.gop_frames, facts.faces),
        (Some(1280), Some(25), Some(1))
    );
    assert_eq!(facts.key_frames_only, Some(true));
    assert_eq!(facts.reached, "decoded");
}

#[test]
fn a_long_gop_warns_with_the_gop_that_would_do() {
    let found = probe(Stage::Decoded, h264(Some(4000)), None);
    let rows = rows(
        &camera("rtsp://10.0.0.5/s", 1.0),
        &found,
        Some(&Ok(vec![])),
        40.0,
    );
    let only = row(&rows, "key frames only");
    assert_eq!(only.status, Status::Warn);
    assert!(
        only.fix.as_deref().unwrap().contains("at most 25 frames"),
        "{only:?}"
    );
    assert!(row(&rows, "faces").detail.starts_with("no face in view"));
    let unknown = probe(Stage::Decoded, h264(None), None);
    let rows = super::rows(&camera("rtsp://10.0.0.5/s", 1.0), &unknown, None, 40.0);
    assert_eq!(row(&rows, "key-frame interval").status, Status::Warn);
    assert_eq!(
        row(&rows, "faces").status,
        Status::Warn,
        "no models, no faces looked for"
    );
}

#[test]
fn an_unreachable_camera_is_named_with_its_address() {
    let found = probe(
        Stage::Unreached,
        StreamFacts::default(),
        Some(SourceError::Connect(
            "127.0.0.1:9: Connection refused (os error 111)".into(),
        )),
    );
    let rows = rows(&camera("rtsp://u:p@127.0.0.1:9/x", 1.0), &found, None, 40.0);
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0].status, Status::Fail);
    assert!(
        rows[0]
            .fix
            .as_deref()
            .unwrap()
            .contains("nothing listens at 127.0.0.1:9")
    );
}

#[test]
fn refused_credentials_and_h265_get_their_precise_advice() {
    let refused = probe(
        Stage::Connected,
        StreamFacts::default(),
        Some(SourceError::Unauthorized(
            vision::source::rtsp::UNAUTHORIZED_CREDENTIALS.into(),
        )),
    );
    let rows = rows(&camera("rtsp://u:wrong@cam/x", 1.0), &refused, None, 40.0);
    let credentials = row(&rows, "credentials");
    assert_eq!(credentials.status, Status::Fail);
    assert_eq!(
        credentials.detail,
        "the camera refused the user name/password in its stream URL"
    );
    let h265 = probe(
        Stage::Described,
        StreamFacts {
            codec: Some("H.265".into()),
            profile: Some("Main, level 3.1".into()),
            resolution: Some((640, 480)),
            ..Default::default()
        },
        Some(SourceError::Unsupported("the camera streams H.265".into())),
    );
    let rows = super::rows(&camera("rtsp://cam/h265", 1.0), &h265, None, 40.0);
    let codec = row(&rows, "codec");
    assert_eq!(codec.status, Status::Fail);
    assert_eq!(
        codec.fix.as_deref(),
        Some("switch the camera's stream (main or sub) to H.264")
    );
    assert_eq!(row(&rows, "resolution").detail, "640×480");
    assert!(rows.iter().all(|c| c.name != "CAM1: frame"), "{rows:#?}");
}

#[test]
fn a_camera_sending_fewer_frames_than_sampled_warns() {
    let mut facts = h264(Some(1000));
    facts.frame_rate = Some(5.0);
    let found = probe(Stage::Decoded, facts, None);
    let rows = rows(
        &camera("rtsp://cam/x", 10.0),
        &found,
        Some(&Ok(vec![])),
        40.0,
    );
    assert_eq!(row(&rows, "frame rate").status, Status::Warn);
}
