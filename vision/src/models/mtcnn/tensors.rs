//! What goes into MTCNN's nets and comes out: images normalised as `(x − 127.5) / 128` and
//! transposed (width before height, as the Caffe originals were trained), batches of padded
//! crops, the outputs found by the width of their last axis, and P-net's cells as candidates.

use super::{Buffers, Candidate, PNET_CELL, PNET_STRIDE};
use crate::{
    error::{VisionError, VisionResult},
    frame::{Filter, RgbF32},
    models::Output,
};

/// The cells of one pyramid level whose face probability reaches `threshold`, as boxes in
/// the image. P-net's outputs: box regression (last axis 4) and face probability (last axis
/// 2), each `[1, width, height, k]` (the level was fed transposed).
pub(super) fn pnet_candidates(
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

pub(super) fn output_with_width<'o, 'a>(
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
pub(super) fn write_transposed(image: &RgbF32, tensor: &mut Vec<f32>) {
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
pub(super) fn crops(
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
