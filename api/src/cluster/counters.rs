//! What the relay counts, for `/metrics`: events sent and received by result, the round trip
//! of the node's own ping, resyncs by reason, listener reconnects, and how full PostgreSQL's
//! notification queue is; rendered in the Prometheus text format ([`render`]).

use std::{
    fmt::Write as _,
    sync::atomic::{AtomicU64, Ordering},
};

/// Why the relay resynced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResyncReason {
    /// The listening connection was lost (and made again).
    ConnectionLost,
    /// The listener failed and was built anew.
    ListenerError,
    /// The node's own ping did not come back in time.
    PingTimeout,
    /// Sequence numbers from a node skipped some.
    SequenceGap,
    /// A payload in a format version this build does not know.
    UnknownVersion,
    /// An event sent by reference could not be read back.
    PayloadMissing,
    /// A node asked for it (`ResyncSince`).
    Requested,
}

impl ResyncReason {
    pub const ALL: [Self; 7] = [
        Self::ConnectionLost,
        Self::ListenerError,
        Self::PingTimeout,
        Self::SequenceGap,
        Self::UnknownVersion,
        Self::PayloadMissing,
        Self::Requested,
    ];

    /// The metric's label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ConnectionLost => "connection_lost",
            Self::ListenerError => "listener_error",
            Self::PingTimeout => "ping_timeout",
            Self::SequenceGap => "sequence_gap",
            Self::UnknownVersion => "unknown_version",
            Self::PayloadMissing => "payload_missing",
            Self::Requested => "requested",
        }
    }

    fn index(self) -> usize {
        Self::ALL.iter().position(|r| *r == self).unwrap_or(0)
    }
}

/// The relay's counters (atomics; shared by its tasks and read by `/metrics`).
#[derive(Debug, Default)]
pub struct RelayCounters {
    /// Events sent to the other nodes.
    pub sent_ok: AtomicU64,
    /// Events that could not be sent (the transport failed; the outbox's own drops are the
    /// event bus's, added at rendering).
    pub sent_dropped: AtomicU64,
    /// Events from other nodes delivered (or folded into a recomputed aggregate).
    pub received_ok: AtomicU64,
    /// Repeats of an event already heard.
    pub received_duplicate: AtomicU64,
    /// Statuses no newer than the one delivered, and notifications delivered already.
    pub received_stale: AtomicU64,
    /// Payloads that are not relay messages, or of an unknown version.
    pub received_rejected: AtomicU64,
    /// Events missed (sequence gaps, payloads gone).
    pub received_lost: AtomicU64,
    /// The last round trip of the node's own ping, in microseconds.
    pub roundtrip_micros: AtomicU64,
    resyncs: [AtomicU64; ResyncReason::ALL.len()],
    /// Times the listening session was made again.
    pub listener_reconnects: AtomicU64,
    /// `pg_notification_queue_usage()` (0 to 1) as `f64` bits.
    queue_usage_bits: AtomicU64,
}

impl RelayCounters {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn resynced(&self, reason: ResyncReason) {
        self.resyncs[reason.index()].fetch_add(1, Ordering::Relaxed);
    }

    pub fn resyncs(&self, reason: ResyncReason) -> u64 {
        self.resyncs[reason.index()].load(Ordering::Relaxed)
    }

    pub fn set_queue_usage(&self, usage: f64) {
        self.queue_usage_bits
            .store(usage.to_bits(), Ordering::Relaxed);
    }

    pub fn queue_usage(&self) -> f64 {
        f64::from_bits(self.queue_usage_bits.load(Ordering::Relaxed))
    }

    pub fn set_roundtrip(&self, seconds: f64) {
        self.roundtrip_micros
            .store((seconds.max(0.0) * 1e6) as u64, Ordering::Relaxed);
    }

    pub fn roundtrip_seconds(&self) -> f64 {
        self.roundtrip_micros.load(Ordering::Relaxed) as f64 / 1e6
    }
}

/// The relay's metrics in the Prometheus text format; `outbox_dropped`: events the event
/// bus dropped from the relay's full queue ([`crate::events::EventBus::relay_dropped`]);
/// `listener_up`: whether the listener hears the node's own pings.
pub fn render(counters: &RelayCounters, outbox_dropped: u64, listener_up: bool) -> String {
    let load = |v: &AtomicU64| v.load(Ordering::Relaxed);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP hadir_cluster_relay_events_total Events relayed between nodes, by direction and result.\n# TYPE hadir_cluster_relay_events_total counter"
    );
    let rows = [
        ("sent", "ok", load(&counters.sent_ok)),
        (
            "sent",
            "dropped",
            load(&counters.sent_dropped).saturating_add(outbox_dropped),
        ),
        ("received", "ok", load(&counters.received_ok)),
        ("received", "duplicate", load(&counters.received_duplicate)),
        ("received", "stale", load(&counters.received_stale)),
        ("received", "rejected", load(&counters.received_rejected)),
        ("received", "lost", load(&counters.received_lost)),
    ];
    for (direction, result, n) in rows {
        let _ = writeln!(
            out,
            "hadir_cluster_relay_events_total{{direction=\"{direction}\",result=\"{result}\"}} {n}"
        );
    }
    let _ = writeln!(
        out,
        "# HELP hadir_cluster_relay_roundtrip_seconds The last round trip of this node's own ping through PostgreSQL.\n# TYPE hadir_cluster_relay_roundtrip_seconds gauge\nhadir_cluster_relay_roundtrip_seconds {}",
        counters.roundtrip_seconds()
    );
    let _ = writeln!(
        out,
        "# HELP hadir_cluster_resyncs_total Resyncs from the database after events may have been missed, by reason.\n# TYPE hadir_cluster_resyncs_total counter"
    );
    for reason in ResyncReason::ALL {
        let _ = writeln!(
            out,
            "hadir_cluster_resyncs_total{{reason=\"{}\"}} {}",
            reason.as_str(),
            counters.resyncs(reason)
        );
    }
    let _ = writeln!(
        out,
        "# HELP hadir_cluster_listener_reconnects_total Times the LISTEN session was made again.\n# TYPE hadir_cluster_listener_reconnects_total counter\nhadir_cluster_listener_reconnects_total {}",
        load(&counters.listener_reconnects)
    );
    let _ = writeln!(
        out,
        "# HELP hadir_cluster_notify_queue_usage How full PostgreSQL's notification queue is (0 to 1).\n# TYPE hadir_cluster_notify_queue_usage gauge\nhadir_cluster_notify_queue_usage {}",
        counters.queue_usage()
    );
    let _ = writeln!(
        out,
        "# HELP hadir_cluster_listener_up Whether this node's listener hears its own pings (1) or not (0).\n# TYPE hadir_cluster_listener_up gauge\nhadir_cluster_listener_up {}",
        u8::from(listener_up)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_counter_is_rendered_under_its_name() {
        let c = RelayCounters::default();
        RelayCounters::add(&c.sent_ok, 3);
        RelayCounters::add(&c.sent_dropped, 1);
        RelayCounters::add(&c.received_rejected, 2);
        c.resynced(ResyncReason::SequenceGap);
        c.resynced(ResyncReason::SequenceGap);
        c.set_queue_usage(0.25);
        c.set_roundtrip(0.004);
        let text = render(&c, 4, true);
        for line in [
            "hadir_cluster_relay_events_total{direction=\"sent\",result=\"ok\"} 3",
            "hadir_cluster_relay_events_total{direction=\"sent\",result=\"dropped\"} 5",
            "hadir_cluster_relay_events_total{direction=\"received\",result=\"rejected\"} 2",
            "hadir_cluster_relay_events_total{direction=\"received\",result=\"lost\"} 0",
            "hadir_cluster_resyncs_total{reason=\"sequence_gap\"} 2",
            "hadir_cluster_resyncs_total{reason=\"ping_timeout\"} 0",
            "hadir_cluster_listener_reconnects_total 0",
            "hadir_cluster_notify_queue_usage 0.25",
            "hadir_cluster_relay_roundtrip_seconds 0.004",
            "hadir_cluster_listener_up 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
        let helps = text.lines().filter(|l| l.starts_with("# HELP")).count();
        let types = text.lines().filter(|l| l.starts_with("# TYPE")).count();
        assert_eq!((helps, types), (6, 6));
    }
}
