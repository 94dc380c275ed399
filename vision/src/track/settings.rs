//! How a camera's face tracks are decided: the settings of [`super::TrackDecision`] and
//! their named defaults, and the measured constants of its rules.

use std::time::Duration;

use super::TrackerSettings;

/// Evidence (the sum of the views' weights, see [`super::ViewQuality::weight`]) a track's aggregate
/// needs before it is taken for anyone (a single view at the threshold is accepted as a
/// decision per frame would accept it): by default none beyond its views.
pub const DEFAULT_MIN_EVIDENCE: f32 = 0.0;
/// The least time between two announced recognitions of one track.
pub const DEFAULT_ANNOUNCE_INTERVAL: Duration = Duration::from_secs(10);
/// Views from which a track's aggregate is accepted [`AGGREGATE_MARGIN`] below the
/// threshold.
pub const MIN_AGGREGATE_VIEWS: u32 = 3;
/// How far below the threshold the aggregate of [`MIN_AGGREGATE_VIEWS`] views is still
/// accepted. Measured (`cargo bench -p vision --bench recognition_quality`): single views of
/// strangers on degraded frames score at most 0.26 against the default models' gallery, the
/// aggregates of strangers' tracks at most 0.22; the threshold is 0.45, so 0.35 lies about
/// midway between the strangers' highest single view and the threshold.
pub const AGGREGATE_MARGIN: f32 = 0.1;
/// Evidence after which a track nobody matches is reported as unknown (one good view).
pub const UNKNOWN_EVIDENCE: f32 = 1.0;
/// The longest a recognised track goes without a new embedding: until then, a face found
/// where it was predicted is taken for it without being embedded (look less).
pub const DEFAULT_REEMBED_AFTER: Duration = Duration::from_secs(4);
/// Overlap with a recognised track's prediction from which a face is taken for it without
/// being embedded (and no other track may overlap it as much).
pub const SPARE_OVERLAP: f32 = 0.5;
/// A face this much larger than its track's best view so far is embedded anyway: a better
/// view, worth adding to the evidence.
pub const BETTER_VIEW_SIZE: f32 = 1.25;

/// How tracks are decided. `Default` gives the documented defaults and a threshold of 0.45.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DecisionSettings {
    /// Similarity from which a track's aggregate is taken for its closest employee.
    pub threshold: f32,
    /// Views a track needs before it is taken for anyone (at least 1).
    pub min_consecutive: u32,
    /// [`DEFAULT_MIN_EVIDENCE`].
    pub min_evidence: f32,
    /// [`DEFAULT_ANNOUNCE_INTERVAL`].
    pub announce_interval: Duration,
    /// [`DEFAULT_REEMBED_AFTER`]; zero embeds every face every time.
    pub reembed_after: Duration,
    pub tracker: TrackerSettings,
}

impl Default for DecisionSettings {
    fn default() -> Self {
        Self {
            threshold: 0.45,
            min_consecutive: 1,
            min_evidence: DEFAULT_MIN_EVIDENCE,
            announce_interval: DEFAULT_ANNOUNCE_INTERVAL,
            reembed_after: DEFAULT_REEMBED_AFTER,
            tracker: TrackerSettings::default(),
        }
    }
}
