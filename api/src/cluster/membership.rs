//! This node's place in the cluster, kept current: which cameras it reads and whether it is
//! the leader, as watch channels the camera supervisor and the leader's jobs follow.
//!
//! On PostgreSQL a loop renews the leases every third of a lease (every second after a
//! failure) and takes what the node's share allows; a node that could not renew within two
//! thirds of a lease stops its cameras and leader jobs itself ([`rules::fence_deadline`]),
//! before the database lets anyone else take them. On SQLite the node is a cluster of one:
//! it holds every camera and is always the leader, and nothing runs.

use std::{
    collections::BTreeMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use sea_orm::DatabaseConnection;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::{
    holdings::Holdings,
    leases::{self, LeaseError, NodeIdentity, TickRequest},
    rules::{self, ClockVerdict},
};

/// Why joining the cluster failed.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    #[error(
        "another hadir process runs as node {0:?} (its row in cluster_nodes is still being \
         renewed after one lease): give this one another HADIR_NODE_ID, or stop the other"
    )]
    IdInUse(String),
    #[error("cannot join the cluster: {0}")]
    Db(#[from] sea_orm::DbErr),
}

/// What the loop reports, for `/metrics` and `/healthz`.
#[derive(Debug, Default)]
pub struct MembershipCounters {
    pub renewals_ok: AtomicU64,
    pub renewals_failed: AtomicU64,
    pub cameras_held: AtomicUsize,
    pub live_nodes: AtomicUsize,
    /// This clock minus PostgreSQL's at the last tick.
    pub clock_skew_ms: AtomicI64,
    /// Stopped reading: no renewal within two thirds of a lease.
    pub fenced: AtomicBool,
}

/// The database side of a cluster on PostgreSQL.
struct Shared {
    db: DatabaseConnection,
    lease: Duration,
}

/// This node in the cluster. Cheap to share behind an `Arc`.
pub struct Cluster {
    pub identity: NodeIdentity,
    /// When this process joined (for a cluster of one: when it started).
    pub started_at: chrono::DateTime<chrono::Utc>,
    shared: Option<Shared>,
    holdings: watch::Sender<Holdings>,
    leader: watch::Sender<bool>,
    pub counters: MembershipCounters,
    /// When the last renewal that succeeded was sent.
    last_renewal: Mutex<Option<Instant>>,
    /// Cancelled when this node must stop: its id was taken by another process.
    fatal: CancellationToken,
    /// Asks for a tick now (a camera was created or enabled: take it at once).
    nudge: tokio::sync::Notify,
}

impl Cluster {
    /// A cluster of one (SQLite): every camera, always the leader.
    pub fn single(identity: NodeIdentity) -> Arc<Self> {
        Arc::new(Self {
            identity,
            started_at: chrono::Utc::now(),
            shared: None,
            holdings: watch::Sender::new(Holdings::All),
            leader: watch::Sender::new(true),
            counters: MembershipCounters {
                live_nodes: AtomicUsize::new(1),
                ..Default::default()
            },
            last_renewal: Mutex::new(None),
            fatal: CancellationToken::new(),
            nudge: tokio::sync::Notify::new(),
        })
    }

    /// Joins the cluster on PostgreSQL under this node's id: waits up to one lease for a
    /// row of another instance under the id to lapse (a restart after a crash), then gives up
    /// naming the id. Holds nothing until its first tick.
    pub async fn join(
        db: DatabaseConnection,
        identity: NodeIdentity,
        lease: Duration,
    ) -> Result<Arc<Self>, JoinError> {
        let deadline = Instant::now() + lease + Duration::from_secs(1);
        let mut waited = false;
        let mut joined_at = Instant::now();
        while !leases::try_join(&db, &identity, lease).await? {
            if Instant::now() >= deadline {
                return Err(JoinError::IdInUse(identity.node_id));
            }
            if !waited {
                tracing::warn!(
                    node_id = %identity.node_id,
                    "the node id has a live row of another process; waiting up to one lease \
                     for it to lapse"
                );
                waited = true;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
            joined_at = Instant::now();
        }
        tracing::info!(
            node_id = %identity.node_id,
            instance = %identity.instance_id,
            url = %identity.advertise_url,
            lease_secs = lease.as_secs(),
            "joined the cluster"
        );
        let holdings = Holdings::Only {
            instance_id: Arc::from(identity.instance_id.as_str()),
            cameras: BTreeMap::new(),
        };
        Ok(Arc::new(Self {
            identity,
            started_at: chrono::Utc::now(),
            shared: Some(Shared { db, lease }),
            holdings: watch::Sender::new(holdings),
            leader: watch::Sender::new(false),
            counters: MembershipCounters::default(),
            // Joining wrote the node's row under the lease: as good as a renewal.
            last_renewal: Mutex::new(Some(joined_at)),
            fatal: CancellationToken::new(),
            nudge: tokio::sync::Notify::new(),
        }))
    }

    /// Asks the lease loop for a tick now, instead of at its next (a camera was created or
    /// enabled, or another node released one).
    pub fn nudge(&self) {
        self.nudge.notify_one();
    }

    /// Whether this node shares its database with others (PostgreSQL).
    pub fn is_shared(&self) -> bool {
        self.shared.is_some()
    }

    /// The cameras this node reads, as they change.
    pub fn watch_holdings(&self) -> watch::Receiver<Holdings> {
        self.holdings.subscribe()
    }

    /// Whether this node is the leader, as it changes.
    pub fn watch_leader(&self) -> watch::Receiver<bool> {
        self.leader.subscribe()
    }

    /// Whether this node is the leader now.
    pub fn is_leader(&self) -> bool {
        *self.leader.borrow()
    }

    /// Completes when this node must stop (its id was taken by another process).
    pub fn fatal(&self) -> CancellationToken {
        self.fatal.clone()
    }

    /// Whether leases were renewed within the last lease (always, for a cluster of one).
    pub fn renewing(&self) -> bool {
        let Some(shared) = &self.shared else {
            return true;
        };
        self.last_renewal
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some_and(|sent| sent.elapsed() < shared.lease)
    }

    fn publish_cameras(&self, cameras: BTreeMap<String, i64>) {
        self.publish_holdings(Holdings::Only {
            instance_id: Arc::from(self.identity.instance_id.as_str()),
            cameras,
        });
    }

    fn publish_holdings(&self, holdings: Holdings) {
        let held = holdings.count().unwrap_or(0);
        self.counters.cameras_held.store(held, Ordering::Relaxed);
        self.holdings.send_if_modified(|current| {
            let changed = *current != holdings;
            *current = holdings;
            changed
        });
    }

    fn publish_leader(&self, leader: bool) {
        self.leader.send_if_modified(|current| {
            let changed = *current != leader;
            if changed {
                tracing::info!(
                    node_id = %self.identity.node_id,
                    leader,
                    "{}",
                    if leader { "this node is now the leader" } else { "this node is no longer the leader" }
                );
            }
            *current = leader;
            changed
        });
    }

    /// Stops reading and leading: no renewal within two thirds of a lease.
    fn fence(&self) {
        if !self.counters.fenced.swap(true, Ordering::Relaxed) {
            tracing::error!(
                node_id = %self.identity.node_id,
                "cannot renew the leases in time: this node stops its cameras and leader jobs \
                 until the database answers again"
            );
        }
        self.publish_cameras(BTreeMap::new());
        self.publish_leader(false);
    }

    /// Renews and takes leases until cancelled (nothing to do for a cluster of one).
    pub async fn run(self: Arc<Self>) {
        let Some(shared) = &self.shared else {
            return std::future::pending().await;
        };
        let lease = shared.lease;
        let mut release: Option<String> = None;
        let mut next = Instant::now();
        // Whether the last tick failed, and when ticks succeeded again after failures that
        // fenced this node.
        let mut failing = false;
        let mut recovered_at: Option<Instant> = None;
        loop {
            let fence_at = self
                .last_renewal
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .map(|sent| rules::fence_deadline(sent, lease));
            tokio::select! {
                () = tokio::time::sleep_until(next.into()) => {}
                () = self.nudge.notified() => {}
                () = crate::clock::sleep_until_opt(fence_at), if fence_at.is_some() && !self.counters.fenced.load(Ordering::Relaxed) => {
                    self.fence();
                    continue;
                }
            }
            let skew = self.counters.clock_skew_ms.load(Ordering::Relaxed);
            let want_leader = rules::clock_verdict(skew) != ClockVerdict::NoLeader;
            let after_fence = self.counters.fenced.load(Ordering::Relaxed);
            let sent = Instant::now();
            let local_before = chrono::Utc::now();
            let request = TickRequest {
                lease,
                want_leader,
                after_fence,
                release: release.as_deref(),
                take_others: rules::takes_others(failing, recovered_at, sent, lease),
            };
            // A renewal that hangs past the fence deadline must not keep the node reading.
            let deadline = rules::tick_deadline(sent, lease, fence_at.filter(|_| !after_fence));
            let outcome = tokio::time::timeout_at(
                deadline.into(),
                leases::tick(&shared.db, &self.identity, request, skew),
            )
            .await;
            let local_after = chrono::Utc::now();
            if !matches!(outcome, Ok(Ok(_)))
                && !after_fence
                && fence_at.is_some_and(|at| Instant::now() >= at)
            {
                self.fence();
            }
            match outcome {
                Ok(Ok(outcome)) => {
                    self.counters.renewals_ok.fetch_add(1, Ordering::Relaxed);
                    if std::mem::take(&mut failing) && after_fence {
                        recovered_at = Some(sent);
                    }
                    *self.last_renewal.lock().unwrap_or_else(|p| p.into_inner()) = Some(sent);
                    if after_fence {
                        self.counters.fenced.store(false, Ordering::Relaxed);
                        tracing::info!("leases renewed again: this node reads its cameras again");
                    }
                    let skew =
                        rules::clock_skew_ms(local_before, local_after, outcome.database_now);
                    self.note_skew(skew);
                    if let Some(released) = release.take() {
                        tracing::info!(camera_id = %released, share = outcome.share, "camera released to a node with room");
                    }
                    self.counters
                        .live_nodes
                        .store(outcome.live_nodes, Ordering::Relaxed);
                    let mut cameras = outcome.held.cameras;
                    // The camera to give up stops now and is released at the next tick.
                    if let Some(going) = outcome.to_release {
                        cameras.remove(&going);
                        release = Some(going);
                    }
                    self.publish_cameras(cameras);
                    self.publish_leader(outcome.held.leader.is_some());
                    next = Instant::now() + rules::renew_interval(lease);
                }
                Ok(Err(LeaseError::IdTaken(id))) => {
                    tracing::error!(
                        node_id = %id,
                        "another process took this node's id: stopping"
                    );
                    self.fence();
                    self.fatal.cancel();
                    return;
                }
                Ok(Err(LeaseError::Db(error))) => {
                    self.counters
                        .renewals_failed
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(%error, "cannot renew the leases; trying again in a second");
                    failing = true;
                    next = Instant::now() + rules::RETRY_INTERVAL;
                }
                Err(_) => {
                    self.counters
                        .renewals_failed
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(
                        timeout_ms = rules::renew_interval(lease).as_millis() as u64,
                        "renewing the leases timed out; trying again in a second"
                    );
                    failing = true;
                    next = Instant::now() + rules::RETRY_INTERVAL;
                }
            }
        }
    }

    fn note_skew(&self, skew_ms: i64) {
        let before = self.counters.clock_skew_ms.swap(skew_ms, Ordering::Relaxed);
        let verdict = rules::clock_verdict(skew_ms);
        if verdict != rules::clock_verdict(before) && verdict != ClockVerdict::Fine {
            tracing::warn!(
                skew_ms,
                "this node's clock is off PostgreSQL's{}",
                if verdict == ClockVerdict::NoLeader {
                    ": it will not take the leader lease until it is set right (NTP)"
                } else {
                    " (set it right with NTP)"
                }
            );
        }
    }

    /// Gives up every lease and marks this node gone (a clean stop, after its cameras
    /// stopped): the others take its cameras at their next tick.
    pub async fn leave(&self) {
        let Some(shared) = &self.shared else {
            return;
        };
        match tokio::time::timeout(shared.lease, leases::leave(&shared.db, &self.identity)).await {
            Ok(Ok(())) => tracing::info!("stopping: leases released"),
            Ok(Err(error)) => {
                tracing::warn!(%error, "stopping: cannot release the leases (they lapse)")
            }
            Err(_) => tracing::warn!("stopping: releasing the leases timed out (they lapse)"),
        }
    }
}
