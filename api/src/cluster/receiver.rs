//! The relay's receiving side: one listening session at a time (rebuilt after an error,
//! waiting 1 s doubling to 30 s), every event of another node delivered once through
//! [`EventBus::deliver_remote`]: its own events and repeats dropped, gaps counted and made
//! good by a resync, statuses no newer than delivered dropped, the aggregates (summary,
//! unread count) recomputed here at most [`AGGREGATES_PER_SECOND`] times a second instead
//! of trusted. It pings itself every 5 s through the control channel: its own ping coming
//! back proves the listener alive.
//!
//! Length: one state machine — the session loop, what it dispatches and what starts a
//! resync all read and change the same receiver state; split, they would hand it around.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use tokio::sync::mpsc;

use super::{
    bus::{BusError, BusListener, Channel, ClusterBus, Incoming},
    control::{self, ControlMessage},
    counters::{RelayCounters, ResyncReason},
    delivered::{Admission, Sequence},
    health::{NEVER_HEARD, PING_INTERVAL, PING_TIMEOUT, QUEUE_USAGE_WARN},
    recompute::{self, AGGREGATES_PER_SECOND, Aggregates},
    resync::{self, Resync},
    shared::{AbortOnDrop, LOG_EVERY, Shared, Throttle},
    wire::{self, Body, WireError},
};
use crate::{
    backoff::Backoff,
    events::{Event, EventBus},
};

/// The first wait before listening again after a failure.
pub const LISTEN_BACKOFF_FIRST: Duration = Duration::from_secs(1);
/// The longest wait before listening again.
pub const LISTEN_BACKOFF_CAP: Duration = Duration::from_secs(30);
/// Messages heard and not yet handled, per session.
pub const HEARD_BUFFER: usize = 4_096;

/// How a listening session ended.
enum SessionEnd {
    Failed(BusError),
    /// Its own ping did not come back for [`PING_TIMEOUT`].
    Deaf,
}

/// The notification queue's usage is read at every this many pings (30 s at the 5 s ping).
pub const QUEUE_USAGE_EVERY_PINGS: u64 = 6;

/// The receiving loop.
pub struct Receiver {
    shared: Arc<Shared>,
    bus: Arc<dyn ClusterBus>,
    db: DatabaseConnection,
    events: EventBus,
    aggregates: Aggregates,
    /// The stream URLs of cameras, as read from this node's table.
    urls: recompute::UrlCache,
    /// Pings sent (the queue's usage is read at every [`QUEUE_USAGE_EVERY_PINGS`]th).
    pings: u64,
    /// The last moment (wall clock) the listener was known to hear: a gap starts there.
    last_heard: DateTime<Utc>,
    last_own_ping: Instant,
    rejected_log: Throttle,
    unknown_version_resync: Throttle,
    problems_log: Throttle,
    deaf_log: Throttle,
}

impl Receiver {
    pub fn new(
        shared: Arc<Shared>,
        bus: Arc<dyn ClusterBus>,
        db: DatabaseConnection,
        events: EventBus,
    ) -> Self {
        Self {
            shared,
            bus,
            db,
            events,
            aggregates: Aggregates::default(),
            urls: recompute::UrlCache::default(),
            pings: 0,
            last_heard: Utc::now(),
            last_own_ping: Instant::now(),
            rejected_log: Throttle::new(LOG_EVERY),
            unknown_version_resync: Throttle::new(LOG_EVERY),
            problems_log: Throttle::new(LOG_EVERY),
            deaf_log: Throttle::new(LOG_EVERY),
        }
    }

    /// Listens until the relay stops (the composition root cancels it).
    pub async fn run(mut self) {
        let mut backoff = Backoff::new(LISTEN_BACKOFF_FIRST, LISTEN_BACKOFF_CAP);
        let mut resync_due: Option<Resync> = None;
        let mut joined = false;
        loop {
            let listener = match self.bus.listen().await {
                Ok(listener) => listener,
                Err(error) => {
                    tracing::warn!(%error, "cluster relay: cannot listen; retrying");
                    resync_due.get_or_insert(self.resync_after(ResyncReason::ListenerError));
                    tokio::time::sleep(backoff.next_wait()).await;
                    continue;
                }
            };
            self.shared.health.connected();
            if let Some(due) = resync_due.take() {
                RelayCounters::add(&self.shared.counters.listener_reconnects, 1);
                self.resync(due).await;
            }
            if !joined {
                joined = true;
                self.send_control(ControlMessage::NodeJoined {
                    node_id: self.shared.node_id.clone(),
                })
                .await;
            }
            let end = self.session(listener, &mut backoff).await;
            self.shared.health.disconnected();
            let reason = match end {
                SessionEnd::Failed(error) => {
                    tracing::warn!(%error, "cluster relay: the listener failed; listening anew");
                    ResyncReason::ListenerError
                }
                SessionEnd::Deaf => ResyncReason::PingTimeout,
            };
            resync_due = Some(self.resync_after(reason));
            tokio::time::sleep(backoff.next_wait()).await;
        }
    }

    fn resync_after(&self, reason: ResyncReason) -> Resync {
        Resync {
            reason,
            since: resync::since(self.last_heard),
        }
    }

    /// One listening session, until it fails or goes deaf.
    async fn session(
        &mut self,
        mut listener: Box<dyn BusListener>,
        backoff: &mut Backoff,
    ) -> SessionEnd {
        let (heard, mut next) = mpsc::channel(HEARD_BUFFER);
        let reader = tokio::spawn(async move {
            loop {
                let message = listener.recv().await;
                let failed = message.is_err();
                if heard.send(message).await.is_err() || failed {
                    return;
                }
            }
        });
        let _reader = AbortOnDrop(reader.abort_handle());
        self.last_own_ping = Instant::now();
        let mut ping = tokio::time::interval(PING_INTERVAL);
        let mut flush =
            tokio::time::interval(Duration::from_secs(1) / AGGREGATES_PER_SECOND.max(1));
        flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                message = next.recv() => match message {
                    Some(Ok(Some(incoming))) => self.handle(incoming, backoff).await,
                    Some(Ok(None)) => {
                        tracing::warn!("cluster relay: the listening connection was lost and made again");
                        RelayCounters::add(&self.shared.counters.listener_reconnects, 1);
                        let due = self.resync_after(ResyncReason::ConnectionLost);
                        self.resync(due).await;
                    }
                    Some(Err(error)) => return SessionEnd::Failed(error),
                    None => return SessionEnd::Failed(BusError::ListenerEnded),
                },
                _ = ping.tick() => {
                    if self.last_own_ping.elapsed() >= PING_TIMEOUT {
                        if self.shared.health.never_heard() {
                            if self.deaf_log.allow() {
                                tracing::error!("{NEVER_HEARD}");
                            }
                        } else {
                            tracing::warn!(
                                "cluster relay: this node's own ping has not come back for {} s; \
                                 listening anew",
                                PING_TIMEOUT.as_secs()
                            );
                        }
                        return SessionEnd::Deaf;
                    }
                    self.ping().await;
                }
                _ = flush.tick() => self.aggregates.flush(&self.db, &self.events).await,
            }
        }
    }

    async fn handle(&mut self, incoming: Incoming, backoff: &mut Backoff) {
        match incoming.channel {
            Channel::Events => self.on_event(&incoming.payload).await,
            Channel::Control => self.on_control(&incoming.payload, backoff).await,
        }
    }

    /// A payload that is not a relay message, or of an unknown version: counted, logged at
    /// most once a minute; an unknown version resyncs (at most once a minute too).
    async fn reject(&mut self, error: &WireError, payload: &str) {
        RelayCounters::add(&self.shared.counters.received_rejected, 1);
        if self.rejected_log.allow() {
            let start: String = payload.chars().take(80).collect();
            tracing::warn!(%error, payload = %start, "cluster relay: ignored a message it cannot read (logged at most once a minute)");
        }
        if matches!(error, WireError::UnknownVersion(_)) && self.unknown_version_resync.allow() {
            let due = self.resync_after(ResyncReason::UnknownVersion);
            self.resync(due).await;
        }
    }

    async fn on_event(&mut self, payload: &str) {
        let notice = match wire::decode(payload) {
            Ok(notice) => notice,
            Err(error) => return self.reject(&error, payload).await,
        };
        let now = Utc::now();
        self.last_heard = now;
        if notice.origin == self.shared.instance_id {
            return;
        }
        let verdict = self
            .shared
            .delivered()
            .sequence(&notice.origin, notice.sequence, now);
        match verdict {
            Sequence::Repeat => {
                RelayCounters::add(&self.shared.counters.received_duplicate, 1);
                return;
            }
            Sequence::Gap { missing, since } => {
                RelayCounters::add(&self.shared.counters.received_lost, missing);
                tracing::warn!(
                    origin = %notice.origin,
                    missing,
                    "cluster relay: events from a node were missed; resyncing"
                );
                self.resync(Resync {
                    reason: ResyncReason::SequenceGap,
                    since: resync::since(since),
                })
                .await;
            }
            Sequence::First | Sequence::Next => {}
        }
        let event = match notice.body {
            Body::Inline(event) => *event,
            Body::Stored(id) => match self.load_stored(id, &notice.origin).await {
                Some(event) => event,
                None => {
                    RelayCounters::add(&self.shared.counters.received_lost, 1);
                    let due = self.resync_after(ResyncReason::PayloadMissing);
                    self.resync(due).await;
                    return;
                }
            },
        };
        self.deliver(event).await;
    }

    /// An event sent by reference, read back (None: gone, or unreadable; logged).
    async fn load_stored(&self, id: i64, origin: &str) -> Option<Event> {
        let text = match self.bus.load_payload(id).await {
            Ok(Some(text)) => text,
            Ok(None) => {
                tracing::warn!(id, "cluster relay: a stored event is gone (purged?)");
                return None;
            }
            Err(error) => {
                tracing::warn!(id, %error, "cluster relay: cannot read a stored event");
                return None;
            }
        };
        match wire::decode(&text) {
            Ok(stored) if stored.origin == origin => match stored.body {
                Body::Inline(event) => Some(*event),
                Body::Stored(_) => None,
            },
            Ok(_) => None,
            Err(error) => {
                tracing::warn!(id, %error, "cluster relay: a stored event cannot be read");
                None
            }
        }
    }

    /// Delivers an event of another node where it is news; aggregates wait for the flush.
    async fn deliver(&mut self, mut event: Event) {
        let counters = &self.shared.counters;
        if self.aggregates.fold(&event) {
            return RelayCounters::add(&counters.received_ok, 1);
        }
        if self.shared.delivered().admit(&event) != Admission::Fresh {
            return RelayCounters::add(&counters.received_stale, 1);
        }
        recompute::restore_urls(&self.db, &mut self.urls, &mut event).await;
        self.events.deliver_remote(Arc::new(event));
        RelayCounters::add(&counters.received_ok, 1);
    }

    async fn on_control(&mut self, payload: &str, backoff: &mut Backoff) {
        let notice = match control::decode(payload) {
            Ok(notice) => notice,
            Err(error) => return self.reject(&error, payload).await,
        };
        let own = notice.origin == self.shared.instance_id;
        self.last_heard = Utc::now();
        if let ControlMessage::Ping { sent_at, .. } = &notice.message {
            if own {
                let trip = (Utc::now() - *sent_at).to_std().unwrap_or_default();
                self.shared.counters.set_roundtrip(trip.as_secs_f64());
                self.shared.health.own_ping();
                self.last_own_ping = Instant::now();
                backoff.reset();
            }
            return;
        }
        if own {
            return;
        }
        if let ControlMessage::ResyncSince { since } = &notice.message {
            self.resync(Resync {
                reason: ResyncReason::Requested,
                since: *since,
            })
            .await;
        }
        let _ = self.shared.control.send(notice.message);
    }

    /// Resyncs from the database, then tells the rest of the node.
    async fn resync(&mut self, due: Resync) {
        self.shared.counters.resynced(due.reason);
        match resync::resync(&self.db, &self.events, &self.shared.delivered, due.since).await {
            Ok(report) => tracing::info!(
                reason = due.reason.as_str(),
                since = %due.since,
                statuses = report.statuses,
                cameras = report.cameras,
                notifications = report.notifications,
                "cluster relay: resynced from the database"
            ),
            Err(error) => tracing::warn!(
                reason = due.reason.as_str(),
                %error,
                "cluster relay: the resync failed"
            ),
        }
        if matches!(
            due.reason,
            ResyncReason::ConnectionLost | ResyncReason::ListenerError | ResyncReason::PingTimeout
        ) {
            // What a fresh session hears next is taken as it comes.
            self.shared.delivered().forget_sequences();
        }
        self.aggregates.summary = true;
        let _ = self.shared.resyncs.send(due);
    }

    async fn send_control(&self, message: ControlMessage) {
        let sent = match control::encode(&self.shared.instance_id, &message) {
            Ok(payload) => self.bus.send_control(&payload).await,
            Err(error) => Err(error.into()),
        };
        if let Err(error) = sent
            && self.problems_log.allow()
        {
            tracing::warn!(%error, "cluster relay: cannot send a control message");
        }
    }

    /// Pings itself, and every [`QUEUE_USAGE_EVERY_PINGS`] pings reads how full the
    /// notification queue is (a slow gauge: an idle node makes few queries).
    async fn ping(&mut self) {
        self.send_control(ControlMessage::Ping {
            instance: self.shared.instance_id.clone(),
            sent_at: Utc::now(),
        })
        .await;
        self.pings += 1;
        if self.pings % QUEUE_USAGE_EVERY_PINGS != 1 {
            return;
        }
        match self.bus.queue_usage().await {
            Ok(Some(usage)) => {
                self.shared.counters.set_queue_usage(usage);
                if usage > QUEUE_USAGE_WARN && self.problems_log.allow() {
                    tracing::warn!(
                        usage,
                        "cluster relay: PostgreSQL's notification queue is more than half full \
                         (a listener is not reading: a stuck node, or a long transaction)"
                    );
                }
            }
            Ok(None) => {}
            Err(error) => tracing::debug!(%error, "cluster relay: cannot read the queue usage"),
        }
    }
}
