//! A real MQTT client on the test broker (this machine's Mosquitto on 127.0.0.1:1883;
//! `HADIR_TEST_MQTT_HOST`/`_PORT` name another), handing over every message it receives.

use std::time::Duration;

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio::sync::mpsc;

pub fn broker() -> (String, u16) {
    let host = std::env::var("HADIR_TEST_MQTT_HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let port = std::env::var("HADIR_TEST_MQTT_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(1883);
    (host, port)
}

/// A message as received: topic, payload, whether the broker kept it (retained).
#[derive(Debug)]
pub struct Received {
    pub topic: String,
    pub payload: String,
    pub retained: bool,
}

/// Subscribes to `filter` on the test broker and hands over every message.
pub async fn subscribe(filter: &str) -> (AsyncClient, mpsc::UnboundedReceiver<Received>) {
    let (host, port) = broker();
    subscribe_at(host, port, filter).await
}

/// Subscribes to `filter` on the broker at `host:port`.
pub async fn subscribe_at(
    host: String,
    port: u16,
    filter: &str,
) -> (AsyncClient, mpsc::UnboundedReceiver<Received>) {
    let mut options = MqttOptions::new(
        format!("hadir-test-{}-{}", std::process::id(), rand_suffix()),
        host.clone(),
        port,
    );
    options.set_keep_alive(Duration::from_secs(10));
    let (client, mut event_loop) = AsyncClient::new(options, 100);
    let (sender, receiver) = mpsc::unbounded_channel();
    let (subscribed_tx, mut subscribed) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            match event_loop.poll().await {
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let _ = sender.send(Received {
                        topic: p.topic.clone(),
                        payload: String::from_utf8_lossy(&p.payload).into_owned(),
                        retained: p.retain,
                    });
                }
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    let _ = subscribed_tx.send(());
                }
                Ok(_) => {}
                Err(error) => panic!(
                    "the MQTT broker at {host}:{port} cannot be reached ({error}); this machine \
                     kind runs Mosquitto there"
                ),
            }
        }
    });
    client
        .subscribe(filter, QoS::AtLeastOnce)
        .await
        .expect("subscribe");
    tokio::time::timeout(Duration::from_secs(10), subscribed.recv())
        .await
        .expect("SUBACK within 10 s");
    (client, receiver)
}

pub fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}
