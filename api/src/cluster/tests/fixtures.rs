//! Records for the relay's tests: every camera's stream URL holds a secret
//! ([`SECRET`]) that must never be relayed.

use chrono::{TimeZone, Utc};
use entity::{
    camera::{self, CameraSource, CameraStatus},
    employee, employee_tracking as tracking,
    notification::{self, NotificationType},
};

use crate::{events::NotificationRecord, presence::view::EmployeePresence};

/// The password in every test camera's URL.
pub const SECRET: &str = "s3cr3t-pw";

pub fn at(second: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 2, 9, 0, second)
        .single()
        .unwrap_or_default()
        + chrono::TimeDelta::microseconds(123_456)
}

/// The stream URL of a test camera.
pub fn url_of(camera_id: &str) -> String {
    format!("rtsp://admin:{SECRET}@10.0.0.7:554/{camera_id}")
}

pub fn camera(camera_id: &str, status_version: i64) -> camera::Model {
    camera::Model {
        camera_id: camera_id.to_owned(),
        camera_name: format!("Camera {camera_id}"),
        rtsp_url: url_of(camera_id),
        status: CameraStatus::Online,
        is_active: true,
        enabled: true,
        sample_fps: 2.5,
        source: CameraSource::ConfigFile,
        config_path: Some(format!("camera_configs/{camera_id}.json")),
        last_frame_at: Some(at(1)),
        status_message: None,
        status_changed_at: Some(at(2)),
        ignore_regions: Some("[[0.0, 0.0, 0.25, 0.5]]".to_owned()),
        status_version,
        pinned_node: Some("node-a".to_owned()),
        demo: false,
        created_at: at(0),
        updated_at: at(3),
    }
}

pub fn employee(employee_id: &str) -> employee::Model {
    employee::Model {
        employee_id: employee_id.to_owned(),
        name: format!("Employee {employee_id}"),
        department: Some("Ops".to_owned()),
        role: None,
        demo: true,
        created_at: at(0),
        updated_at: at(4),
    }
}

/// An employee seen at camera C1, AVAILABLE at `status_version`.
pub fn presence(employee_id: &str, status_version: i64) -> EmployeePresence {
    EmployeePresence {
        employee: employee(employee_id),
        tracking: Some(tracking::Model {
            id: 11,
            employee_id: employee_id.to_owned(),
            camera_id: Some("C1".to_owned()),
            last_seen: at(5),
            status: tracking::TrackingStatus::Available,
            score: Some(0.875),
            status_changed_at: at(5),
            status_version,
        }),
        camera: Some(camera("C1", 1)),
    }
}

pub fn notification(id: i64, message: &str) -> NotificationRecord {
    NotificationRecord {
        notification: notification::Model {
            id,
            employee_id: Some("E1".to_owned()),
            camera_id: Some("C2".to_owned()),
            kind: NotificationType::EmployeeLost,
            message: message.to_owned(),
            created_at: at(6),
            is_read: false,
        },
        employee: Some(presence("E1", 2)),
        camera: Some(camera("C2", 4)),
    }
}
