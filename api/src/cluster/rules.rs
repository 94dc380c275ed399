//! The cluster's decisions, pure: how many cameras a node should hold, which one it gives
//! up, when it must stop reading because it could not renew its leases, and what a clock
//! off PostgreSQL's allows. No I/O here, so the rules are tested without a database.

use std::time::{Duration, Instant};

/// A node's clock off PostgreSQL's by more than this is warned about.
pub const CLOCK_SKEW_WARN: Duration = Duration::from_secs(2);
/// A node's clock off PostgreSQL's by more than this does not take the leader lease (the
/// leader's jobs judge time: who is lost, which day is closed).
pub const CLOCK_SKEW_NO_LEADER: Duration = Duration::from_secs(10);
/// A node releases cameras above its share only once every peer has been alive this many
/// leases (a node that just started is not yet counted on to take them).
pub const SETTLED_LEASES: u32 = 2;

/// A node alive now, as its row says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LiveNode {
    /// The most cameras it reads (None: no limit).
    pub max_cameras: Option<u32>,
    /// How long it has been alive.
    pub alive_for: Duration,
}

/// How many of the `cameras` that any node may read this node (`me`, one of `nodes`) should
/// hold: the cameras spread as evenly as the nodes' limits allow (water-filling: a node
/// whose limit is under the level holds its limit, the others share the rest equally,
/// rounded up). Never more than this node's limit.
pub fn fair_share(cameras: usize, nodes: &[LiveNode], me: usize) -> usize {
    let Some(mine) = nodes.get(me) else {
        return 0;
    };
    let limit = |node: &LiveNode| node.max_cameras.map_or(usize::MAX, |m| m as usize);
    let capacity: usize = nodes.iter().map(limit).fold(0, usize::saturating_add);
    let cameras = cameras.min(capacity);
    // The smallest level L with Σ min(limit, L) ≥ cameras.
    let (mut low, mut high) = (0usize, cameras);
    while low < high {
        let level = low + (high - low) / 2;
        let held: usize = nodes
            .iter()
            .map(|n| limit(n).min(level))
            .fold(0, usize::saturating_add);
        if held >= cameras {
            high = level;
        } else {
            low = level + 1;
        }
    }
    limit(mine).min(low)
}

/// How many more cameras this node may take now: its share less what it holds.
pub fn room(share: usize, held: usize) -> usize {
    share.saturating_sub(held)
}

/// A camera this node holds, as far as giving one up is concerned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldCamera {
    pub camera_id: String,
    /// Only this node may read it (a webcam, a file, or pinned by the operator).
    pub pinned: bool,
    /// How long this node has held it.
    pub held_for: Duration,
}

/// The camera to give up this tick, if any: one a time, only when this node holds more than
/// its share of the cameras any node may read, and only once every live node has been alive
/// [`SETTLED_LEASES`] leases. The one held the shortest goes (its recognition has the least
/// to lose), the largest id among equals; pinned cameras never go.
pub fn to_release<'a>(
    held: &'a [HeldCamera],
    share: usize,
    nodes: &[LiveNode],
    lease: Duration,
) -> Option<&'a HeldCamera> {
    let movable: Vec<&HeldCamera> = held.iter().filter(|c| !c.pinned).collect();
    if movable.len() <= share {
        return None;
    }
    let settled = lease * SETTLED_LEASES;
    if nodes.iter().any(|n| n.alive_for < settled) {
        return None;
    }
    movable.into_iter().min_by(|a, b| {
        a.held_for
            .cmp(&b.held_for)
            .then(b.camera_id.cmp(&a.camera_id))
    })
}

/// When a node that last *sent* a renewal that succeeded at `sent` must stop its cameras and
/// leader jobs itself: two thirds into the lease, well before the database would let another
/// node take them (at the lease's end), whatever the network delayed.
pub fn fence_deadline(sent: Instant, lease: Duration) -> Instant {
    sent + lease * 2 / 3
}

/// The latest a renewal sent at `sent` may take: a renewal interval, and never past the
/// fence deadline (`fence_at`; None once fenced), so that a renewal hanging on a dead
/// connection cannot keep the node reading while another takes its cameras.
pub fn tick_deadline(sent: Instant, lease: Duration, fence_at: Option<Instant>) -> Instant {
    let normal = sent + renew_interval(lease);
    match fence_at {
        Some(fence) => normal.min(fence.max(sent)),
        None => normal,
    }
}

/// How often leases are renewed: every third of the lease (after a failure: every second,
/// [`RETRY_INTERVAL`]).
pub fn renew_interval(lease: Duration) -> Duration {
    (lease / 3).max(Duration::from_millis(500))
}

/// How soon a renewal is tried again after a failure.
pub const RETRY_INTERVAL: Duration = Duration::from_secs(1);

/// Whether a tick may take cameras (and the leader lease) from others or that nobody holds:
/// not while this node's renewals fail (`failing`), nor for one lease after they succeed
/// again following an outage long enough to fence the node (`recovered_at`: its leases, and
/// those of every node cut off with it, may have lapsed). A node back from such an outage
/// renews its own leases first, and so does every other node cut off with it, before any
/// takes what looks abandoned: after an outage of the database itself no camera changes
/// owner. A shorter hiccup (a renewal timed out under load) lapses nobody's lease and
/// delays no takeover.
pub fn takes_others(
    failing: bool,
    recovered_at: Option<Instant>,
    now: Instant,
    lease: Duration,
) -> bool {
    !failing && recovered_at.is_none_or(|at| now >= at + lease)
}

/// What a node's clock off PostgreSQL's allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockVerdict {
    /// Within [`CLOCK_SKEW_WARN`].
    Fine,
    /// Off by more: warned about, still a candidate for leader.
    Warn,
    /// Off by more than [`CLOCK_SKEW_NO_LEADER`]: does not take the leader lease.
    NoLeader,
}

/// The verdict on a clock off PostgreSQL's by `skew_ms` (either way).
pub fn clock_verdict(skew_ms: i64) -> ClockVerdict {
    let off = Duration::from_millis(skew_ms.unsigned_abs());
    if off > CLOCK_SKEW_NO_LEADER {
        ClockVerdict::NoLeader
    } else if off > CLOCK_SKEW_WARN {
        ClockVerdict::Warn
    } else {
        ClockVerdict::Fine
    }
}

/// This clock minus PostgreSQL's, from a query's round trip: PostgreSQL's `now()` is taken to
/// be read halfway through.
pub fn clock_skew_ms(
    local_before: chrono::DateTime<chrono::Utc>,
    local_after: chrono::DateTime<chrono::Utc>,
    database: chrono::DateTime<chrono::Utc>,
) -> i64 {
    let midpoint = local_before + (local_after - local_before) / 2;
    (midpoint - database).num_milliseconds()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_back_from_an_outage_takes_nothing_for_one_lease() {
        let lease = Duration::from_secs(15);
        let now = Instant::now();
        assert!(
            takes_others(false, None, now, lease),
            "a node that never failed"
        );
        assert!(!takes_others(true, None, now, lease), "while renewals fail");
        assert!(
            !takes_others(false, Some(now), now, lease),
            "right after the outage"
        );
        assert!(!takes_others(
            false,
            Some(now),
            now + Duration::from_secs(14),
            lease
        ));
        assert!(takes_others(false, Some(now), now + lease, lease));
    }

    fn node(max: Option<u32>) -> LiveNode {
        LiveNode {
            max_cameras: max,
            alive_for: Duration::from_secs(60),
        }
    }

    #[test]
    fn cameras_are_shared_evenly() {
        let three = [node(None), node(None), node(None)];
        assert_eq!(
            (0..3).map(|i| fair_share(6, &three, i)).collect::<Vec<_>>(),
            [2, 2, 2]
        );
        assert_eq!(fair_share(7, &three, 0), 3, "rounded up");
        assert_eq!(fair_share(0, &three, 1), 0);
        assert_eq!(fair_share(5, &[node(None)], 0), 5, "one node holds all");
        assert_eq!(fair_share(5, &three, 7), 0, "not a live node");
    }

    #[test]
    fn limits_are_kept_and_the_rest_shared() {
        // a may read 1: b and c share the other 5.
        let nodes = [node(Some(1)), node(None), node(None)];
        assert_eq!(fair_share(6, &nodes, 0), 1);
        assert_eq!(fair_share(6, &nodes, 1), 3);
        assert_eq!(fair_share(6, &nodes, 2), 3);
        // API-only nodes hold nothing; the one with room holds everything.
        let nodes = [node(Some(0)), node(Some(0)), node(None)];
        assert_eq!(fair_share(6, &nodes, 0), 0);
        assert_eq!(fair_share(6, &nodes, 2), 6);
        // More cameras than every limit together: each holds its limit.
        let nodes = [node(Some(2)), node(Some(1))];
        assert_eq!(fair_share(10, &nodes, 0), 2);
        assert_eq!(fair_share(10, &nodes, 1), 1);
        assert_eq!(fair_share(10, &[node(Some(0))], 0), 0);
    }

    #[test]
    fn room_is_share_less_held() {
        assert_eq!(room(2, 0), 2);
        assert_eq!(room(2, 3), 0);
    }

    fn held(id: &str, secs: u64, pinned: bool) -> HeldCamera {
        HeldCamera {
            camera_id: id.to_owned(),
            pinned,
            held_for: Duration::from_secs(secs),
        }
    }

    #[test]
    fn the_newest_movable_camera_is_released_once_peers_settled() {
        let lease = Duration::from_secs(3);
        let cameras = [
            held("A", 50, false),
            held("B", 10, false),
            held("C", 5, true),
        ];
        let nodes = [node(None), node(None)];
        // Two movable ones, share 1: B (held the shortest of the movable) goes.
        assert_eq!(
            to_release(&cameras, 1, &nodes, lease).map(|c| c.camera_id.as_str()),
            Some("B")
        );
        assert_eq!(to_release(&cameras, 2, &nodes, lease), None, "at the share");
        // A peer alive for less than two leases is not yet counted on.
        let young = [
            node(None),
            LiveNode {
                max_cameras: None,
                alive_for: Duration::from_secs(5),
            },
        ];
        assert_eq!(to_release(&cameras, 1, &young, lease), None);
        // Equal times: the largest id.
        let cameras = [held("A", 5, false), held("B", 5, false)];
        assert_eq!(
            to_release(&cameras, 1, &nodes, lease).map(|c| c.camera_id.as_str()),
            Some("B")
        );
        // Pinned cameras never go, whatever the share.
        let cameras = [held("A", 5, true), held("B", 5, true)];
        assert_eq!(to_release(&cameras, 0, &nodes, lease), None);
    }

    #[test]
    fn the_fence_falls_two_thirds_into_the_lease() {
        let sent = Instant::now();
        assert_eq!(
            fence_deadline(sent, Duration::from_secs(15)),
            sent + Duration::from_secs(10)
        );
        assert_eq!(
            fence_deadline(sent, Duration::from_secs(3)),
            sent + Duration::from_secs(2)
        );
        assert_eq!(
            renew_interval(Duration::from_secs(15)),
            Duration::from_secs(5)
        );
        assert_eq!(
            renew_interval(Duration::from_secs(3)),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn clocks_off_postgresql_are_judged() {
        assert_eq!(clock_verdict(0), ClockVerdict::Fine);
        assert_eq!(clock_verdict(-2_000), ClockVerdict::Fine);
        assert_eq!(clock_verdict(2_500), ClockVerdict::Warn);
        assert_eq!(clock_verdict(-10_001), ClockVerdict::NoLeader);
        let t = chrono::DateTime::parse_from_rfc3339("2026-12-02T10:00:00Z")
            .unwrap()
            .to_utc();
        let skew = clock_skew_ms(
            t,
            t + chrono::TimeDelta::milliseconds(100),
            t - chrono::TimeDelta::seconds(3),
        );
        assert_eq!(skew, 3_050);
    }
}
