//! The relay's own serde mirrors of the records events carry (the entity models are not
//! `Serialize`, and stay so): employees, tracking rows, cameras, notifications, presences.
//!
//! A camera's stream URL (`rtsp_url`) is never among them: it may hold credentials. A
//! mirrored camera comes back with an empty URL, which the receiver restores from its own
//! `cameras` table ([`super::wire::restore_urls`]).

use chrono::{DateTime, Utc};
use entity::{
    camera::{self, CameraSource, CameraStatus},
    employee, employee_tracking as tracking,
    notification::{self, NotificationType},
};
use serde::{Deserialize, Serialize};

use crate::presence::view::{EmployeePresence, PresenceCounts};

/// [`CameraStatus`] under its stored name.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WireCameraStatus {
    Online,
    Offline,
}

/// [`CameraSource`] under its stored name.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WireCameraSource {
    ConfigFile,
    Api,
}

/// A camera without its stream URL.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WireCamera {
    pub camera_id: String,
    pub camera_name: String,
    pub status: WireCameraStatus,
    pub is_active: bool,
    pub enabled: bool,
    pub sample_fps: f64,
    pub source: WireCameraSource,
    pub config_path: Option<String>,
    pub last_frame_at: Option<DateTime<Utc>>,
    pub status_message: Option<String>,
    pub status_changed_at: Option<DateTime<Utc>>,
    pub ignore_regions: Option<String>,
    pub status_version: i64,
    pub pinned_node: Option<String>,
    #[serde(default)]
    pub demo: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&camera::Model> for WireCamera {
    fn from(c: &camera::Model) -> Self {
        Self {
            camera_id: c.camera_id.clone(),
            camera_name: c.camera_name.clone(),
            status: match c.status {
                CameraStatus::Online => WireCameraStatus::Online,
                CameraStatus::Offline => WireCameraStatus::Offline,
            },
            is_active: c.is_active,
            enabled: c.enabled,
            sample_fps: c.sample_fps,
            source: match c.source {
                CameraSource::ConfigFile => WireCameraSource::ConfigFile,
                CameraSource::Api => WireCameraSource::Api,
            },
            config_path: c.config_path.clone(),
            last_frame_at: c.last_frame_at,
            status_message: c.status_message.clone(),
            status_changed_at: c.status_changed_at,
            ignore_regions: c.ignore_regions.clone(),
            status_version: c.status_version,
            pinned_node: c.pinned_node.clone(),
            demo: c.demo,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

impl WireCamera {
    /// The camera, its stream URL empty until restored.
    pub fn into_model(self) -> camera::Model {
        camera::Model {
            camera_id: self.camera_id,
            camera_name: self.camera_name,
            rtsp_url: String::new(),
            status: match self.status {
                WireCameraStatus::Online => CameraStatus::Online,
                WireCameraStatus::Offline => CameraStatus::Offline,
            },
            is_active: self.is_active,
            enabled: self.enabled,
            sample_fps: self.sample_fps,
            source: match self.source {
                WireCameraSource::ConfigFile => CameraSource::ConfigFile,
                WireCameraSource::Api => CameraSource::Api,
            },
            config_path: self.config_path,
            last_frame_at: self.last_frame_at,
            status_message: self.status_message,
            status_changed_at: self.status_changed_at,
            ignore_regions: self.ignore_regions,
            status_version: self.status_version,
            pinned_node: self.pinned_node,
            demo: self.demo,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// An employee record.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WireEmployee {
    pub employee_id: String,
    pub name: String,
    pub department: Option<String>,
    pub role: Option<String>,
    #[serde(default)]
    pub demo: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// [`tracking::TrackingStatus`] under its stored name.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum WireTrackingStatus {
    Available,
    Offline,
}

/// A tracking row.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WireTracking {
    pub id: i64,
    pub employee_id: String,
    pub camera_id: Option<String>,
    pub last_seen: DateTime<Utc>,
    pub status: WireTrackingStatus,
    pub score: Option<f64>,
    pub status_changed_at: DateTime<Utc>,
    pub status_version: i64,
}

/// An employee with their presence.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WirePresence {
    pub employee: WireEmployee,
    pub tracking: Option<WireTracking>,
    pub camera: Option<WireCamera>,
}

impl From<&EmployeePresence> for WirePresence {
    fn from(p: &EmployeePresence) -> Self {
        let e = &p.employee;
        Self {
            employee: WireEmployee {
                employee_id: e.employee_id.clone(),
                name: e.name.clone(),
                department: e.department.clone(),
                role: e.role.clone(),
                demo: e.demo,
                created_at: e.created_at,
                updated_at: e.updated_at,
            },
            tracking: p.tracking.as_ref().map(|t| WireTracking {
                id: t.id,
                employee_id: t.employee_id.clone(),
                camera_id: t.camera_id.clone(),
                last_seen: t.last_seen,
                status: match t.status {
                    tracking::TrackingStatus::Available => WireTrackingStatus::Available,
                    tracking::TrackingStatus::Offline => WireTrackingStatus::Offline,
                },
                score: t.score,
                status_changed_at: t.status_changed_at,
                status_version: t.status_version,
            }),
            camera: p.camera.as_ref().map(WireCamera::from),
        }
    }
}

impl WirePresence {
    pub fn into_presence(self) -> EmployeePresence {
        let e = self.employee;
        EmployeePresence {
            employee: employee::Model {
                employee_id: e.employee_id,
                name: e.name,
                department: e.department,
                role: e.role,
                demo: e.demo,
                created_at: e.created_at,
                updated_at: e.updated_at,
            },
            tracking: self.tracking.map(|t| tracking::Model {
                id: t.id,
                employee_id: t.employee_id,
                camera_id: t.camera_id,
                last_seen: t.last_seen,
                status: match t.status {
                    WireTrackingStatus::Available => tracking::TrackingStatus::Available,
                    WireTrackingStatus::Offline => tracking::TrackingStatus::Offline,
                },
                score: t.score,
                status_changed_at: t.status_changed_at,
                status_version: t.status_version,
            }),
            camera: self.camera.map(WireCamera::into_model),
        }
    }
}

/// [`NotificationType`] under its stored name.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WireNotificationType {
    EmployeeLost,
    CameraDown,
    CameraUp,
}

/// A notification.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WireNotification {
    pub id: i64,
    pub employee_id: Option<String>,
    pub camera_id: Option<String>,
    pub kind: WireNotificationType,
    pub message: String,
    pub created_at: DateTime<Utc>,
    pub is_read: bool,
}

impl From<&notification::Model> for WireNotification {
    fn from(n: &notification::Model) -> Self {
        Self {
            id: n.id,
            employee_id: n.employee_id.clone(),
            camera_id: n.camera_id.clone(),
            kind: match n.kind {
                NotificationType::EmployeeLost => WireNotificationType::EmployeeLost,
                NotificationType::CameraDown => WireNotificationType::CameraDown,
                NotificationType::CameraUp => WireNotificationType::CameraUp,
            },
            message: n.message.clone(),
            created_at: n.created_at,
            is_read: n.is_read,
        }
    }
}

impl WireNotification {
    pub fn into_model(self) -> notification::Model {
        notification::Model {
            id: self.id,
            employee_id: self.employee_id,
            camera_id: self.camera_id,
            kind: match self.kind {
                WireNotificationType::EmployeeLost => NotificationType::EmployeeLost,
                WireNotificationType::CameraDown => NotificationType::CameraDown,
                WireNotificationType::CameraUp => NotificationType::CameraUp,
            },
            message: self.message,
            created_at: self.created_at,
            is_read: self.is_read,
        }
    }
}

/// The summary counts.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct WireCounts {
    pub present: i64,
    pub alert: i64,
    pub unavailable: i64,
    pub total: i64,
}

impl From<&PresenceCounts> for WireCounts {
    fn from(c: &PresenceCounts) -> Self {
        Self {
            present: c.present,
            alert: c.alert,
            unavailable: c.unavailable,
            total: c.total,
        }
    }
}

impl From<WireCounts> for PresenceCounts {
    fn from(c: WireCounts) -> Self {
        Self {
            present: c.present,
            alert: c.alert,
            unavailable: c.unavailable,
            total: c.total,
        }
    }
}
