//! The MQTT bridge against a real broker (the Mosquitto this machine runs on 127.0.0.1:1883;
//! `HADIR_TEST_MQTT_HOST`/`_PORT` name another): a real `hadir` publishes, a real MQTT client
//! subscribes. Each run uses a topic prefix of its own and clears its retained topics after.

mod common;

use std::{collections::HashMap, time::Duration};

use common::{
    ADMIN_TOKEN, Backend, ServerOptions, TestDb, TestServer,
    mqtt::{Received, broker, rand_suffix, subscribe, subscribe_at},
};
use rumqttc::QoS;
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// The next message on `topic`, within `within`: first any kept in `seen` while waiting for
/// other topics, then new ones (those on other topics are kept in `seen`).
async fn next_on(
    messages: &mut mpsc::UnboundedReceiver<Received>,
    seen: &mut HashMap<String, Vec<Received>>,
    topic: &str,
    within: Duration,
) -> Received {
    seen.entry(topic.to_owned()).or_default();
    if let Some(kept) = seen.get_mut(topic).filter(|kept| !kept.is_empty()) {
        return kept.remove(0);
    }
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let message = tokio::time::timeout_at(deadline, messages.recv())
            .await
            .unwrap_or_else(|_| panic!("nothing on {topic} within {within:?}; seen: {seen:?}"))
            .expect("the subscriber stopped");
        if message.topic == topic {
            return message;
        }
        seen.entry(message.topic.clone()).or_default().push(message);
    }
}

/// The next JSON message on `topic`.
async fn next_json(
    messages: &mut mpsc::UnboundedReceiver<Received>,
    seen: &mut HashMap<String, Vec<Received>>,
    topic: &str,
    within: Duration,
) -> Value {
    next_json_where(messages, seen, topic, within, |_| true).await
}

/// The next JSON message on `topic` for which `wanted` holds.
async fn next_json_where(
    messages: &mut mpsc::UnboundedReceiver<Received>,
    seen: &mut HashMap<String, Vec<Received>>,
    topic: &str,
    within: Duration,
    wanted: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let message = next_on(messages, seen, topic, left).await;
        let value: Value = serde_json::from_str(&message.payload)
            .unwrap_or_else(|e| panic!("{topic}: {e}: {:?}", message.payload));
        if wanted(&value) {
            return value;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_notifications_and_availability_reach_mqtt() {
    let Some(db) = TestDb::create(Backend::Sqlite, "presence_reaches_mqtt") else {
        return;
    };
    let prefix = format!("hadir-test-{}", rand_suffix());
    let (host, port) = broker();
    let (watcher, mut messages) = subscribe(&format!("{prefix}/#")).await;
    let mut seen = HashMap::new();
    let options = ServerOptions {
        lost_after_secs: 2,
        extra_env: vec![
            ("HADIR_MQTT_URL".into(), format!("mqtt://{host}:{port}")),
            ("HADIR_MQTT_TOPIC_PREFIX".into(), prefix.clone()),
            // Home Assistant discovery, under this run's prefix rather than a real one.
            ("HADIR_MQTT_HOME_ASSISTANT".into(), "true".into()),
            (
                "HADIR_MQTT_HOME_ASSISTANT_PREFIX".into(),
                format!("{prefix}/ha"),
            ),
        ],
        ..Default::default()
    };
    let mut server = TestServer::start(&db, &options);
    let status = format!("{prefix}/status");
    let online = next_on(&mut messages, &mut seen, &status, Duration::from_secs(15)).await;
    assert_eq!(online.payload, "online");

    // The cameras of the sample folder, retained with their status.
    let camera = next_json(
        &mut messages,
        &mut seen,
        &format!("{prefix}/cameras/CAM1/status"),
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(camera["cameraId"], "CAM1");

    // A new employee: not seen yet.
    server
        .gql(
            ADMIN_TOKEN,
            "mutation { createEmployee(input: {employeeId: \"E1\", name: \"Ana Putri\", department: \"Finance\"}) { employeeId } }",
            json!({}),
        )
        .await;
    let presence = format!("{prefix}/employees/E1/presence");
    let value = next_json(&mut messages, &mut seen, &presence, Duration::from_secs(10)).await;
    assert_eq!(value["status"], "UNAVAILABLE");
    // … and in Home Assistant, a device tracker that reads that topic.
    let node = &prefix; // letters, digits and '-': an id as it is
    let tracker = format!("{prefix}/ha/device_tracker/hadir_{node}/E1/config");
    let config = next_json(&mut messages, &mut seen, &tracker, Duration::from_secs(10)).await;
    assert_eq!(config["name"], "Ana Putri");
    assert_eq!(config["state_topic"], presence.as_str());
    assert_eq!(
        config["value_template"],
        "{{ 'home' if value_json.status == 'AVAILABLE' else 'not_home' }}"
    );
    assert_eq!(config["availability_topic"], status.as_str());
    // The cameras and the counts are there too, from the connection's snapshot.
    let camera_config = next_json(
        &mut messages,
        &mut seen,
        &format!("{prefix}/ha/binary_sensor/hadir_{node}/camera_CAM1/config"),
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(camera_config["device_class"], "connectivity");
    next_json(
        &mut messages,
        &mut seen,
        &format!("{prefix}/ha/sensor/hadir_{node}/summary_present/config"),
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(value["name"], "Ana Putri");

    // Seen at CAM1: AVAILABLE there, a detection, the summary counts her.
    server
        .gql(
            ADMIN_TOKEN,
            "mutation { reportSighting(input: {employeeId: \"E1\", cameraId: \"CAM1\", score: 0.7}) { employeeId } }",
            json!({}),
        )
        .await;
    let value = next_json_where(
        &mut messages,
        &mut seen,
        &presence,
        Duration::from_secs(10),
        |v| v["status"] == "AVAILABLE",
    )
    .await;
    assert_eq!(value["cameraId"], "CAM1");
    assert!(
        value["lastSeen"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z') && t.len() == "2026-01-05T09:00:00.000Z".len()),
        "{value}"
    );
    let detected = next_json(
        &mut messages,
        &mut seen,
        &format!("{prefix}/employees/E1/detected"),
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(detected["cameraId"], "CAM1");
    assert_eq!(detected["score"], 0.7);
    next_json_where(
        &mut messages,
        &mut seen,
        &format!("{prefix}/summary"),
        Duration::from_secs(10),
        |v| v["present"] == 1,
    )
    .await;

    // Not seen for lost_after: OFFLINE, and an EMPLOYEE_LOST notification.
    let value = next_json_where(
        &mut messages,
        &mut seen,
        &presence,
        Duration::from_secs(15),
        |v| v["status"] == "OFFLINE",
    )
    .await;
    assert_eq!(value["cameraId"], "CAM1", "last seen there");
    let notification = next_json_where(
        &mut messages,
        &mut seen,
        &format!("{prefix}/notifications"),
        Duration::from_secs(10),
        |v| v["type"] == "EMPLOYEE_LOST",
    )
    .await;
    assert_eq!(notification["employeeId"], "E1");

    // A client that subscribes later gets the current state at once (retained).
    let (late, mut late_messages) = subscribe(&format!("{prefix}/employees/+/presence")).await;
    let mut late_seen = HashMap::new();
    let retained = next_on(
        &mut late_messages,
        &mut late_seen,
        &presence,
        Duration::from_secs(5),
    )
    .await;
    assert!(retained.retained);
    assert_eq!(
        serde_json::from_str::<Value>(&retained.payload).unwrap()["status"],
        "OFFLINE"
    );
    let _ = late.disconnect().await;

    // /metrics: connected, messages published, none dropped.
    let metrics = server.metrics().await;
    assert_eq!(metrics.value("hadir_mqtt_connected"), 1.0);
    assert_eq!(
        metrics.value("hadir_mqtt_messages_total{result=\"dropped\"}"),
        0.0
    );
    assert!(
        metrics.value("hadir_mqtt_messages_total{result=\"published\"}") >= 8.0,
        "{metrics}"
    );

    // hadir dies: the broker says offline for it (the last will).
    server.kill();
    let offline = next_on(&mut messages, &mut seen, &status, Duration::from_secs(60)).await;
    assert_eq!(offline.payload, "offline");

    // Back: online, and the state published again from the database; a clean stop says
    // offline itself.
    let mut server = TestServer::start(&db, &options);
    let online = next_on(&mut messages, &mut seen, &status, Duration::from_secs(15)).await;
    assert_eq!(online.payload, "online");
    let value = next_json_where(
        &mut messages,
        &mut seen,
        &presence,
        Duration::from_secs(10),
        |v| v["status"] == "OFFLINE",
    )
    .await;
    assert_eq!(value["cameraId"], "CAM1");

    // Deleted: its retained state and its Home Assistant entity are cleared.
    server
        .gql(
            ADMIN_TOKEN,
            "mutation { deleteEmployee(employeeId: \"E1\") }",
            json!({}),
        )
        .await;
    loop {
        let cleared = next_on(&mut messages, &mut seen, &tracker, Duration::from_secs(10)).await;
        if cleared.payload.is_empty() {
            break;
        }
    }
    loop {
        let cleared = next_on(&mut messages, &mut seen, &presence, Duration::from_secs(10)).await;
        if cleared.payload.is_empty() {
            break;
        }
    }
    assert!(server.terminate().success());
    let offline = next_on(&mut messages, &mut seen, &status, Duration::from_secs(10)).await;
    assert_eq!(offline.payload, "offline");

    // Clear what this run left retained on the broker.
    let mut retained_topics: Vec<String> = seen.keys().cloned().collect();
    retained_topics.extend([status, presence, format!("{prefix}/summary")]);
    for topic in retained_topics {
        let _ = watcher
            .publish(topic, QoS::AtLeastOnce, true, Vec::<u8>::new())
            .await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
}

/// A broker that is not there when hadir starts: the server works without it, says so in
/// /metrics, and publishes its state once the broker comes up (no restart of hadir).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_that_comes_later_gets_the_state() {
    let Some(db) = TestDb::create(Backend::Sqlite, "broker_comes_later") else {
        return;
    };
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    let prefix = format!("hadir-late-{}", rand_suffix());
    let server = TestServer::start(
        &db,
        &ServerOptions {
            extra_env: vec![
                ("HADIR_MQTT_URL".into(), format!("mqtt://127.0.0.1:{port}")),
                ("HADIR_MQTT_TOPIC_PREFIX".into(), prefix.clone()),
            ],
            ..Default::default()
        },
    );
    server.create_employee("E1", "Ana Putri").await;
    assert_eq!(server.metrics().await.value("hadir_mqtt_connected"), 0.0);

    // The broker starts (Mosquitto of the test's own, on that port).
    let mut broker = std::process::Command::new("mosquitto")
        .args(["-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("mosquitto (scripts/install-test-deps installs it)");
    let mut ready = false;
    for _ in 0..50 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "mosquitto did not start on port {port}");
    let (_watcher, mut messages) =
        subscribe_at("127.0.0.1".into(), port, &format!("{prefix}/#")).await;
    let mut seen = HashMap::new();
    // hadir retries with a backoff capped at 30 s.
    let online = next_on(
        &mut messages,
        &mut seen,
        &format!("{prefix}/status"),
        Duration::from_secs(45),
    )
    .await;
    assert_eq!(online.payload, "online");
    let presence = next_json(
        &mut messages,
        &mut seen,
        &format!("{prefix}/employees/E1/presence"),
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(presence["status"], "UNAVAILABLE");
    assert_eq!(server.metrics().await.value("hadir_mqtt_connected"), 1.0);
    let _ = broker.kill();
    let _ = broker.wait();
}

/// A free port on 127.0.0.1.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// `mqtts://` to a broker whose certificate a private CA signed: with `HADIR_MQTT_CA_FILE`
/// naming that CA, hadir connects and publishes; without it, the broker is not trusted and
/// nothing is published.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_broker_with_a_private_ca() {
    let Some(db) = TestDb::create(Backend::Sqlite, "tls_broker") else {
        return;
    };
    // A CA, and a certificate for 127.0.0.1 that it signs.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let made = common::tls::make_certificate(d, "server");
    std::fs::copy(&made.ca, d.join("ca.pem")).unwrap();
    // Readable by Mosquitto, which drops root for its own user when started as root.
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    for file in ["ca.pem", "server.pem", "server.key"] {
        std::fs::set_permissions(d.join(file), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    // Mosquitto with a TLS listener (hadir) and a plain one (the test's subscriber).
    let (tls_port, plain_port) = (free_port(), free_port());
    let config = d.join("mosquitto.conf");
    std::fs::write(
        &config,
        format!(
            "per_listener_settings false\nallow_anonymous true\n\
             listener {tls_port} 127.0.0.1\ncafile {ca}\ncertfile {cert}\nkeyfile {key}\n\
             listener {plain_port} 127.0.0.1\n",
            ca = d.join("ca.pem").display(),
            cert = d.join("server.pem").display(),
            key = d.join("server.key").display(),
        ),
    )
    .unwrap();
    let mut broker = std::process::Command::new("mosquitto")
        .arg("-c")
        .arg(&config)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("mosquitto (scripts/install-test-deps installs it)");
    let mut ready = false;
    for _ in 0..50 {
        if std::net::TcpStream::connect(("127.0.0.1", plain_port)).is_ok() {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if !ready {
        let _ = broker.kill();
        let output = broker.wait_with_output().unwrap();
        panic!(
            "mosquitto did not start: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let prefix = format!("hadir-tls-{}", rand_suffix());
    let (_watcher, mut messages) =
        subscribe_at("127.0.0.1".into(), plain_port, &format!("{prefix}/#")).await;
    let mut seen = HashMap::new();
    let options = |ca: Option<&std::path::Path>| {
        let mut env = vec![
            (
                "HADIR_MQTT_URL".to_owned(),
                format!("mqtts://127.0.0.1:{tls_port}"),
            ),
            ("HADIR_MQTT_TOPIC_PREFIX".to_owned(), prefix.clone()),
        ];
        if let Some(ca) = ca {
            env.push(("HADIR_MQTT_CA_FILE".to_owned(), ca.display().to_string()));
        }
        ServerOptions {
            extra_env: env,
            ..Default::default()
        }
    };

    // Without the CA: not trusted, not connected, nothing published.
    let untrusting = TestServer::start(&db, &options(None));
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        untrusting.metrics().await.value("hadir_mqtt_connected"),
        0.0
    );
    match tokio::time::timeout(Duration::from_millis(200), messages.recv()).await {
        Err(_) => {}
        Ok(Some(message)) => panic!("published through an untrusted broker: {message:?}"),
        Ok(None) => panic!("the test's subscriber stopped"),
    }
    drop(untrusting);

    // With it: online over TLS.
    let server = TestServer::start(&db, &options(Some(&d.join("ca.pem"))));
    let online = next_on(
        &mut messages,
        &mut seen,
        &format!("{prefix}/status"),
        Duration::from_secs(15),
    )
    .await;
    assert_eq!(online.payload, "online");
    assert_eq!(server.metrics().await.value("hadir_mqtt_connected"), 1.0);
    let _ = broker.kill();
    let _ = broker.wait();
}
