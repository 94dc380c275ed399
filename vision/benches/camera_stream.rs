//! Benchmark: one camera's work on realistic 1080p 25 frame/s office streams sampled at
//! 1 frame/s, built by `tests/camera_fixtures/make_videos.sh`: `office_1080p.mp4` (60 s, a
//! still office, people passing now and then) and `office_day_1080p.mp4` (60 s, three people
//! at their desks throughout, two passing). GOP 25.
//! Run: `cargo bench -p vision --bench camera_stream` (after `scripts/test` or make_videos.sh).
//!
//! Every figure is CPU time per camera-second: this thread's here (one thread does all the
//! work), the whole process's on the Python side (`time.process_time`: OpenCV's FFmpeg
//! decodes on threads of its own); smallest face 40 px on both sides (hadir's default
//! `min_face_px`; smaller faces are neither looked for nor embedded), the conversion of each
//! sampled frame (to `f32`, or to RGB for Python) inside the recognition time.
//!
//! - **Like for like**, against the Python loop (`bench/python/camera_loop.py`): decoding
//!   every frame (converting the sampled ones), detect + align + embed on each sampled full
//!   frame.
//! - **hadir's way**: key frames only (one a second here, enough at 1 frame/s), the motion
//!   gate (only where the frame changed, around followed faces where they explain it, a full
//!   pass every `lost_after` ÷ 8), face tracks (a face already recognised is not embedded
//!   again until its track needs it) and looking more (4 frames a second, every frame of
//!   those seconds decoded, while a newcomer's track is not decided), as the server runs.
//!
//! Each row also says how many of the video's passes (its schedule: who is where when; the
//! five people enrolled from their registry photos) were recognised: hadir's way must
//! recognise every pass the full frames recognise.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use openh264::{decoder::Decoder, nal_units};

mod common;
use vision::{
    frame::RgbF32,
    gallery::Gallery,
    look_more::LookMoreSettings,
    models::runtime::{Runtime, cache_dir},
    motion::{Look, MotionGate, full_frame_interval},
    pipeline::{DEFAULT_MATCH_THRESHOLD, FacePipeline, load_image},
    recognizer::match_faces,
    track::{DecisionSettings, TrackDecision, TrackEvent},
};

const FPS: usize = 25;
/// hadir's default `presence.lost_after_secs`, from which its full-frame interval follows.
const LOST_AFTER: Duration = Duration::from_secs(120);
/// The smallest face looked for, both sides (hadir's default `min_face_px`).
const MIN_FACE_PX: f32 = 40.0;
/// Who is enrolled, from which registry photo (everyone the videos show).
const ENROLLED: [(&str, &str); 4] = [
    ("obama", "obama.jpg"),
    ("biden", "biden.jpg"),
    ("grace", "grace_hopper.jpg"),
    ("eileen", "astronaut.png"),
];

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
fn access_units(video: &Path) -> Vec<(bool, Vec<u8>)> {
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

/// One pass of the schedule: who, from when to when (seconds).
struct Pass {
    who: &'static str,
    start: f64,
    end: f64,
}

/// The passes of a video, from its `.schedule.tsv`.
fn schedule(video: &Path) -> Vec<Pass> {
    let tsv = video.with_extension("schedule.tsv");
    let text = std::fs::read_to_string(&tsv)
        .unwrap_or_else(|e| panic!("{}: {e} (make_videos.sh writes it)", tsv.display()));
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('\t').collect();
            let who = match cells.get(2)? {
                p if p.starts_with("obama") => "obama",
                &"biden.jpg" => "biden",
                &"grace_hopper.jpg" => "grace",
                &"astronaut.png" => "eileen",
                _ => return None,
            };
            Some(Pass {
                who,
                start: cells[0].parse().ok()?,
                end: cells[1].parse().ok()?,
            })
        })
        .collect()
}

/// How many passes were recognised: some recognition of the right person at a second
/// within the pass.
fn passes_recognised(passes: &[Pass], recognitions: &BTreeSet<(usize, String)>) -> usize {
    passes
        .iter()
        .filter(|p| {
            recognitions.iter().any(|(second, who)| {
                who == p.who && (*second as f64) >= p.start.floor() && (*second as f64) <= p.end
            })
        })
        .count()
}

/// What one way of recognising cost and found.
struct Row {
    ms: f64,
    faces: usize,
    embedded: usize,
    recognised: usize,
}

/// A camera's own sampling interval here.
const SECOND: Duration = Duration::from_secs(1);

/// hadir's way over one stream: what it looked at, found and decided.
struct Way {
    gate: MotionGate,
    tracks: TrackDecision,
    faces: usize,
    embedded: usize,
    recognitions: BTreeSet<(usize, String)>,
    unchanged: usize,
    /// CPU time and looks by kind: whole frames, changed regions searched whole, looks that
    /// searched around followed faces (with or without a changed region beside them).
    by_kind: [(usize, Duration); 3],
}

impl Way {
    fn new() -> Self {
        Self {
            gate: MotionGate::new(full_frame_interval(LOST_AFTER)),
            tracks: TrackDecision::new(DecisionSettings {
                threshold: DEFAULT_MATCH_THRESHOLD,
                ..DecisionSettings::default()
            }),
            faces: 0,
            embedded: 0,
            recognitions: BTreeSet::new(),
            unchanged: 0,
            by_kind: [(0, Duration::ZERO); 3],
        }
    }

    /// One sampled frame, at `at` (within the video's `second`), as the server looks at it.
    fn look(
        &mut self,
        pipeline: &mut FacePipeline,
        gallery: &Gallery,
        image: &image::RgbImage,
        at: Instant,
        second: usize,
    ) {
        let look_started = cpu_time();
        let look = self.gate.look(image, at);
        if look == Look::Nothing {
            self.unchanged += 1;
            self.tracks.expire(at);
            return;
        }
        let windows = vision::look::plan(
            look,
            &self.gate,
            self.tracks.tracker().tracks(),
            at,
            image.dimensions(),
        );
        let kind = if windows.iter().any(|w| w.min_face.is_some()) {
            2
        } else if windows.iter().any(|w| w.region.is_some()) {
            1
        } else {
            0
        };
        let mut known = Vec::new();
        let tracks = &self.tracks;
        let found = pipeline
            .analyse_windows_sparing(image, &windows, |face| {
                match tracks.spares(face, at, &known) {
                    Some(track) => {
                        known.push((track, face.clone()));
                        false
                    }
                    None => true,
                }
            })
            .expect("analyse");
        self.faces += found.len() + known.len();
        self.embedded += found.len();
        let covered = vision::look::coverage(&windows);
        let (_, events) = self
            .tracks
            .observe_sparing(&found, &known, covered, at, |q| {
                gallery.best_match(q).map(|m| (m.owner.to_owned(), m.score))
            });
        for event in events {
            if let TrackEvent::Recognised { employee_id, .. } = event {
                self.recognitions.insert((second, employee_id));
            }
        }
        self.by_kind[kind].0 += 1;
        self.by_kind[kind].1 += cpu_time() - look_started;
    }
}

fn ms(total: Duration, seconds: usize) -> f64 {
    total.as_secs_f64() * 1e3 / seconds as f64
}

fn main() {
    let runtime = Runtime::load_default().unwrap_or_else(|e| panic!("{e}"));
    let mut pipeline = FacePipeline::open_default(&runtime, 1).unwrap_or_else(|e| panic!("{e}"));
    let mut gallery = None::<Gallery>;
    for (who, file) in ENROLLED {
        let image = load_image(&cache_dir().join("photos").join(file)).expect("a photo");
        let faces = pipeline.analyse(&image).expect("analysis");
        let best = faces
            .iter()
            .max_by(|a, b| a.face.width().total_cmp(&b.face.width()))
            .expect("a face");
        gallery
            .get_or_insert_with(|| Gallery::new(pipeline.set.embedder_name(), best.embedding.len()))
            .add(who, &best.embedding)
            .expect("enrolled");
    }
    let gallery = gallery.expect("a gallery");
    pipeline.set_min_face_size(MIN_FACE_PX);
    println!(
        "camera streams sampled at 1 frame/s; CPU time per camera-second (hadir: its one thread; Python: the whole process, FFmpeg decodes on threads of its own); \
         smallest face {MIN_FACE_PX} px (both sides); sampled frames' conversion inside recognition (both sides); \
         the same model files, but hadir rewrites their PReLUs in vectorised operators before loading them (vision::models::graph_edit) and runs MTCNN and fr_feature without the NCHWc layouts, the Python side runs them as published with every rewrite"
    );
    for name in ["office_1080p.mp4", "office_day_1080p.mp4"] {
        let video = cache_dir().join("videos").join(name);
        assert!(
            video.exists(),
            "{} is missing: run tests/camera_fixtures/make_videos.sh",
            video.display()
        );
        stream(&mut pipeline, &gallery, &video);
    }
}

fn stream(pipeline: &mut FacePipeline, gallery: &Gallery, video: &Path) {
    let units = access_units(video);
    let seconds = units.len() / FPS;
    let passes = schedule(video);
    println!();
    println!(
        "{} ({} frames, {seconds} s at {FPS} frame/s, {} passes of enrolled people)",
        video.file_name().unwrap_or_default().to_string_lossy(),
        units.len(),
        passes.len()
    );

    // Decoding every frame, converting the sampled ones.
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
    let decode_all = ms(cpu_time() - started, seconds);
    // Key frames only (every GOP starts a second here), each converted.
    let mut decoder = Decoder::new().expect("decoder");
    let started = cpu_time();
    let mut keys = 0;
    for (key, data) in &units {
        if *key && let Ok(Some(yuv)) = decoder.decode(data) {
            let _ = to_rgb(&yuv);
            keys += 1;
        }
    }
    let decode_keys = ms(cpu_time() - started, seconds);

    // Full frames: every sampled frame converted and analysed whole, each face decided alone.
    let started = cpu_time();
    let (mut faces, mut recognitions) = (0, BTreeSet::new());
    for (second, image) in sampled.iter().enumerate() {
        let frame = RgbF32::from_rgb8(image);
        let found = pipeline.analyse(&frame).expect("analyse");
        faces += found.len();
        for m in match_faces(gallery, &found) {
            if let Some(who) = m.accepted(DEFAULT_MATCH_THRESHOLD) {
                recognitions.insert((second, who.to_owned()));
            }
        }
    }
    let full = Row {
        ms: ms(cpu_time() - started, seconds),
        faces,
        embedded: faces,
        recognised: passes_recognised(&passes, &recognitions),
    };

    // hadir's way: the motion gate, the region converted and analysed, face tracks, and
    // looking more (4 frames a second for 3 s, decoding that second's frames from its key
    // frame) while a newcomer's track is not decided, as the server runs.
    let mut way = Way::new();
    let look_more = LookMoreSettings::default();
    let clock = Instant::now();
    let started = cpu_time();
    let mut extra_decode = Duration::ZERO;
    let mut looked_more = 0;
    for (second, image) in sampled.iter().enumerate() {
        let at = clock + Duration::from_secs(second as u64);
        way.look(pipeline, gallery, image, at, second);
        let mut quick = look_more.interval(SECOND, way.tracks.newest_undecided(), at);
        if quick >= SECOND {
            continue;
        }
        // This second's frames, decoded from its key frame (decoding is not recognition).
        looked_more += 1;
        let decode_started = cpu_time();
        let mut decoder = Decoder::new().expect("decoder");
        let mut frames = Vec::new();
        for (i, (_, data)) in units.iter().enumerate().skip(second * FPS).take(FPS) {
            if let Ok(Some(yuv)) = decoder.decode(data) {
                frames.push((i - second * FPS, to_rgb(&yuv)));
            }
        }
        extra_decode += cpu_time() - decode_started;
        let mut offset = quick;
        while offset < SECOND {
            let index = (offset.as_secs_f64() * FPS as f64).round() as usize;
            let Some((_, image)) = frames.iter().find(|(i, _)| *i == index) else {
                break;
            };
            let at = at + offset;
            way.look(pipeline, gallery, image, at, second);
            quick = look_more.interval(SECOND, way.tracks.newest_undecided(), at);
            offset += quick;
        }
    }
    let recognition_cpu = cpu_time() - started - extra_decode;
    let hadir = Row {
        ms: ms(recognition_cpu, seconds),
        faces: way.faces,
        embedded: way.embedded,
        recognised: passes_recognised(&passes, &way.recognitions),
    };
    let (unchanged, by_kind) = (way.unchanged, way.by_kind);

    let python = common::python().and_then(|python| {
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../bench/python/camera_loop.py");
        let output = Command::new(python)
            .arg(script)
            .args(["--config", "default", "--min-face"])
            .arg(format!("{MIN_FACE_PX}"))
            .arg(video)
            .env("HADIR_CACHE_DIR", cache_dir())
            .output()
            .ok()?;
        serde_json::from_slice::<serde_json::Value>(&output.stdout).ok()
    });

    let per_core = |ms: f64| 1000.0 / ms;
    println!(
        "  like for like: decode every frame (convert the sampled), detect+align+embed each sampled full frame"
    );
    let like = decode_all + full.ms;
    println!(
        "    hadir   {decode_all:6.1} ms decode + {:6.1} ms recognition = {like:6.1} ms → {:5.1} cameras per core; {} faces; passes recognised {}/{}",
        full.ms,
        per_core(like),
        full.faces,
        full.recognised,
        passes.len()
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
                "    Python  {decode:6.1} ms decode + {recognise:6.1} ms recognition = {total:6.1} ms → {:5.1} cameras per core; {} faces (OpenCV, the reference pipeline); hadir {:.2}× as fast",
                per_core(total),
                p["faces"],
                total / like
            );
        }
        None => println!("    Python  (the reference could not be run)"),
    }
    let decode_way = decode_keys + ms(extra_decode, seconds);
    let way = decode_way + hadir.ms;
    println!(
        "  hadir's way: key frames only ({keys} decoded), motion-gated ({unchanged} frames unchanged), face tracks, looking more in {looked_more} seconds (4 frames/s, every frame of those seconds decoded)",
    );
    println!(
        "    hadir   {decode_way:6.1} ms decode + {:6.1} ms recognition = {way:6.1} ms → {:5.1} cameras per core; {} faces found, {} embedded; passes recognised {}/{}",
        hadir.ms,
        per_core(way),
        hadir.faces,
        hadir.embedded,
        hadir.recognised,
        passes.len()
    );
    println!(
        "    of the recognition: {} whole frames {:.1} ms/camera-s, {} changed regions {:.1}, {} around followed faces {:.1}",
        by_kind[0].0,
        ms(by_kind[0].1, seconds),
        by_kind[1].0,
        ms(by_kind[1].1, seconds),
        by_kind[2].0,
        ms(by_kind[2].1, seconds),
    );
    println!(
        "    decoding alone (key frames) {decode_keys:.1} ms → {:.1} cameras per core; hadir's way costs {:.2}× that",
        per_core(decode_keys),
        way / decode_keys
    );
}
