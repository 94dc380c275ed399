//! Whether the relay's listener hears: connected, and hearing the node's own pings. For
//! `/healthz`: unhealthy once it has been deaf for [`UNHEALTHY_AFTER`], or at once when it
//! connected but never heard its own ping (a `listen_url` through a transaction-pooling
//! PgBouncer accepts `LISTEN` and delivers nothing).

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

/// How often a node pings itself through the control channel.
pub const PING_INTERVAL: Duration = Duration::from_secs(5);
/// A listener that has not heard its own ping for this long is taken for deaf (and rebuilt,
/// and the node resyncs).
pub const PING_TIMEOUT: Duration = Duration::from_secs(15);
/// A listener deaf for this long makes the node unhealthy.
pub const UNHEALTHY_AFTER: Duration = Duration::from_secs(30);
/// `pg_notification_queue_usage()` above this is warned about (a listener somewhere is not
/// reading, and PostgreSQL refuses NOTIFY once the queue is full).
pub const QUEUE_USAGE_WARN: f64 = 0.5;
/// What the health says when a connected listener never heard its own ping.
pub const NEVER_HEARD: &str = "the cluster listener is connected but never heard this node's \
    own ping: point cluster.listen_url at PostgreSQL directly (session mode), not through a \
    transaction-pooling PgBouncer";

#[derive(Debug)]
struct State {
    connected: bool,
    connected_at: Option<Instant>,
    last_own_ping: Option<Instant>,
    /// The last moment the listener was known to hear.
    last_up: Instant,
    /// A session connected and never heard its own ping: unhealthy until one is heard.
    never_heard: bool,
}

/// The listener's health, updated by the receiver.
#[derive(Debug)]
pub struct ListenerHealth {
    state: Mutex<State>,
}

impl Default for ListenerHealth {
    fn default() -> Self {
        Self {
            state: Mutex::new(State {
                connected: false,
                connected_at: None,
                last_own_ping: None,
                last_up: Instant::now(),
                never_heard: false,
            }),
        }
    }
}

/// The health as `/healthz` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelayHealth {
    /// Connected and hearing its own pings.
    pub listener_up: bool,
    /// How long ago the node last heard its own ping (None: never).
    pub last_own_ping: Option<Duration>,
    /// How long the listener has not been up (zero when it is).
    pub down_for: Duration,
    /// False: answer `/healthz` with 503.
    pub healthy: bool,
    /// Why it is not up, in words.
    pub problem: Option<String>,
}

impl ListenerHealth {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn connected(&self) {
        let mut s = self.state();
        s.connected = true;
        s.connected_at = Some(Instant::now());
    }

    pub fn disconnected(&self) {
        self.state().connected = false;
    }

    /// The node's own ping came back.
    pub fn own_ping(&self) {
        let mut s = self.state();
        let now = Instant::now();
        s.last_own_ping = Some(now);
        s.last_up = now;
        s.never_heard = false;
    }

    /// A session was connected for [`PING_TIMEOUT`] without hearing a single own ping, and
    /// none has been heard since (it stays so across the sessions that follow).
    pub fn never_heard(&self) -> bool {
        let mut s = self.state();
        Self::note_deafness(&mut s)
    }

    fn note_deafness(s: &mut State) -> bool {
        if let (true, Some(at)) = (s.connected, s.connected_at)
            && at.elapsed() >= PING_TIMEOUT
            && s.last_own_ping.is_none_or(|p| p < at)
        {
            s.never_heard = true;
        }
        s.never_heard
    }

    pub fn report(&self) -> RelayHealth {
        let mut s = self.state();
        let heard_lately = s.last_own_ping.is_some_and(|p| p.elapsed() < PING_TIMEOUT);
        let listener_up = s.connected && heard_lately;
        let down_for = if listener_up {
            Duration::ZERO
        } else {
            s.last_up.elapsed()
        };
        let never_heard = Self::note_deafness(&mut s);
        let problem = if listener_up {
            None
        } else if never_heard {
            Some(NEVER_HEARD.to_owned())
        } else if !s.connected {
            Some("the cluster listener is not connected to PostgreSQL".to_owned())
        } else {
            Some("the cluster listener has not heard this node's own ping lately".to_owned())
        };
        RelayHealth {
            listener_up,
            last_own_ping: s.last_own_ping.map(|p| p.elapsed()),
            down_for,
            healthy: listener_up || (!never_heard && down_for < UNHEALTHY_AFTER),
            problem,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn up_means_connected_and_hearing_its_own_ping() {
        let health = ListenerHealth::default();
        let report = health.report();
        assert!(!report.listener_up);
        assert!(report.healthy, "deaf for less than {UNHEALTHY_AFTER:?}");
        health.connected();
        assert!(!health.report().listener_up, "no ping heard yet");
        health.own_ping();
        let report = health.report();
        assert!(report.listener_up && report.healthy && report.problem.is_none());
        health.disconnected();
        let report = health.report();
        assert!(!report.listener_up && report.healthy);
        assert!(report.problem.is_some_and(|p| p.contains("not connected")));
    }

    #[test]
    fn deaf_too_long_or_never_heard_is_unhealthy() {
        let health = ListenerHealth::default();
        {
            let mut s = health.state();
            s.last_up = Instant::now() - UNHEALTHY_AFTER - Duration::from_secs(1);
        }
        assert!(!health.report().healthy, "down for longer than 30 s");
        let health = ListenerHealth::default();
        {
            let mut s = health.state();
            s.connected = true;
            s.connected_at = Some(Instant::now() - PING_TIMEOUT - Duration::from_secs(1));
        }
        assert!(health.never_heard());
        let report = health.report();
        assert!(
            !report.healthy,
            "a connected listener that never heard its ping"
        );
        assert_eq!(report.problem.as_deref(), Some(NEVER_HEARD));
    }
}
