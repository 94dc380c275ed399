//! The MQTT bridge: presence, detections, notifications, camera status and the summary
//! published to an MQTT broker as they happen, for home automation (Home Assistant,
//! Node-RED), access control and HR systems that speak MQTT rather than GraphQL.
//!
//! Topics, under the prefix (`[mqtt] topic_prefix`, default [`settings::DEFAULT_TOPIC_PREFIX`]); payloads
//! are JSON, times RFC 3339 UTC:
//!
//! | topic | retained | when |
//! |---|---|---|
//! | `{prefix}/status` | yes | `online` once connected; `offline` on shutdown, or by the broker (last will) when hadir dies |
//! | `{prefix}/employees/{employeeId}/presence` | yes | the employee's status changed (and every employee's, on each connection) |
//! | `{prefix}/employees/{employeeId}/detected` | no | each recognition at a camera |
//! | `{prefix}/cameras/{cameraId}/status` | yes | a camera went online or offline (and every camera's, on each connection) |
//! | `{prefix}/notifications` | no | a notification was raised (EMPLOYEE_LOST, CAMERA_DOWN, …) |
//! | `{prefix}/unknown/{cameraId}` | no | a face nobody enrolled matched |
//! | `{prefix}/summary` | yes | the present / alert / not seen / total counts changed |
//!
//! Retained topics mean a client that subscribes later still gets the current state at once.
//! `mqtts://` connects with TLS (rustls), checking the broker against the public roots and
//! the CA certificates of `[mqtt] ca_file` (a broker with a private CA).
//! [`home_assistant`] adds Home Assistant's discovery messages for the same topics.
//! Publishing never holds up the server: when the broker is away, messages wait in a bounded
//! queue ([`MQTT_QUEUE`]) and the newest are dropped (and logged) once it is full; on
//! reconnection the retained state is published again from the database.

pub mod home_assistant;
pub mod message;
pub mod settings;
pub mod topics;

use message::Message;
pub use settings::MqttSettings;
use topics::messages_for;

use std::{
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use rumqttc::{AsyncClient, Event as MqttEvent, LastWill, MqttOptions, Outgoing, Packet, QoS};
use tokio::{sync::Notify, task::JoinHandle};

use crate::{
    backoff::Backoff,
    cameras::registry::CameraRegistry,
    employees::EmployeeDirectory,
    events::{ChangeKind, Event, EventBus},
    metrics::integrations::IntegrationCounters,
};

/// The MQTT keep-alive interval.
pub const MQTT_KEEP_ALIVE: Duration = Duration::from_secs(30);
/// Messages that may wait for the broker before new ones are dropped.
pub const MQTT_QUEUE: usize = 1_024;
/// The longest wait between attempts to reach the broker (doubling from one second).
pub const MAX_RECONNECT_DELAY: Duration = Duration::from_secs(30);
/// The first wait before reconnecting to a broker that went away (doubling up to
/// [`MAX_RECONNECT_DELAY`]).
pub const FIRST_RECONNECT_DELAY: Duration = Duration::from_secs(1);
/// How long a clean stop waits for `offline` and the DISCONNECT to be written.
pub const MQTT_STOP_TIMEOUT: Duration = Duration::from_secs(2);

/// The running bridge.
pub struct MqttBridge {
    client: AsyncClient,
    settings: MqttSettings,
    /// Polls the connection; ends after a clean DISCONNECT.
    connection: JoinHandle<()>,
    /// The retained snapshots on each connection, and the events forwarded.
    publishers: Vec<JoinHandle<()>>,
}

/// Counts a message handed to the client, or dropped (and logged).
fn count(counters: &IntegrationCounters, topic: &str, result: Result<(), rumqttc::ClientError>) {
    match result {
        Ok(()) => {
            counters.mqtt_published.fetch_add(1, Ordering::Relaxed);
        }
        Err(error) => {
            counters.mqtt_dropped.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(topic, "MQTT message dropped: {error}");
        }
    }
}

/// Publishes without waiting: a full queue drops the message.
fn publish(client: &AsyncClient, counters: &IntegrationCounters, message: Message) {
    let result = client.try_publish(
        message.topic.as_str(),
        QoS::AtLeastOnce,
        message.retain,
        message.payload,
    );
    count(counters, &message.topic, result);
}

/// Publishes, waiting for room in the queue (the snapshot task's own pace).
async fn publish_waiting(client: &AsyncClient, counters: &IntegrationCounters, message: Message) {
    let result = client
        .publish(
            message.topic.as_str(),
            QoS::AtLeastOnce,
            message.retain,
            message.payload,
        )
        .await;
    count(counters, &message.topic, result);
}

impl MqttBridge {
    /// Connects (in the background: an absent broker is retried, never fatal) and publishes
    /// from the event bus until stopped.
    pub fn spawn(
        settings: MqttSettings,
        events: &EventBus,
        employees: EmployeeDirectory,
        cameras: CameraRegistry,
        counters: Arc<IntegrationCounters>,
    ) -> Self {
        let status_topic = settings.topic("status");
        let mut options = MqttOptions::new(&settings.client_id, &settings.host, settings.port);
        options
            .set_keep_alive(MQTT_KEEP_ALIVE)
            .set_clean_session(true)
            .set_last_will(LastWill::new(
                &status_topic,
                "offline",
                QoS::AtLeastOnce,
                true,
            ));
        if let Some(username) = &settings.username {
            options.set_credentials(username, settings.password.clone().unwrap_or_default());
        }
        if settings.tls {
            // Checked when the configuration loaded; a failure here is logged, and the
            // connection attempts then fail and say why.
            match settings.tls_config() {
                Ok(config) => {
                    options.set_transport(rumqttc::Transport::tls_with_config(
                        rumqttc::TlsConfiguration::Rustls(Arc::new(config)),
                    ));
                }
                Err(error) => tracing::error!("MQTT TLS: {error}"),
            }
        }
        let (client, mut event_loop) = AsyncClient::new(options, MQTT_QUEUE);
        let connected = Arc::new(Notify::new());

        // The connection: polled for ever; reconnects with a capped backoff.
        let connection = {
            let connected = connected.clone();
            let counters = counters.clone();
            let broker = format!("{}:{}", settings.host, settings.port);
            tokio::spawn(async move {
                let mut backoff = Backoff::new(FIRST_RECONNECT_DELAY, MAX_RECONNECT_DELAY);
                loop {
                    match event_loop.poll().await {
                        Ok(MqttEvent::Incoming(Packet::ConnAck(_))) => {
                            tracing::info!(%broker, "MQTT connected");
                            counters.mqtt_connected.store(true, Ordering::Relaxed);
                            backoff.reset();
                            connected.notify_one();
                        }
                        // A clean stop: the DISCONNECT is written, the connection ends here.
                        Ok(MqttEvent::Outgoing(Outgoing::Disconnect)) => {
                            counters.mqtt_connected.store(false, Ordering::Relaxed);
                            return;
                        }
                        Ok(_) => {}
                        Err(error) => {
                            counters.mqtt_connected.store(false, Ordering::Relaxed);
                            let delay = backoff.next_wait();
                            tracing::warn!(%broker, "MQTT: {error}; retrying in {delay:?}");
                            tokio::time::sleep(delay).await;
                        }
                    }
                }
            })
        };

        // On every connection: online, then the retained state from the database.
        let snapshots = {
            let client = client.clone();
            let counters = counters.clone();
            let settings = settings.clone();
            tokio::spawn(async move {
                loop {
                    connected.notified().await;
                    publish_waiting(
                        &client,
                        &counters,
                        Message {
                            topic: settings.topic("status"),
                            payload: b"online".to_vec(),
                            retain: true,
                        },
                    )
                    .await;
                    match employees.list().await {
                        Ok(everyone) => {
                            for presence in &everyone {
                                let event = Event::EmployeeChanged {
                                    kind: ChangeKind::Updated,
                                    employee_id: presence.employee.employee_id.clone(),
                                    presence: Some(presence.clone()),
                                };
                                for message in messages_for(&settings, &event) {
                                    publish_waiting(&client, &counters, message).await;
                                }
                            }
                        }
                        Err(error) => tracing::warn!("MQTT: cannot read the employees: {error}"),
                    }
                    match cameras.list().await {
                        Ok(all) => {
                            for camera in all {
                                let event = Event::CameraChanged {
                                    kind: ChangeKind::Updated,
                                    camera_id: camera.camera_id.clone(),
                                    camera: Some(camera),
                                };
                                for message in messages_for(&settings, &event) {
                                    publish_waiting(&client, &counters, message).await;
                                }
                            }
                        }
                        Err(error) => tracing::warn!("MQTT: cannot read the cameras: {error}"),
                    }
                    if let Some(discovery) = &settings.home_assistant {
                        for message in home_assistant::summary(&settings, discovery) {
                            publish_waiting(&client, &counters, message).await;
                        }
                    }
                    match employees.counts().await {
                        Ok(counts) => {
                            for message in
                                messages_for(&settings, &Event::PresenceSummaryChanged(counts))
                            {
                                publish_waiting(&client, &counters, message).await;
                            }
                        }
                        Err(error) => tracing::warn!("MQTT: cannot count presence: {error}"),
                    }
                }
            })
        };

        // Every event as it happens.
        let forwarder = {
            let client = client.clone();
            let counters = counters.clone();
            let settings = settings.clone();
            let mut receiver = events.subscribe();
            tokio::spawn(async move {
                loop {
                    match receiver.recv().await {
                        Ok(event) => {
                            for message in messages_for(&settings, &event) {
                                publish(&client, &counters, message);
                            }
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                            tracing::warn!("MQTT: {missed} events missed (the bridge fell behind)");
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                    }
                }
            })
        };
        Self {
            client,
            settings,
            connection,
            publishers: vec![snapshots, forwarder],
        }
    }

    /// Says `offline` and disconnects (a clean stop: the last will is for crashes), waiting
    /// up to [`MQTT_STOP_TIMEOUT`] for both to be written.
    pub async fn stop(self) {
        self.close(true).await;
    }

    /// Disconnects without saying `offline`: another node (the new leader) publishes from
    /// now on, and says `online` itself.
    pub async fn hand_over(self) {
        self.close(false).await;
    }

    async fn close(self, say_offline: bool) {
        let Self {
            client,
            settings,
            connection,
            publishers,
        } = self;
        let abort = connection.abort_handle();
        let _ = tokio::time::timeout(MQTT_STOP_TIMEOUT, async {
            if say_offline {
                let _ = client
                    .publish(settings.topic("status"), QoS::AtLeastOnce, true, "offline")
                    .await;
            }
            let _ = client.disconnect().await;
            // The connection ends once it has written the DISCONNECT (after the `offline`).
            let _ = connection.await;
        })
        .await;
        abort.abort();
        for task in publishers {
            task.abort();
        }
    }
}
