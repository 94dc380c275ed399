//! Reports over date ranges: per-employee summaries and the CSV export (RFC 4180: a header
//! row, fields quoted where they hold a comma, a quote or a line break).

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use entity::{attendance_log, employee};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};

use super::{check_range, rules::AttendanceStatus};
use crate::error::AppResult;

/// One employee over a range of days.
#[derive(Clone, Debug)]
pub struct Summary {
    pub employee: employee::Model,
    /// Days seen (on time, late or leaving early).
    pub days_present: i32,
    pub days_late: i32,
    pub days_left_early: i32,
    pub days_absent: i32,
    pub total_minutes: i64,
}

/// Every log from `from` to `to` (inclusive), by date then name, with the employees.
pub async fn logs_between(
    db: &DatabaseConnection,
    from: NaiveDate,
    to: NaiveDate,
    department: Option<&str>,
) -> AppResult<Vec<(attendance_log::Model, employee::Model)>> {
    check_range(from, to)?;
    let mut query = attendance_log::Entity::find()
        .filter(attendance_log::Column::Date.gte(from))
        .filter(attendance_log::Column::Date.lte(to))
        .find_also_related(employee::Entity)
        .order_by_asc(attendance_log::Column::Date)
        .order_by_asc(employee::Column::Name);
    if let Some(d) = department {
        query = query.filter(employee::Column::Department.eq(d));
    }
    Ok(query
        .all(db)
        .await?
        .into_iter()
        .filter_map(|(log, person)| person.map(|p| (log, p)))
        .collect())
}

/// Per-employee totals from `from` to `to`: every employee, with or without days logged.
pub async fn summarise(
    db: &DatabaseConnection,
    from: NaiveDate,
    to: NaiveDate,
    department: Option<&str>,
) -> AppResult<Vec<Summary>> {
    let logs = logs_between(db, from, to, department).await?;
    let mut people = employee::Entity::find().order_by_asc(employee::Column::Name);
    if let Some(d) = department {
        people = people.filter(employee::Column::Department.eq(d));
    }
    let mut summaries: Vec<Summary> = people
        .all(db)
        .await?
        .into_iter()
        .map(|employee| Summary {
            employee,
            days_present: 0,
            days_late: 0,
            days_left_early: 0,
            days_absent: 0,
            total_minutes: 0,
        })
        .collect();
    let index: HashMap<String, usize> = summaries
        .iter()
        .enumerate()
        .map(|(i, s)| (s.employee.employee_id.clone(), i))
        .collect();
    for (log, _) in logs {
        let Some(&i) = index.get(&log.employee_id) else {
            continue;
        };
        let s = &mut summaries[i];
        match log.status {
            AttendanceStatus::Absent => s.days_absent += 1,
            AttendanceStatus::Late => {
                s.days_present += 1;
                s.days_late += 1;
            }
            AttendanceStatus::LeftEarly => {
                s.days_present += 1;
                s.days_left_early += 1;
            }
            AttendanceStatus::Present => s.days_present += 1,
        }
        s.total_minutes += i64::from(log.total_duration);
    }
    Ok(summaries)
}

/// One CSV field, quoted when it must be.
fn field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

/// The logs as CSV, times in the site's time zone (ISO 8601 with offset).
pub fn to_csv(rows: &[(attendance_log::Model, employee::Model)], tz: Tz) -> String {
    let time = |t: Option<DateTime<Utc>>| {
        t.map(|t| {
            t.with_timezone(&tz)
                .format("%Y-%m-%dT%H:%M:%S%:z")
                .to_string()
        })
        .unwrap_or_default()
    };
    let mut out = String::from(
        "date,employee_id,name,department,first_seen,last_seen,total_minutes,status\r\n",
    );
    for (log, person) in rows {
        let fields = [
            log.date.to_string(),
            person.employee_id.clone(),
            person.name.clone(),
            person.department.clone().unwrap_or_default(),
            time(log.first_seen),
            time(log.last_seen),
            log.total_duration.to_string(),
            log.status.as_str().to_owned(),
        ];
        let line: Vec<String> = fields.iter().map(|f| field(f)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

/// The logs as a text table for a terminal.
pub fn to_table(rows: &[(attendance_log::Model, employee::Model)], tz: Tz) -> String {
    let time = |t: Option<DateTime<Utc>>| {
        t.map(|t| t.with_timezone(&tz).format("%H:%M").to_string())
            .unwrap_or_else(|| "-".to_owned())
    };
    let mut out = format!(
        "{:<10}  {:<12}  {:<24}  {:<5}  {:<5}  {:>7}  {}\n",
        "date", "employee", "name", "first", "last", "minutes", "status"
    );
    for (log, person) in rows {
        let name: String = person.name.chars().take(24).collect();
        out.push_str(&format!(
            "{:<10}  {:<12}  {:<24}  {:<5}  {:<5}  {:>7}  {}\n",
            log.date,
            person.employee_id,
            name,
            time(log.first_seen),
            time(log.last_seen),
            log.total_duration,
            log.status
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_as_rfc_4180_says() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("Lee, Ann"), "\"Lee, Ann\"");
        assert_eq!(field("the \"boss\""), "\"the \"\"boss\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
    }
}
