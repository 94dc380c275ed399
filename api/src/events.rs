//! The event bus: every change the server makes is published here once, and every
//! subscriber (GraphQL subscriptions now; MQTT and webhooks later) reads it from here.
//!
//! Events carry complete snapshots (employee, presence, camera), so that delivering one to
//! many subscribers needs no database read per subscriber.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use entity::{camera, notification};
use tokio::sync::broadcast;

use crate::presence::view::{EmployeePresence, PresenceCounts};

/// Events buffered per subscriber before a slow one starts missing them.
pub const EVENT_BUS_CAPACITY: usize = 4_096;

/// A face recognised at a camera (each current sighting, whether or not the status changed).
#[derive(Clone, Debug)]
pub struct Detection {
    pub presence: EmployeePresence,
    pub camera: camera::Model,
    pub seen_at: DateTime<Utc>,
    pub score: Option<f64>,
}

/// A face nobody enrolled is close to, at a camera (no image is kept).
#[derive(Clone, Debug)]
pub struct UnknownFace {
    pub camera: camera::Model,
    pub seen_at: DateTime<Utc>,
    /// The best similarity to anyone enrolled, where the gallery has anyone.
    pub best_score: Option<f64>,
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
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new(EVENT_BUS_CAPACITY)
    }
}

impl EventBus {
    pub fn new(capacity: usize) -> Self {
        let (sender, _) = broadcast::channel(capacity);
        Self { sender }
    }

    /// Publishes an event to everyone subscribed now; nobody listening is fine.
    pub fn publish(&self, event: Event) {
        let _ = self.sender.send(Arc::new(event));
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.sender.subscribe()
    }

    pub fn subscriber_count(&self) -> usize {
        self.sender.receiver_count()
    }
}
