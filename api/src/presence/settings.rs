//! The `[presence]` section of `hadir.toml`: when an unseen employee is lost, when a silent
//! camera is down, and how often the monitor looks.
//!
//! A leaf: it imports nothing from the crate but [`crate::validate`], so the presence engine
//! reads it and [`crate::config`] assembles it without either importing the other.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::validate::{InvalidSetting, positive_settings};

/// An employee not seen for longer than this becomes OFFLINE (the seed's 120 s).
pub const DEFAULT_LOST_AFTER_SECS: u64 = 120;
/// A camera that delivers no frame for this long is marked offline.
pub const DEFAULT_CAMERA_TIMEOUT_SECS: u64 = 30;
/// How often the monitor looks for lost employees and silent cameras.
pub const DEFAULT_MONITOR_INTERVAL_MS: u64 = 1_000;

/// `[presence]`: the presence engine's timings.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PresenceSection {
    /// Seconds unseen before an employee is OFFLINE (and `EMPLOYEE_LOST` is raised).
    pub lost_after_secs: u64,
    /// Seconds without a frame before a camera is offline (and `CAMERA_DOWN` is raised).
    pub camera_timeout_secs: u64,
    /// Milliseconds between the monitor's checks.
    pub monitor_interval_ms: u64,
}

impl Default for PresenceSection {
    fn default() -> Self {
        Self {
            lost_after_secs: DEFAULT_LOST_AFTER_SECS,
            camera_timeout_secs: DEFAULT_CAMERA_TIMEOUT_SECS,
            monitor_interval_ms: DEFAULT_MONITOR_INTERVAL_MS,
        }
    }
}

impl PresenceSection {
    /// Every timing must be greater than 0.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        positive_settings(&[
            ("presence.lost_after_secs", self.lost_after_secs),
            ("presence.camera_timeout_secs", self.camera_timeout_secs),
            ("presence.monitor_interval_ms", self.monitor_interval_ms),
        ])
    }

    pub fn lost_after(&self) -> Duration {
        Duration::from_secs(self.lost_after_secs)
    }

    pub fn camera_timeout(&self) -> Duration {
        Duration::from_secs(self.camera_timeout_secs)
    }

    pub fn monitor_interval(&self) -> Duration {
        Duration::from_millis(self.monitor_interval_ms)
    }
}
