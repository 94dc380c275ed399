//! What one employee's day counts as, from their visits of that day: first and last seen,
//! minutes present, and PRESENT, LATE, LEFT_EARLY or ABSENT. Pure: the live computation and
//! `hadir attendance rebuild` call the same function, so they give the same rows.

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

use super::schedule::Hours;

/// A day's status (the `attendance_logs.status` column).
pub use entity::attendance_log::AttendanceStatus;

/// A time present: a visit's start and end.
pub type Span = (DateTime<Utc>, DateTime<Utc>);

/// One employee's day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Day {
    pub first_seen: Option<DateTime<Utc>>,
    pub last_seen: Option<DateTime<Utc>>,
    pub total_minutes: i32,
    pub status: AttendanceStatus,
}

/// The instant a local date and time falls on in `tz` (the earlier one where a clock change
/// repeats it, the next valid one where it skips it).
pub fn instant(tz: Tz, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let local = date.and_time(time);
    match tz.from_local_datetime(&local).earliest() {
        Some(t) => t.with_timezone(&Utc),
        None => tz
            .from_local_datetime(&(local + TimeDelta::hours(1)))
            .earliest()
            .map_or_else(|| local.and_utc(), |t| t.with_timezone(&Utc)),
    }
}

/// The instants a local date spans: [its midnight, the next midnight).
pub fn day_bounds(tz: Tz, date: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let next = date.succ_opt().unwrap_or(date);
    (
        instant(tz, date, NaiveTime::MIN),
        instant(tz, next, NaiveTime::MIN),
    )
}

/// The local date of an instant.
pub fn local_date(tz: Tz, at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&tz).date_naive()
}

/// The day of `date` for someone with `visits` (from, to), under `hours`, as known at `now`.
/// None: nothing to record (no sighting, and not an ended working day).
pub fn compute_day(
    tz: Tz,
    date: NaiveDate,
    hours: &Hours,
    visits: &[Span],
    now: DateTime<Utc>,
) -> Option<Day> {
    let (day_start, day_end) = day_bounds(tz, date);
    let mut spans: Vec<Span> = visits
        .iter()
        .filter(|(from, to)| *to >= day_start && *from < day_end)
        .map(|(from, to)| ((*from).max(day_start), (*to).min(day_end)))
        .collect();
    let working = hours.is_working_day(date);
    let ended = now >= instant(tz, date, hours.end);
    if spans.is_empty() {
        return (working && ended).then_some(Day {
            first_seen: None,
            last_seen: None,
            total_minutes: 0,
            status: AttendanceStatus::Absent,
        });
    }
    // Overlapping visits (two cameras at once) count once.
    spans.sort();
    let mut seconds = 0i64;
    let (mut open_from, mut open_to) = spans[0];
    for &(from, to) in &spans[1..] {
        if from <= open_to {
            open_to = open_to.max(to);
        } else {
            seconds += (open_to - open_from).num_seconds();
            (open_from, open_to) = (from, to);
        }
    }
    seconds += (open_to - open_from).num_seconds();
    let first_seen = spans.iter().map(|s| s.0).min()?;
    let last_seen = spans.iter().map(|s| s.1).max()?;
    let grace = TimeDelta::minutes(i64::from(hours.grace_minutes));
    let status = if !working {
        AttendanceStatus::Present
    } else if first_seen > instant(tz, date, hours.start) + grace {
        AttendanceStatus::Late
    } else if ended && last_seen < instant(tz, date, hours.end) - grace {
        AttendanceStatus::LeftEarly
    } else {
        AttendanceStatus::Present
    };
    Some(Day {
        first_seen: Some(first_seen),
        last_seen: Some(last_seen),
        total_minutes: i32::try_from(seconds / 60).unwrap_or(i32::MAX),
        status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attendance::schedule::Hours;

    fn hours() -> Hours {
        Hours::parse("09:00", "17:00", 15, "mon-fri").unwrap()
    }

    fn jakarta() -> Tz {
        "Asia/Jakarta".parse().unwrap()
    }

    /// 2026-11-25 (a Wednesday) at local `hh:mm` in Jakarta (UTC+7).
    fn at(hh: u32, mm: u32) -> DateTime<Utc> {
        instant(
            jakarta(),
            NaiveDate::from_ymd_opt(2026, 11, 25).unwrap(),
            NaiveTime::from_hms_opt(hh, mm, 0).unwrap(),
        )
    }

    fn day(visits: &[Span], now: DateTime<Utc>) -> Option<Day> {
        compute_day(
            jakarta(),
            NaiveDate::from_ymd_opt(2026, 11, 25).unwrap(),
            &hours(),
            visits,
            now,
        )
    }

    #[test]
    fn on_time_late_and_left_early() {
        let evening = at(20, 0);
        let on_time = day(&[(at(9, 10), at(12, 0)), (at(13, 0), at(17, 5))], evening).unwrap();
        assert_eq!(on_time.status, AttendanceStatus::Present);
        assert_eq!(on_time.first_seen, Some(at(9, 10)));
        assert_eq!(on_time.last_seen, Some(at(17, 5)));
        assert_eq!(on_time.total_minutes, 170 + 245);
        assert_eq!(
            day(&[(at(9, 16), at(17, 0))], evening).unwrap().status,
            AttendanceStatus::Late
        );
        assert_eq!(
            day(&[(at(9, 15), at(17, 0))], evening).unwrap().status,
            AttendanceStatus::Present
        );
        assert_eq!(
            day(&[(at(8, 55), at(16, 44))], evening).unwrap().status,
            AttendanceStatus::LeftEarly
        );
        // Before the day has ended nobody has left early yet.
        assert_eq!(
            day(&[(at(8, 55), at(12, 0))], at(12, 30)).unwrap().status,
            AttendanceStatus::Present
        );
    }

    #[test]
    fn absent_only_once_a_working_day_has_ended() {
        assert_eq!(day(&[], at(16, 0)), None);
        assert_eq!(
            day(&[], at(17, 0)).unwrap().status,
            AttendanceStatus::Absent
        );
        let saturday = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
        assert_eq!(
            compute_day(
                jakarta(),
                saturday,
                &hours(),
                &[],
                at(23, 0) + TimeDelta::days(5)
            ),
            None
        );
        let weekend_work = compute_day(
            jakarta(),
            saturday,
            &hours(),
            &[(
                at(11, 0) + TimeDelta::days(3),
                at(12, 0) + TimeDelta::days(3),
            )],
            at(23, 0) + TimeDelta::days(5),
        )
        .unwrap();
        assert_eq!(weekend_work.status, AttendanceStatus::Present);
        assert_eq!(weekend_work.total_minutes, 60);
    }

    #[test]
    fn the_local_day_boundary_splits_visits() {
        // A visit from 23:30 to 00:30 local counts 30 minutes to each day.
        let late_night = (at(23, 30), at(23, 30) + TimeDelta::hours(1));
        let first = day(&[late_night], at(23, 59)).unwrap();
        assert_eq!(first.total_minutes, 30);
        let next = compute_day(
            jakarta(),
            NaiveDate::from_ymd_opt(2026, 11, 26).unwrap(),
            &hours(),
            &[late_night],
            at(23, 59) + TimeDelta::days(1),
        )
        .unwrap();
        assert_eq!(next.total_minutes, 30);
        assert_eq!(
            local_date(jakarta(), at(23, 30) + TimeDelta::hours(1)).to_string(),
            "2026-11-26"
        );
        // 00:30 in Jakarta is still the previous day in UTC.
        assert_eq!((at(0, 30)).date_naive().to_string(), "2026-11-24");
    }

    #[test]
    fn overlapping_visits_count_once() {
        let d = day(&[(at(9, 0), at(10, 0)), (at(9, 30), at(11, 0))], at(20, 0)).unwrap();
        assert_eq!(d.total_minutes, 120);
    }
}
