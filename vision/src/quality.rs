//! Checks that a face is good enough to enrol: large enough, and sharp enough (the variance
//! of the Laplacian of the aligned face's luminance, a standard focus measure).

use crate::frame::RgbF32;

/// Shortest side, in pixels, of a face accepted for enrolment.
pub const MIN_ENROL_FACE_SIZE: f32 = 80.0;
/// Sharpness below which an aligned face is too blurred to enrol. Measured here: sharp
/// portraits 600–5,000; the same face blurred to a quarter of its resolution ~300, to an
/// eighth (about 35 px of real detail) ~85.
pub const MIN_ENROL_SHARPNESS: f32 = 100.0;

/// The variance of the 4-neighbour Laplacian of the image's luminance: low when blurred.
pub fn sharpness(image: &RgbF32) -> f32 {
    let (w, h) = (image.width, image.height);
    if w < 3 || h < 3 {
        return 0.0;
    }
    let luma: Vec<f32> = image
        .data
        .chunks_exact(3)
        .map(|p| 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2])
        .collect();
    let mut values = Vec::with_capacity((w - 2) * (h - 2));
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let c = luma[y * w + x];
            let l = luma[y * w + x - 1]
                + luma[y * w + x + 1]
                + luma[(y - 1) * w + x]
                + luma[(y + 1) * w + x]
                - 4.0 * c;
            values.push(l);
        }
    }
    let n = values.len() as f32;
    let mean = values.iter().sum::<f32>() / n;
    values.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_images_are_not_sharp_and_edges_are() {
        let flat = RgbF32 {
            width: 8,
            height: 8,
            data: vec![100.0; 8 * 8 * 3],
        };
        assert_eq!(sharpness(&flat), 0.0);
        let mut checker = flat.clone();
        for (i, p) in checker.data.chunks_exact_mut(3).enumerate() {
            let v = if (i % 8 + i / 8) % 2 == 0 { 0.0 } else { 255.0 };
            p.fill(v);
        }
        assert!(sharpness(&checker) > 1_000.0);
        assert!(sharpness(&checker.resize(16, 16).resize(8, 8)) < sharpness(&checker));
    }
}
