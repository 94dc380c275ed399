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
    // The demo runs by default, with its own short lost_after unless one is set.
    let config = Config::load_with(None, env_of(&[])).unwrap();
    assert!(config.demo.enabled);
    assert_eq!(
        config.presence.lost_after_secs,
        crate::demo::settings::DEFAULT_DEMO_LOST_AFTER_SECS
    );
    let config = Config::load_with(None, env_of(&[("HADIR_DEMO_ENABLED", "false")])).unwrap();
    assert_eq!(config.presence.lost_after_secs, DEFAULT_LOST_AFTER_SECS);
    let config = Config::load_with(None, env_of(&[("HADIR_LOST_AFTER_SECS", "90")])).unwrap();
    assert_eq!(
        config.presence.lost_after_secs, 90,
        "a value set wins over the demo's"
    );
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

#[test]
fn flat_keys_are_aliases_of_their_sections() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hadir.toml");
    std::fs::write(
        &file,
        "mqtt_url = \"mqtt://broker.lan\"\ncamera_configs = \"cams\"\n\
         [presence]\nlost_after_secs = 45\n[departments.Night]\nstart = \"21:00\"\nend = \"23:00\"\n",
    )
    .unwrap();
    let config = Config::load_with(Some(&file), env_of(&[])).unwrap();
    assert_eq!(config.mqtt.url.as_deref(), Some("mqtt://broker.lan"));
    assert_eq!(config.cameras.configs, std::path::PathBuf::from("cams"));
    assert_eq!(config.presence.lost_after_secs, 45);
    assert!(config.attendance.departments.contains_key("Night"));

    std::fs::write(
        &file,
        "mqtt_url = \"mqtt://a\"\n[mqtt]\nurl = \"mqtt://b\"\n",
    )
    .unwrap();
    let error = Config::load_with(Some(&file), env_of(&[]))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("`mqtt_url`") && error.contains("`mqtt.url`"),
        "{error}"
    );
    std::fs::write(&file, "[mqtt]\nmqtt_url = \"mqtt://b\"\n").unwrap();
    let error = Config::load_with(Some(&file), env_of(&[]))
        .unwrap_err()
        .to_string();
    assert!(error.contains("unknown key `mqtt.mqtt_url`"), "{error}");
    std::fs::write(&file, "presence = 5\n").unwrap();
    let error = Config::load_with(Some(&file), env_of(&[]))
        .unwrap_err()
        .to_string();
    assert!(error.contains("[presence]"), "{error}");
    std::fs::write(&file, "[server]\nlisten = 8080\n").unwrap();
    let error = Config::load_with(Some(&file), env_of(&[]))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("hadir.toml") && error.contains("server.listen (flat: listen)"),
        "{error}"
    );
}

#[test]
fn variables_by_section_and_their_forms() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hadir.toml");
    std::fs::write(
        &file,
        "admin_token = \"from-file\"\nlog = \"warn\"\n[server]\ntrusted_proxies = [\"10.0.0.1\"]\n",
    )
    .unwrap();
    let config = Config::load_with(
        Some(&file),
        env_of(&[
            ("HADIR_PRESENCE__LOST_AFTER_SECS", "7"),
            ("HADIR_SERVER__TRUSTED_PROXIES", " 10.0.0.0/8 , ::1,"),
            ("HADIR_ADMIN_TOKEN", " "),
            ("HADIR_ADMIN_TOKEN_X", "ignored"),
            ("HADIR_CACHE_DIR", "/not/a/key"),
            ("HADIR_RECOGNITION__MATCH_THRESHOLD", "0.5"),
            ("HADIR_MIN_FACE_PX", "41"),
            ("RUST_LOG", "debug"),
        ]),
    )
    .unwrap();
    assert_eq!(config.presence.lost_after_secs, 7);
    assert_eq!(config.server.trusted_proxies, ["10.0.0.0/8", "::1"]);
    assert_eq!(config.admin_token, None, "empty means none, over the file");
    assert_eq!(config.recognition.match_threshold, Some(0.5));
    assert_eq!(config.recognition.min_face_px, 41.0);
    assert_eq!(config.log, "debug", "RUST_LOG over the file's log");

    let config = Config::load_with(
        None,
        env_of(&[("RUST_LOG", "hadir=loudly"), ("HADIR_LOG", "warn")]),
    )
    .unwrap();
    assert_eq!(
        config.log, "warn",
        "a RUST_LOG that is no filter is passed over"
    );
    let config = Config::load_with(None, env_of(&[("HADIR_ADMIN_TOKEN", "12345")])).unwrap();
    assert_eq!(
        config.admin_token.as_deref(),
        Some("12345"),
        "text stays text"
    );
    let error = Config::load_with(
        None,
        env_of(&[
            ("HADIR_MQTT_URL", "mqtt://a"),
            ("HADIR_MQTT__URL", "mqtt://b"),
        ]),
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.contains("HADIR_MQTT_URL") && error.contains("HADIR_MQTT__URL"),
        "{error}"
    );
    let error = Config::load_with(None, env_of(&[("HADIR_SERVER__GRAPHIQL", "yes")]))
        .unwrap_err()
        .to_string();
    assert!(error.contains("HADIR_SERVER__GRAPHIQL=\"yes\""), "{error}");
}

#[test]
fn the_printed_configuration_masks_secrets_and_reads_back() {
    let config = Config::load_with(
        None,
        env_of(&[
            ("HADIR_DATABASE_URL", "postgres://hadir:pw1@db/hadir"),
            ("HADIR_ADMIN_TOKEN", "tok2"),
            ("HADIR_MQTT_URL", "mqtt://ha:pw3@broker"),
            ("HADIR_WEBHOOK_URLS", "https://hooks.example.com/T0/s3cr3t"),
            ("HADIR_WEBHOOK_SECRET", "pw4"),
        ]),
    )
    .unwrap();
    let printed = config.to_masked_toml().unwrap();
    for secret in ["pw1", "tok2", "pw3", "s3cr3t", "pw4"] {
        assert!(!printed.contains(secret), "{secret} in:\n{printed}");
    }
    assert!(
        printed.contains("postgres://hadir:***@db/hadir"),
        "{printed}"
    );
    assert!(printed.contains("[presence]"), "{printed}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("printed.toml");
    std::fs::write(&file, Config::default().to_masked_toml().unwrap()).unwrap();
    let again = Config::load_with(Some(&file), env_of(&[])).unwrap();
    assert_eq!(
        again.to_masked_toml().unwrap(),
        Config::default().to_masked_toml().unwrap()
    );
}

#[test]
fn cluster_settings_are_checked_naming_the_key() {
    let load = |pairs: &[(&str, &str)]| Config::load_with(None, env_of(pairs));
    let config = load(&[
        ("HADIR_NODE_ID", "node-a"),
        ("HADIR_ADVERTISE_URL", "http://10.0.0.5:8080"),
        ("HADIR_MAX_CAMERAS", "12"),
        ("HADIR_LEASE_SECS", "5"),
        ("HADIR_CLUSTER_LISTEN_URL", "postgres://hadir@db:5432/hadir"),
    ])
    .unwrap();
    assert_eq!(config.cluster.node_id.as_deref(), Some("node-a"));
    assert_eq!(config.cluster.max_cameras, Some(12));
    assert_eq!(config.cluster.lease(30), std::time::Duration::from_secs(5));
    assert_eq!(
        load(&[("HADIR_MAX_CAMERAS", "")])
            .unwrap()
            .cluster
            .max_cameras,
        None,
        "empty: no limit"
    );
    assert_eq!(
        load(&[("HADIR_MAX_CAMERAS", "0")])
            .unwrap()
            .cluster
            .max_cameras,
        Some(0),
        "0: API and subscriptions only"
    );
    for (pairs, key) in [
        (&[("HADIR_LEASE_SECS", "2")][..], "cluster.lease_secs"),
        (
            &[
                ("HADIR_LEASE_SECS", "6"),
                ("HADIR_CAMERA_TIMEOUT_SECS", "10"),
            ][..],
            "cluster.lease_secs",
        ),
        (
            &[("HADIR_ADVERTISE_URL", "10.0.0.5:8080")][..],
            "cluster.advertise_url",
        ),
        (
            &[("HADIR_ADVERTISE_URL", "http://node-a")][..],
            "cluster.advertise_url",
        ),
        (&[("HADIR_NODE_ID", "node a")][..], "cluster.node_id"),
        (
            &[("HADIR_CLUSTER_LISTEN_URL", "sqlite://x")][..],
            "cluster.listen_url",
        ),
    ] {
        let error = load(pairs).unwrap_err().to_string();
        assert!(error.contains(key), "{pairs:?}: {error}");
    }
    let error = load(&[("HADIR_MAX_CAMERAS", "many")])
        .unwrap_err()
        .to_string();
    assert!(error.contains("HADIR_MAX_CAMERAS"), "{error}");
}
