//! Home Assistant MQTT discovery: with `[mqtt] home_assistant` on, every employee appears in
//! Home Assistant as a device tracker (home while AVAILABLE, away otherwise, with the camera
//! and times as attributes), every camera as a connectivity sensor, and the summary counts as
//! three sensors — all under one "hadir" device, unavailable while hadir is offline, and with
//! nothing to configure in Home Assistant. The entities read the state topics the bridge
//! publishes anyway; deleting an employee or a camera removes its entity.

use entity::{camera, employee};
use serde_json::{Value, json};

use super::{
    message::{Message, state_or_cleared},
    settings::MqttSettings,
};

pub use super::settings::DEFAULT_DISCOVERY_PREFIX;

/// A topic level from any text: what MQTT and Home Assistant's ids accept.
fn id_part(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn config_topic(
    settings: &MqttSettings,
    discovery_prefix: &str,
    component: &str,
    object: &str,
) -> String {
    format!(
        "{discovery_prefix}/{component}/hadir_{}/{}/config",
        id_part(&settings.topic_prefix),
        id_part(object)
    )
}

/// What every entity shares: the device, and availability from `{prefix}/status`.
fn common(settings: &MqttSettings, unique: &str) -> Value {
    let node = id_part(&settings.topic_prefix);
    json!({
        "unique_id": format!("hadir_{node}_{}", id_part(unique)),
        "availability_topic": settings.topic("status"),
        "payload_available": "online",
        "payload_not_available": "offline",
        "device": {
            "identifiers": [format!("hadir_{node}")],
            "name": format!("hadir ({})", settings.topic_prefix),
            "manufacturer": "hadir",
            "model": "face-recognition presence server",
            "sw_version": env!("CARGO_PKG_VERSION"),
        },
    })
}

fn merged(mut base: Value, extra: Value) -> Value {
    if let (Some(base), Value::Object(extra)) = (base.as_object_mut(), extra) {
        base.extend(extra);
    }
    base
}

/// The device tracker of an employee (`None`: removed).
pub(super) fn employee(
    settings: &MqttSettings,
    discovery_prefix: &str,
    employee_id: &str,
    record: Option<&employee::Model>,
) -> Message {
    let state = settings.topic(&format!("employees/{employee_id}/presence"));
    state_or_cleared(
        config_topic(settings, discovery_prefix, "device_tracker", employee_id),
        record.map(|record| {
            merged(
                common(settings, &format!("employee_{employee_id}")),
                json!({
                    "name": record.name,
                    "state_topic": state,
                    "json_attributes_topic": state,
                    "value_template":
                        "{{ 'home' if value_json.status == 'AVAILABLE' else 'not_home' }}",
                    "payload_home": "home",
                    "payload_not_home": "not_home",
                    "source_type": "router",
                    "icon": "mdi:account",
                }),
            )
        }),
    )
}

/// The connectivity sensor of a camera (`None`: removed).
pub(super) fn camera(
    settings: &MqttSettings,
    discovery_prefix: &str,
    camera_id: &str,
    record: Option<&camera::Model>,
) -> Message {
    let state = settings.topic(&format!("cameras/{camera_id}/status"));
    state_or_cleared(
        config_topic(
            settings,
            discovery_prefix,
            "binary_sensor",
            &format!("camera_{camera_id}"),
        ),
        record.map(|record| {
            merged(
                common(settings, &format!("camera_{camera_id}")),
                json!({
                    "name": format!("Camera {}", record.camera_name),
                    "state_topic": state,
                    "json_attributes_topic": state,
                    "value_template": "{{ 'ON' if value_json.status == 'ONLINE' else 'OFF' }}",
                    "device_class": "connectivity",
                }),
            )
        }),
    )
}

/// The present / alert / total sensors.
pub(super) fn summary(settings: &MqttSettings, discovery_prefix: &str) -> Vec<Message> {
    [
        ("present", "People present", "mdi:account-check"),
        ("alert", "People lost (alert)", "mdi:account-alert"),
        ("total", "Employees", "mdi:account-group"),
    ]
    .into_iter()
    .map(|(field, name, icon)| {
        state_or_cleared(
            config_topic(
                settings,
                discovery_prefix,
                "sensor",
                &format!("summary_{field}"),
            ),
            Some(merged(
                common(settings, &format!("summary_{field}")),
                json!({
                    "name": name,
                    "state_topic": settings.topic("summary"),
                    "value_template": format!("{{{{ value_json.{field} }}}}"),
                    "state_class": "measurement",
                    "icon": icon,
                }),
            )),
        )
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_and_templates() {
        let settings = MqttSettings::parse("mqtt://127.0.0.1", "office/hq").unwrap();
        let sensors = summary(&settings, DEFAULT_DISCOVERY_PREFIX);
        assert_eq!(sensors.len(), 3);
        assert_eq!(
            sensors[0].topic,
            "homeassistant/sensor/hadir_office_hq/summary_present/config"
        );
        let config: Value = serde_json::from_slice(&sensors[0].payload).unwrap();
        assert_eq!(config["value_template"], "{{ value_json.present }}");
        assert_eq!(config["state_topic"], "office/hq/summary");
        assert_eq!(config["availability_topic"], "office/hq/status");
        assert_eq!(config["unique_id"], "hadir_office_hq_summary_present");
        let removed = employee(&settings, DEFAULT_DISCOVERY_PREFIX, "E1", None);
        assert_eq!(
            removed.topic,
            "homeassistant/device_tracker/hadir_office_hq/E1/config"
        );
        assert!(removed.payload.is_empty() && removed.retain);
    }
}
