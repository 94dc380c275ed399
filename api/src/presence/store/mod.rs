//! The presence engine's reads and writes. Every state change here is a conditional write
//! (compare-and-set on the row as it was read), so that several processes sharing one
//! database never both make the same change, and a notification is written only by the write
//! that changed the state.
//!
//! A status the database holds that this version does not know (see [`Status`]) is an error
//! naming the table and the value ([`in_table`]), never read as some other status.

use std::{collections::HashMap, time::Duration};

use chrono::{DateTime, TimeDelta, Utc};
use entity::{
    camera, employee, employee_tracking as tracking,
    notification::{self, NotificationType},
    visit,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, TryInsertResult,
    sea_query::{CaseStatement, Expr, ExprTrait, OnConflict},
};

use super::{
    rules::Status,
    view::{EmployeePresence, PresenceCounts},
};

/// Names the table in an error reading its rows: a value that a column's enum does not know
/// reads as `employee_tracking: unexpected value for TrackingStatus enum: BOGUS`.
pub fn in_table(table: &'static str) -> impl FnOnce(DbErr) -> DbErr {
    move |error| match error {
        DbErr::Type(message) => DbErr::Type(format!("{table}: {message}")),
        other => other,
    }
}

/// The tracking row of one employee (None: never seen).
pub async fn tracking_of(
    db: &impl ConnectionTrait,
    employee_id: &str,
) -> Result<Option<tracking::Model>, DbErr> {
    tracking::Entity::find()
        .filter(tracking::Column::EmployeeId.eq(employee_id))
        .one(db)
        .await
        .map_err(in_table(TRACKING))
}

/// The table of tracking rows, for errors.
const TRACKING: &str = "employee_tracking";
/// The table of cameras, for errors.
pub const CAMERAS: &str = "cameras";

/// Employees with their presence: all of them (ordered by name) or the ones named.
pub async fn load_presence(
    db: &impl ConnectionTrait,
    only: Option<&[String]>,
) -> Result<Vec<EmployeePresence>, DbErr> {
    let mut employees = employee::Entity::find().order_by_asc(employee::Column::Name);
    let mut rows = tracking::Entity::find();
    if let Some(ids) = only {
        employees = employees.filter(employee::Column::EmployeeId.is_in(ids.iter().cloned()));
        rows = rows.filter(tracking::Column::EmployeeId.is_in(ids.iter().cloned()));
    }
    let employees = employees
        .order_by_asc(employee::Column::EmployeeId)
        .all(db)
        .await?;
    let mut rows: HashMap<String, tracking::Model> = rows
        .all(db)
        .await
        .map_err(in_table(TRACKING))?
        .into_iter()
        .map(|r| (r.employee_id.clone(), r))
        .collect();
    let camera_ids: Vec<String> = rows.values().filter_map(|r| r.camera_id.clone()).collect();
    let cameras: HashMap<String, camera::Model> = if camera_ids.is_empty() {
        HashMap::new()
    } else {
        camera::Entity::find()
            .filter(camera::Column::CameraId.is_in(camera_ids))
            .all(db)
            .await
            .map_err(in_table(CAMERAS))?
            .into_iter()
            .map(|c| (c.camera_id.clone(), c))
            .collect()
    };
    Ok(employees
        .into_iter()
        .map(|employee| {
            let tracking = rows.remove(&employee.employee_id);
            let camera = tracking
                .as_ref()
                .and_then(|t| t.camera_id.as_ref())
                .and_then(|id| cameras.get(id).cloned());
            EmployeePresence {
                employee,
                tracking,
                camera,
            }
        })
        .collect())
}

/// One employee with their presence.
pub async fn presence_of(
    db: &impl ConnectionTrait,
    employee_id: &str,
) -> Result<Option<EmployeePresence>, DbErr> {
    Ok(load_presence(db, Some(&[employee_id.to_owned()]))
        .await?
        .into_iter()
        .next())
}

/// The presence of `employee` (as read for a sighting at `camera`) after the sighting was
/// written: its tracking row read again, the employee and, where the row names it, the camera
/// reused rather than read again (two queries fewer on the sightings' path).
pub async fn presence_after(
    db: &impl ConnectionTrait,
    employee: &employee::Model,
    camera: &camera::Model,
) -> Result<EmployeePresence, DbErr> {
    let tracking = tracking::Entity::find()
        .filter(tracking::Column::EmployeeId.eq(employee.employee_id.as_str()))
        .one(db)
        .await
        .map_err(in_table(TRACKING))?;
    let camera = match tracking.as_ref().and_then(|t| t.camera_id.as_deref()) {
        Some(id) if id == camera.camera_id => Some(camera.clone()),
        Some(id) => camera::Entity::find_by_id(id.to_owned())
            .one(db)
            .await
            .map_err(in_table(CAMERAS))?,
        None => None,
    };
    Ok(EmployeePresence {
        employee: employee.clone(),
        tracking,
        camera,
    })
}

/// The summary counts: present (AVAILABLE), alert (OFFLINE), unavailable (never seen).
pub async fn counts(db: &impl ConnectionTrait) -> Result<PresenceCounts, DbErr> {
    let total = employee::Entity::find().count(db).await? as i64;
    let by_status: Vec<(Status, i64)> = tracking::Entity::find()
        .select_only()
        .column(tracking::Column::Status)
        .column_as(tracking::Column::Id.count(), "count")
        .group_by(tracking::Column::Status)
        .into_tuple()
        .all(db)
        .await
        .map_err(in_table(TRACKING))?;
    let count_of = |status: Status| {
        by_status
            .iter()
            .filter(|(s, _)| *s == status)
            .map(|(_, n)| *n)
            .sum::<i64>()
    };
    let present = count_of(Status::Available);
    let alert = count_of(Status::Offline);
    Ok(PresenceCounts {
        present,
        alert,
        unavailable: std::cmp::max(total - present - alert, 0),
        total,
    })
}

/// Where a sighting moves an employee's tracking row.
#[derive(Clone, Copy, Debug)]
pub struct TrackingMove<'a> {
    pub employee_id: &'a str,
    pub camera_id: &'a str,
    pub seen_at: DateTime<Utc>,
    pub status: Status,
    pub score: Option<f64>,
}

/// Moves an employee's row to a newer sighting, provided it is still as it was read
/// (`expected`; None: there was no row). False when someone else changed it first.
pub async fn move_tracking(
    db: &impl ConnectionTrait,
    expected: Option<&tracking::Model>,
    to: TrackingMove<'_>,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let TrackingMove {
        employee_id,
        camera_id,
        seen_at,
        status,
        score,
    } = to;
    match expected {
        None => {
            let row = tracking::ActiveModel {
                employee_id: Set(employee_id.to_owned()),
                camera_id: Set(Some(camera_id.to_owned())),
                last_seen: Set(seen_at),
                status: Set(status),
                score: Set(score),
                status_changed_at: Set(now),
                status_version: Set(1),
                ..Default::default()
            };
            let inserted = tracking::Entity::insert(row)
                .on_conflict(
                    OnConflict::column(tracking::Column::EmployeeId)
                        .do_nothing()
                        .to_owned(),
                )
                .try_insert()
                .exec_without_returning(db)
                .await?;
            Ok(matches!(inserted, TryInsertResult::Inserted(n) if n > 0))
        }
        Some(current) => {
            let status_changed_at = if current.status == status {
                current.status_changed_at
            } else {
                now
            };
            let status_version = if current.status == status {
                current.status_version
            } else {
                current.status_version + 1
            };
            let result = tracking::Entity::update_many()
                .col_expr(tracking::Column::CameraId, camera_id.into())
                .col_expr(tracking::Column::LastSeen, seen_at.into())
                .col_expr(tracking::Column::Status, Expr::value(status))
                .col_expr(tracking::Column::Score, score.into())
                .col_expr(tracking::Column::StatusChangedAt, status_changed_at.into())
                .col_expr(tracking::Column::StatusVersion, status_version.into())
                .filter(tracking::Column::EmployeeId.eq(employee_id))
                .filter(tracking::Column::Status.eq(current.status))
                .filter(tracking::Column::LastSeen.eq(current.last_seen))
                .exec(db)
                .await?;
            Ok(result.rows_affected == 1)
        }
    }
}

/// AVAILABLE → OFFLINE for one employee, if they are still AVAILABLE and last seen before
/// `cutoff`. True when this call made the change.
pub async fn mark_lost(
    db: &impl ConnectionTrait,
    employee_id: &str,
    cutoff: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = tracking::Entity::update_many()
        .col_expr(tracking::Column::Status, Expr::value(Status::Offline))
        .col_expr(tracking::Column::StatusChangedAt, now.into())
        .col_expr(
            tracking::Column::StatusVersion,
            Expr::col(tracking::Column::StatusVersion).add(1),
        )
        .filter(tracking::Column::EmployeeId.eq(employee_id))
        .filter(tracking::Column::Status.eq(Status::Available))
        .filter(tracking::Column::LastSeen.lt(cutoff))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Rows AVAILABLE and last seen before `cutoff`: the candidates for OFFLINE.
pub async fn lost_candidates(
    db: &impl ConnectionTrait,
    cutoff: DateTime<Utc>,
) -> Result<Vec<tracking::Model>, DbErr> {
    tracking::Entity::find()
        .filter(tracking::Column::Status.eq(Status::Available))
        .filter(tracking::Column::LastSeen.lt(cutoff))
        .all(db)
        .await
        .map_err(in_table(TRACKING))
}

/// Adds a sighting to the visit history. The visit it may extend is the employee's latest one
/// (by end) that started no later than the sighting: at the same camera and within
/// `lost_after` of its end, the sighting extends it; otherwise (another camera in between,
/// or a longer gap) it starts a new visit.
pub async fn record_visit(
    db: &impl ConnectionTrait,
    employee_id: &str,
    camera_id: &str,
    seen_at: DateTime<Utc>,
    lost_after: Duration,
) -> Result<(), DbErr> {
    let gap = TimeDelta::from_std(lost_after).unwrap_or(TimeDelta::MAX);
    let previous = visit::Entity::find()
        .filter(visit::Column::EmployeeId.eq(employee_id))
        .filter(visit::Column::StartedAt.lte(seen_at))
        .order_by_desc(visit::Column::EndedAt)
        .order_by_desc(visit::Column::Id)
        .one(db)
        .await?;
    if let Some(previous) = previous
        && previous.camera_id.as_deref() == Some(camera_id)
        && seen_at <= previous.ended_at + gap
    {
        // One statement, not a read-modify-write: sightings at one visit from several
        // writers at once each count (`ended_at` only ever moves later).
        visit::Entity::update_many()
            .col_expr(
                visit::Column::EndedAt,
                CaseStatement::new()
                    .case(visit::Column::EndedAt.lt(seen_at), Expr::val(seen_at))
                    .finally(Expr::col(visit::Column::EndedAt))
                    .into(),
            )
            .col_expr(
                visit::Column::Sightings,
                Expr::col(visit::Column::Sightings).add(1),
            )
            .filter(visit::Column::Id.eq(previous.id))
            .exec(db)
            .await?;
        return Ok(());
    }
    visit::ActiveModel {
        employee_id: Set(employee_id.to_owned()),
        camera_id: Set(Some(camera_id.to_owned())),
        started_at: Set(seen_at),
        ended_at: Set(seen_at),
        sightings: Set(1),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Writes one notification.
pub async fn insert_notification(
    db: &impl ConnectionTrait,
    kind: NotificationType,
    employee_id: Option<&str>,
    camera_id: Option<&str>,
    message: String,
    now: DateTime<Utc>,
) -> Result<notification::Model, DbErr> {
    notification::ActiveModel {
        employee_id: Set(employee_id.map(str::to_owned)),
        camera_id: Set(camera_id.map(str::to_owned)),
        kind: Set(kind),
        message: Set(message),
        created_at: Set(now),
        is_read: Set(false),
        ..Default::default()
    }
    .insert(db)
    .await
}

pub mod cameras;
#[cfg(test)]
mod tests;
