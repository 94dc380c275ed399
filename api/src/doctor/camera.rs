//! A camera as `hadir doctor` checks it ([`Camera`]), and what was learnt of it
//! ([`CameraFacts`], the JSON form's `cameras`).

use std::time::Duration;

use serde::Serialize;

use super::Status;

/// One camera to check.
#[derive(Clone, Debug, PartialEq)]
pub struct Camera {
    pub id: String,
    pub name: String,
    pub url: String,
    pub sample_fps: f64,
    /// `file` (its path) or `api`.
    pub source: String,
}

impl Camera {
    /// The time between sampled frames, as the camera task computes it.
    pub fn sample_interval(&self) -> Duration {
        Duration::from_secs_f64(1.0 / self.sample_fps.max(0.01))
    }
}

/// What was learnt of one camera (the JSON form's `cameras`).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CameraFacts {
    pub id: String,
    pub name: String,
    /// The stream URL without its user, password or query values.
    pub url: String,
    pub source: String,
    pub sample_fps: f64,
    /// How far reading it got: `unreached`, `connected`, `described`, `playing`, `decoded`.
    pub reached: String,
    pub codec: Option<String>,
    pub profile: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub fps: Option<f64>,
    /// Frames from one key frame to the next.
    pub gop_frames: Option<u32>,
    pub key_frame_interval_secs: Option<f64>,
    /// Whether only key frames would be decoded at its sampling rate.
    pub key_frames_only: Option<bool>,
    /// Faces found in the frame decoded (None: none decoded, or no detector).
    pub faces: Option<usize>,
    /// The worst status of its checks.
    pub status: Option<Status>,
}
