//! Benchmark: how often the right person is named, and anyone wrongly, **per frame** (each
//! frame's faces decided alone, as hadir did before face tracks) vs **per track** (each
//! pass's views decided together, `vision::track`), on the project's photos degraded the way
//! CCTV degrades them.
//! Run: `cargo bench -p vision --bench recognition_quality` (after `python3 models/fetch.py`);
//! `-- --models insightface` runs the opt-in set (SCRFD + MobileFaceNet) instead of the
//! default (MTCNN + fr_feature), each at its own default threshold.
//!
//! Enrolled: three people from one clear photo each (as an ID photo is taken). Each pass is
//! one person walking through a 960×540 frame for a few sampled frames: their face at
//! 20–60 px (drawn per pass), moving a little and changing size a little from frame to
//! frame, each frame Gaussian-blurred and JPEG-compressed at quality 20–30 as a whole, like
//! a camera's. Obama's passes use his *other* photos; the two others have only their
//! enrolment photo (degraded beyond recognition of the original, but an easier case). Two
//! strangers pass too: any name given to them is a false accept. Both ways see exactly the
//! same faces (one detection and embedding per frame) with the same threshold; only the
//! decision differs. Everything random comes from one fixed seed, printed.

use std::time::{Duration, Instant};

use image::{RgbImage, codecs::jpeg::JpegEncoder, imageops};
use rand::{Rng, SeedableRng, rngs::StdRng};
use vision::{
    frame::RgbF32,
    gallery::Gallery,
    models::{
        manifest::Manifest,
        runtime::{Runtime, cache_dir},
        sets::ModelSet,
    },
    pipeline::{FacePipeline, load_image},
    recognizer::match_faces,
    track::{DecisionSettings, TrackDecision, TrackEvent},
};

/// The random seed of every degradation.
const SEED: u64 = 20_261_202;
/// Passes per person.
const PASSES: usize = 30;
/// Sampled frames per pass (a person crossing a camera's view at 1–2 frames/s).
const FRAMES_PER_PASS: usize = 5;
/// Face sizes drawn per pass (pixels, the shorter side of the face's box).
const FACE_PX: (f32, f32) = (20.0, 60.0);
/// Gaussian blur drawn per frame (sigma, pixels).
const BLUR_SIGMA: (f32, f32) = (0.6, 1.6);
/// JPEG quality drawn per frame.
const JPEG_QUALITY: (u8, u8) = (20, 30);
/// The smallest face looked for (both ways): below the smallest drawn.
const MIN_FACE_PX: f32 = 16.0;
const FRAME: (u32, u32) = (960, 540);

/// Enrolled people: name, enrolment photo, photos their passes use.
const ENROLLED: [(&str, &str, &[&str]); 3] = [
    ("obama", "obama.jpg", &["obama2.jpg", "obama3.jpg"]),
    ("grace", "grace_hopper.jpg", &["grace_hopper.jpg"]),
    ("eileen", "astronaut.png", &["astronaut.png"]),
];
/// People nobody enrolled.
const STRANGERS: [&str; 2] = ["biden.jpg", "messi5.jpg"];

fn photo(name: &str) -> RgbF32 {
    let path = cache_dir().join("photos").join(name);
    load_image(&path)
        .unwrap_or_else(|e| panic!("{e}; fetch the test photos with `python3 models/fetch.py`"))
}

fn to_rgb8(image: &RgbF32) -> RgbImage {
    RgbImage::from_raw(
        image.width as u32,
        image.height as u32,
        image
            .data
            .iter()
            .map(|v| v.round().clamp(0.0, 255.0) as u8)
            .collect(),
    )
    .expect("sizes agree")
}

/// A photo's largest face as a head-and-shoulders crop (8-bit), and the face's size in it
/// (the shorter side of its box, as hadir measures faces: `min_face_px`).
fn bust(pipeline: &mut FacePipeline, name: &str) -> (RgbImage, f32) {
    let p = photo(name);
    let faces = pipeline.analyse(&p).expect("analysis");
    let face = faces
        .iter()
        .max_by(|a, b| a.face.width().total_cmp(&b.face.width()))
        .unwrap_or_else(|| panic!("a face in {name}"))
        .face
        .clone();
    let (w, h) = (face.width(), face.height());
    let x0 = (face.x1 - 0.5 * w).max(0.0) as u32;
    let y0 = (face.y1 - 0.4 * h).max(0.0) as u32;
    let x1 = ((face.x2 + 0.5 * w) as u32).min(p.width as u32);
    let y1 = ((face.y2 + 0.6 * h) as u32).min(p.height as u32);
    let image = to_rgb8(&p);
    (
        imageops::crop_imm(&image, x0, y0, x1 - x0, y1 - y0).to_image(),
        w.min(h),
    )
}

/// The background all passes walk in front of: a grey wall with a gradient and grain.
fn background(rng: &mut StdRng) -> RgbImage {
    RgbImage::from_fn(FRAME.0, FRAME.1, |x, y| {
        let base = 150.0 + 40.0 * (x as f32 / FRAME.0 as f32) - 30.0 * (y as f32 / FRAME.1 as f32);
        let grain: f32 = rng.random_range(-4.0..4.0);
        let v = (base + grain).clamp(0.0, 255.0) as u8;
        image::Rgb([v, v.saturating_sub(6), v.saturating_sub(12)])
    })
}

/// One frame of a pass: the bust scaled so the face is `face_px` across, at (x, y), the whole
/// frame blurred and JPEG-compressed, decoded again as a camera frame.
fn camera_frame(
    background: &RgbImage,
    bust: &(RgbImage, f32),
    face_px: f32,
    at: (i64, i64),
    sigma: f32,
    quality: u8,
) -> RgbF32 {
    let scale = face_px / bust.1;
    let (w, h) = (
        ((bust.0.width() as f32 * scale) as u32).max(1),
        ((bust.0.height() as f32 * scale) as u32).max(1),
    );
    let person = imageops::resize(&bust.0, w, h, imageops::FilterType::Triangle);
    let mut frame = background.clone();
    imageops::overlay(&mut frame, &person, at.0, at.1);
    let blurred = imageops::blur(&frame, sigma);
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, quality)
        .encode_image(&blurred)
        .expect("JPEG encoding");
    let decoded = image::load_from_memory(&jpeg)
        .expect("JPEG decoding")
        .to_rgb8();
    RgbF32::from_rgb8(&decoded)
}

/// What one way of deciding made of the passes.
#[derive(Default)]
struct Tally {
    /// Frames (or passes) of enrolled people, and how many named them rightly.
    shown: usize,
    right: usize,
    /// Frames (or passes) where anyone was named wrongly (a stranger named, or an enrolled
    /// person named as someone else).
    false_accepts: usize,
    /// Frames (or passes) of strangers.
    strangers: usize,
}

impl Tally {
    fn recall(&self) -> f64 {
        100.0 * self.right as f64 / self.shown.max(1) as f64
    }
}

/// The model set named by `--models NAME` (the default set without it).
fn model_set() -> ModelSet {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == "--models") {
        None => ModelSet::Default,
        Some(at) => args
            .get(at + 1)
            .and_then(|name| ModelSet::parse(name))
            .unwrap_or_else(|| panic!("--models takes `default` or `insightface`")),
    }
}

fn main() {
    let runtime = Runtime::load_default().unwrap_or_else(|e| panic!("{e}"));
    let set = model_set();
    let mut pipeline = FacePipeline::open(&runtime, set, &Manifest::builtin(), &cache_dir(), 1)
        .unwrap_or_else(|e| panic!("{e}"));
    let threshold = set.default_threshold();

    let mut gallery = None::<Gallery>;
    for (who, file, _) in ENROLLED {
        let faces = pipeline.analyse(&photo(file)).expect("analysis");
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

    let mut rng = StdRng::seed_from_u64(SEED);
    let background = background(&mut rng);
    let mut people: Vec<(Option<&str>, (RgbImage, f32))> = Vec::new();
    for (who, _, passes) in ENROLLED {
        for file in passes {
            people.push((Some(who), bust(&mut pipeline, file)));
        }
    }
    for file in STRANGERS {
        people.push((None, bust(&mut pipeline, file)));
    }

    let mut per_frame = Tally::default();
    let mut per_track = Tally::default();
    // Per frame, counted by pass: the person named rightly in any frame of the pass.
    let mut per_pass = Tally::default();
    // The highest similarity of a stranger's single view, and of a stranger's track.
    let (mut stranger_view_best, mut stranger_best) = (f32::NEG_INFINITY, f32::NEG_INFINITY);
    // By face size: (per frame right, frames, per track right, passes).
    let mut by_size = [(0usize, 0usize, 0usize, 0usize); 4];
    let started = Instant::now();
    let mut frames_analysed = 0usize;
    let enrolled_people = ENROLLED.len();
    for (who, bust) in &people {
        // Each person gets PASSES passes whatever number of photos they have.
        let photos_of_them = people.iter().filter(|(w, _)| w == who).count().max(1);
        let passes = if who.is_some() {
            PASSES / photos_of_them
        } else {
            PASSES
        };
        for _ in 0..passes {
            let face_px = rng.random_range(FACE_PX.0..FACE_PX.1);
            let bucket = (((face_px - FACE_PX.0) / (FACE_PX.1 - FACE_PX.0)) * 4.0) as usize;
            let bucket = bucket.min(3);
            let (mut x, y) = (
                rng.random_range(100..600) as i64,
                rng.random_range(100..300) as i64,
            );
            let mut decision = TrackDecision::new(DecisionSettings {
                threshold,
                ..DecisionSettings::default()
            });
            let start = Instant::now();
            let (mut track_right, mut track_wrong) = (false, false);
            let (mut frame_right, mut frame_wrong) = (false, false);
            for n in 0..FRAMES_PER_PASS {
                let size = face_px * rng.random_range(0.9..1.1);
                x += rng.random_range(10..40);
                let frame = camera_frame(
                    &background,
                    bust,
                    size,
                    (x, y + rng.random_range(-5..5)),
                    rng.random_range(BLUR_SIGMA.0..BLUR_SIGMA.1),
                    rng.random_range(JPEG_QUALITY.0..=JPEG_QUALITY.1),
                );
                let faces = pipeline.analyse(&frame).expect("analysis");
                frames_analysed += 1;
                // Per frame: each face alone.
                let matches = match_faces(&gallery, &faces);
                let named: Vec<&str> = matches
                    .iter()
                    .filter_map(|m| m.accepted(threshold))
                    .collect();
                let right = who.is_some_and(|w| named.contains(&w));
                let wrong = named.iter().any(|n| Some(*n) != *who);
                if who.is_some() {
                    per_frame.shown += 1;
                    per_frame.right += usize::from(right);
                    by_size[bucket].0 += usize::from(right);
                    by_size[bucket].1 += 1;
                } else {
                    per_frame.strangers += 1;
                }
                per_frame.false_accepts += usize::from(wrong);
                frame_right |= right;
                frame_wrong |= wrong;
                // Per track: the same faces, decided together.
                let at = start + Duration::from_secs(n as u64);
                let (tracked, events) = decision.observe(&faces, None, at, |q| {
                    gallery.best_match(q).map(|m| (m.owner.to_owned(), m.score))
                });
                if who.is_none() {
                    for t in &tracked {
                        stranger_best = stranger_best.max(t.score.unwrap_or(f32::NEG_INFINITY));
                    }
                    for m in &matches {
                        stranger_view_best =
                            stranger_view_best.max(m.score.unwrap_or(f32::NEG_INFINITY));
                    }
                }
                for event in events {
                    if let TrackEvent::Recognised { employee_id, .. } = event {
                        if Some(employee_id.as_str()) == *who {
                            track_right = true;
                        } else {
                            track_wrong = true;
                        }
                    }
                }
            }
            if who.is_some() {
                per_pass.shown += 1;
                per_pass.right += usize::from(frame_right);
            } else {
                per_pass.strangers += 1;
            }
            per_pass.false_accepts += usize::from(frame_wrong);
            if who.is_some() {
                per_track.shown += 1;
                per_track.right += usize::from(track_right);
                by_size[bucket].2 += usize::from(track_right);
                by_size[bucket].3 += 1;
            } else {
                per_track.strangers += 1;
            }
            per_track.false_accepts += usize::from(track_wrong);
        }
    }
    let elapsed = started.elapsed();

    println!(
        "recognition quality, {} models: {enrolled_people} enrolled people (one photo each), {} strangers; \
         {PASSES} passes per person, {FRAMES_PER_PASS} frames per pass; seed {SEED}",
        set.name(),
        STRANGERS.len()
    );
    println!(
        "degraded: faces {}–{} px, Gaussian blur σ {}–{}, JPEG quality {}–{}, {}×{} frames; \
         min face {MIN_FACE_PX} px and threshold {threshold} both ways ({frames_analysed} frames in {:.0} s)",
        FACE_PX.0,
        FACE_PX.1,
        BLUR_SIGMA.0,
        BLUR_SIGMA.1,
        JPEG_QUALITY.0,
        JPEG_QUALITY.1,
        FRAME.0,
        FRAME.1,
        elapsed.as_secs_f64()
    );
    println!();
    println!(
        "{:<34} {:>14} {:>22} {:>14}",
        "", "per frame", "per frame, by pass", "per track"
    );
    println!(
        "{:<34} {:>13.1}% {:>21.1}% {:>13.1}%",
        "recall of the right person",
        per_frame.recall(),
        per_pass.recall(),
        per_track.recall()
    );
    println!(
        "{:<34} {:>14} {:>22} {:>14}",
        "  out of (frames / passes)", per_frame.shown, per_pass.shown, per_track.shown
    );
    println!(
        "{:<34} {:>14} {:>22} {:>14}",
        "false accepts (frames / passes)",
        per_frame.false_accepts,
        per_pass.false_accepts,
        per_track.false_accepts
    );
    println!(
        "{:<34} {:>14} {:>22} {:>14}",
        "  stranger frames / passes", per_frame.strangers, per_pass.strangers, per_track.strangers
    );
    println!(
        "(per frame, by pass: a pass counts as recognised when any of its frames named the person)"
    );
    println!(
        "strangers' highest similarity to anyone enrolled: a single view {stranger_view_best:.3}, a track's aggregate {stranger_best:.3} \
         (a track's aggregate of {} views is accepted from {:.2})",
        vision::track::MIN_AGGREGATE_VIEWS,
        threshold - vision::track::AGGREGATE_MARGIN
    );
    println!();
    println!("recall by face size (right / shown):");
    for (i, (fr, fs, tr, ts)) in by_size.iter().enumerate() {
        let step = (FACE_PX.1 - FACE_PX.0) / 4.0;
        let lo = FACE_PX.0 + step * i as f32;
        println!(
            "  {:>2.0}–{:<2.0} px {:>20} {:>14}",
            lo,
            lo + step,
            format!(
                "{:.1}% ({fr}/{fs})",
                100.0 * *fr as f64 / (*fs).max(1) as f64
            ),
            format!(
                "{:.1}% ({tr}/{ts})",
                100.0 * *tr as f64 / (*ts).max(1) as f64
            ),
        );
    }
}
