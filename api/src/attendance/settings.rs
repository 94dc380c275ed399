//! The `[attendance]` and `[retention]` sections of `hadir.toml`: the work schedule the days
//! are judged by, and how long personal data is kept.
//!
//! A leaf: it imports nothing from the crate but [`crate::validate`], so the attendance
//! modules read it (`schedule` turns it into a [`super::schedule::Schedule`]) and
//! [`crate::config`] assembles it without either importing the other.

use std::{collections::BTreeMap, time::Duration};

use serde::{Deserialize, Serialize};

use crate::validate::{InvalidSetting, positive_settings};

/// The site's time zone by default.
pub const DEFAULT_TIMEZONE: &str = "UTC";
/// Start of the working day by default.
pub const DEFAULT_WORK_START: &str = "09:00";
/// End of the working day by default.
pub const DEFAULT_WORK_END: &str = "17:00";
/// Minutes after the start (and before the end) that still count as on time.
pub const DEFAULT_GRACE_MINUTES: u32 = 15;
/// Working days by default.
pub const DEFAULT_WORK_DAYS: &str = "mon-fri";
/// How often the closer looks for working days that have ended, by default.
pub const DEFAULT_CLOSE_INTERVAL_SECS: u64 = 60;
/// Days visits are kept by default.
pub const DEFAULT_VISITS_DAYS: u32 = 90;
/// Days notifications are kept by default.
pub const DEFAULT_NOTIFICATIONS_DAYS: u32 = 90;
/// Days attendance logs are kept by default (a year and a month, for yearly reports).
pub const DEFAULT_ATTENDANCE_DAYS: u32 = 400;

/// `[attendance]`: the work schedule and the closer's interval.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AttendanceSection {
    /// The site's IANA time zone (attendance days are local days).
    pub timezone: String,
    /// Start of the working day, `HH:MM`.
    pub work_start: String,
    /// End of the working day, `HH:MM`.
    pub work_end: String,
    /// Minutes after the start (and before the end) that still count as on time.
    pub grace_minutes: u32,
    /// Working days: `mon-fri`, `sun-thu`, `mon,wed,fri`…
    pub work_days: String,
    /// Seconds between the checks for working days that have ended (ABSENT, LEFT_EARLY;
    /// flat alias `attendance_close_interval_secs`).
    pub close_interval_secs: u64,
    /// Per-department overrides of the hours: `[attendance.departments.Engineering]`
    /// `start = "10:00"` (flat alias `[departments.Engineering]`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub departments: BTreeMap<String, HoursOverride>,
}

/// A department's overrides as the config file writes them (every key optional).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HoursOverride {
    pub start: Option<String>,
    pub end: Option<String>,
    pub grace_minutes: Option<u32>,
    pub work_days: Option<String>,
}

impl Default for AttendanceSection {
    fn default() -> Self {
        Self {
            timezone: DEFAULT_TIMEZONE.to_owned(),
            work_start: DEFAULT_WORK_START.to_owned(),
            work_end: DEFAULT_WORK_END.to_owned(),
            grace_minutes: DEFAULT_GRACE_MINUTES,
            work_days: DEFAULT_WORK_DAYS.to_owned(),
            close_interval_secs: DEFAULT_CLOSE_INTERVAL_SECS,
            departments: BTreeMap::new(),
        }
    }
}

impl AttendanceSection {
    /// The closer's interval must be greater than 0 (the schedule itself is checked as
    /// [`crate::config::Config::schedule`] builds it).
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        positive_settings(&[("attendance.close_interval_secs", self.close_interval_secs)])
    }

    /// How often ended working days are closed.
    pub fn close_interval(&self) -> Duration {
        Duration::from_secs(self.close_interval_secs)
    }
}

/// `[retention]`: the retention windows, in days (0: forever). The purge reads it as
/// [`super::retention::Retention`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionSection {
    /// Days visits are kept (flat alias `retention_visits_days`).
    pub visits_days: u32,
    /// Days notifications are kept (flat alias `retention_notifications_days`).
    pub notifications_days: u32,
    /// Days attendance logs are kept (flat alias `retention_attendance_days`).
    pub attendance_days: u32,
}

impl Default for RetentionSection {
    fn default() -> Self {
        Self {
            visits_days: DEFAULT_VISITS_DAYS,
            notifications_days: DEFAULT_NOTIFICATIONS_DAYS,
            attendance_days: DEFAULT_ATTENDANCE_DAYS,
        }
    }
}
