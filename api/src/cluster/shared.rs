//! What the relay's tasks and its handle share: who this instance is, the counters, the
//! listener's health, what was delivered, and the broadcasts of control messages and
//! resyncs to the rest of the node. Plus [`Throttle`], for logs at most once a minute, and
//! [`AbortOnDrop`].

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

use tokio::sync::broadcast;

use super::{
    control::ControlMessage, counters::RelayCounters, delivered::Delivered, health::ListenerHealth,
    resync::Resync,
};

/// Control messages and resyncs buffered per subscriber.
pub const NOTICE_CAPACITY: usize = 256;
/// How often a repeated problem is logged.
pub const LOG_EVERY: Duration = Duration::from_secs(60);

/// The relay's shared state.
#[derive(Debug)]
pub struct Shared {
    pub instance_id: String,
    pub node_id: String,
    pub counters: RelayCounters,
    pub health: ListenerHealth,
    pub delivered: Mutex<Delivered>,
    /// Control messages from other nodes (pings aside).
    pub control: broadcast::Sender<ControlMessage>,
    /// Every resync, once it has run.
    pub resyncs: broadcast::Sender<Resync>,
}

impl Shared {
    pub fn new(instance_id: String, node_id: String) -> Self {
        Self {
            instance_id,
            node_id,
            counters: RelayCounters::default(),
            health: ListenerHealth::default(),
            delivered: Mutex::default(),
            control: broadcast::channel(NOTICE_CAPACITY).0,
            resyncs: broadcast::channel(NOTICE_CAPACITY).0,
        }
    }

    pub fn delivered(&self) -> std::sync::MutexGuard<'_, Delivered> {
        self.delivered.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Lets something happen at most once per period (the first time at once).
#[derive(Debug)]
pub struct Throttle {
    every: Duration,
    last: Mutex<Option<Instant>>,
}

impl Throttle {
    pub fn new(every: Duration) -> Self {
        Self {
            every,
            last: Mutex::new(None),
        }
    }

    /// Whether it may happen now (and, when it may, that it did).
    pub fn allow(&self) -> bool {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        match *last {
            Some(at) if at.elapsed() < self.every => false,
            _ => {
                *last = Some(Instant::now());
                true
            }
        }
    }
}

/// Aborts a spawned task when dropped (the listening session's reader, when the session
/// ends or the relay is cancelled).
pub struct AbortOnDrop(pub tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_throttle_allows_once_per_period() {
        let throttle = Throttle::new(Duration::from_secs(60));
        assert!(throttle.allow());
        assert!(!throttle.allow());
        let quick = Throttle::new(Duration::ZERO);
        assert!(quick.allow() && quick.allow());
    }
}
