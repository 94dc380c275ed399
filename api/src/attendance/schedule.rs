//! The work schedule: the site's time zone, working hours, grace minutes and working days,
//! with per-department overrides. It decides what a day of sightings counts as.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveTime, Weekday};
use chrono_tz::Tz;

pub use super::settings::HoursOverride;

/// The working days of a week, as a set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkDays(u8);

impl WorkDays {
    /// `mon-fri`, `mon,wed,fri`, `sun-thu`, `mon-fri,sun`…
    pub fn parse(text: &str) -> Result<Self, String> {
        let day = |name: &str| -> Result<u8, String> {
            let weekday: Weekday = name
                .trim()
                .parse()
                .map_err(|_| format!("{name:?} is not a day (mon, tue, …, sun)"))?;
            Ok(weekday.num_days_from_monday() as u8)
        };
        let mut bits = 0u8;
        for part in text.split(',').filter(|p| !p.trim().is_empty()) {
            match part.split_once('-') {
                Some((from, to)) => {
                    let (mut d, end) = (day(from)?, day(to)?);
                    loop {
                        bits |= 1 << d;
                        if d == end {
                            break;
                        }
                        d = (d + 1) % 7;
                    }
                }
                None => bits |= 1 << day(part)?,
            }
        }
        if bits == 0 {
            return Err(format!("{text:?} names no working day"));
        }
        Ok(Self(bits))
    }

    pub fn contains(self, weekday: Weekday) -> bool {
        self.0 & (1 << weekday.num_days_from_monday()) != 0
    }
}

/// Working hours and days of the site or of one department.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hours {
    pub start: NaiveTime,
    pub end: NaiveTime,
    pub grace_minutes: u32,
    pub days: WorkDays,
}

/// The schedule of the whole site.
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    pub timezone: Tz,
    pub default: Hours,
    pub departments: BTreeMap<String, Hours>,
}

/// Parses `HH:MM`.
pub fn parse_time(text: &str) -> Result<NaiveTime, String> {
    NaiveTime::parse_from_str(text.trim(), "%H:%M")
        .map_err(|_| format!("{text:?} is not a time of day as HH:MM"))
}

pub fn parse_timezone(text: &str) -> Result<Tz, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("{text:?} is not an IANA time zone such as Asia/Jakarta"))
}

impl Hours {
    pub fn parse(start: &str, end: &str, grace_minutes: u32, days: &str) -> Result<Self, String> {
        let hours = Self {
            start: parse_time(start)?,
            end: parse_time(end)?,
            grace_minutes,
            days: WorkDays::parse(days)?,
        };
        if hours.end <= hours.start {
            return Err(format!("the end {end} is not after the start {start}"));
        }
        Ok(hours)
    }

    /// These hours with a department's overrides.
    pub fn with(&self, o: &HoursOverride) -> Result<Self, String> {
        let hours = Self {
            start: o
                .start
                .as_deref()
                .map(parse_time)
                .transpose()?
                .unwrap_or(self.start),
            end: o
                .end
                .as_deref()
                .map(parse_time)
                .transpose()?
                .unwrap_or(self.end),
            grace_minutes: o.grace_minutes.unwrap_or(self.grace_minutes),
            days: o
                .work_days
                .as_deref()
                .map(WorkDays::parse)
                .transpose()?
                .unwrap_or(self.days),
        };
        if hours.end <= hours.start {
            return Err(format!(
                "the end {} is not after the start {}",
                hours.end, hours.start
            ));
        }
        Ok(hours)
    }

    pub fn is_working_day(&self, date: chrono::NaiveDate) -> bool {
        self.days.contains(date.weekday())
    }
}

impl Schedule {
    /// The hours of an employee of `department` (the site's when it has no override).
    pub fn hours_of(&self, department: Option<&str>) -> &Hours {
        department
            .and_then(|d| self.departments.get(d))
            .unwrap_or(&self.default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn work_days_read_like_people_write_them() {
        let week = WorkDays::parse("mon-fri").unwrap();
        assert!(week.contains(Weekday::Mon) && week.contains(Weekday::Fri));
        assert!(!week.contains(Weekday::Sat) && !week.contains(Weekday::Sun));
        let wrap = WorkDays::parse("sun-thu").unwrap();
        assert!(wrap.contains(Weekday::Sun) && wrap.contains(Weekday::Thu));
        assert!(!wrap.contains(Weekday::Fri));
        let list = WorkDays::parse("mon, wed,fri").unwrap();
        assert!(list.contains(Weekday::Wed) && !list.contains(Weekday::Tue));
        assert!(WorkDays::parse("funday").is_err());
        assert!(WorkDays::parse("").is_err());
    }

    #[test]
    fn hours_and_overrides() {
        let site = Hours::parse("09:00", "17:00", 15, "mon-fri").unwrap();
        assert!(Hours::parse("17:00", "09:00", 15, "mon-fri").is_err());
        assert!(Hours::parse("9am", "17:00", 15, "mon-fri").is_err());
        let night = site
            .with(&HoursOverride {
                start: Some("10:00".into()),
                work_days: Some("tue-sat".into()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(night.start, parse_time("10:00").unwrap());
        assert_eq!(night.end, site.end);
        let saturday = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
        assert!(night.is_working_day(saturday) && !site.is_working_day(saturday));
        assert!(parse_timezone("Asia/Jakarta").is_ok() && parse_timezone("Mars/Base").is_err());
    }
}
