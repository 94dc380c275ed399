//! How much one view of a face is worth, and what a track's views add up to.
//!
//! A view's weight (0–1) is the product of four factors, each 1 for a view as good as an
//! enrolment photo and falling towards a floor for a poor one: face size, detection score,
//! sharpness (variance of the Laplacian of the aligned face, as for enrolment) and how
//! frontal the landmarks are. A track's aggregate is the weighted mean of its unit
//! embeddings, re-normalised: noise of single views averages out, good views count most.

use crate::{face::DetectedFace, gallery::dot};

/// Face size (shorter side, pixels) from which size costs a view nothing.
pub const FULL_WEIGHT_FACE_SIZE: f32 = 64.0;
/// Face size at which a view's size factor reaches its floor.
pub const FLOOR_FACE_SIZE: f32 = 16.0;
/// Detection score from which the detector's confidence costs a view nothing.
pub const FULL_WEIGHT_DETECTION: f32 = 0.95;
/// Sharpness from which blur costs a view nothing (enrolment asks for 100).
pub const FULL_WEIGHT_SHARPNESS: f32 = 150.0;
/// The lowest any factor goes: a poor view still counts for a little.
pub const FACTOR_FLOOR: f32 = 0.1;

/// What a view's quality is made of.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ViewQuality {
    /// Shorter side of the face's box, pixels (of the frame).
    pub size: f32,
    /// The detector's confidence.
    pub detection: f32,
    /// Variance of the Laplacian of the aligned face (see [`crate::quality::sharpness`]).
    pub sharpness: f32,
    /// 1 for a face looking at the camera, towards 0 for one in profile (from the landmarks).
    pub frontal: f32,
}

impl ViewQuality {
    /// The quality of `face`, whose aligned crop had `sharpness`.
    pub fn of(face: &DetectedFace, sharpness: f32) -> Self {
        Self {
            size: face.width().min(face.height()),
            detection: face.score,
            sharpness,
            frontal: frontal(&face.landmarks),
        }
    }

    /// The view's weight, from `FACTOR_FLOOR`⁴ to 1.
    pub fn weight(&self) -> f32 {
        let size = (self.size - FLOOR_FACE_SIZE) / (FULL_WEIGHT_FACE_SIZE - FLOOR_FACE_SIZE);
        let detection = 1.0 - (FULL_WEIGHT_DETECTION - self.detection) / 0.35;
        let sharpness = self.sharpness / FULL_WEIGHT_SHARPNESS;
        [size, detection, sharpness, self.frontal]
            .into_iter()
            .map(|f| {
                if f.is_finite() {
                    f.clamp(FACTOR_FLOOR, 1.0)
                } else {
                    FACTOR_FLOOR
                }
            })
            .product()
    }
}

/// How frontal a face is from its landmarks (left eye, right eye, nose, mouth corners): the
/// nose lies midway between the eyes in a frontal face and moves towards one eye as the head
/// turns. 1 frontal, 0 at or past a profile.
pub fn frontal(landmarks: &[[f32; 2]; 5]) -> f32 {
    let [left, right, nose, ..] = *landmarks;
    let eyes = right[0] - left[0];
    if !eyes.is_finite() || eyes.abs() < 1e-3 {
        return 0.0;
    }
    let along = (nose[0] - left[0]) / eyes;
    let turned = ((along - 0.5).abs() * 2.0).min(1.0);
    if !turned.is_finite() {
        return 0.0;
    }
    // Faces a little turned (most of any camera's) embed as well as frontal ones.
    1.0 - (turned - FRONTAL_SLACK).max(0.0) / (1.0 - FRONTAL_SLACK)
}

/// How turned (0 frontal, 1 profile, from the nose's place between the eyes) a face may be
/// at no cost to its view: the project's enrolment photos are 0.05–0.45 turned.
pub const FRONTAL_SLACK: f32 = 0.3;

/// Scales `v` to unit length (left alone when it is all zeros).
pub fn normalise(v: &mut [f32]) {
    let norm = dot(v, v).sqrt();
    if norm > 0.0 && norm.is_finite() {
        for x in v {
            *x /= norm;
        }
    }
}

/// A track's views added up.
#[derive(Clone, Debug, Default)]
pub struct Evidence {
    /// Σ weight · embedding.
    sum: Vec<f32>,
    /// Σ weight.
    pub weight: f32,
    pub views: u32,
    /// The best view's weight so far.
    pub best_weight: f32,
}

impl Evidence {
    /// Adds a view; returns whether it is the best so far.
    pub fn add(&mut self, embedding: &[f32], quality: &ViewQuality) -> bool {
        let weight = quality.weight();
        if self.sum.len() != embedding.len() {
            // The first view (or a model change mid-track: start again).
            *self = Self::default();
            self.sum = vec![0.0; embedding.len()];
        }
        for (s, e) in self.sum.iter_mut().zip(embedding) {
            *s += weight * e;
        }
        self.weight += weight;
        self.views += 1;
        let best = weight > self.best_weight;
        if best {
            self.best_weight = weight;
        }
        best
    }

    /// The weighted mean of the views, unit length (empty before the first view).
    pub fn aggregate(&self) -> Vec<f32> {
        let mut v = self.sum.clone();
        normalise(&mut v);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(size: f32, score: f32, nose_x: f32) -> DetectedFace {
        DetectedFace {
            x1: 0.0,
            y1: 0.0,
            x2: size,
            y2: size,
            score,
            landmarks: [
                [0.3 * size, 0.4 * size],
                [0.7 * size, 0.4 * size],
                [nose_x * size, 0.6 * size],
                [0.35 * size, 0.8 * size],
                [0.65 * size, 0.8 * size],
            ],
        }
    }

    #[test]
    fn a_large_sharp_frontal_confident_view_weighs_one_and_poor_views_less() {
        let good = ViewQuality::of(&face(120.0, 0.99, 0.5), 400.0);
        assert_eq!(good.frontal, 1.0);
        assert_eq!(good.weight(), 1.0);
        let small = ViewQuality::of(&face(24.0, 0.99, 0.5), 400.0);
        assert!(small.weight() < 0.2, "{}", small.weight());
        let blurred = ViewQuality::of(&face(120.0, 0.99, 0.5), 30.0);
        assert!((blurred.weight() - 0.2).abs() < 1e-6);
        let turned = ViewQuality::of(&face(120.0, 0.99, 0.68), 400.0);
        assert!(
            turned.frontal < 0.2 && turned.frontal > 0.0,
            "{}",
            turned.frontal
        );
        let a_little = ViewQuality::of(&face(120.0, 0.99, 0.55), 400.0);
        assert_eq!(a_little.frontal, 1.0);
        let unsure = ViewQuality::of(&face(120.0, 0.7, 0.5), 400.0);
        assert!(unsure.weight() < 0.4);
        // A floor, never zero; never NaN.
        let hopeless = ViewQuality {
            size: 1.0,
            detection: 0.0,
            sharpness: f32::NAN,
            frontal: 0.0,
        };
        assert!((hopeless.weight() - FACTOR_FLOOR.powi(4)).abs() < 1e-9);
    }

    #[test]
    fn the_aggregate_is_the_weighted_mean_of_the_views() {
        let mut evidence = Evidence::default();
        let good = ViewQuality::of(&face(120.0, 0.99, 0.5), 400.0);
        let poor = ViewQuality::of(&face(120.0, 0.99, 0.5), 15.0); // weight 0.1
        assert!(evidence.add(&[1.0, 0.0], &poor));
        assert!(evidence.add(&[0.0, 1.0], &good));
        assert!(!evidence.add(&[0.0, 1.0], &poor));
        assert_eq!(evidence.views, 3);
        let a = evidence.aggregate();
        // (0.1, 1.1) normalised.
        let n = (0.1f32 * 0.1 + 1.1 * 1.1).sqrt();
        assert!(
            (a[0] - 0.1 / n).abs() < 1e-5 && (a[1] - 1.1 / n).abs() < 1e-5,
            "{a:?}"
        );
        assert!((evidence.weight - 1.2).abs() < 1e-5);
    }
}
