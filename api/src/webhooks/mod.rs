//! Webhooks: events POSTed as JSON to the URLs an operator configures (HR systems, chat
//! bots, access control), signed, retried, in order.
//!
//! Each delivery is `POST` with a body `{"event": NAME, "deliveryId": ID, "occurredAt": TIME,
//! "data": {...}}` (`data` as [`crate::event_json`] writes it) and the headers
//! `X-Hadir-Event: NAME`, `X-Hadir-Delivery: ID`, `X-Hadir-Timestamp: UNIX-SECONDS` (of
//! this attempt) and, where the webhook has a secret, `X-Hadir-Signature: sha256=HEX`: the
//! HMAC-SHA256, under the secret, of the timestamp, a `.`, and the body. A receiver checks
//! the signature, refuses a timestamp more than [`SIGNATURE_TOLERANCE`] from its clock (a
//! captured delivery cannot be replayed later) and drops a delivery id it has seen: durable
//! events have ids of their own ([`delivery_id`]: `notification-42`), the same from whichever
//! node of a cluster delivers them. A receiver
//! answers 2xx; anything else, or no answer within [`WEBHOOK_TIMEOUT`], is retried
//! [`WEBHOOK_ATTEMPTS`] times in all with doubling waits from [`FIRST_RETRY_DELAY`], after
//! which the delivery is dropped and logged. Each webhook has its own queue
//! ([`WEBHOOK_QUEUE`] deliveries; the newest are dropped, and logged, when it is full) and
//! delivers in order, so a slow receiver holds up no other and never the server.

pub mod settings;

use std::{
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use chrono::Utc;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::{sync::mpsc, task::JoinHandle};

use crate::{
    backoff::Backoff,
    event_json,
    events::{Event, EventBus},
    metrics::integrations::IntegrationCounters,
};

pub use settings::{DEFAULT_EVENTS, EVENT_NAMES, WebhookConfig, shown};

/// How long a receiver has to answer.
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts per delivery, the first included.
pub const WEBHOOK_ATTEMPTS: u32 = 5;
/// The wait before the first retry (doubling after each).
pub const FIRST_RETRY_DELAY: Duration = Duration::from_secs(1);
/// The longest wait between two attempts: the last of the doublings that
/// [`WEBHOOK_ATTEMPTS`] allows (1, 2, 4, 8 s), so no wait is cut.
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(8);
/// Deliveries that may wait per webhook.
pub const WEBHOOK_QUEUE: usize = 1_000;

/// An event's webhook name, where webhooks carry it.
fn event_name(event: &Event) -> Option<&'static str> {
    Some(match event {
        Event::EmployeeStatusChanged(_) => "employee.status_changed",
        Event::NotificationCreated(_) => "notification.created",
        Event::CameraStatusChanged(_) => "camera.status_changed",
        Event::PresenceSummaryChanged(_) => "summary.changed",
        Event::EmployeeDetected(_) => "employee.detected",
        Event::UnknownFaceSeen(_) => "unknown_face.detected",
        Event::EmployeeChanged { .. }
        | Event::CameraChanged { .. }
        | Event::NotificationsRead { .. } => return None,
    })
}

/// An event's `data` (built only when some webhook wants the event).
fn event_data(event: &Event) -> Value {
    match event {
        Event::EmployeeStatusChanged(presence) => event_json::employee(presence),
        Event::NotificationCreated(record) => event_json::notification(record),
        Event::CameraStatusChanged(camera) => event_json::camera(camera),
        Event::PresenceSummaryChanged(counts) => event_json::summary(counts),
        Event::EmployeeDetected(detection) => event_json::detection(detection),
        Event::UnknownFaceSeen(unknown) => event_json::unknown_face(unknown),
        Event::EmployeeChanged { .. }
        | Event::CameraChanged { .. }
        | Event::NotificationsRead { .. } => Value::Null,
    }
}

/// How far from its own clock a receiver should accept a delivery's timestamp.
pub const SIGNATURE_TOLERANCE: Duration = Duration::from_secs(300);

/// `sha256=` and the hex HMAC-SHA256, under `secret`, of `timestamp`, `.` and `body`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The delivery id of a durable event, the same whichever node delivers it (a receiver
/// drops a repeat across a change of leader): `notification-{id}`,
/// `employee-{id}-{status_version}`, `camera-{id}-{status_version}`. None for the others
/// (detections, unknown faces, record changes), which get an id of this process's own.
fn delivery_id(event: &Event) -> Option<String> {
    match event {
        Event::NotificationCreated(record) => {
            Some(format!("notification-{}", record.notification.id))
        }
        Event::EmployeeStatusChanged(presence) => presence.tracking.as_ref().map(|t| {
            format!(
                "employee-{}-{}",
                presence.employee.employee_id, t.status_version
            )
        }),
        Event::CameraStatusChanged(camera) => Some(format!(
            "camera-{}-{}",
            camera.camera_id, camera.status_version
        )),
        _ => None,
    }
}

/// One delivery, ready to send.
struct Delivery {
    event: &'static str,
    id: String,
    body: Vec<u8>,
}

/// How long deliveries still queued get to go out when the server stops.
pub const STOP_GRACE: Duration = Duration::from_secs(3);

/// The running webhooks.
pub struct Webhooks {
    /// Reads the event bus and queues deliveries; it holds every queue's sending side.
    reader: JoinHandle<()>,
    /// One per webhook, delivering its queue in order.
    senders: Vec<JoinHandle<()>>,
}

impl Webhooks {
    /// Starts a sender per webhook and one task that reads the event bus for them all.
    pub fn spawn(
        configs: &[WebhookConfig],
        events: &EventBus,
        counters: Arc<IntegrationCounters>,
    ) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(WEBHOOK_TIMEOUT)
            .user_agent(concat!("hadir/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot make an HTTP client: {e}"))?;
        let mut routes = Vec::new();
        let mut senders = Vec::new();
        for config in configs {
            let wanted = config.wanted_events()?;
            let (sender, receiver) = mpsc::channel::<Arc<Delivery>>(WEBHOOK_QUEUE);
            senders.push(tokio::spawn(send_in_order(
                http.clone(),
                config.url.trim().to_owned(),
                shown(&config.url),
                config.secret.clone().filter(|s| !s.is_empty()),
                receiver,
                counters.clone(),
            )));
            routes.push((wanted, sender, shown(&config.url)));
        }
        let mut bus = events.subscribe();
        let reader = tokio::spawn(async move {
            let mut next_id: u64 = 0;
            let started = Utc::now().timestamp_millis();
            loop {
                let event = match bus.recv().await {
                    Ok(event) => event,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!("webhooks: {missed} events missed (fell behind)");
                        continue;
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                };
                let Some(name) = event_name(&event) else {
                    continue;
                };
                if !routes.iter().any(|(wanted, _, _)| wanted.contains(&name)) {
                    continue;
                }
                let data = event_data(&event);
                next_id += 1;
                let id = delivery_id(&event).unwrap_or_else(|| format!("{started:x}-{next_id}"));
                let body = json!({
                    "event": name,
                    "deliveryId": id,
                    "occurredAt": Utc::now().to_rfc3339(),
                    "data": data,
                })
                .to_string()
                .into_bytes();
                let delivery = Arc::new(Delivery {
                    event: name,
                    id,
                    body,
                });
                for (wanted, sender, url) in &routes {
                    if wanted.contains(&name) && sender.try_send(delivery.clone()).is_err() {
                        counters.webhook_dropped.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(%url, event = name, "webhook queue full: delivery dropped");
                    }
                }
            }
        });
        Ok(Self { reader, senders })
    }

    /// Stops taking events, gives the deliveries still queued [`STOP_GRACE`] to go out (a
    /// retry's wait included), then stops the senders. True when every queue was emptied.
    pub async fn stop(self) -> bool {
        self.reader.abort();
        // The reader held the queues' sending sides: with it gone, each sender ends once
        // its queue is empty.
        let _ = self.reader.await;
        let aborts: Vec<_> = self.senders.iter().map(JoinHandle::abort_handle).collect();
        let flushed =
            tokio::time::timeout(STOP_GRACE, futures_util::future::join_all(self.senders))
                .await
                .is_ok();
        for abort in aborts {
            abort.abort();
        }
        flushed
    }
}

/// Delivers one webhook's queue in order, each delivery retried as documented above.
async fn send_in_order(
    http: reqwest::Client,
    url: String,
    shown_url: String,
    secret: Option<String>,
    mut queue: mpsc::Receiver<Arc<Delivery>>,
    counters: Arc<IntegrationCounters>,
) {
    while let Some(delivery) = queue.recv().await {
        let mut backoff = Backoff::new(FIRST_RETRY_DELAY, MAX_RETRY_DELAY);
        for attempt in 1..=WEBHOOK_ATTEMPTS {
            // Each attempt is signed at its own time: a retry is not taken for a replay.
            let timestamp = Utc::now().timestamp();
            let mut request = http
                .post(&url)
                .header("content-type", "application/json")
                .header("x-hadir-event", delivery.event)
                .header("x-hadir-delivery", &delivery.id)
                .header("x-hadir-timestamp", timestamp.to_string())
                .body(delivery.body.clone());
            if let Some(secret) = &secret {
                request = request.header(
                    "x-hadir-signature",
                    signature(secret, timestamp, &delivery.body),
                );
            }
            let failure = match request.send().await {
                Ok(response) if response.status().is_success() => None,
                Ok(response) => Some(format!("answered {}", response.status())),
                Err(error) => Some(error.without_url().to_string()),
            };
            let Some(failure) = failure else {
                counters.webhook_delivered.fetch_add(1, Ordering::Relaxed);
                break;
            };
            if attempt == WEBHOOK_ATTEMPTS {
                counters.webhook_dropped.fetch_add(1, Ordering::Relaxed);
                tracing::error!(url = %shown_url, event = delivery.event, delivery = %delivery.id,
                    "webhook delivery dropped after {attempt} attempts: {failure}");
                break;
            }
            counters.webhook_retried.fetch_add(1, Ordering::Relaxed);
            let delay = backoff.next_wait();
            tracing::warn!(url = %shown_url, event = delivery.event, delivery = %delivery.id,
                "webhook attempt {attempt} failed ({failure}); retrying in {delay:?}");
            tokio::time::sleep(delay).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_hmac_sha256_of_the_timestamp_and_body() {
        // RFC 4231's key of test case 2; the value from Python's hmac module.
        assert_eq!(
            signature("Jefe", 1_700_000_000, b"what do ya want for nothing?"),
            "sha256=1cdd0650c8be1cb0974b1788d458b1e781206cfef59b85faafc582d2e182c57e"
        );
        assert_ne!(
            signature("Jefe", 1_700_000_001, b"what do ya want for nothing?"),
            signature("Jefe", 1_700_000_000, b"what do ya want for nothing?"),
            "another time, another signature"
        );
    }
}
