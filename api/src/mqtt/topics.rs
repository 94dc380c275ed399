//! What each event publishes: topics and JSON payloads (the table in [`super`]'s docs), with
//! Home Assistant's discovery messages where enabled.

use serde_json::Value;

use super::{
    home_assistant,
    message::{Message, state_or_cleared},
    settings::MqttSettings,
};
use crate::{event_json, events::Event};

/// What an event publishes, if anything.
pub(crate) fn messages_for(settings: &MqttSettings, event: &Event) -> Vec<Message> {
    let message = |topic: String, payload: Value, retain: bool| Message {
        topic,
        payload: payload.to_string().into_bytes(),
        retain,
    };
    match event {
        Event::EmployeeStatusChanged(presence) => vec![message(
            settings.topic(&format!(
                "employees/{}/presence",
                presence.employee.employee_id
            )),
            event_json::employee(presence),
            true,
        )],
        Event::EmployeeChanged {
            employee_id,
            presence,
            ..
        } => {
            let mut messages = Vec::with_capacity(2);
            if let Some(discovery) = &settings.home_assistant {
                messages.push(home_assistant::employee(
                    settings,
                    discovery,
                    employee_id,
                    presence.as_ref().map(|p| &p.employee),
                ));
            }
            messages.push(state_or_cleared(
                settings.topic(&format!("employees/{employee_id}/presence")),
                presence.as_ref().map(event_json::employee),
            ));
            messages
        }
        Event::EmployeeDetected(detection) => vec![message(
            settings.topic(&format!(
                "employees/{}/detected",
                detection.presence.employee.employee_id
            )),
            event_json::detection(detection),
            false,
        )],
        Event::UnknownFaceSeen(unknown) => vec![message(
            settings.topic(&format!("unknown/{}", unknown.camera.camera_id)),
            event_json::unknown_face(unknown),
            false,
        )],
        Event::NotificationCreated(record) => vec![message(
            settings.topic("notifications"),
            event_json::notification(record),
            false,
        )],
        Event::CameraStatusChanged(camera) => vec![message(
            settings.topic(&format!("cameras/{}/status", camera.camera_id)),
            event_json::camera(camera),
            true,
        )],
        Event::CameraChanged {
            camera_id, camera, ..
        } => {
            let mut messages = Vec::with_capacity(2);
            if let Some(discovery) = &settings.home_assistant {
                messages.push(home_assistant::camera(
                    settings,
                    discovery,
                    camera_id,
                    camera.as_ref(),
                ));
            }
            messages.push(state_or_cleared(
                settings.topic(&format!("cameras/{camera_id}/status")),
                camera.as_ref().map(event_json::camera),
            ));
            messages
        }
        Event::PresenceSummaryChanged(counts) => vec![message(
            settings.topic("summary"),
            event_json::summary(counts),
            true,
        )],
        Event::NotificationsRead { .. } => Vec::new(),
    }
}
