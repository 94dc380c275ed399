//! Events as JSON for the integrations that are not GraphQL (MQTT, webhooks): one payload type
//! per kind of event, its keys derived from the field names (camelCase, as the GraphQL API
//! spells them), times as RFC 3339 UTC with milliseconds and `Z` ([`rfc3339`], as in GraphQL), ids as strings. The summary is the same type the
//! GraphQL `PresenceSummary` is made from ([`PresenceCounts`]).

use entity::camera::CameraStatus;
use serde::Serialize;
use serde_json::Value;

use crate::{
    clock::rfc3339,
    events::{Detection, NotificationRecord, UnknownFace},
    presence::{EmployeePresence, PresenceCounts},
};

/// The `status` of an employee never seen (who has no tracking row).
pub const NEVER_SEEN_STATUS: &str = "UNAVAILABLE";

/// An employee and their presence, flat.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EmployeeJson<'a> {
    employee_id: &'a str,
    name: &'a str,
    department: Option<&'a str>,
    role: Option<&'a str>,
    /// [`NEVER_SEEN_STATUS`] when never seen.
    status: &'a str,
    last_seen: Option<String>,
    since: Option<String>,
    score: Option<f64>,
    camera_id: Option<&'a str>,
    camera_name: Option<&'a str>,
}

/// A camera and its status.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CameraJson<'a> {
    camera_id: &'a str,
    name: &'a str,
    /// ONLINE / OFFLINE.
    status: &'static str,
    /// Why, with URLs shown as viewers see them.
    message: Option<String>,
    last_frame_at: Option<String>,
    since: Option<String>,
}

/// An employee recognised at a camera.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DetectionJson<'a> {
    employee_id: &'a str,
    name: &'a str,
    camera_id: &'a str,
    camera_name: &'a str,
    seen_at: String,
    score: Option<f64>,
    /// The face track recognised (null: a sighting reported through the API).
    track_id: Option<&'a str>,
}

/// A face nobody enrolled matched.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UnknownFaceJson<'a> {
    camera_id: &'a str,
    camera_name: &'a str,
    seen_at: String,
    best_score: Option<f64>,
    track_id: Option<&'a str>,
}

/// A notification as raised.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NotificationJson<'a> {
    id: String,
    #[serde(rename = "type")]
    kind: &'a str,
    message: &'a str,
    created_at: String,
    employee_id: Option<&'a str>,
    camera_id: Option<&'a str>,
    is_read: bool,
}

/// A payload as a JSON value (these types always serialise: strings, numbers, options).
fn value(payload: impl Serialize) -> Value {
    serde_json::to_value(payload).unwrap_or(Value::Null)
}

/// An employee and their presence (`status` [`NEVER_SEEN_STATUS`] when never seen).
pub fn employee(presence: &EmployeePresence) -> Value {
    let employee = &presence.employee;
    let tracking = presence.tracking.as_ref();
    let camera = presence.camera.as_ref();
    value(EmployeeJson {
        employee_id: &employee.employee_id,
        name: &employee.name,
        department: employee.department.as_deref(),
        role: employee.role.as_deref(),
        status: tracking.map_or(NEVER_SEEN_STATUS, |t| t.status.as_str()),
        last_seen: tracking.map(|t| rfc3339(&t.last_seen)),
        since: tracking.map(|t| rfc3339(&t.status_changed_at)),
        score: tracking.and_then(|t| t.score),
        camera_id: camera.map(|c| c.camera_id.as_str()),
        camera_name: camera.map(|c| c.camera_name.as_str()),
    })
}

/// A camera and its status (ONLINE / OFFLINE, with why).
pub fn camera(camera: &entity::camera::Model) -> Value {
    value(CameraJson {
        camera_id: &camera.camera_id,
        name: &camera.camera_name,
        status: match camera.status {
            CameraStatus::Online => "ONLINE",
            CameraStatus::Offline => "OFFLINE",
        },
        // Integrations see URLs in the message as viewers do.
        message: camera
            .status_message
            .as_deref()
            .map(|m| crate::redact::camera_message_for_viewers(&camera.rtsp_url, m)),
        last_frame_at: camera.last_frame_at.as_ref().map(rfc3339),
        since: camera.status_changed_at.as_ref().map(rfc3339),
    })
}

/// The summary counts.
pub fn summary(counts: &PresenceCounts) -> Value {
    value(counts)
}

/// An employee recognised at a camera.
pub fn detection(detection: &Detection) -> Value {
    value(DetectionJson {
        employee_id: &detection.presence.employee.employee_id,
        name: &detection.presence.employee.name,
        camera_id: &detection.camera.camera_id,
        camera_name: &detection.camera.camera_name,
        seen_at: rfc3339(&detection.seen_at),
        score: detection.score,
        track_id: detection.track_id.as_deref(),
    })
}

/// A face nobody enrolled matched.
pub fn unknown_face(unknown: &UnknownFace) -> Value {
    value(UnknownFaceJson {
        camera_id: &unknown.camera.camera_id,
        camera_name: &unknown.camera.camera_name,
        seen_at: rfc3339(&unknown.seen_at),
        best_score: unknown.best_score,
        track_id: unknown.track_id.as_deref(),
    })
}

/// A notification as raised.
pub fn notification(record: &NotificationRecord) -> Value {
    let n = &record.notification;
    value(NotificationJson {
        id: n.id.to_string(),
        kind: n.kind.as_str(),
        message: &n.message,
        created_at: rfc3339(&n.created_at),
        employee_id: n.employee_id.as_deref(),
        camera_id: n.camera_id.as_deref(),
        is_read: n.is_read,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The summary's keys are the GraphQL `PresenceSummary`'s fields, in schema.graphql.
    #[test]
    fn the_summary_has_the_graphql_fields() {
        let json = summary(&PresenceCounts {
            present: 3,
            alert: 1,
            unavailable: 2,
            total: 6,
        });
        assert_eq!(
            json,
            serde_json::json!({"present": 3, "alert": 1, "unavailable": 2, "total": 6})
        );
        let schema = include_str!("../../schema.graphql");
        let block = schema
            .split("type PresenceSummary {")
            .nth(1)
            .and_then(|rest| rest.split('}').next())
            .expect("PresenceSummary in schema.graphql");
        for key in json.as_object().expect("an object").keys() {
            assert!(
                block.contains(&format!("\t{key}:")),
                "{key} is a PresenceSummary field"
            );
        }
    }
}
