//! The `[cameras]` section of `hadir.toml`: where the camera files are, and how sources talk
//! to cameras.
//!
//! A leaf: it imports nothing from the crate, so the camera modules read it and
//! [`crate::config`] assembles it without either importing the other.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The folder of camera files, one JSON per camera.
pub const DEFAULT_CAMERA_CONFIGS: &str = "camera_configs";
/// Redirects an HTTP camera may send before one is followed: none
/// ([`vision::source::DEFAULT_MAX_REDIRECTS`]).
pub const DEFAULT_MAX_REDIRECTS: usize = vision::source::DEFAULT_MAX_REDIRECTS;

/// `[cameras]`: the camera files and how cameras are read.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct CamerasSection {
    /// The folder whose `*.json` files define cameras (flat alias `camera_configs`).
    pub configs: PathBuf,
    /// Redirects a camera's HTTP answers may send before one is followed (0: none; flat
    /// alias `camera_max_redirects`).
    pub max_redirects: usize,
}

impl Default for CamerasSection {
    fn default() -> Self {
        Self {
            configs: PathBuf::from(DEFAULT_CAMERA_CONFIGS),
            max_redirects: DEFAULT_MAX_REDIRECTS,
        }
    }
}

impl CamerasSection {
    /// How camera sources connect and read.
    pub fn source_options(&self) -> vision::source::SourceOptions {
        vision::source::SourceOptions {
            max_redirects: self.max_redirects,
            ..Default::default()
        }
    }
}
