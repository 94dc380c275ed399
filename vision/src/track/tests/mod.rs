//! The tracker and the decision on synthetic faces: boxes that move as people walk, unit
//! embeddings that say who is who (the real models' version is `tests/tracks.rs`).
//!
//! - `tracker`: linking faces to tracks, and ending tracks.
//! - `decision`: who a track is, and when it is said.

mod decision;
mod tracker;

use std::time::{Duration, Instant};

use super::*;

/// A unit embedding pointing mostly along axis `who` of 8, with a little of axis `noise`.
pub(super) fn embedding(who: usize, noise: usize, amount: f32) -> Vec<f32> {
    let mut v = vec![0.0; 8];
    v[who] = 1.0;
    v[noise] += amount;
    evidence::normalise(&mut v);
    v
}

/// A face of `size` px with its top-left corner at (x, y), frontal, detected at `score`.
pub(super) fn face_at(x: f32, y: f32, size: f32, score: f32) -> DetectedFace {
    DetectedFace {
        x1: x,
        y1: y,
        x2: x + size,
        y2: y + size,
        score,
        landmarks: [
            [x + 0.3 * size, y + 0.4 * size],
            [x + 0.7 * size, y + 0.4 * size],
            [x + 0.5 * size, y + 0.6 * size],
            [x + 0.35 * size, y + 0.8 * size],
            [x + 0.65 * size, y + 0.8 * size],
        ],
    }
}

pub(super) fn seconds(start: Instant, s: f32) -> Instant {
    start + Duration::from_secs_f32(s)
}
