//! The `[demo]` section of `hadir.toml`: whether the demo site runs, where its recording is
//! written, and how soon its people go OFFLINE.
//!
//! A leaf: it imports nothing from the crate but [`crate::validate`].

use std::{path::PathBuf, time::Duration};

use serde::{Deserialize, Serialize};

use crate::validate::{InvalidSetting, positive_settings};

/// The demo runs unless switched off (it is set up only on a database with no employees).
pub const DEFAULT_DEMO_ENABLED: bool = true;
/// Where the demo's looping recording (a folder of JPEG frames) is written.
pub const DEFAULT_DEMO_FOLDER: &str = "data/demo";
/// While the demo runs and `presence.lost_after_secs` is not set, someone unseen this long
/// is OFFLINE, so that a person leaving the demo's recording goes OFFLINE within its minute.
pub const DEFAULT_DEMO_LOST_AFTER_SECS: u64 = 20;

/// `[demo]`: the demo site.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DemoSection {
    /// Run the demo site (false: remove every row it made at the next start; flat alias
    /// `demo_enabled`).
    pub enabled: bool,
    /// Where its recording is written (flat alias `demo_folder`).
    pub folder: PathBuf,
    /// `presence.lost_after_secs` while the demo runs and that key is not set (flat alias
    /// `demo_lost_after_secs`).
    pub lost_after_secs: u64,
}

impl Default for DemoSection {
    fn default() -> Self {
        Self {
            enabled: DEFAULT_DEMO_ENABLED,
            folder: PathBuf::from(DEFAULT_DEMO_FOLDER),
            lost_after_secs: DEFAULT_DEMO_LOST_AFTER_SECS,
        }
    }
}

impl DemoSection {
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        positive_settings(&[("demo.lost_after_secs", self.lost_after_secs)])
    }

    pub fn lost_after(&self) -> Duration {
        Duration::from_secs(self.lost_after_secs)
    }
}
