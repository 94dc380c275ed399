//! Which face of a new frame continues which track: every pair is scored (box overlap with
//! the track's prediction, distance in face widths, embedding similarity to the track's
//! appearance), pairs that cannot be the same person are gated out, and the assignment with
//! the highest total score wins (Kuhn–Munkres from the `pathfinding` crate).

use std::time::Instant;

use pathfinding::{kuhn_munkres::kuhn_munkres, matrix::Matrix};

use super::{Track, TrackerSettings};
use crate::{face::DetectedFace, gallery::dot};

/// Embedding similarity from which a face may continue a track on its looks. With the
/// default models different people's faces score at most 0.24 and the same person's photos
/// 0.67–0.72 (the measurement behind the match threshold, `models/sets.rs`); views of one
/// pass in front of one camera are closer still.
pub const MIN_LINK_SIMILARITY: f32 = 0.3;
/// Face size (shorter side, pixels) from which embeddings are trusted to tell people apart:
/// a face this large continues a track only if it looks like it, however well it overlaps
/// (someone else stepping into the same place starts a track of their own). A smaller face
/// (tiny and blurred faces embed noisily: the same person's consecutive views score
/// 0.01–0.7 on the quality benchmark's frames) is linked by motion, and the best assignment
/// prefers the pairs that look alike and overlap.
pub const RELIABLE_EMBEDDING_FACE_SIZE: f32 = 64.0;
/// How far a face may move between two looks, in face widths per second (someone walking
/// past near the camera), plus one width of slack.
pub const MAX_FACE_WIDTHS_PER_SECOND: f32 = 6.0;
/// How much a face's size may change between two looks (either way).
pub const MAX_SIZE_RATIO: f32 = 2.0;

/// How well a face fits a track.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinkScore {
    /// Intersection over union of the face's box and the track's prediction.
    pub overlap: f32,
    /// Distance between their centres, in the track's face widths.
    pub distance: f32,
    /// Cosine similarity of the face's embedding to the track's appearance.
    pub similarity: f32,
    /// The larger of the two sizes over the smaller.
    pub size_ratio: f32,
    /// The face's shorter side, pixels.
    pub face_size: f32,
}

impl LinkScore {
    /// Scores `face` (with `embedding`) against `track` at `at`.
    pub fn of(track: &Track, face: &DetectedFace, embedding: &[f32], at: Instant) -> Self {
        let predicted = track.predicted(at);
        let bounds = [face.x1, face.y1, face.x2, face.y2];
        let size = track.size();
        let face_size = face.width().max(face.height()).max(1.0);
        let (pcx, pcy) = centre(&predicted);
        let (fcx, fcy) = centre(&bounds);
        let similarity = if track.appearance.len() == embedding.len() {
            dot(&track.appearance, embedding)
        } else {
            0.0
        };
        Self {
            overlap: overlap(&predicted, &bounds),
            distance: (fcx - pcx).hypot(fcy - pcy) / size,
            similarity: if similarity.is_finite() {
                similarity
            } else {
                0.0
            },
            size_ratio: size.max(face_size) / size.min(face_size),
            face_size: face.width().min(face.height()),
        }
    }

    /// Whether the face can be the track's at all, `seconds` after the track was last seen.
    pub fn allowed(&self, seconds: f32, settings: &TrackerSettings) -> bool {
        self.distance <= 1.0 + MAX_FACE_WIDTHS_PER_SECOND * seconds
            && self.size_ratio <= MAX_SIZE_RATIO
            && (self.similarity >= settings.min_link_similarity
                || self.face_size < RELIABLE_EMBEDDING_FACE_SIZE)
    }

    /// The pair's worth in the assignment (higher is better).
    pub fn value(&self) -> f32 {
        self.similarity.max(0.0) + self.overlap
    }
}

/// For each face, the index of the track it continues (None: a new track).
pub(super) fn assign(
    tracks: &[&Track],
    faces: &[(&DetectedFace, &[f32])],
    at: Instant,
    settings: &TrackerSettings,
) -> Vec<Option<usize>> {
    let mut result = vec![None; faces.len()];
    if tracks.is_empty() || faces.is_empty() {
        return result;
    }
    // Scores as integers (the algorithm needs an exact order); 0 for a gated-out pair.
    let score = |t: usize, f: usize| -> i64 {
        let track = tracks[t];
        let (face, embedding) = faces[f];
        let link = LinkScore::of(track, face, embedding, at);
        let seconds = at.saturating_duration_since(track.last_seen).as_secs_f32();
        if link.allowed(seconds, settings) {
            // Above 0 for any allowed pair, so that linking beats not linking.
            1_000_000 + (link.value() * 1_000_000.0) as i64
        } else {
            0
        }
    };
    // Kuhn–Munkres needs no more rows than columns: the smaller side goes in the rows.
    let tracks_in_rows = tracks.len() <= faces.len();
    let (rows, columns) = if tracks_in_rows {
        (tracks.len(), faces.len())
    } else {
        (faces.len(), tracks.len())
    };
    let weights = Matrix::from_fn(rows, columns, |(r, c)| {
        if tracks_in_rows {
            score(r, c)
        } else {
            score(c, r)
        }
    });
    let (_, chosen) = kuhn_munkres(&weights);
    for (r, &c) in chosen.iter().enumerate() {
        if weights[(r, c)] == 0 {
            continue;
        }
        let (t, f) = if tracks_in_rows { (r, c) } else { (c, r) };
        result[f] = Some(t);
    }
    result
}

fn centre(b: &[f32; 4]) -> (f32, f32) {
    ((b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0)
}

/// Intersection over union of two boxes (0 when either is empty).
pub fn overlap(a: &[f32; 4], b: &[f32; 4]) -> f32 {
    let w = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let h = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = w * h;
    let area = |r: &[f32; 4]| ((r[2] - r[0]).max(0.0)) * ((r[3] - r[1]).max(0.0));
    let union = area(a) + area(b) - inter;
    if union > 0.0 { inter / union } else { 0.0 }
}
