//! What one camera's probe means, as rows: reachable, credentials, codec and profile,
//! resolution, frame rate, key-frame interval, key frames only, a frame decoded, faces in it.
//! Rows stop at the first failure (nothing after it could be checked). Pure: unit-tested on
//! probes made up here.

use std::time::Duration;

use vision::source::{
    SourceError,
    probe::{Probe, Stage},
    rtsp::H265_ADVICE,
};

use super::{
    CAMERA_WATCH, Check, Section,
    camera::{Camera, CameraFacts},
};
use crate::redact::{message_for_logs, url_for_logs};

const S: Section = Section::Cameras;

/// The sizes (width × height, pixels) of the faces found in a camera's frame, or why the
/// detector failed.
pub type Detected = Result<Vec<(u32, u32)>, String>;

/// The rows of one camera.
pub fn rows(
    camera: &Camera,
    probe: &Probe,
    detected: Option<&Detected>,
    min_face: f32,
) -> Vec<Check> {
    let name = |aspect: &str| format!("{}: {aspect}", camera.id);
    let url = url_for_logs(&camera.url);
    let error = probe
        .error
        .as_ref()
        .map(|e| message_for_logs(&e.to_string()))
        .unwrap_or_default();
    let rtsp = camera.url.trim().to_ascii_lowercase().starts_with("rtsp");
    let has_user = url::Url::parse(&camera.url).is_ok_and(|u| !u.username().is_empty());
    let mut rows = Vec::new();
    if probe.reached == Stage::Unreached {
        rows.push(Check::fail(
            S,
            name("reachable"),
            format!("{url}: {error}"),
            unreached_fix(camera, probe.error.as_ref()),
        ));
        return rows;
    }
    rows.push(Check::ok(S, name("reachable"), format!("{url} answered")));
    if let Some(SourceError::Unauthorized(message)) = &probe.error {
        rows.push(Check::fail(
            S,
            name("credentials"),
            message.clone(),
            if has_user {
                "correct the user name and password in the camera's stream URL \
                 (rtsp://USER:PASSWORD@host/…, with @ : / % in them percent-encoded)"
            } else {
                "put the camera's user name and password in its stream URL \
                 (rtsp://USER:PASSWORD@host/…, with @ : / % in them percent-encoded)"
            },
        ));
        return rows;
    }
    if probe.reached == Stage::Connected {
        let (error, fix) = match &probe.error {
            Some(SourceError::Timeout(waited)) => (
                format!("{url} took the connection but sent no answer within {waited:?}"),
                "the camera took the connection but did not answer: check that the port of the \
                 stream URL is its RTSP port, and restart the camera if it stays silent",
            ),
            _ => (
                error,
                "check the stream URL's path (the camera's manual names its main and sub streams)",
            ),
        };
        rows.push(Check::fail(S, name("stream"), error, fix));
        return rows;
    }
    rows.push(Check::ok(
        S,
        name("credentials"),
        if has_user { "accepted" } else { "none needed" },
    ));
    let facts = &probe.facts;
    let codec = facts.codec.clone().unwrap_or_else(|| "unknown".to_owned());
    let profile = facts
        .profile
        .as_ref()
        .map(|p| format!(", {p}"))
        .unwrap_or_default();
    let decodable = match codec.as_str() {
        "H.264" => {
            rows.push(Check::ok(S, name("codec"), format!("H.264{profile}")));
            true
        }
        "H.265" => {
            rows.push(Check::fail(
                S,
                name("codec"),
                format!(
                    "H.265{profile}: hadir cannot decode H.265 (it decodes H.264, with openh264)"
                ),
                H265_ADVICE,
            ));
            false
        }
        other if rtsp => {
            rows.push(Check::fail(
                S,
                name("codec"),
                format!("{other}: hadir reads H.264 video from RTSP cameras"),
                "set the camera's stream to H.264",
            ));
            false
        }
        other => {
            rows.push(Check::ok(S, name("codec"), other.to_owned()));
            true
        }
    };
    if let Some((width, height)) = facts.resolution {
        rows.push(Check::ok(
            S,
            name("resolution"),
            format!("{width}×{height}"),
        ));
    }
    if let Some(fps) = facts.frame_rate {
        rows.push(frame_rate(camera, &name("frame rate"), fps));
    }
    if !decodable {
        return rows;
    }
    if probe.reached == Stage::Described {
        rows.push(Check::fail(
            S,
            name("stream"),
            error,
            "check the camera's stream settings",
        ));
        return rows;
    }
    if rtsp {
        rows.extend(key_frames(camera, probe, &name));
    }
    if probe.reached < Stage::Decoded {
        let fix = match &probe.error {
            Some(SourceError::Timeout(_)) => {
                "check that the camera's stream is live (its web page shows video)"
            }
            _ => "set the camera's stream to H.264, baseline or main profile, without B-frames",
        };
        rows.push(Check::fail(S, name("frame"), error, fix));
        return rows;
    }
    let shown = probe
        .frame
        .as_ref()
        .map(|f| format!("one {}×{} frame decoded", f.width(), f.height()))
        .unwrap_or_else(|| "one frame decoded".to_owned());
    rows.push(Check::ok(S, name("frame"), shown));
    rows.push(faces(&name("faces"), detected, min_face));
    rows
}

/// The camera's frame rate against the rate it is sampled at.
fn frame_rate(camera: &Camera, name: &str, fps: f64) -> Check {
    let detail = format!(
        "{fps:.1} fps, sampled at {} fps",
        shown_rate(camera.sample_fps)
    );
    if fps + 0.5 < camera.sample_fps {
        return Check::warn(
            S,
            name,
            format!("{detail}: fewer frames than it is sampled at"),
            format!(
                "lower the camera's fps setting (in its file or through the API) to at most {fps:.0}, \
                 or raise the camera's frame rate"
            ),
        );
    }
    Check::ok(S, name, detail)
}

/// The key-frame interval, and whether key frames alone will be decoded.
fn key_frames(camera: &Camera, probe: &Probe, name: &dyn Fn(&str) -> String) -> Vec<Check> {
    let facts = &probe.facts;
    let interval = camera.sample_interval();
    let Some(gop) = facts.key_frame_interval else {
        if probe.reached < Stage::Decoded {
            return Vec::new();
        }
        return vec![Check::warn(
            S,
            name("key-frame interval"),
            format!(
                "no second key frame within {:.0} s: the key-frame interval (GOP) is longer",
                CAMERA_WATCH.as_secs_f64()
            ),
            format!(
                "set the camera's key-frame (I-frame) interval to at most {} frames \
                 (frame rate × the sampling interval)",
                gop_for(facts.frame_rate, interval)
            ),
        )];
    };
    let frames = facts
        .key_frame_distance
        .map(|n| format!("{n} frames, "))
        .unwrap_or_default();
    let mut rows = vec![Check::ok(
        S,
        name("key-frame interval"),
        format!("{frames}{:.2} s", gop.as_secs_f64()),
    )];
    let line = format!(
        "a key frame every {:.2} s, a frame sampled every {:.2} s",
        gop.as_secs_f64(),
        interval.as_secs_f64()
    );
    match probe.key_frames_only(interval) {
        Some(true) => rows.push(Check::ok(
            S,
            name("key frames only"),
            format!("yes: {line}: only key frames are decoded"),
        )),
        Some(false) => rows.push(Check::warn(
            S,
            name("key frames only"),
            format!("no: {line}: every frame is decoded (more CPU for this camera)"),
            format!(
                "set the camera's key-frame interval (GOP) to at most {} frames, or sample it \
                 every {:.1} s (fps {:.2})",
                gop_for(facts.frame_rate, interval),
                gop.as_secs_f64(),
                1.0 / gop.as_secs_f64()
            ),
        )),
        None => {}
    }
    rows
}

/// The largest GOP, in frames, with which key frames alone suffice.
fn gop_for(frame_rate: Option<f64>, interval: Duration) -> String {
    match frame_rate {
        Some(fps) => format!("{:.0}", (fps * interval.as_secs_f64()).floor().max(1.0)),
        None => format!("its frame rate × {:.1}", interval.as_secs_f64()),
    }
}

fn faces(name: &str, detected: Option<&Detected>, min_face: f32) -> Check {
    match detected {
        None => Check::warn(
            S,
            name,
            "not looked for: the face models did not load (see models)",
            "fix the models first",
        ),
        Some(Err(error)) => Check::warn(
            S,
            name,
            format!("the detector failed on the frame: {error}"),
            "see models",
        ),
        Some(Ok(found)) if found.is_empty() => Check::ok(
            S,
            name,
            format!(
                "no face in view now (faces of at least {min_face:.0} px across are looked for)"
            ),
        ),
        Some(Ok(found)) => {
            let sizes: Vec<String> = found.iter().map(|(w, h)| format!("{w}×{h} px")).collect();
            Check::ok(
                S,
                name,
                format!(
                    "{} found: {}",
                    plural(found.len(), "face"),
                    sizes.join(", ")
                ),
            )
        }
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn shown_rate(fps: f64) -> String {
    if fps.fract() == 0.0 {
        format!("{fps:.0}")
    } else {
        format!("{fps}")
    }
}

/// How to fix a camera that could not be reached.
fn unreached_fix(camera: &Camera, error: Option<&SourceError>) -> String {
    let parsed = url::Url::parse(camera.url.trim()).ok();
    let Some(host) = parsed
        .as_ref()
        .and_then(|u| u.host_str().map(str::to_owned))
    else {
        return match error {
            Some(SourceError::Unsupported(_)) => {
                "use a stream URL hadir reads: rtsp://…, http(s)://…, file://… or a webcam number"
                    .to_owned()
            }
            _ => "check that the device or file of the stream URL exists and is readable here"
                .to_owned(),
        };
    };
    let port = parsed
        .as_ref()
        .and_then(|u| u.port_or_known_default())
        .unwrap_or(vision::source::rtsp_guard::DEFAULT_RTSP_PORT);
    let refused = error.is_some_and(|e| e.to_string().to_ascii_lowercase().contains("refused"));
    if refused {
        format!(
            "nothing listens at {host}:{port}: check the port in the stream URL (RTSP is usually \
             554) and that the camera's RTSP service is on"
        )
    } else {
        format!(
            "check that the camera is on and that this machine reaches {host}:{port} (address, \
             firewall, VLAN)"
        )
    }
}

/// What the JSON form says of one camera.
pub fn facts(camera: &Camera, probe: &Probe, detected: Option<&Detected>) -> CameraFacts {
    let facts = &probe.facts;
    CameraFacts {
        id: camera.id.clone(),
        name: camera.name.clone(),
        url: url_for_logs(&camera.url),
        source: camera.source.clone(),
        sample_fps: camera.sample_fps,
        reached: format!("{:?}", probe.reached).to_ascii_lowercase(),
        codec: facts.codec.clone(),
        profile: facts.profile.clone(),
        width: facts.resolution.map(|(w, _)| w),
        height: facts.resolution.map(|(_, h)| h),
        fps: facts.frame_rate.map(|f| (f * 100.0).round() / 100.0),
        gop_frames: facts.key_frame_distance,
        key_frame_interval_secs: facts.key_frame_interval.map(|d| d.as_secs_f64()),
        key_frames_only: probe.key_frames_only(camera.sample_interval()),
        faces: detected.and_then(|d| d.as_ref().ok()).map(Vec::len),
        status: None,
    }
}

#[cfg(test)]
#[path = "camera_rows_tests.rs"]
mod tests;
