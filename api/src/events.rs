//! The event bus: every change the server makes is published here once, and every
//! subscriber (GraphQL subscriptions now; MQTT and webhooks later) reads it from here.
//!
//! Events carry complete snapshots (employee, presence, camera), so that delivering one to
//! many subscribers needs no database read per subscriber.
//!
//! In a cluster (several processes on one PostgreSQL) the relay attaches an outbox
//! ([`EventBus::attach_relay`]): every event published here is also queued for the other
//! nodes, and what they publish comes back through [`EventBus::deliver_remote`], delivered
//! here only. On SQLite nothing is attached and the bus is the process's alone.

use std::sync::{
    Arc, OnceLock,
    atomic::{AtomicU64, Ordering},
};

use chrono::{DateTime, Utc};
use entity::{camera, notification};
use tokio::sync::{broadcast, mpsc};

use crate::presence::view::{EmployeePresence, PresenceCounts};

/// Events buffered per subscriber before a slow one starts missing them.
pub const EVENT_BUS_CAPACITY: usize = 4_096;
/// Events queued for the relay before further ones are dropped from it (and counted): the
/// publisher never waits for the other nodes.
pub const RELAY_OUTBOX_CAPACITY: usize = 16_384;

/// A face recognised at a camera (each current sighting, whether or not the status changed).
#[derive(Clone, Debug)]
pub struct Detection {
    pub presence: EmployeePresence,
    pub camera: camera::Model,
    pub seen_at: DateTime<Utc>,
    pub score: Option<f64>,
    /// The face track that was recognised (None: a sighting reported through the API).
    pub track_id: Option<String>,
}

/// A face nobody enrolled is close to, at a camera (no image is kept).
#[derive(Clone, Debug)]
pub struct UnknownFace {
    pub camera: camera::Model,
    pub seen_at: DateTime<Utc>,
    /// The best similarity to anyone enrolled, where the gallery has anyone.
    pub best_score: Option<f64>,
    /// The face track nobody matched (None: reported through the API).
    pub track_id: Option<String>,
}

/// A notification as written, with what it refers to.
#[derive(Clone, Debug)]
pub struct NotificationRecord {
    pub notification: notification::Model,
    pub employee: Option<EmployeePresence>,
    pub camera: Option<camera::Model>,
}

/// What happened to an employee or camera record (not to their presence or status).
#[derive(Copy, Clone, Debug, Eq, PartialEq)]
pub enum ChangeKind {
    Created,
    Updated,
    Deleted,
}

/// One change, as published.
#[derive(Clone, Debug)]
pub enum Event {
    EmployeeStatusChanged(EmployeePresence),
    EmployeeDetected(Detection),
    UnknownFaceSeen(UnknownFace),
    EmployeeChanged {
        kind: ChangeKind,
        employee_id: String,
        presence: Option<EmployeePresence>,
    },
    NotificationCreated(NotificationRecord),
    /// Notifications were marked read: these ids, or every one (`all`); the unread count
    /// after.
    NotificationsRead {
        notification_ids: Vec<i64>,
        all: bool,
        unread_count: u64,
    },
    CameraStatusChanged(camera::Model),
    CameraChanged {
        kind: ChangeKind,
        camera_id: String,
        camera: Option<camera::Model>,
    },
    PresenceSummaryChanged(PresenceCounts),
}

/// The bus: cheap to clone, one sender shared by the whole process.
#[derive(Clone, Debug)]
pub struct EventBus {
    sender: broadcast::Sender<Arc<Event>>,
    /// The relay's queue, once a relay is attached (shared by every clone).
    outbox: Arc<OnceLock<Outbox>>,
}

/// Where published events wait for the relay.
#[derive(Debug)]
struct Outbox {
    queue: mpsc::Sender<Arc<Event>>,
    /// Events the relay did not get: its queue was full, or it had stopped.
    dropped: AtomicU64,
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new(EVENT_BUS_CAPACITY)
    }
}

impl EventBus {
    pub fn new(capacity: usize) -> Self {
        let (sender, _) = broadcast::channel(capacity);
        Self {
            sender,
            outbox: Arc::default(),
        }
    }

    /// Publishes an event to everyone subscribed here now (nobody listening is fine) and, when
    /// a relay is attached, queues it for the other nodes without waiting: when the queue is
    /// full the event is dropped from the relay and counted ([`Self::relay_dropped`]).
    pub fn publish(&self, event: Event) {
        let event = Arc::new(event);
        let _ = self.sender.send(event.clone());
        if let Some(outbox) = self.outbox.get()
            && outbox.queue.try_send(event).is_err()
        {
            outbox.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Delivers an event another node published, to everyone subscribed here only (it is
    /// never relayed again).
    pub fn deliver_remote(&self, event: Arc<Event>) {
        let _ = self.sender.send(event);
    }

    /// Attaches the relay: from now on every published event is also queued on the returned
    /// receiver ([`RELAY_OUTBOX_CAPACITY`] at most). None when a relay is attached already
    /// (one per bus).
    pub fn attach_relay(&self) -> Option<mpsc::Receiver<Arc<Event>>> {
        let (queue, receiver) = mpsc::channel(RELAY_OUTBOX_CAPACITY);
        self.outbox
            .set(Outbox {
                queue,
                dropped: AtomicU64::new(0),
            })
            .ok()
            .map(|()| receiver)
    }

    /// Events dropped from the relay (its queue full or closed); 0 when none is attached.
    pub fn relay_dropped(&self) -> u64 {
        self.outbox
            .get()
            .map_or(0, |o| o.dropped.load(Ordering::Relaxed))
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.sender.subscribe()
    }

    pub fn subscriber_count(&self) -> usize {
        self.sender.receiver_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presence::view::PresenceCounts;

    fn summary(present: i64) -> Event {
        Event::PresenceSummaryChanged(PresenceCounts {
            present,
            ..Default::default()
        })
    }

    fn present_of(event: &Event) -> Option<i64> {
        match event {
            Event::PresenceSummaryChanged(counts) => Some(counts.present),
            _ => None,
        }
    }

    #[tokio::test]
    async fn published_events_reach_the_relay_and_remote_ones_do_not() {
        let bus = EventBus::default();
        let mut local = bus.subscribe();
        let mut outbox = bus.attach_relay().expect("the first relay attaches");
        assert!(bus.attach_relay().is_none(), "one relay per bus");
        bus.clone().publish(summary(1));
        bus.deliver_remote(Arc::new(summary(2)));
        assert_eq!(present_of(&local.recv().await.unwrap()), Some(1));
        assert_eq!(present_of(&local.recv().await.unwrap()), Some(2));
        assert_eq!(present_of(&outbox.recv().await.unwrap()), Some(1));
        assert!(
            outbox.try_recv().is_err(),
            "a remote event is not relayed again"
        );
    }

    #[tokio::test]
    async fn a_full_outbox_drops_and_counts_without_blocking() {
        let bus = EventBus::new(8);
        let mut outbox = bus.attach_relay().expect("attached");
        for n in 0..RELAY_OUTBOX_CAPACITY as i64 + 3 {
            bus.publish(summary(n));
        }
        assert_eq!(bus.relay_dropped(), 3);
        assert_eq!(present_of(&outbox.recv().await.unwrap()), Some(0));
        drop(outbox);
        bus.publish(summary(0));
        assert_eq!(
            bus.relay_dropped(),
            4,
            "a stopped relay's events are counted too"
        );
    }

    #[test]
    fn without_a_relay_nothing_is_queued_or_dropped() {
        let bus = EventBus::default();
        bus.publish(summary(1));
        assert_eq!(bus.relay_dropped(), 0);
    }
}
