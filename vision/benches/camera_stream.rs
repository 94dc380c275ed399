//! Benchmark: one camera's work on a realistic 1080p 25 frame/s office stream sampled at
//! 1 frame/s — the 60 s `office_1080p.mp4` that `tests/camera_fixtures/make_videos.sh`
//! builds (a still office, people passing now and then; GOP 25).
//! Run: `cargo bench -p vision --bench camera_stream` (after `scripts/test` or make_videos.sh).
//!
//! Prints, as CPU time per camera-second (one thread): decoding every frame vs decoding key
//! frames only; recognition on every sampled full frame vs motion-gated; and how many such
//! cameras one core sustains each way.

use std::{
    path::PathBuf,
    process::Command,
    time::{Duration, Instant},
};

use openh264::{decoder::Decoder, nal_units};

mod common;
use vision::{
    frame::RgbF32,
    models::runtime::{Runtime, cache_dir},
    motion::{DEFAULT_FULL_FRAME_INTERVAL, Look, MotionGate},
    pipeline::FacePipeline,
    region::FrameRegion,
};

const FPS: usize = 25;

/// CPU time of this thread.
fn cpu_time() -> Duration {
    let mut ts = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec into `ts`.
    unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

#[repr(C)]
struct Timespec {
    tv_sec: i64,
    tv_nsec: i64,
}

const CLOCK_THREAD_CPUTIME_ID: i32 = 3;

unsafe extern "C" {
    fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
}

/// The stream's access units (Annex B), split at the access unit delimiters ffmpeg inserts.
fn access_units(video: &PathBuf) -> Vec<(bool, Vec<u8>)> {
    let dir = tempfile::tempdir().expect("temporary folder");
    let raw = dir.path().join("stream.h264");
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(video)
        .args([
            "-c",
            "copy",
            "-bsf:v",
            "h264_mp4toannexb,h264_metadata=aud=insert",
            "-f",
            "h264",
        ])
        .arg(&raw)
        .status()
        .expect("ffmpeg (scripts/install-test-deps installs it)");
    assert!(status.success(), "ffmpeg failed");
    let bytes = std::fs::read(&raw).expect("the raw stream");
    let mut units: Vec<(bool, Vec<u8>)> = Vec::new();
    for nal in nal_units(&bytes) {
        let header = nal
            .iter()
            .skip_while(|b| **b == 0)
            .nth(1)
            .copied()
            .unwrap_or(0);
        let kind = header & 0x1f;
        if kind == 9 {
            units.push((false, Vec::new()));
            continue;
        }
        let Some(last) = units.last_mut() else {
            continue;
        };
        if kind == 5 {
            last.0 = true;
        }
        last.1.extend_from_slice(nal);
    }
    units.retain(|(_, data)| !data.is_empty());
    units
}

/// A decoded frame as RGB, as the camera sources convert it.
fn to_rgb(yuv: &openh264::decoder::DecodedYUV<'_>) -> image::RgbImage {
    vision::source::h264::to_rgb(yuv).expect("a decoded frame of its own size")
}

fn main() {
    let video = cache_dir().join("videos").join("office_1080p.mp4");
    assert!(
        video.exists(),
        "{} is missing: run tests/camera_fixtures/make_videos.sh",
        video.display()
    );
    let units = access_units(&video);
    let seconds = units.len() / FPS;
    println!(
        "camera stream: {} ({} frames, {seconds} s at {FPS} frame/s), sampled at 1 frame/s, one thread",
        video.display(),
        units.len()
    );

    // Decoding everything, converting the sampled frame.
    let mut decoder = Decoder::new().expect("decoder");
    let started = cpu_time();
    let mut sampled = Vec::new();
    for (i, (_, data)) in units.iter().enumerate() {
        if let Ok(Some(yuv)) = decoder.decode(data)
            && i % FPS == 0
        {
            sampled.push(to_rgb(&yuv));
        }
    }
    let decode_all = (cpu_time() - started) / seconds as u32;
    // Key frames only (every GOP starts a second here).
    let mut decoder = Decoder::new().expect("decoder");
    let started = cpu_time();
    let mut keys = 0;
    for (key, data) in &units {
        if *key && let Ok(Some(yuv)) = decoder.decode(data) {
            let _ = to_rgb(&yuv);
            keys += 1;
        }
    }
    let decode_keys = (cpu_time() - started) / seconds as u32;
    println!(
        "  decoding per camera-second: every frame {:.1} ms, key frames only {:.1} ms ({keys} key frames) → {:.1}× less",
        decode_all.as_secs_f64() * 1e3,
        decode_keys.as_secs_f64() * 1e3,
        decode_all.as_secs_f64() / decode_keys.as_secs_f64()
    );

    // Recognition on the sampled frames: whole frames vs only where something changed.
    let runtime = Runtime::load_default().unwrap_or_else(|e| panic!("{e}"));
    let mut pipeline = FacePipeline::open_default(&runtime, 1).unwrap_or_else(|e| panic!("{e}"));
    // As hadir runs it: faces under 40 px are not looked for (api's min_face_px).
    pipeline.set_min_face_size(40.0);
    let frames: Vec<RgbF32> = sampled.iter().map(RgbF32::from_rgb8).collect();
    let started = cpu_time();
    let mut full_faces = 0;
    for frame in &frames {
        full_faces += pipeline.analyse(frame).expect("analyse").len();
    }
    let full = (cpu_time() - started) / frames.len() as u32;
    let mut gate = MotionGate::new(DEFAULT_FULL_FRAME_INTERVAL);
    let clock = Instant::now();
    let started = cpu_time();
    let (mut gated_faces, mut skipped) = (0, 0);
    for (n, (image, frame)) in sampled.iter().zip(&frames).enumerate() {
        match gate.look(image, clock + Duration::from_secs(n as u64)) {
            Look::Full => gated_faces += pipeline.analyse(frame).expect("analyse").len(),
            Look::Region {
                x,
                y,
                width,
                height,
            } => {
                let region = FrameRegion::new(x, y, width, height);
                gated_faces += pipeline
                    .analyse_region(image, Some(region))
                    .expect("analyse")
                    .len();
            }
            Look::Nothing => skipped += 1,
        }
    }
    let gated = (cpu_time() - started) / frames.len() as u32;
    println!(
        "  recognition per camera-second: full frames {:.1} ms ({full_faces} faces), motion-gated {:.1} ms ({gated_faces} faces; {skipped} of {} frames unchanged)",
        full.as_secs_f64() * 1e3,
        gated.as_secs_f64() * 1e3,
        frames.len()
    );
    let naive = decode_all + full;
    let python = common::python().and_then(|python| {
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../bench/python/camera_loop.py");
        let output = Command::new(python)
            .arg(script)
            .args(["--config", "default", "--min-face", "40"])
            .arg(&video)
            .env("HADIR_CACHE_DIR", cache_dir())
            .output()
            .ok()?;
        serde_json::from_slice::<serde_json::Value>(&output.stdout).ok()
    });
    let hadir = decode_keys + gated;
    println!(
        "  per camera-second: decode everything + full frames {:.1} ms → {:.1} cameras per core; hadir (key frames + motion-gated) {:.1} ms → {:.1} cameras per core",
        naive.as_secs_f64() * 1e3,
        1.0 / naive.as_secs_f64(),
        hadir.as_secs_f64() * 1e3,
        1.0 / hadir.as_secs_f64()
    );
    match python {
        Some(p) => {
            let decode = p["decode_ms_per_camera_second"]
                .as_f64()
                .unwrap_or(f64::NAN);
            let recognise = p["recognition_ms_per_camera_second"]
                .as_f64()
                .unwrap_or(f64::NAN);
            let total = decode + recognise;
            println!(
                "  Python loop (OpenCV decodes every frame, the reference pipeline on each sampled full frame, same 40 px smallest face): {:.1} ms decode + {:.1} ms recognition = {:.1} ms → {:.1} cameras per core ({} faces); hadir sustains {:.1}× as many cameras",
                decode,
                recognise,
                total,
                1000.0 / total,
                p["faces"],
                total / (hadir.as_secs_f64() * 1e3)
            );
        }
        None => println!("  (the Python reference could not be run)"),
    }
}
