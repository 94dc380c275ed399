//! Events as JSON for the integrations that are not GraphQL (MQTT, webhooks): the field names
//! of the GraphQL API, times as RFC 3339 UTC, ids as strings.

use entity::camera::CameraStatus;
use serde_json::{Value, json};

use crate::{
    events::{Detection, NotificationRecord, UnknownFace},
    presence::{EmployeePresence, PresenceCounts},
};

/// The `status` of an employee never seen (who has no tracking row).
pub const NEVER_SEEN_STATUS: &str = "UNAVAILABLE";

/// An employee and their presence (`status` [`NEVER_SEEN_STATUS`] when never seen).
pub fn employee(presence: &EmployeePresence) -> Value {
    let employee = &presence.employee;
    let tracking = presence.tracking.as_ref();
    json!({
        "employeeId": employee.employee_id,
        "name": employee.name,
        "department": employee.department,
        "role": employee.role,
        "status": tracking.map_or(NEVER_SEEN_STATUS, |t| t.status.as_str()),
        "lastSeen": tracking.map(|t| t.last_seen.to_rfc3339()),
        "since": tracking.map(|t| t.status_changed_at.to_rfc3339()),
        "score": tracking.and_then(|t| t.score),
        "cameraId": presence.camera.as_ref().map(|c| c.camera_id.clone()),
        "cameraName": presence.camera.as_ref().map(|c| c.camera_name.clone()),
    })
}

/// A camera and its status (ONLINE / OFFLINE, with why).
pub fn camera(camera: &entity::camera::Model) -> Value {
    json!({
        "cameraId": camera.camera_id,
        "name": camera.camera_name,
        "status": match camera.status {
            CameraStatus::Online => "ONLINE",
            CameraStatus::Offline => "OFFLINE",
        },
        // Integrations see URLs in the message as viewers do.
        "message": camera
            .status_message
            .as_deref()
            .map(|m| crate::redact::camera_message_for_viewers(&camera.rtsp_url, m)),
        "lastFrameAt": camera.last_frame_at.map(|t| t.to_rfc3339()),
        "since": camera.status_changed_at.map(|t| t.to_rfc3339()),
    })
}

/// The summary counts.
pub fn summary(counts: &PresenceCounts) -> Value {
    json!({
        "present": counts.present,
        "alert": counts.alert,
        "unavailable": counts.unavailable,
        "total": counts.total,
    })
}

/// An employee recognised at a camera.
pub fn detection(detection: &Detection) -> Value {
    json!({
        "employeeId": detection.presence.employee.employee_id,
        "name": detection.presence.employee.name,
        "cameraId": detection.camera.camera_id,
        "cameraName": detection.camera.camera_name,
        "seenAt": detection.seen_at.to_rfc3339(),
        "score": detection.score,
    })
}

/// A face nobody enrolled matched.
pub fn unknown_face(unknown: &UnknownFace) -> Value {
    json!({
        "cameraId": unknown.camera.camera_id,
        "cameraName": unknown.camera.camera_name,
        "seenAt": unknown.seen_at.to_rfc3339(),
        "bestScore": unknown.best_score,
    })
}

/// A notification as raised.
pub fn notification(record: &NotificationRecord) -> Value {
    let n = &record.notification;
    json!({
        "id": n.id.to_string(),
        "type": n.kind.as_str(),
        "message": n.message,
        "createdAt": n.created_at.to_rfc3339(),
        "employeeId": n.employee_id,
        "cameraId": n.camera_id,
        "isRead": n.is_read,
    })
}
