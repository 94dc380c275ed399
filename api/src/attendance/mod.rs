//! Attendance: the daily log (one row per employee and local day) kept current as sightings
//! arrive, closed when working days end, rebuilt on demand from the visits; the reports and
//! the retention of personal data.
//!
//! - [`schedule`]: time zone, working hours and days, per-department overrides.
//! - [`rules`]: what a day of visits counts as (pure).
//! - [`closer`]: closing the days as they end, from where the last leader stopped.
//! - [`report`]: summaries over date ranges and the CSV export.
//! - [`retention`]: the periodic purge of old visits, notifications and attendance.
//! - [`settings`]: the `[attendance]` and `[retention]` sections of `hadir.toml`.

pub mod closer;
pub mod report;
pub mod retention;
pub mod rules;
pub mod schedule;
pub mod settings;

use std::{collections::HashMap, sync::Arc, time::Duration};

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use entity::{attendance_log, employee, visit};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set, sea_query::OnConflict,
};

use crate::{
    clock::Clock,
    error::{AppError, AppResult},
};
use rules::{Day, compute_day, day_bounds, local_date};
use schedule::Schedule;

/// Days the closer looks back at start (a server stopped over a weekend catches up).
pub const CATCH_UP_DAYS: i64 = 7;
/// The longest range one rebuild or report may cover.
pub const MAX_RANGE_DAYS: i64 = 3_660;

/// The attendance service.
#[derive(Clone, Debug)]
pub struct Attendance {
    db: DatabaseConnection,
    schedule: Arc<Schedule>,
    clock: Arc<dyn Clock>,
}

impl Attendance {
    pub fn new(db: DatabaseConnection, schedule: Arc<Schedule>, clock: Arc<dyn Clock>) -> Self {
        Self {
            db,
            schedule,
            clock,
        }
    }

    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    /// The site's date now.
    pub fn today(&self) -> NaiveDate {
        local_date(self.schedule.timezone, self.clock.now())
    }

    /// Updates the days a sighting at `seen_at` may have changed for that employee: its own,
    /// and the day before where the visit it extended (by up to `lost_after`) began then.
    pub async fn refresh_for_sighting(
        &self,
        person: &employee::Model,
        seen_at: DateTime<Utc>,
        lost_after: Duration,
    ) -> AppResult<()> {
        let tz = self.schedule.timezone;
        let date = local_date(tz, seen_at);
        let reach = local_date(
            tz,
            seen_at - TimeDelta::from_std(lost_after).unwrap_or(TimeDelta::zero()),
        );
        let people = [person.clone()];
        if reach < date {
            self.write_days(reach, &people).await?;
        }
        self.write_days(date, &people).await
    }

    /// Recomputes `date` for every employee (or the ones given) from their visits, and
    /// writes the rows: inserted, updated, or removed where nothing is left to record.
    async fn write_days(&self, date: NaiveDate, people: &[employee::Model]) -> AppResult<()> {
        let tz = self.schedule.timezone;
        let (start, end) = day_bounds(tz, date);
        let ids: Vec<String> = people.iter().map(|p| p.employee_id.clone()).collect();
        let mut visits: HashMap<String, Vec<rules::Span>> = HashMap::new();
        for v in visit::Entity::find()
            .filter(visit::Column::EmployeeId.is_in(ids.clone()))
            .filter(visit::Column::EndedAt.gte(start))
            .filter(visit::Column::StartedAt.lt(end))
            .all(&self.db)
            .await?
        {
            visits
                .entry(v.employee_id)
                .or_default()
                .push((v.started_at, v.ended_at));
        }
        let mut existing: HashMap<String, attendance_log::Model> = attendance_log::Entity::find()
            .filter(attendance_log::Column::Date.eq(date))
            .filter(attendance_log::Column::EmployeeId.is_in(ids))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|row| (row.employee_id.clone(), row))
            .collect();
        let now = self.clock.now();
        for person in people {
            let hours = self.schedule.hours_of(person.department.as_deref());
            let day = compute_day(
                tz,
                date,
                hours,
                visits
                    .get(&person.employee_id)
                    .map_or(&[][..], Vec::as_slice),
                now,
            )
            // Nobody is absent on days before they were an employee here.
            .filter(|d| {
                d.status != rules::AttendanceStatus::Absent
                    || date >= local_date(tz, person.created_at)
            });
            let old = existing.remove(&person.employee_id);
            write_day(&self.db, &person.employee_id, date, day, old, now).await?;
        }
        Ok(())
    }

    /// Closes `date` for everyone: ABSENT for the unseen, LEFT_EARLY where due.
    pub async fn close_day(&self, date: NaiveDate) -> AppResult<()> {
        let people = employee::Entity::find().all(&self.db).await?;
        self.write_days(date, &people).await
    }

    /// Recomputes every day from `from` to `to` (inclusive) from the visits; returns the
    /// number of days.
    pub async fn rebuild(&self, from: NaiveDate, to: NaiveDate) -> AppResult<u64> {
        check_range(from, to)?;
        let people = employee::Entity::find().all(&self.db).await?;
        let mut days = 0;
        let mut date = from;
        while date <= to {
            self.write_days(date, &people).await?;
            days += 1;
            date = date.succ_opt().unwrap_or(date);
            if days as i64 > MAX_RANGE_DAYS {
                break;
            }
        }
        Ok(days)
    }

    /// The logs of one day, optionally of one employee or department, with the employees.
    pub async fn logs(
        &self,
        date: NaiveDate,
        employee_id: Option<&str>,
        department: Option<&str>,
    ) -> AppResult<Vec<(attendance_log::Model, employee::Model)>> {
        let mut query = attendance_log::Entity::find()
            .filter(attendance_log::Column::Date.eq(date))
            .find_also_related(employee::Entity)
            .order_by_asc(employee::Column::Name);
        if let Some(id) = employee_id {
            query = query.filter(attendance_log::Column::EmployeeId.eq(id));
        }
        if let Some(d) = department {
            query = query.filter(employee::Column::Department.eq(d));
        }
        Ok(query
            .all(&self.db)
            .await?
            .into_iter()
            .filter_map(|(log, person)| person.map(|p| (log, p)))
            .collect())
    }
}

/// Refuses a range that ends before it starts or is too long.
pub fn check_range(from: NaiveDate, to: NaiveDate) -> AppResult<()> {
    if to < from {
        return Err(AppError::invalid("to", format!("{to} is before {from}")));
    }
    if (to - from).num_days() > MAX_RANGE_DAYS {
        return Err(AppError::invalid(
            "to",
            format!("the range may cover at most {MAX_RANGE_DAYS} days"),
        ));
    }
    Ok(())
}

async fn write_day(
    db: &impl ConnectionTrait,
    employee_id: &str,
    date: NaiveDate,
    day: Option<Day>,
    old: Option<attendance_log::Model>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    match (day, old) {
        (None, None) => {}
        (None, Some(old)) => {
            attendance_log::Entity::delete_by_id(old.log_id)
                .exec(db)
                .await?;
        }
        (Some(day), Some(old)) => {
            let unchanged = old.first_seen == day.first_seen
                && old.last_seen == day.last_seen
                && old.total_duration == day.total_minutes
                && old.status == day.status;
            if !unchanged {
                let mut row: attendance_log::ActiveModel = old.into();
                row.first_seen = Set(day.first_seen);
                row.last_seen = Set(day.last_seen);
                row.total_duration = Set(day.total_minutes);
                row.status = Set(day.status);
                row.updated_at = Set(now);
                row.update(db).await?;
            }
        }
        (Some(day), None) => {
            // An upsert: the closer and a sighting may write the same day at once.
            let row = attendance_log::ActiveModel {
                employee_id: Set(employee_id.to_owned()),
                date: Set(date),
                first_seen: Set(day.first_seen),
                last_seen: Set(day.last_seen),
                total_duration: Set(day.total_minutes),
                status: Set(day.status),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            };
            attendance_log::Entity::insert(row)
                .on_conflict(
                    OnConflict::columns([
                        attendance_log::Column::EmployeeId,
                        attendance_log::Column::Date,
                    ])
                    .update_columns([
                        attendance_log::Column::FirstSeen,
                        attendance_log::Column::LastSeen,
                        attendance_log::Column::TotalDuration,
                        attendance_log::Column::Status,
                        attendance_log::Column::UpdatedAt,
                    ])
                    .to_owned(),
                )
                .exec_without_returning(db)
                .await?;
        }
    }
    Ok(())
}
