//! A camera's sampling interval as a shared handle: the source reads it at every frame, and
//! whoever reads the camera may change it while the source runs (hadir samples a camera
//! faster for a few seconds when a new face appears, [`crate::look::LookMore`]). Plain
//! [`Duration`]s convert into a [`Pace`] that nobody else holds.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

/// The shortest interval a pace holds: 1 ms (a source never spins).
pub const MIN_INTERVAL: Duration = Duration::from_millis(1);

/// A sampling interval shared between a source and its reader (cloning shares it).
#[derive(Clone, Debug)]
pub struct Pace(Arc<AtomicU64>);

impl Pace {
    /// A pace of `interval` (at least [`MIN_INTERVAL`]).
    pub fn new(interval: Duration) -> Self {
        Self(Arc::new(AtomicU64::new(micros(interval))))
    }

    /// The interval now.
    pub fn interval(&self) -> Duration {
        Duration::from_micros(self.0.load(Ordering::Relaxed))
    }

    /// Changes the interval; the source follows from its next frame. Returns whether it
    /// changed.
    pub fn set(&self, interval: Duration) -> bool {
        self.0.swap(micros(interval), Ordering::Relaxed) != micros(interval)
    }
}

impl From<Duration> for Pace {
    fn from(interval: Duration) -> Self {
        Self::new(interval)
    }
}

impl From<&Pace> for Pace {
    fn from(pace: &Pace) -> Self {
        pace.clone()
    }
}

fn micros(interval: Duration) -> u64 {
    u64::try_from(interval.max(MIN_INTERVAL).as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_interval_and_it_never_drops_to_zero() {
        let pace = Pace::new(Duration::from_secs(1));
        let source_side = pace.clone();
        assert!(pace.set(Duration::from_millis(250)));
        assert_eq!(source_side.interval(), Duration::from_millis(250));
        assert!(!pace.set(Duration::from_millis(250)), "unchanged");
        pace.set(Duration::ZERO);
        assert_eq!(source_side.interval(), MIN_INTERVAL);
        let own: Pace = Duration::from_secs(2).into();
        assert_eq!(own.interval(), Duration::from_secs(2));
    }
}
