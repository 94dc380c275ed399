//! The configuration's own tests: layers, aliases, sections and the errors that name their
//! source. (`api/tests/config_keys.rs` runs `hadir config print` over every key.)

use super::*;
use crate::presence::settings::DEFAULT_LOST_AFTER_SECS;
use std::collections::HashMap;

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}

#[test]
fn defaults_hold_without_file_or_environment() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("none.toml");
    let config = Config::load_with(None, env_of(&[("HADIR_CONFIG", missing.to_str().unwrap())]));
    assert!(matches!(config, Err(ConfigError::Read { .. })));
    let config = Config::load_with(None, env_of(&[])).unwrap();
    assert_eq!(config.presence.lost_after_secs, DEFAULT_LOST_AFTER_SECS);
    assert_eq!(config.database_url, DEFAULT_DATABASE_URL);
}

#[test]
fn environment_overrides_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hadir.toml");
    std::fs::write(&file, "lost_after_secs = 60\nlisten = \"127.0.0.1:9000\"\n").unwrap();
    let config = Config::load_with(Some(&file), env_of(&[("HADIR_LOST_AFTER_SECS", "5")])).unwrap();
    assert_eq!(config.presence.lost_after_secs, 5);
    assert_eq!(config.server.listen, "127.0.0.1:9000");
}

#[test]
fn schedules_come_from_the_file_and_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hadir.toml");
    std::fs::write(
        &file,
        "timezone = \"Asia/Jakarta\"\n[departments.Night]\nstart = \"21:00\"\nend = \"23:59\"\n",
    )
    .unwrap();
    let config = Config::load_with(
        Some(&file),
        env_of(&[
            ("HADIR_WORK_START", "08:30"),
            ("HADIR_WORK_DAYS", "sun-thu"),
        ]),
    )
    .unwrap();
    let schedule = config.schedule().unwrap();
    assert_eq!(schedule.timezone, chrono_tz::Asia::Jakarta);
    assert_eq!(schedule.default.start.to_string(), "08:30:00");
    assert_eq!(
        schedule.hours_of(Some("Night")).start.to_string(),
        "21:00:00"
    );
    assert_eq!(
        schedule.hours_of(Some("Sales")).start.to_string(),
        "08:30:00"
    );
    let error = Config::load_with(None, env_of(&[("HADIR_TIMEZONE", "Mars/Base")]))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("timezone") && error.contains("Mars/Base"),
        "{error}"
    );
}

#[test]
fn integrations_come_from_the_file_and_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hadir.toml");
    std::fs::write(
        &file,
        "mqtt_url = \"mqtt://ha:pw@broker.lan\"\nmqtt_home_assistant = true\n\
         [[webhooks]]\nurl = \"https://hr.example.com/in\"\nevents = [\"notification.created\"]\n\
         secret = \"s\"\n",
    )
    .unwrap();
    let config = Config::load_with(
        Some(&file),
        env_of(&[(
            "HADIR_WEBHOOK_URLS",
            "http://127.0.0.1:9/a, http://127.0.0.1:9/b",
        )]),
    )
    .unwrap();
    let mqtt = config.mqtt.settings().unwrap().expect("an MQTT broker");
    assert_eq!(mqtt.host, "broker.lan");
    assert_eq!(mqtt.home_assistant.as_deref(), Some("homeassistant"));
    assert_eq!(config.webhooks.len(), 3);
    assert_eq!(
        config.webhooks[0].events.as_deref(),
        Some(&["notification.created".to_owned()][..])
    );
    assert_eq!(config.webhooks[2].url, "http://127.0.0.1:9/b");
    let error = Config::load_with(
        None,
        env_of(&[
            ("HADIR_WEBHOOK_URLS", "http://127.0.0.1:9/a"),
            ("HADIR_WEBHOOK_EVENTS", "employee.lost"),
        ]),
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.contains("webhook 1") && error.contains("employee.lost"),
        "{error}"
    );
    let error = Config::load_with(
        None,
        env_of(&[
            ("HADIR_MQTT_URL", "mqtts://broker"),
            ("HADIR_MQTT_CA_FILE", "/nonexistent/ca.pem"),
        ]),
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.contains("mqtt_url") && error.contains("/nonexistent/ca.pem"),
        "{error}"
    );
}

#[test]
fn bad_values_name_their_source() {
    let error = Config::load_with(None, env_of(&[("HADIR_LOST_AFTER_SECS", "soon")]))
        .unwrap_err()
        .to_string();
    assert!(error.contains("HADIR_LOST_AFTER_SECS"), "{error}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hadir.toml");
    std::fs::write(&file, "lost_after = 60\n").unwrap();
    let error = Config::load_with(Some(&file), env_of(&[]))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("hadir.toml") && error.contains("lost_after"),
        "{error}"
    );

    let error = Config::load_with(None, env_of(&[("HADIR_LISTEN", "nowhere")]))
        .unwrap_err()
        .to_string();
    assert!(error.contains("listen"), "{error}");
}
