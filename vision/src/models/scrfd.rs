//! SCRFD (Guo et al., 2021; InsightFace): a single-shot face detector with five landmarks.
//! The image is letterboxed into a 640×640 square, normalised as `(x − 127.5) / 128` (RGB,
//! NCHW); three heads at strides 8, 16 and 32 give, for two anchors per cell, a score, the
//! distances from the cell's centre to the box's sides, and the landmarks' offsets, all in
//! units of the stride.

use ort::session::Session;

use super::{
    Output,
    file::ModelFile,
    run,
    runtime::{GraphRewrite, Runtime},
};
use crate::{
    error::{VisionError, VisionResult},
    face::DetectedFace,
    frame::{Filter, RgbF32},
};

/// Side of the square the image is letterboxed into.
pub const INPUT_SIZE: usize = 640;
/// Score from which an anchor is a face.
pub const DEFAULT_SCORE_THRESHOLD: f32 = 0.5;
/// Overlap (IoU) above which the weaker of two boxes is dropped.
pub const DEFAULT_NMS_THRESHOLD: f32 = 0.4;
const STRIDES: [usize; 3] = [8, 16, 32];
const ANCHORS_PER_CELL: usize = 2;

/// The SCRFD detector. Not `Sync`: give each worker its own.
pub struct Scrfd {
    session: Session,
    pub score_threshold: f32,
    pub nms_threshold: f32,
    /// Working memory kept from frame to frame.
    resized: RgbF32,
    scratch: Vec<f32>,
    tensor: Vec<f32>,
}

impl Scrfd {
    pub fn open(runtime: &Runtime, file: &ModelFile, intra_threads: usize) -> VisionResult<Self> {
        Ok(Self {
            session: runtime.session("scrfd", file, intra_threads, GraphRewrite::All)?,
            score_threshold: DEFAULT_SCORE_THRESHOLD,
            nms_threshold: DEFAULT_NMS_THRESHOLD,
            resized: RgbF32::default(),
            scratch: Vec::new(),
            tensor: Vec::new(),
        })
    }

    /// Every face in the image.
    pub fn detect(&mut self, image: &RgbF32) -> VisionResult<Vec<DetectedFace>> {
        if image.width == 0 || image.height == 0 {
            return Ok(Vec::new());
        }
        // Letterbox: the longer side to 640, the rest black (bottom or right).
        let ratio = image.height as f64 / image.width as f64;
        let (width, height) = if ratio > 1.0 {
            (((INPUT_SIZE as f64) / ratio) as usize, INPUT_SIZE)
        } else {
            (INPUT_SIZE, ((INPUT_SIZE as f64) * ratio) as usize)
        };
        let (width, height) = (width.max(1), height.max(1));
        let scale = height as f32 / image.height as f32;
        image.resize_into(
            width,
            height,
            Filter::Bilinear,
            &mut self.resized,
            &mut self.scratch,
        );
        let plane = INPUT_SIZE * INPUT_SIZE;
        self.tensor.clear();
        self.tensor.resize(3 * plane, 0.0);
        let (red, rest) = self.tensor.split_at_mut(plane);
        let (green, blue) = rest.split_at_mut(plane);
        for (y, row) in self.resized.data.chunks_exact(width * 3).enumerate() {
            let line = y * INPUT_SIZE..y * INPUT_SIZE + width;
            for (((p, r), g), b) in row
                .chunks_exact(3)
                .zip(&mut red[line.clone()])
                .zip(&mut green[line.clone()])
                .zip(&mut blue[line])
            {
                *r = (p[0] - 127.5) / 128.0;
                *g = (p[1] - 127.5) / 128.0;
                *b = (p[2] - 127.5) / 128.0;
            }
        }
        let score_threshold = self.score_threshold;
        let faces = run(
            &mut self.session,
            "scrfd",
            &[1, 3, INPUT_SIZE, INPUT_SIZE],
            &self.tensor,
            |outputs| decode(outputs, scale, score_threshold),
        )?;
        Ok(nms(faces, self.nms_threshold))
    }
}

/// The faces the three heads see above `threshold`, in image coordinates (the letterbox
/// scaled the image by `scale`).
fn decode(outputs: &[Output<'_>], scale: f32, threshold: f32) -> VisionResult<Vec<DetectedFace>> {
    let mut faces = Vec::new();
    for (level, &stride) in STRIDES.iter().enumerate() {
        let (scores, boxes, points) = level_outputs(outputs, level)?;
        let cells_x = INPUT_SIZE.div_ceil(stride);
        for (anchor, &score) in scores.values.iter().enumerate() {
            if score < threshold {
                continue;
            }
            let cell = anchor / ANCHORS_PER_CELL;
            let cx = ((cell % cells_x) * stride) as f32;
            let cy = ((cell / cells_x) * stride) as f32;
            let s = stride as f32;
            let d = &boxes.values[anchor * 4..anchor * 4 + 4];
            let k = &points.values[anchor * 10..anchor * 10 + 10];
            faces.push(DetectedFace {
                x1: (cx - d[0] * s) / scale,
                y1: (cy - d[1] * s) / scale,
                x2: (cx + d[2] * s) / scale,
                y2: (cy + d[3] * s) / scale,
                score,
                landmarks: std::array::from_fn(|j| {
                    [(cx + k[2 * j] * s) / scale, (cy + k[2 * j + 1] * s) / scale]
                }),
            });
        }
    }
    Ok(faces)
}

/// The score, box and landmark outputs of one stride, found by their last axis (1, 4, 10)
/// in the order the model lists them (stride 8, 16, 32).
fn level_outputs<'o, 'a>(
    outputs: &'o [Output<'a>],
    level: usize,
) -> VisionResult<(&'o Output<'a>, &'o Output<'a>, &'o Output<'a>)> {
    let nth = |width: i64| {
        outputs
            .iter()
            .filter(|o| o.shape.last() == Some(&width))
            .nth(level)
            .ok_or_else(|| {
                VisionError::inference(
                    "scrfd",
                    format!("no output of width {width} for stride level {level}"),
                )
            })
    };
    Ok((nth(1)?, nth(4)?, nth(10)?))
}

/// Non-maximum suppression over IoU, best first (InsightFace's, with its +1 areas).
fn nms(mut faces: Vec<DetectedFace>, threshold: f32) -> Vec<DetectedFace> {
    faces.sort_by(|a, b| b.score.total_cmp(&a.score));
    let area = |f: &DetectedFace| (f.x2 - f.x1 + 1.0) * (f.y2 - f.y1 + 1.0);
    let mut kept: Vec<DetectedFace> = Vec::new();
    'candidates: for face in faces {
        for k in &kept {
            let w = (face.x2.min(k.x2) - face.x1.max(k.x1) + 1.0).max(0.0);
            let h = (face.y2.min(k.y2) - face.y1.max(k.y1) + 1.0).max(0.0);
            let inter = w * h;
            if inter / (area(&face) + area(k) - inter) > threshold {
                continue 'candidates;
            }
        }
        kept.push(face);
    }
    kept
}
