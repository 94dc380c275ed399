//! Faces followed across one camera's sampled frames: a **track** is one person's face from
//! the frame it appears in to the one it is last seen in, so that a person is recognised
//! once per pass, from all their views, instead of once per frame.
//!
//! SORT-style: each live track predicts where its face is now (its last box moved by its
//! velocity), every face of a new frame is scored against every prediction (box overlap,
//! distance in face widths, and the similarity of the face's embedding to the track's
//! appearance), impossible pairs are gated out, and the best assignment over all pairs wins
//! (Kuhn–Munkres, so that two people crossing keep their identities where a greedy choice
//! could swap them). A face no track takes starts a new one; a track that the looks covering
//! it have not found for [`DEFAULT_END_AFTER`] ends.
//!
//! - this file: [`FaceTracker`], [`Track`], [`TrackerSettings`] and the defaults.
//! - `assign`: the scores of face–track pairs, their gates, and the assignment.
//! - `evidence`: a view's quality weight, and a track's quality-weighted aggregate embedding.
//! - `decision`: [`TrackDecision`]: who a track is, and when to say so.
//! - `settings`: [`DecisionSettings`], the defaults and the measured constants of the rules.

mod assign;
mod decision;
mod evidence;
mod settings;

use std::time::{Duration, Instant};

pub use assign::{
    LinkScore, MAX_FACE_WIDTHS_PER_SECOND, MAX_SIZE_RATIO, MIN_LINK_SIMILARITY,
    RELIABLE_EMBEDDING_FACE_SIZE, overlap,
};
pub use decision::{TrackDecision, TrackEvent, TrackedFace};
pub use evidence::{Evidence, ViewQuality};
pub use settings::{
    AGGREGATE_MARGIN, BETTER_VIEW_SIZE, DEFAULT_ANNOUNCE_INTERVAL, DEFAULT_MIN_EVIDENCE,
    DEFAULT_REEMBED_AFTER, DecisionSettings, MIN_AGGREGATE_VIEWS, SPARE_OVERLAP, UNKNOWN_EVIDENCE,
};

use crate::{face::DetectedFace, region::Coverage};

/// A track's number, unique per camera task (counting from 1).
pub type TrackId = u64;

/// How long a track lives on without being found by looks that covered where it was
/// predicted (a missed detection or two at 1 frame/s, a head turned away): then it ends.
pub const DEFAULT_END_AFTER: Duration = Duration::from_secs(3);
/// How long a track lives on without being found at all, whatever was looked at (the motion
/// gate may look elsewhere for a while; a full-frame pass comes every few seconds).
pub const DEFAULT_FORGET_AFTER: Duration = Duration::from_secs(30);
/// The most live tracks per camera: a frame with more new faces than room ends the tracks
/// seen longest ago first (bounded memory whatever a camera shows).
pub const MAX_TRACKS: usize = 64;
/// How much of a new velocity measurement goes into a track's velocity (the rest is kept):
/// smooths detector jitter.
pub const VELOCITY_SMOOTHING: f32 = 0.6;
/// How much of a new view's embedding goes into a track's appearance.
pub const APPEARANCE_SMOOTHING: f32 = 0.3;

/// How tracks are linked and ended. `Default` gives the documented defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrackerSettings {
    /// [`DEFAULT_END_AFTER`].
    pub end_after: Duration,
    /// [`DEFAULT_FORGET_AFTER`].
    pub forget_after: Duration,
    /// [`MIN_LINK_SIMILARITY`]: below it a face is never linked to a track by looks alone.
    pub min_link_similarity: f32,
}

impl Default for TrackerSettings {
    fn default() -> Self {
        Self {
            end_after: DEFAULT_END_AFTER,
            forget_after: DEFAULT_FORGET_AFTER,
            min_link_similarity: MIN_LINK_SIMILARITY,
        }
    }
}

/// One face followed across frames.
#[derive(Clone, Debug)]
pub struct Track {
    pub id: TrackId,
    /// The face's last box: x1, y1, x2, y2 in frame pixels.
    pub bounds: [f32; 4],
    /// How fast the box's centre moves, pixels per second (x, y).
    pub velocity: [f32; 2],
    /// The last embedding-weighted appearance (unit length).
    pub appearance: Vec<f32>,
    pub first_seen: Instant,
    pub last_seen: Instant,
    /// Since when looks that covered the predicted box have not found it.
    missed_since: Option<Instant>,
    /// Views linked to this track.
    pub views: u32,
}

impl Track {
    /// Where the face is expected at `at`: its last box moved by its velocity.
    pub fn predicted(&self, at: Instant) -> [f32; 4] {
        let dt = at.saturating_duration_since(self.last_seen).as_secs_f32();
        let [x1, y1, x2, y2] = self.bounds;
        let (dx, dy) = (self.velocity[0] * dt, self.velocity[1] * dt);
        [x1 + dx, y1 + dy, x2 + dx, y2 + dy]
    }

    /// The larger side of the last box (at least 1 pixel).
    pub fn size(&self) -> f32 {
        let [x1, y1, x2, y2] = self.bounds;
        (x2 - x1).max(y2 - y1).max(1.0)
    }
}

/// What one frame's faces became: for each face (in order), its track; and the tracks that
/// ended.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Linked {
    pub tracks: Vec<TrackId>,
    pub started: Vec<TrackId>,
    pub ended: Vec<TrackId>,
}

/// The tracks of one camera.
#[derive(Clone, Debug)]
pub struct FaceTracker {
    settings: TrackerSettings,
    tracks: Vec<Track>,
    next_id: TrackId,
}

impl FaceTracker {
    pub fn new(settings: TrackerSettings) -> Self {
        Self {
            settings,
            tracks: Vec::new(),
            next_id: 1,
        }
    }

    /// The live tracks.
    pub fn tracks(&self) -> &[Track] {
        &self.tracks
    }

    /// A live track.
    pub fn track(&self, id: TrackId) -> Option<&Track> {
        self.tracks.iter().find(|t| t.id == id)
    }

    /// Links the faces found at `at` (each with its embedding, unit length) to the live
    /// tracks. `covered` is where this look searched (`None` or [`Coverage::Whole`]: the
    /// whole frame): a track
    /// predicted outside it was not looked for, so not finding it counts for nothing.
    pub fn link(
        &mut self,
        faces: &[(&DetectedFace, &[f32])],
        covered: impl Into<Coverage>,
        at: Instant,
    ) -> Linked {
        self.link_known(faces, &[], covered, at)
    }

    /// As [`FaceTracker::link`], with faces already known to continue a track (`known`:
    /// found where the track was predicted and not embedded, see
    /// [`TrackDecision::spares`]): their tracks move to them, keeping their appearance.
    pub fn link_known(
        &mut self,
        faces: &[(&DetectedFace, &[f32])],
        known: &[(TrackId, &DetectedFace)],
        covered: impl Into<Coverage>,
        at: Instant,
    ) -> Linked {
        let covered = covered.into();
        // Tracks gone too long end first: nothing new continues them.
        let mut linked = Linked {
            tracks: Vec::with_capacity(faces.len()),
            ended: self.expire(at),
            ..Linked::default()
        };
        let mut found = vec![false; self.tracks.len()];
        for (id, face) in known {
            if let Some(t) = self.tracks.iter().position(|t| t.id == *id) {
                found[t] = true;
                move_to(&mut self.tracks[t], face, at);
            }
        }
        // Tracks that took a known face are not offered to the others.
        let open: Vec<usize> = (0..self.tracks.len()).filter(|&t| !found[t]).collect();
        let candidates: Vec<&Track> = open.iter().map(|&t| &self.tracks[t]).collect();
        let assignment: Vec<Option<usize>> = assign::assign(&candidates, faces, at, &self.settings)
            .into_iter()
            .map(|a| a.map(|i| open[i]))
            .collect();
        for (i, (face, embedding)) in faces.iter().enumerate() {
            match assignment[i] {
                Some(t) => {
                    found[t] = true;
                    let track = &mut self.tracks[t];
                    update(track, face, embedding, at);
                    linked.tracks.push(track.id);
                }
                None => {
                    let id = self.next_id;
                    self.next_id += 1;
                    self.tracks.push(Track {
                        id,
                        bounds: [face.x1, face.y1, face.x2, face.y2],
                        velocity: [0.0, 0.0],
                        appearance: embedding.to_vec(),
                        first_seen: at,
                        last_seen: at,
                        missed_since: None,
                        views: 1,
                    });
                    found.push(true);
                    linked.tracks.push(id);
                    linked.started.push(id);
                }
            }
        }
        for (track, found) in self.tracks.iter_mut().zip(&found) {
            if !*found && covered.covers(&track.predicted(at)) {
                track.missed_since.get_or_insert(at);
            }
        }
        let ended = self.expire(at);
        linked.ended.extend(ended);
        if self.tracks.len() > MAX_TRACKS {
            // The tracks seen longest ago go first; this frame's are kept.
            self.tracks.sort_by_key(|t| std::cmp::Reverse(t.last_seen));
            for t in self.tracks.drain(MAX_TRACKS..) {
                linked.ended.push(t.id);
            }
        }
        linked
    }

    /// Ends, by `at`, the tracks not seen for [`TrackerSettings::forget_after`] and those that
    /// looks covering them have missed for [`TrackerSettings::end_after`] (between looks: a
    /// camera whose frames did not change since someone left); returns them. A face found
    /// later is a new track: someone who left and came back is a new pass.
    pub fn expire(&mut self, at: Instant) -> Vec<TrackId> {
        let TrackerSettings {
            forget_after,
            end_after,
            ..
        } = self.settings;
        let mut ended = Vec::new();
        self.tracks.retain(|t| {
            let ends = at.saturating_duration_since(t.last_seen) >= forget_after
                || t.missed_since
                    .is_some_and(|since| at.saturating_duration_since(since) >= end_after);
            if ends {
                ended.push(t.id);
            }
            !ends
        });
        ended
    }
}

/// A track takes a new view: box, velocity, appearance.
/// Moves `track` to `face`, seen at `at`, and blends `embedding` into its appearance.
fn update(track: &mut Track, face: &DetectedFace, embedding: &[f32], at: Instant) {
    move_to(track, face, at);
    if track.appearance.len() == embedding.len() {
        for (a, e) in track.appearance.iter_mut().zip(embedding) {
            *a = (1.0 - APPEARANCE_SMOOTHING) * *a + APPEARANCE_SMOOTHING * e;
        }
        evidence::normalise(&mut track.appearance);
    } else {
        track.appearance = embedding.to_vec();
    }
}

/// Moves `track` to `face`, seen at `at` (its velocity, box and sightings), its appearance
/// untouched: for a face taken for the track without being embedded.
fn move_to(track: &mut Track, face: &DetectedFace, at: Instant) {
    let dt = at.saturating_duration_since(track.last_seen).as_secs_f32();
    if dt > 0.0 {
        let [x1, y1, x2, y2] = track.bounds;
        let (cx, cy) = ((x1 + x2) / 2.0, (y1 + y2) / 2.0);
        let (nx, ny) = ((face.x1 + face.x2) / 2.0, (face.y1 + face.y2) / 2.0);
        let measured = [(nx - cx) / dt, (ny - cy) / dt];
        for (v, m) in track.velocity.iter_mut().zip(measured) {
            *v = if track.views == 1 {
                m
            } else {
                VELOCITY_SMOOTHING * m + (1.0 - VELOCITY_SMOOTHING) * *v
            };
        }
    }
    track.bounds = [face.x1, face.y1, face.x2, face.y2];
    track.last_seen = at;
    track.missed_since = None;
    track.views += 1;
}

#[cfg(test)]
mod tests;
