//! The cross-node event relay: every event published on one node reaches the subscribers of
//! every other node once. The sending side takes events from the event bus's outbox and
//! sends them in batches (5 ms or 100 events, whichever first) in a transaction of their own,
//! numbered per instance; the receiving side is [`super::receiver`]. The transport is a
//! [`ClusterBus`] ([`PgBus`] on PostgreSQL).
//!
//! [`Relay::new`] attaches to the bus and returns the [`RelayHandle`] (metrics, health,
//! control messages, resyncs) and the two futures to run until the server stops.

use std::{future::Future, pin::Pin, sync::Arc, time::Duration};

use sea_orm::DatabaseConnection;
use tokio::sync::{broadcast, mpsc};

use super::{
    bus::{BusError, ClusterBus, Outgoing, PgBus},
    control::{self, ControlMessage},
    counters::{self, RelayCounters},
    health::RelayHealth,
    receiver::Receiver,
    resync::Resync,
    shared::{LOG_EVERY, Shared, Throttle},
    wire,
};
use crate::{
    backoff::Backoff,
    events::{Event, EventBus},
};

/// The most events sent in one batch. A batch is what queued while the one before was being
/// sent: no event waits for company (at a low rate each goes at once; at a high rate the
/// batches fill by themselves while a transaction is in flight).
pub const BATCH_MAX: usize = 100;
/// How long events sent by reference are kept in `cluster_payloads`.
pub const PAYLOAD_RETENTION: Duration = Duration::from_secs(300);
/// How often old payloads are purged.
pub const PURGE_INTERVAL: Duration = Duration::from_secs(60);
/// The first wait after a batch could not be sent, doubling up to [`SEND_BACKOFF_CAP`].
pub const SEND_BACKOFF_FIRST: Duration = Duration::from_millis(100);
pub const SEND_BACKOFF_CAP: Duration = Duration::from_secs(5);

/// Who the relay is.
#[derive(Clone, Debug)]
pub struct RelaySettings {
    /// This process's instance id (drawn at each start: [`super::identity::new_instance_id`]).
    pub instance_id: String,
    /// This node's id (`cluster.node_id`).
    pub node_id: String,
    /// A direct, session-mode PostgreSQL URL to listen on (`cluster.listen_url`, by default
    /// the database URL).
    pub listen_url: String,
}

/// Why the relay cannot start.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("the event relay needs PostgreSQL (on SQLite a process is a cluster of one)")]
    NotPostgres,
    #[error("a relay is attached to this event bus already")]
    AlreadyAttached,
}

/// A future the composition root runs until the server stops.
pub type RelayTask = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A relay, ready to run.
pub struct Relay {
    pub handle: RelayHandle,
    /// Sends what this node publishes.
    pub sender: RelayTask,
    /// Hears what the others publish (and pings, and resyncs).
    pub receiver: RelayTask,
}

/// The application name of the listening session, by which it can be found in
/// `pg_stat_activity`.
pub fn listener_application_name(instance_id: &str) -> String {
    format!("hadir-relay-{instance_id}")
}

impl Relay {
    /// A relay over PostgreSQL: sends on `db`, listens on `settings.listen_url`.
    pub fn new(
        db: DatabaseConnection,
        events: &EventBus,
        settings: RelaySettings,
    ) -> Result<Self, RelayError> {
        let bus = PgBus::new(
            &db,
            &settings.instance_id,
            &settings.listen_url,
            &listener_application_name(&settings.instance_id),
        )
        .ok_or(RelayError::NotPostgres)?;
        Self::with_bus(db, events, settings, Arc::new(bus))
    }

    /// A relay over any transport.
    pub fn with_bus(
        db: DatabaseConnection,
        events: &EventBus,
        settings: RelaySettings,
        bus: Arc<dyn ClusterBus>,
    ) -> Result<Self, RelayError> {
        let outbox = events.attach_relay().ok_or(RelayError::AlreadyAttached)?;
        let shared = Arc::new(Shared::new(settings.instance_id, settings.node_id));
        let receiver = Receiver::new(shared.clone(), bus.clone(), db, events.clone());
        Ok(Self {
            handle: RelayHandle {
                shared: shared.clone(),
                bus: bus.clone(),
                events: events.clone(),
            },
            sender: Box::pin(send(outbox, bus, shared)),
            receiver: Box::pin(receiver.run()),
        })
    }
}

/// What the rest of the node sees of the relay; cheap to clone.
#[derive(Clone)]
pub struct RelayHandle {
    shared: Arc<Shared>,
    bus: Arc<dyn ClusterBus>,
    events: EventBus,
}

impl RelayHandle {
    pub fn instance_id(&self) -> &str {
        &self.shared.instance_id
    }

    pub fn counters(&self) -> &RelayCounters {
        &self.shared.counters
    }

    /// The listener's health, for `/healthz` (503 when not `healthy`).
    pub fn health(&self) -> RelayHealth {
        self.shared.health.report()
    }

    /// The relay's metrics in the Prometheus text format.
    pub fn render_metrics(&self) -> String {
        counters::render(
            &self.shared.counters,
            self.events.relay_dropped(),
            self.health().listener_up,
        )
    }

    /// Control messages from the other nodes, as they arrive (pings aside).
    pub fn subscribe_control(&self) -> broadcast::Receiver<ControlMessage> {
        self.shared.control.subscribe()
    }

    /// Every resync once it has run: the camera supervisor and the gallery catch up too.
    pub fn subscribe_resyncs(&self) -> broadcast::Receiver<Resync> {
        self.shared.resyncs.subscribe()
    }

    /// Sends a control message to the other nodes.
    pub async fn send_control(&self, message: &ControlMessage) -> Result<(), BusError> {
        let payload = control::encode(&self.shared.instance_id, message)?;
        self.bus.send_control(&payload).await
    }

    /// Tells the others this node leaves (at a clean stop, after the relay's tasks ended).
    pub async fn leave(&self) -> Result<(), BusError> {
        self.send_control(&ControlMessage::NodeLeft {
            node_id: self.shared.node_id.clone(),
        })
        .await
    }
}

/// The sending loop: batches from the outbox, numbered, sent in one transaction each.
async fn send(
    mut outbox: mpsc::Receiver<Arc<Event>>,
    bus: Arc<dyn ClusterBus>,
    shared: Arc<Shared>,
) {
    let counters = &shared.counters;
    let mut sequence = 0u64;
    let mut backoff = Backoff::new(SEND_BACKOFF_FIRST, SEND_BACKOFF_CAP);
    let failures = Throttle::new(LOG_EVERY);
    let mut purged_at = tokio::time::Instant::now();
    while let Some(first) = outbox.recv().await {
        let mut batch = vec![first];
        while batch.len() < BATCH_MAX {
            match outbox.try_recv() {
                Ok(event) => batch.push(event),
                Err(_) => break,
            }
        }
        let mut outgoing = Vec::with_capacity(batch.len());
        {
            let mut delivered = shared.delivered();
            for event in &batch {
                delivered.note_local(event);
            }
        }
        for event in &batch {
            match wire::encode(&shared.instance_id, sequence + 1, event) {
                Ok(envelope) => {
                    sequence += 1;
                    outgoing.push(Outgoing { sequence, envelope });
                }
                Err(error) => {
                    RelayCounters::add(&counters.sent_dropped, 1);
                    tracing::warn!(%error, "cluster relay: an event cannot be encoded; not sent");
                }
            }
        }
        if outgoing.is_empty() {
            continue;
        }
        let n = outgoing.len() as u64;
        match bus.send_events(&outgoing).await {
            Ok(()) => {
                RelayCounters::add(&counters.sent_ok, n);
                backoff.reset();
            }
            Err(error) => {
                // Their numbers are spent: the receivers see a gap and resync.
                RelayCounters::add(&counters.sent_dropped, n);
                if failures.allow() {
                    tracing::warn!(%error, events = n, "cluster relay: cannot send events (logged at most once a minute)");
                }
                tokio::time::sleep(backoff.next_wait()).await;
            }
        }
        if purged_at.elapsed() >= PURGE_INTERVAL {
            purged_at = tokio::time::Instant::now();
            if let Err(error) = bus.purge_payloads(PAYLOAD_RETENTION).await {
                tracing::debug!(%error, "cluster relay: cannot purge old payloads");
            }
        }
    }
}
