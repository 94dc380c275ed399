//! Who a track is, and when to say so. Each view of a track adds to its evidence (quality
//! weighted, see `evidence`); the track is matched by its aggregate embedding, and taken for
//! an employee once the aggregate reaches the threshold with enough evidence behind it and
//! at least `min_consecutive` views (the per-frame setting it replaces). The match is
//! re-checked at every view, so a better view can name a track that weak ones could not, or
//! correct it.
//!
//! What is said: a [`TrackEvent::Recognised`] for every view that confirms the track's
//! employee (presence is refreshed by each), *announced* at the track's first recognition,
//! when its employee changes, and then at most every [`super::DEFAULT_ANNOUNCE_INTERVAL`]; one
//! [`TrackEvent::Unknown`] per track nobody matches, with its best view, once the track has
//! [`super::UNKNOWN_EVIDENCE`] (or when it ends with less); a [`TrackEvent::Ended`] when it ends.
//!
//! Look less: a face found where a recognised track was predicted is taken for it without
//! being embedded ([`TrackDecision::spares`]), unless the track has gone
//! [`super::DEFAULT_REEMBED_AFTER`] without an embedding or the face is a better view than its best.

use std::{collections::HashMap, time::Instant};

use super::{
    FaceTracker, TrackId,
    evidence::{Evidence, ViewQuality},
    settings::{
        AGGREGATE_MARGIN, BETTER_VIEW_SIZE, DecisionSettings, MIN_AGGREGATE_VIEWS, SPARE_OVERLAP,
        UNKNOWN_EVIDENCE,
    },
};
use crate::{face::DetectedFace, pipeline::AnalysedFace, region::Coverage};

/// A face of a frame, with its track and whom the track is taken for after this view.
#[derive(Clone, Debug, PartialEq)]
pub struct TrackedFace {
    pub face: DetectedFace,
    pub track: TrackId,
    pub employee_id: Option<String>,
    /// The track's aggregate similarity to its closest employee after this view.
    pub score: Option<f32>,
}

/// What a frame (or the end of a track) decided.
#[derive(Clone, Debug, PartialEq)]
pub enum TrackEvent {
    /// This view confirms the track is this employee.
    Recognised {
        track: TrackId,
        employee_id: String,
        /// The track's aggregate similarity.
        score: f32,
        face: DetectedFace,
        /// Whether to announce it (first recognition, a new employee, or the interval
        /// passed); presence is refreshed either way.
        announce: bool,
    },
    /// Nobody enrolled is close enough to this track (once per track): its best view.
    Unknown {
        track: TrackId,
        face: DetectedFace,
        /// The aggregate's similarity to the closest employee, if the gallery has any.
        best_score: Option<f32>,
    },
    /// The track ended.
    Ended {
        track: TrackId,
        employee_id: Option<String>,
        views: u32,
    },
}

/// What is known of one live track.
#[derive(Clone, Debug)]
struct TrackState {
    evidence: Evidence,
    employee_id: Option<String>,
    announced_at: Option<Instant>,
    unknown_reported: bool,
    best_face: Option<DetectedFace>,
    /// The aggregate's last match: closest employee and similarity.
    closest: Option<(String, f32)>,
    /// When the track last had a face embedded, and its largest face so far (shorter side).
    last_embedded: Instant,
    best_size: f32,
}

/// The tracks of one camera and what they were decided to be.
#[derive(Clone, Debug)]
pub struct TrackDecision {
    settings: DecisionSettings,
    tracker: FaceTracker,
    states: HashMap<TrackId, TrackState>,
    recognised_tracks: u64,
    unknown_tracks: u64,
    spared_faces: u64,
}

impl TrackDecision {
    pub fn new(settings: DecisionSettings) -> Self {
        let settings = DecisionSettings {
            min_consecutive: settings.min_consecutive.max(1),
            ..settings
        };
        Self {
            tracker: FaceTracker::new(settings.tracker),
            settings,
            states: HashMap::new(),
            recognised_tracks: 0,
            unknown_tracks: 0,
            spared_faces: 0,
        }
    }

    /// Faces taken for their recognised track without being embedded, so far.
    pub fn spared_faces(&self) -> u64 {
        self.spared_faces
    }

    /// Whether `face` (found at `at`, frame pixels) can be taken for a recognised live track
    /// without being embedded: it overlaps that track's prediction by [`SPARE_OVERLAP`] and
    /// no other's as much, the track had a face embedded within `reembed_after`, and the face
    /// is no better a view (no larger by [`BETTER_VIEW_SIZE`]) than its best. Tracks in
    /// `claimed` already took a face of this frame.
    pub fn spares(
        &self,
        face: &DetectedFace,
        at: Instant,
        claimed: &[(TrackId, DetectedFace)],
    ) -> Option<TrackId> {
        let bounds = [face.x1, face.y1, face.x2, face.y2];
        let mut overlapping = self
            .tracker
            .tracks()
            .iter()
            .filter(|t| super::assign::overlap(&t.predicted(at), &bounds) >= SPARE_OVERLAP);
        let track = overlapping.next()?;
        if overlapping.next().is_some() || claimed.iter().any(|(id, _)| *id == track.id) {
            return None;
        }
        let state = self.states.get(&track.id)?;
        let fresh = at.saturating_duration_since(state.last_embedded) < self.settings.reembed_after;
        let no_better = face.width().min(face.height()) <= state.best_size * BETTER_VIEW_SIZE;
        (state.employee_id.is_some() && fresh && no_better).then_some(track.id)
    }

    /// Live tracks.
    pub fn live_tracks(&self) -> usize {
        self.states.len()
    }

    /// When the newest live track that is not decided yet (neither taken for an employee
    /// nor reported unknown) started; None when every live track is decided.
    pub fn newest_undecided(&self) -> Option<Instant> {
        self.tracker
            .tracks()
            .iter()
            .filter(|t| {
                self.states
                    .get(&t.id)
                    .is_none_or(|s| s.employee_id.is_none() && !s.unknown_reported)
            })
            .map(|t| t.first_seen)
            .max()
    }

    /// Tracks taken for an employee so far.
    pub fn recognised_tracks(&self) -> u64 {
        self.recognised_tracks
    }

    /// Tracks reported as unknown so far.
    pub fn unknown_tracks(&self) -> u64 {
        self.unknown_tracks
    }

    pub fn tracker(&self) -> &FaceTracker {
        &self.tracker
    }

    /// Decides on the faces of a frame looked at `at` over `covered` (`None`: the whole
    /// frame). `best_match` names the closest
    /// enrolled employee to a unit embedding and its similarity (None: empty gallery).
    pub fn observe(
        &mut self,
        faces: &[AnalysedFace],
        covered: impl Into<Coverage>,
        at: Instant,
        best_match: impl Fn(&[f32]) -> Option<(String, f32)>,
    ) -> (Vec<TrackedFace>, Vec<TrackEvent>) {
        self.observe_sparing(faces, &[], covered, at, best_match)
    }

    /// As [`TrackDecision::observe`], with faces `known` to continue recognised tracks
    /// (found, not embedded: see [`TrackDecision::spares`]): each confirms its track's
    /// employee, as a view does, without adding to its evidence.
    pub fn observe_sparing(
        &mut self,
        faces: &[AnalysedFace],
        known: &[(TrackId, DetectedFace)],
        covered: impl Into<Coverage>,
        at: Instant,
        best_match: impl Fn(&[f32]) -> Option<(String, f32)>,
    ) -> (Vec<TrackedFace>, Vec<TrackEvent>) {
        let pairs: Vec<(&DetectedFace, &[f32])> = faces
            .iter()
            .map(|f| (&f.face, f.embedding.as_slice()))
            .collect();
        let known_refs: Vec<(TrackId, &DetectedFace)> =
            known.iter().map(|(id, face)| (*id, face)).collect();
        let linked = self.tracker.link_known(&pairs, &known_refs, covered, at);
        let mut tracked = Vec::with_capacity(faces.len() + known.len());
        let mut events = Vec::new();
        for (track, face) in known {
            let Some(state) = self.states.get_mut(track) else {
                continue;
            };
            let (Some(employee_id), Some((_, score))) = (&state.employee_id, &state.closest) else {
                continue;
            };
            self.spared_faces += 1;
            let announce = state
                .announced_at
                .is_none_or(|t| at.saturating_duration_since(t) >= self.settings.announce_interval);
            if announce {
                state.announced_at = Some(at);
            }
            events.push(TrackEvent::Recognised {
                track: *track,
                employee_id: employee_id.clone(),
                score: *score,
                face: face.clone(),
                announce,
            });
            tracked.push(TrackedFace {
                face: face.clone(),
                track: *track,
                employee_id: Some(employee_id.clone()),
                score: Some(*score),
            });
        }
        for (analysed, &track) in faces.iter().zip(&linked.tracks) {
            let state = self.states.entry(track).or_insert_with(|| TrackState {
                evidence: Evidence::default(),
                employee_id: None,
                announced_at: None,
                unknown_reported: false,
                best_face: None,
                closest: None,
                last_embedded: at,
                best_size: 0.0,
            });
            state.last_embedded = at;
            state.best_size = state
                .best_size
                .max(analysed.face.width().min(analysed.face.height()));
            let quality = ViewQuality::of(&analysed.face, analysed.sharpness);
            if state.evidence.add(&analysed.embedding, &quality) {
                state.best_face = Some(analysed.face.clone());
            }
            let closest = best_match(&state.evidence.aggregate());
            let settings = &self.settings;
            let (views, evidence) = (state.evidence.views, state.evidence.weight);
            let enough_views = views >= settings.min_consecutive;
            // The aggregate at the threshold; or this view alone at it (what a decision per
            // frame would accept; with one view the aggregate is that view, so no second
            // pass over the gallery); or, with a few views and enough evidence behind it, the
            // aggregate a little below (aggregation rescues weak views).
            let accepted = closest
                .clone()
                .filter(|(_, score)| {
                    enough_views
                        && evidence >= settings.min_evidence
                        && (*score >= settings.threshold
                            || (views >= MIN_AGGREGATE_VIEWS
                                && *score >= settings.threshold - AGGREGATE_MARGIN))
                })
                .or_else(|| {
                    (enough_views && views > 1)
                        .then(|| best_match(&analysed.embedding))
                        .flatten()
                        .filter(|(_, score)| *score >= settings.threshold)
                });
            let accepted = accepted.as_ref();
            state.closest = closest.clone();
            match accepted {
                Some((employee_id, score)) => {
                    let changed = state.employee_id.as_deref() != Some(employee_id);
                    if state.employee_id.is_none() {
                        self.recognised_tracks += 1;
                    }
                    let announce = changed
                        || state.announced_at.is_none_or(|t| {
                            at.saturating_duration_since(t) >= self.settings.announce_interval
                        });
                    if announce {
                        state.announced_at = Some(at);
                    }
                    state.employee_id = Some(employee_id.clone());
                    events.push(TrackEvent::Recognised {
                        track,
                        employee_id: employee_id.clone(),
                        score: *score,
                        face: analysed.face.clone(),
                        announce,
                    });
                    tracked.push(TrackedFace {
                        face: analysed.face.clone(),
                        track,
                        employee_id: Some(employee_id.clone()),
                        score: Some(*score),
                    });
                }
                None => {
                    if state.employee_id.is_none()
                        && !state.unknown_reported
                        && state.evidence.weight >= UNKNOWN_EVIDENCE
                        && let Some(event) = unknown(track, state)
                    {
                        self.unknown_tracks += 1;
                        events.push(event);
                    }
                    tracked.push(TrackedFace {
                        face: analysed.face.clone(),
                        track,
                        employee_id: None,
                        score: closest.map(|(_, s)| s),
                    });
                }
            }
        }
        self.end(&linked.ended, &mut events);
        (tracked, events)
    }

    /// Ends the tracks not seen for too long by `at`, between looks.
    pub fn expire(&mut self, at: Instant) -> Vec<TrackEvent> {
        let ended = self.tracker.expire(at);
        let mut events = Vec::new();
        self.end(&ended, &mut events);
        events
    }

    fn end(&mut self, ended: &[TrackId], events: &mut Vec<TrackEvent>) {
        for &track in ended {
            let Some(mut state) = self.states.remove(&track) else {
                continue;
            };
            // A track nobody matched that ended before it had the evidence to say so is
            // reported now, once.
            if state.employee_id.is_none()
                && !state.unknown_reported
                && let Some(event) = unknown(track, &mut state)
            {
                self.unknown_tracks += 1;
                events.push(event);
            }
            events.push(TrackEvent::Ended {
                track,
                employee_id: state.employee_id,
                views: state.evidence.views,
            });
        }
    }
}

/// The track's unknown event (once), from its best view.
fn unknown(track: TrackId, state: &mut TrackState) -> Option<TrackEvent> {
    let face = state.best_face.clone()?;
    state.unknown_reported = true;
    Some(TrackEvent::Unknown {
        track,
        face,
        best_score: state.closest.as_ref().map(|(_, s)| *s),
    })
}
