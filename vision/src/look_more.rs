//! Looking more when it pays: a camera is sampled faster for a few seconds after a face
//! appears whose track is not yet decided (neither taken for an employee nor reported
//! unknown), so that the newcomer's track gathers more views while they are in sight; then
//! back to the camera's own rate. A clear first view decides its track at once and costs
//! nothing more. The source follows the new rate through its [`crate::source::Pace`] (an
//! H.264 camera then decodes every frame for those seconds, key frames alone otherwise).

use std::time::{Duration, Instant};

/// The interval sampled at while looking more: 4 frames a second.
pub const DEFAULT_LOOK_MORE_INTERVAL: Duration = Duration::from_millis(250);

/// How long after an undecided track starts its camera is sampled faster.
pub const DEFAULT_LOOK_MORE_FOR: Duration = Duration::from_secs(3);

/// When and how much faster to sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LookMoreSettings {
    /// The interval while looking more (only where quicker than the camera's own).
    pub interval: Duration,
    /// How long after an undecided track starts (zero: never look more).
    pub duration: Duration,
}

impl Default for LookMoreSettings {
    fn default() -> Self {
        Self {
            interval: DEFAULT_LOOK_MORE_INTERVAL,
            duration: DEFAULT_LOOK_MORE_FOR,
        }
    }
}

impl LookMoreSettings {
    /// The interval to sample at, at `at`: this one's, where it is quicker than the camera's
    /// `normal` one, while the newest undecided track (started at `newest_undecided`) is
    /// younger than `duration`; `normal` otherwise.
    pub fn interval(
        &self,
        normal: Duration,
        newest_undecided: Option<Instant>,
        at: Instant,
    ) -> Duration {
        let looking = newest_undecided
            .is_some_and(|started| at.saturating_duration_since(started) < self.duration);
        if looking {
            normal.min(self.interval)
        } else {
            normal
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faster_for_a_while_after_an_undecided_track_starts_and_never_slower() {
        let settings = LookMoreSettings::default();
        let second = Duration::from_secs(1);
        let start = Instant::now();
        let later = |s: f32| start + Duration::from_secs_f32(s);
        assert_eq!(settings.interval(second, None, start), second, "nobody new");
        assert_eq!(
            settings.interval(second, Some(start), later(0.1)),
            DEFAULT_LOOK_MORE_INTERVAL
        );
        assert_eq!(
            settings.interval(second, Some(start), later(2.9)),
            DEFAULT_LOOK_MORE_INTERVAL
        );
        assert_eq!(settings.interval(second, Some(start), later(3.0)), second);
        // A camera sampled faster than that already keeps its rate.
        let quick = Duration::from_millis(100);
        assert_eq!(settings.interval(quick, Some(start), later(0.1)), quick);
        let never = LookMoreSettings {
            duration: Duration::ZERO,
            ..settings
        };
        assert_eq!(never.interval(second, Some(start), later(0.0)), second);
    }
}
