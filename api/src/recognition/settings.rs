//! The `[recognition]` section of `hadir.toml`: the face models, where and how fast they run,
//! and when a face seen at a camera is taken for an employee; and what the camera tasks are
//! given of it ([`CameraTaskSettings`]).
//!
//! A leaf: it imports nothing from the crate but [`crate::validate`], so the face service and
//! the camera tasks read it and [`crate::config`] assembles it without either importing the
//! other.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use vision::models::{runtime::Provider, sets::ModelSet};

use crate::validate::{InvalidSetting, positive_settings};

/// The face models by default: MTCNN + fr_feature (MIT).
pub const DEFAULT_FACE_MODELS: &str = "default";
/// Where inference runs by default.
pub const DEFAULT_EXECUTION_PROVIDER: &str = "cpu";
/// Threads one model inference may use.
pub const DEFAULT_INFERENCE_THREADS: usize = 1;
/// Frames analysed at once by default.
pub const DEFAULT_INFERENCE_WORKERS: usize = 2;
/// Smallest face looked for by default: faces under ~40 px are too small to recognise, and
/// not looking for them spares most of the detector's work.
pub const DEFAULT_MIN_FACE_PX: f32 = 40.0;
/// The smallest and largest `min_face_px` accepted.
pub const MIN_FACE_PX_RANGE: std::ops::RangeInclusive<f32> = 12.0..=1_000.0;
/// Largest photo accepted for enrolment or recognition.
pub const DEFAULT_MAX_PHOTO_BYTES: usize = 8 * 1024 * 1024;
/// Consecutive agreeing frames before a face is taken for an employee
/// ([`vision::recognizer::DEFAULT_MIN_CONSECUTIVE`]).
pub const DEFAULT_MIN_CONSECUTIVE: u32 = vision::recognizer::DEFAULT_MIN_CONSECUTIVE;
/// Seconds a face track lives on unfound by looks that covered it
/// ([`vision::track::DEFAULT_END_AFTER`]).
pub const DEFAULT_TRACK_END_AFTER_SECS: u64 = vision::track::DEFAULT_END_AFTER.as_secs();
/// Least seconds between two announced recognitions (`employeeDetected`) of one track
/// ([`vision::track::DEFAULT_ANNOUNCE_INTERVAL`]); presence is refreshed at every view.
pub const DEFAULT_ANNOUNCE_INTERVAL_SECS: u64 = vision::track::DEFAULT_ANNOUNCE_INTERVAL.as_secs();
/// Evidence a track needs before it is taken for anyone, in views as good as an enrolment
/// photo ([`vision::track::DEFAULT_MIN_EVIDENCE`]).
pub const DEFAULT_MIN_TRACK_EVIDENCE: f32 = vision::track::DEFAULT_MIN_EVIDENCE;
/// The largest `min_track_evidence` accepted.
pub const MAX_TRACK_EVIDENCE: f32 = 20.0;
/// Detection looks only where frames changed, by default.
pub const DEFAULT_MOTION_GATING: bool = true;
/// Frames a second a camera is sampled at while looking more at a newcomer
/// ([`vision::look_more::DEFAULT_LOOK_MORE_INTERVAL`]).
pub const DEFAULT_LOOK_MORE_FPS: f64 = 4.0;
/// The `look_more_fps` accepted.
pub const LOOK_MORE_FPS_RANGE: std::ops::RangeInclusive<f64> = 0.1..=30.0;
/// Seconds a camera is sampled faster after a face whose track is not yet decided appears
/// ([`vision::look_more::DEFAULT_LOOK_MORE_FOR`]); 0: never.
pub const DEFAULT_LOOK_MORE_SECS: u64 = vision::look_more::DEFAULT_LOOK_MORE_FOR.as_secs();
/// The largest `look_more_secs` accepted.
pub const MAX_LOOK_MORE_SECS: u64 = 60;

/// `[recognition]`: the models, their workers, and the decision over frames.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecognitionSection {
    /// The face models: `default` (MTCNN + fr_feature, MIT), `sface` (MTCNN + OpenCV's SFace,
    /// MIT and Apache-2.0: far better on small faces) or `insightface` (SCRFD + ArcFace MBF;
    /// InsightFace's weights are for non-commercial research only).
    pub face_models: String,
    /// A model manifest of the operator's (default: the one built in).
    pub model_manifest: Option<PathBuf>,
    /// Cosine similarity from which a face is taken for an enrolled employee (default: the
    /// measured value of the chosen models).
    pub match_threshold: Option<f32>,
    /// Threads one model inference may use.
    pub inference_threads: usize,
    /// Frames analysed at once (each worker holds its own copy of the models).
    pub inference_workers: usize,
    /// Smallest face looked for, in pixels across (smaller ones cannot be recognised).
    pub min_face_px: f32,
    /// Where inference runs: `cpu`, `cuda` or `cuda:N` (a library built with CUDA needed).
    pub execution_provider: String,
    /// The largest photo accepted for enrolment or recognition.
    pub max_photo_bytes: usize,
    /// Views of a face track needed before it is taken for an employee (a compatibility
    /// setting: tracks weigh their views by quality, see `min_track_evidence`).
    pub min_consecutive: u32,
    /// Seconds a face track lives on while the looks that covered it do not find it.
    pub track_end_after_secs: u64,
    /// Least seconds between two `employeeDetected` of one track.
    pub announce_interval_secs: u64,
    /// Evidence (the sum of its views' quality weights, 1 = one view as good as an enrolment
    /// photo) a track needs before it is taken for anyone.
    pub min_track_evidence: f32,
    /// Run detection only where frames changed (plus full-frame passes).
    pub motion_gating: bool,
    /// Seconds between full-frame passes when motion gating (None: from `lost_after`, see
    /// [`vision::motion::full_frame_interval`]: 15 s at the default 120 s).
    pub full_frame_interval_secs: Option<u64>,
    /// Frames a second a camera is sampled at for `look_more_secs` after a face appears
    /// whose track is not yet decided (a camera sampled faster keeps its rate).
    pub look_more_fps: f64,
    /// Seconds a camera is sampled at `look_more_fps` after such a face appears (0: never).
    pub look_more_secs: u64,
}

impl Default for RecognitionSection {
    fn default() -> Self {
        Self {
            face_models: DEFAULT_FACE_MODELS.to_owned(),
            model_manifest: None,
            match_threshold: None,
            inference_threads: DEFAULT_INFERENCE_THREADS,
            inference_workers: DEFAULT_INFERENCE_WORKERS,
            min_face_px: DEFAULT_MIN_FACE_PX,
            execution_provider: DEFAULT_EXECUTION_PROVIDER.to_owned(),
            max_photo_bytes: DEFAULT_MAX_PHOTO_BYTES,
            min_consecutive: DEFAULT_MIN_CONSECUTIVE,
            track_end_after_secs: DEFAULT_TRACK_END_AFTER_SECS,
            announce_interval_secs: DEFAULT_ANNOUNCE_INTERVAL_SECS,
            min_track_evidence: DEFAULT_MIN_TRACK_EVIDENCE,
            motion_gating: DEFAULT_MOTION_GATING,
            full_frame_interval_secs: None,
            look_more_fps: DEFAULT_LOOK_MORE_FPS,
            look_more_secs: DEFAULT_LOOK_MORE_SECS,
        }
    }
}

impl RecognitionSection {
    /// Checks the counts, the face size, the threshold, the models and the provider.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        positive_settings(&[
            (
                "recognition.inference_threads",
                self.inference_threads as u64,
            ),
            (
                "recognition.inference_workers",
                self.inference_workers as u64,
            ),
            ("recognition.max_photo_bytes", self.max_photo_bytes as u64),
            (
                "recognition.min_consecutive",
                u64::from(self.min_consecutive),
            ),
            (
                "recognition.full_frame_interval_secs",
                self.full_frame_interval_secs.unwrap_or(1),
            ),
            (
                "recognition.track_end_after_secs",
                self.track_end_after_secs,
            ),
            (
                "recognition.announce_interval_secs",
                self.announce_interval_secs,
            ),
        ])?;
        if !LOOK_MORE_FPS_RANGE.contains(&self.look_more_fps) {
            return Err(InvalidSetting::new(
                "recognition.look_more_fps",
                format!(
                    "{} is not between {} and {} frames a second",
                    self.look_more_fps,
                    LOOK_MORE_FPS_RANGE.start(),
                    LOOK_MORE_FPS_RANGE.end()
                ),
            ));
        }
        if self.look_more_secs > MAX_LOOK_MORE_SECS {
            return Err(InvalidSetting::new(
                "recognition.look_more_secs",
                format!(
                    "{} is more than {MAX_LOOK_MORE_SECS} seconds (0: never look more)",
                    self.look_more_secs
                ),
            ));
        }
        if !(0.0..=MAX_TRACK_EVIDENCE).contains(&self.min_track_evidence) {
            return Err(InvalidSetting::new(
                "recognition.min_track_evidence",
                format!(
                    "{} is not between 0 and {MAX_TRACK_EVIDENCE} (views as good as an enrolment photo)",
                    self.min_track_evidence
                ),
            ));
        }
        if !MIN_FACE_PX_RANGE.contains(&self.min_face_px) {
            return Err(InvalidSetting::new(
                "recognition.min_face_px",
                format!(
                    "{} is not between {} and {} pixels",
                    self.min_face_px,
                    MIN_FACE_PX_RANGE.start(),
                    MIN_FACE_PX_RANGE.end()
                ),
            ));
        }
        if let Some(threshold) = self.match_threshold
            && !(-1.0..=1.0).contains(&threshold)
        {
            return Err(InvalidSetting::new(
                "recognition.match_threshold",
                format!("{threshold} is not a similarity between -1 and 1"),
            ));
        }
        self.model_set()?;
        self.provider()?;
        Ok(())
    }

    /// The face models chosen.
    pub fn model_set(&self) -> Result<ModelSet, InvalidSetting> {
        ModelSet::parse(&self.face_models).ok_or_else(|| {
            InvalidSetting::new(
                "recognition.face_models",
                format!(
                    "{:?} is not a model set; choose {}",
                    self.face_models,
                    ModelSet::NAMES.join(" or ")
                ),
            )
        })
    }

    /// Where inference runs.
    pub fn provider(&self) -> Result<Provider, InvalidSetting> {
        Provider::parse(&self.execution_provider).ok_or_else(|| {
            InvalidSetting::new(
                "recognition.execution_provider",
                format!("{:?} is not cpu, cuda or cuda:N", self.execution_provider),
            )
        })
    }

    /// How a camera's face tracks are followed and decided, at `threshold`.
    pub fn decision_settings(&self, threshold: f32) -> vision::track::DecisionSettings {
        vision::track::DecisionSettings {
            threshold,
            min_consecutive: self.min_consecutive,
            min_evidence: self.min_track_evidence,
            announce_interval: std::time::Duration::from_secs(self.announce_interval_secs),
            reembed_after: vision::track::DEFAULT_REEMBED_AFTER,
            tracker: vision::track::TrackerSettings {
                end_after: std::time::Duration::from_secs(self.track_end_after_secs),
                ..vision::track::TrackerSettings::default()
            },
        }
    }

    /// When and how much faster to sample a camera after a newcomer appears.
    pub fn look_more_settings(&self) -> vision::look_more::LookMoreSettings {
        vision::look_more::LookMoreSettings {
            interval: std::time::Duration::from_secs_f64(
                1.0 / self
                    .look_more_fps
                    .clamp(*LOOK_MORE_FPS_RANGE.start(), *LOOK_MORE_FPS_RANGE.end()),
            ),
            duration: std::time::Duration::from_secs(self.look_more_secs),
        }
    }

    /// Full-frame passes when motion gating (None: the whole frame every time), where someone
    /// unseen for `lost_after` is taken for gone.
    pub fn motion_gating_interval(
        &self,
        lost_after: std::time::Duration,
    ) -> Option<std::time::Duration> {
        self.motion_gating.then(|| {
            self.full_frame_interval_secs.map_or_else(
                || vision::motion::full_frame_interval(lost_after),
                std::time::Duration::from_secs,
            )
        })
    }
}

/// How the camera tasks recognise frames and read sources.
#[derive(Clone, Debug, PartialEq)]
pub struct CameraTaskSettings {
    /// How each camera's face tracks are followed and decided (the threshold is replaced by
    /// the face service's).
    pub tracks: vision::track::DecisionSettings,
    /// Look only where frames changed, with a full-frame pass at this interval (None: the
    /// whole frame every time).
    pub motion_gating: Option<std::time::Duration>,
    /// When a camera is sampled faster for a while (a newcomer not yet decided).
    pub look_more: vision::look_more::LookMoreSettings,
    /// How camera sources connect and read.
    pub source_options: vision::source::SourceOptions,
}

impl Default for CameraTaskSettings {
    fn default() -> Self {
        Self {
            tracks: vision::track::DecisionSettings::default(),
            motion_gating: Some(vision::motion::DEFAULT_FULL_FRAME_INTERVAL),
            look_more: vision::look_more::LookMoreSettings::default(),
            source_options: vision::source::SourceOptions::default(),
        }
    }
}
