//! Face alignment: the similarity transform (rotation, uniform scale, translation) that best
//! maps five detected landmarks onto the ArcFace 112×112 template, in the least-squares sense
//! (Umeyama's closed form, no reflection), and the bilinear warp that applies it.

use crate::frame::RgbF32;

/// Side of an aligned face, in pixels.
pub const ALIGNED_SIZE: usize = 112;

/// Where the five landmarks (left eye, right eye, nose, left and right mouth corners) lie on
/// an aligned 112×112 face (InsightFace's ArcFace template).
pub const ARCFACE_TEMPLATE: [[f32; 2]; 5] = [
    [38.2946, 51.6963],
    [73.5318, 51.5014],
    [56.0252, 71.7366],
    [41.5493, 92.3655],
    [70.7299, 92.2041],
];

/// `p ↦ [a −b; b a]·p + [tx ty]`: a similarity transform.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Similarity {
    pub a: f64,
    pub b: f64,
    pub tx: f64,
    pub ty: f64,
}

impl Similarity {
    /// The least-squares similarity taking `from` onto `to`.
    pub fn estimate(from: &[[f32; 2]], to: &[[f32; 2]]) -> Option<Self> {
        let n = from.len().min(to.len());
        if n < 2 {
            return None;
        }
        let mean = |points: &[[f32; 2]]| {
            let (sx, sy) = points[..n].iter().fold((0.0, 0.0), |(x, y), p| {
                (x + f64::from(p[0]), y + f64::from(p[1]))
            });
            (sx / n as f64, sy / n as f64)
        };
        let (fx, fy) = mean(from);
        let (tx, ty) = mean(to);
        let (mut dot, mut cross, mut variance) = (0.0, 0.0, 0.0);
        for (p, q) in from[..n].iter().zip(&to[..n]) {
            let (px, py) = (f64::from(p[0]) - fx, f64::from(p[1]) - fy);
            let (qx, qy) = (f64::from(q[0]) - tx, f64::from(q[1]) - ty);
            dot += px * qx + py * qy;
            cross += px * qy - py * qx;
            variance += px * px + py * py;
        }
        if variance <= f64::EPSILON {
            return None;
        }
        let (a, b) = (dot / variance, cross / variance);
        Some(Self {
            a,
            b,
            tx: tx - (a * fx - b * fy),
            ty: ty - (b * fx + a * fy),
        })
    }

    pub fn apply(&self, x: f64, y: f64) -> (f64, f64) {
        (
            self.a * x - self.b * y + self.tx,
            self.b * x + self.a * y + self.ty,
        )
    }

    pub fn inverse(&self) -> Option<Self> {
        let det = self.a * self.a + self.b * self.b;
        if det <= f64::EPSILON {
            return None;
        }
        let (a, b) = (self.a / det, -self.b / det);
        Some(Self {
            a,
            b,
            tx: -(a * self.tx - b * self.ty),
            ty: -(b * self.tx + a * self.ty),
        })
    }

    /// The scale factor of the transform.
    pub fn scale(&self) -> f64 {
        self.a.hypot(self.b)
    }
}

/// The face of `image` whose landmarks are `landmarks`, aligned to the template:
/// 112×112, bilinear, black outside the image.
pub fn align(image: &RgbF32, landmarks: &[[f32; 2]; 5]) -> Option<RgbF32> {
    let to_template = Similarity::estimate(landmarks, &ARCFACE_TEMPLATE)?;
    let to_image = to_template.inverse()?;
    Some(warp(image, &to_image, ALIGNED_SIZE, ALIGNED_SIZE))
}

/// Samples `image` at `to_image(x, y)` for each output pixel (pixel centres at integers).
pub fn warp(image: &RgbF32, to_image: &Similarity, width: usize, height: usize) -> RgbF32 {
    let mut out = RgbF32::new(width, height);
    let (w, h) = (image.width as i64, image.height as i64);
    let sample = |x: i64, y: i64| -> [f32; 3] {
        if x < 0 || y < 0 || x >= w || y >= h {
            [0.0; 3]
        } else {
            image.pixel(x as usize, y as usize)
        }
    };
    for v in 0..height {
        for u in 0..width {
            let (sx, sy) = to_image.apply(u as f64, v as f64);
            let (x0, y0) = (sx.floor(), sy.floor());
            let (fx, fy) = ((sx - x0) as f32, (sy - y0) as f32);
            let (x0, y0) = (x0 as i64, y0 as i64);
            let p00 = sample(x0, y0);
            let p10 = sample(x0 + 1, y0);
            let p01 = sample(x0, y0 + 1);
            let p11 = sample(x0 + 1, y0 + 1);
            let i = (v * width + u) * 3;
            for c in 0..3 {
                let top = p00[c] + (p10[c] - p00[c]) * fx;
                let bottom = p01[c] + (p11[c] - p01[c]) * fx;
                out.data[i + c] = top + (bottom - top) * fy;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6
    }

    #[test]
    fn the_template_maps_onto_itself() {
        let t = Similarity::estimate(&ARCFACE_TEMPLATE, &ARCFACE_TEMPLATE).unwrap();
        assert!(close(t.a, 1.0) && close(t.b, 0.0) && close(t.tx, 0.0) && close(t.ty, 0.0));
    }

    #[test]
    fn a_known_similarity_is_recovered_exactly() {
        // Landmarks made from the template by scale 2.5, rotation 30°, shift (400, 120).
        let (angle, scale) = (30f64.to_radians(), 2.5);
        let truth = Similarity {
            a: scale * angle.cos(),
            b: scale * angle.sin(),
            tx: 400.0,
            ty: 120.0,
        };
        let landmarks: [[f32; 2]; 5] = std::array::from_fn(|i| {
            let (x, y) = truth.apply(
                f64::from(ARCFACE_TEMPLATE[i][0]),
                f64::from(ARCFACE_TEMPLATE[i][1]),
            );
            [x as f32, y as f32]
        });
        let back = Similarity::estimate(&landmarks, &ARCFACE_TEMPLATE).unwrap();
        let inverse = truth.inverse().unwrap();
        assert!((back.a - inverse.a).abs() < 1e-4, "{back:?} vs {inverse:?}");
        assert!((back.b - inverse.b).abs() < 1e-4);
        assert!((back.tx - inverse.tx).abs() < 1e-2);
        assert!((back.ty - inverse.ty).abs() < 1e-2);
        assert!((back.scale() - 1.0 / scale).abs() < 1e-4);
        for (p, q) in landmarks.iter().zip(&ARCFACE_TEMPLATE) {
            let (x, y) = back.apply(f64::from(p[0]), f64::from(p[1]));
            assert!((x - f64::from(q[0])).abs() < 1e-2 && (y - f64::from(q[1])).abs() < 1e-2);
        }
    }

    #[test]
    fn noisy_landmarks_give_the_least_squares_fit() {
        // Symmetric noise around a pure translation leaves the translation.
        let shifted: Vec<[f32; 2]> = ARCFACE_TEMPLATE
            .iter()
            .map(|p| [p[0] + 10.0, p[1] - 5.0])
            .collect();
        let mut noisy = shifted.clone();
        noisy[0][0] += 1.0;
        noisy[1][0] -= 1.0;
        let t = Similarity::estimate(&shifted, &ARCFACE_TEMPLATE).unwrap();
        assert!(close(t.tx, -10.0) && close(t.ty, 5.0) && close(t.a, 1.0));
        let n = Similarity::estimate(&noisy, &ARCFACE_TEMPLATE).unwrap();
        assert!((n.scale() - 1.0).abs() < 0.05);
    }

    #[test]
    fn warping_by_the_identity_copies_and_pads() {
        let mut image = RgbF32::new(4, 4);
        for (i, v) in image.data.iter_mut().enumerate() {
            *v = i as f32;
        }
        let identity = Similarity {
            a: 1.0,
            b: 0.0,
            tx: 0.0,
            ty: 0.0,
        };
        assert_eq!(warp(&image, &identity, 4, 4), image);
        let shifted = Similarity {
            tx: 2.0,
            ..identity
        };
        let out = warp(&image, &shifted, 4, 4);
        assert_eq!(out.pixel(0, 0), image.pixel(2, 0));
        assert_eq!(out.pixel(3, 3), [0.0; 3]);
        // Half a pixel: the mean of two neighbours.
        let half = Similarity {
            tx: 0.5,
            ..identity
        };
        let out = warp(&image, &half, 2, 1);
        let expected: Vec<f32> = (0..3)
            .map(|c| (image.pixel(0, 0)[c] + image.pixel(1, 0)[c]) / 2.0)
            .collect();
        assert_eq!(out.pixel(0, 0).to_vec(), expected);
    }
}
