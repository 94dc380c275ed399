//! The presence rules, pure: given what is known and the time, what changes. No I/O here, so
//! the rules are tested without a database or a clock.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

/// How far in the future a reported `seenAt` may lie (clock skew of edge devices).
pub const MAX_FUTURE_SKEW: Duration = Duration::from_secs(60);

/// An employee's presence, as stored (the `employee_tracking.status` column).
pub use entity::employee_tracking::TrackingStatus as Status;

/// What a sighting does to an employee's tracking row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SightingEffect {
    /// The sighting is no newer than what is known: the row stays as it is (history only).
    HistoryOnly,
    /// Newer than the row, but already older than `lost_after`: `last_seen` and camera move,
    /// the status does not (a buffered sighting from an edge device, say).
    Record { status: Status },
    /// A current sighting: AVAILABLE, `last_seen`, camera.
    Available,
}

/// The effect of a sighting at `seen_at`, given the employee's current row (`None`: never
/// seen) and the time now.
pub fn sighting_effect(
    current: Option<(Status, DateTime<Utc>)>,
    seen_at: DateTime<Utc>,
    now: DateTime<Utc>,
    lost_after: Duration,
) -> SightingEffect {
    if let Some((_, last_seen)) = current
        && seen_at <= last_seen
    {
        return SightingEffect::HistoryOnly;
    }
    if is_stale(seen_at, now, lost_after) {
        return SightingEffect::Record {
            status: current.map_or(Status::Offline, |(status, _)| status),
        };
    }
    SightingEffect::Available
}

/// Whether a time lies further back than `lost_after`.
pub fn is_stale(time: DateTime<Utc>, now: DateTime<Utc>, lost_after: Duration) -> bool {
    time < lost_cutoff(now, lost_after)
}

/// Employees AVAILABLE and last seen before this time are lost.
pub fn lost_cutoff(now: DateTime<Utc>, lost_after: Duration) -> DateTime<Utc> {
    now - TimeDelta::from_std(lost_after).unwrap_or(TimeDelta::MAX)
}

/// Cameras online whose last frame came before this time are down. The engine's own start
/// counts as a frame: a server that was stopped cannot blame its cameras for the gap.
pub fn camera_down_cutoff(
    now: DateTime<Utc>,
    camera_timeout: Duration,
    engine_started: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let cutoff = now - TimeDelta::from_std(camera_timeout).unwrap_or(TimeDelta::MAX);
    (engine_started < cutoff).then_some(cutoff)
}

/// A reported time that is too far in the future to be believed.
pub fn is_in_future(seen_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    seen_at > now + TimeDelta::from_std(MAX_FUTURE_SKEW).unwrap_or(TimeDelta::MAX)
}

/// "just now", "5 seconds ago", "1 minute ago", "11 hours ago", "3 days ago"; for a time in the
/// future (clock skew) "just now".
pub fn humanize_ago(then: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let seconds = (now - then).num_seconds();
    if seconds < 5 {
        return "just now".to_owned();
    }
    let (amount, unit) = match seconds {
        s if s < 60 => (s, "second"),
        s if s < 3_600 => (s / 60, "minute"),
        s if s < 86_400 => (s / 3_600, "hour"),
        s if s < 30 * 86_400 => (s / 86_400, "day"),
        s if s < 365 * 86_400 => (s / (30 * 86_400), "month"),
        s => (s / (365 * 86_400), "year"),
    };
    let plural = if amount == 1 { "" } else { "s" };
    format!("{amount} {unit}{plural} ago")
}

/// "2 minutes", "90 seconds", "1 hour": a configured duration in words.
pub fn humanize_duration(duration: Duration) -> String {
    let seconds = duration.as_secs();
    let (amount, unit) = if seconds.is_multiple_of(3_600) && seconds >= 3_600 {
        (seconds / 3_600, "hour")
    } else if seconds.is_multiple_of(60) && seconds >= 60 {
        (seconds / 60, "minute")
    } else {
        (seconds, "second")
    };
    let plural = if amount == 1 { "" } else { "s" };
    format!("{amount} {unit}{plural}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const LOST_AFTER: Duration = Duration::from_secs(120);

    fn t(seconds: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap() + TimeDelta::seconds(seconds)
    }

    #[test]
    fn a_current_sighting_makes_anyone_available() {
        assert_eq!(
            sighting_effect(None, t(0), t(1), LOST_AFTER),
            SightingEffect::Available
        );
        assert_eq!(
            sighting_effect(Some((Status::Offline, t(-500))), t(0), t(1), LOST_AFTER),
            SightingEffect::Available
        );
        assert_eq!(
            sighting_effect(Some((Status::Available, t(-5))), t(0), t(0), LOST_AFTER),
            SightingEffect::Available
        );
    }

    #[test]
    fn an_older_sighting_only_writes_history() {
        assert_eq!(
            sighting_effect(Some((Status::Available, t(10))), t(5), t(11), LOST_AFTER),
            SightingEffect::HistoryOnly
        );
        assert_eq!(
            sighting_effect(Some((Status::Available, t(10))), t(10), t(11), LOST_AFTER),
            SightingEffect::HistoryOnly
        );
    }

    #[test]
    fn a_newer_but_stale_sighting_keeps_the_status() {
        assert_eq!(
            sighting_effect(Some((Status::Offline, t(0))), t(30), t(600), LOST_AFTER),
            SightingEffect::Record {
                status: Status::Offline
            }
        );
        assert_eq!(
            sighting_effect(None, t(0), t(600), LOST_AFTER),
            SightingEffect::Record {
                status: Status::Offline
            }
        );
    }

    #[test]
    fn lost_means_strictly_longer_than_lost_after() {
        assert!(!is_stale(t(0), t(120), LOST_AFTER));
        assert!(is_stale(t(0), t(121), LOST_AFTER));
    }

    #[test]
    fn cameras_get_their_timeout_after_the_engine_starts() {
        let timeout = Duration::from_secs(30);
        assert_eq!(camera_down_cutoff(t(20), timeout, t(0)), None);
        assert_eq!(camera_down_cutoff(t(31), timeout, t(0)), Some(t(1)));
    }

    #[test]
    fn future_times_are_refused_beyond_the_skew() {
        assert!(!is_in_future(t(60), t(0)));
        assert!(is_in_future(t(61), t(0)));
    }

    #[test]
    fn ages_read_like_a_dashboard() {
        assert_eq!(humanize_ago(t(0), t(2)), "just now");
        assert_eq!(humanize_ago(t(5), t(0)), "just now");
        assert_eq!(humanize_ago(t(0), t(45)), "45 seconds ago");
        assert_eq!(humanize_ago(t(0), t(60)), "1 minute ago");
        assert_eq!(humanize_ago(t(0), t(11 * 3600 + 100)), "11 hours ago");
        assert_eq!(humanize_ago(t(0), t(86_400)), "1 day ago");
        assert_eq!(humanize_ago(t(0), t(400 * 86_400)), "1 year ago");
        assert_eq!(humanize_duration(Duration::from_secs(120)), "2 minutes");
        assert_eq!(humanize_duration(Duration::from_secs(90)), "90 seconds");
        assert_eq!(humanize_duration(Duration::from_secs(3600)), "1 hour");
    }
}
