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
//!
//! - [`replay`]: a new leader (or a restart after a crash) first posts the notifications
//!   created after the last one delivered.
//! - [`settings`]: `[[webhooks]]` and `HADIR_WEBHOOK_*`.

pub mod replay;
pub mod settings;

use std::{
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use chrono::Utc;
use hmac::{Hmac, Mac};
use sea_orm::DatabaseConnection;
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
    /// The notification it posts, if it is one (recorded as delivered once accepted).
    notification: Option<i64>,
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
    /// Starts a sender per webhook and one task that reads the event bus for them all. With
    /// `db`, the notifications not delivered yet (a new leader's, a restart's) go first
    /// ([`replay`]), and each notification delivered is recorded there.
    pub fn spawn(
        configs: &[WebhookConfig],
        events: &EventBus,
        counters: Arc<IntegrationCounters>,
        db: Option<DatabaseConnection>,
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
                Target {
                    http: http.clone(),
                    url: config.url.trim().to_owned(),
                    shown_url: shown(&config.url),
                    secret: config.secret.clone().filter(|s| !s.is_empty()),
                    db: db.clone(),
                },
                receiver,
                counters.clone(),
            )));
            routes.push((wanted, sender, shown(&config.url)));
        }
        // Subscribed before the replay is read: nothing falls between the two.
        let mut bus = events.subscribe();
        let reader = tokio::spawn(async move {
            let mut queue = Queue {
                routes,
                counters,
                next_id: 0,
                started: Utc::now().timestamp_millis(),
            };
            let mut replayed_through = 0;
            if let Some(db) = &db {
                match replay::pending(db).await {
                    Ok(records) => {
                        if !records.is_empty() {
                            tracing::info!(
                                notifications = records.len(),
                                "webhooks: posting the notifications not delivered yet"
                            );
                        }
                        for record in records {
                            replayed_through = replayed_through.max(record.notification.id);
                            queue.push(&Event::NotificationCreated(record));
                        }
                    }
                    Err(error) => tracing::warn!(%error, "webhooks: cannot read what to replay"),
                }
            }
            loop {
                let event = match bus.recv().await {
                    Ok(event) => event,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!("webhooks: {missed} events missed (fell behind)");
                        continue;
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                };
                if let Event::NotificationCreated(record) = &*event
                    && record.notification.id <= replayed_through
                {
                    continue; // queued by the replay already
                }
                queue.push(&event);
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

/// One webhook's route: the events it wants, its queue, its URL as logs show it.
type Route = (Vec<&'static str>, mpsc::Sender<Arc<Delivery>>, String);

/// The queues of every webhook, and the ids of deliveries of events that have none.
struct Queue {
    routes: Vec<Route>,
    counters: Arc<IntegrationCounters>,
    next_id: u64,
    started: i64,
}

impl Queue {
    /// Queues `event` for every webhook that wants it (dropped and counted where a queue is
    /// full).
    fn push(&mut self, event: &Event) {
        let Some(name) = event_name(event) else {
            return;
        };
        if !self
            .routes
            .iter()
            .any(|(wanted, _, _)| wanted.contains(&name))
        {
            return;
        }
        self.next_id += 1;
        let id =
            delivery_id(event).unwrap_or_else(|| format!("{:x}-{}", self.started, self.next_id));
        let body = json!({
            "event": name,
            "deliveryId": id,
            "occurredAt": crate::clock::rfc3339(&Utc::now()),
            "data": event_data(event),
        })
        .to_string()
        .into_bytes();
        let notification = match event {
            Event::NotificationCreated(record) => Some(record.notification.id),
            _ => None,
        };
        let delivery = Arc::new(Delivery {
            event: name,
            id,
            body,
            notification,
        });
        for (wanted, sender, url) in &self.routes {
            if wanted.contains(&name) && sender.try_send(delivery.clone()).is_err() {
                self.counters
                    .webhook_dropped
                    .fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%url, event = name, "webhook queue full: delivery dropped");
            }
        }
    }
}

/// Where one webhook posts.
struct Target {
    http: reqwest::Client,
    url: String,
    shown_url: String,
    secret: Option<String>,
    /// Where delivered notifications are recorded (None: nowhere).
    db: Option<DatabaseConnection>,
}

/// Delivers one webhook's queue in order, each delivery retried as documented above.
async fn send_in_order(
    target: Target,
    mut queue: mpsc::Receiver<Arc<Delivery>>,
    counters: Arc<IntegrationCounters>,
) {
    let Target {
        http,
        url,
        shown_url,
        secret,
        db,
    } = target;
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
                if let (Some(db), Some(id)) = (&db, delivery.notification)
                    && let Err(error) = replay::record_delivered(db, id).await
                {
                    tracing::warn!(%error, "webhooks: cannot record a delivered notification");
                }
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
