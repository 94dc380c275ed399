//! Capped exponential backoff, the one used by every reconnecting loop (camera capture,
//! MQTT) and every retry (webhooks): a first wait, doubled after each failure up to a cap,
//! back to the first wait after a success.

use std::time::Duration;

/// Waits that double from `first` up to `cap`.
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    first: Duration,
    cap: Duration,
    current: Duration,
}

impl Backoff {
    /// A backoff starting at `first` and never waiting longer than `cap`.
    pub fn new(first: Duration, cap: Duration) -> Self {
        Self {
            first,
            cap,
            current: first.min(cap),
        }
    }

    /// The wait before the next attempt; the one after it is twice as long (up to the cap).
    pub fn next_wait(&mut self) -> Duration {
        let wait = self.current;
        self.current = self.current.saturating_mul(2).min(self.cap);
        wait
    }

    /// After a success: the next wait is the first one again.
    pub fn reset(&mut self) {
        self.current = self.first.min(self.cap);
    }

    /// A new cap (e.g. shorter once a camera has worked); waits already longer are cut.
    pub fn set_cap(&mut self, cap: Duration) {
        self.cap = cap;
        self.current = self.current.min(cap);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn waits_double_up_to_the_cap_and_reset_after_a_success() {
        let mut backoff = Backoff::new(S(1), S(30));
        let waits: Vec<_> = (0..7).map(|_| backoff.next_wait()).collect();
        assert_eq!(waits, [S(1), S(2), S(4), S(8), S(16), S(30), S(30)]);
        backoff.reset();
        assert_eq!(backoff.next_wait(), S(1));
    }

    #[test]
    fn a_lower_cap_applies_to_the_next_waits() {
        let mut backoff = Backoff::new(S(1), S(30));
        for _ in 0..5 {
            backoff.next_wait();
        }
        backoff.set_cap(S(8));
        assert_eq!(backoff.next_wait(), S(8));
        assert_eq!(backoff.next_wait(), S(8));
    }
}
