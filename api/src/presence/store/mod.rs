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
    camera::{self, CameraStatus},
    employee, employee_tracking as tracking,
    notification::{self, NotificationType},
    visit,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, TryInsertResult,
    sea_query::{CaseStatement, Expr, ExprTrait, OnConflict},
};

use crate::cluster::leases::LeaseClaim;

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
const CAMERAS: &str = "cameras";

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

/// Cameras online whose last frame is older than `cutoff` (or that never sent one). In a
/// cluster (PostgreSQL) a lease taken since `cutoff` counts as a frame: a camera that just
/// moved to another node is given `camera_timeout` there before it is taken for down.
pub async fn silent_cameras(
    db: &impl ConnectionTrait,
    cutoff: DateTime<Utc>,
) -> Result<Vec<camera::Model>, DbErr> {
    camera::Entity::find()
        .filter(camera::Column::Status.eq(CameraStatus::Online))
        .filter(
            camera::Column::LastFrameAt
                .lt(cutoff)
                .or(camera::Column::LastFrameAt.is_null()),
        )
        .filter(not_newly_held(db, cutoff))
        .all(db)
        .await
        .map_err(in_table(CAMERAS))
}

/// On PostgreSQL: no live lease of the camera was taken since `cutoff`; elsewhere (a
/// cluster of one, no leases) always true.
fn not_newly_held(db: &impl ConnectionTrait, cutoff: DateTime<Utc>) -> Expr {
    if db.get_database_backend() != DbBackend::Postgres {
        return Expr::value(true);
    }
    Expr::cust_with_values(
        "NOT EXISTS (SELECT 1 FROM leases l WHERE l.resource = 'camera/' || cameras.camera_id \
           AND l.expires_at >= now() AND l.acquired_at >= $1)",
        [cutoff],
    )
}

/// On PostgreSQL, with a claim: the claim's lease is still this instance's, at its epoch.
fn claim_holds(db: &impl ConnectionTrait, camera_id: &str, claim: Option<&LeaseClaim>) -> Expr {
    match claim {
        Some(claim) if db.get_database_backend() == DbBackend::Postgres => Expr::cust_with_values(
            "EXISTS (SELECT 1 FROM leases l WHERE l.resource = $1 AND l.instance_id = $2 \
               AND l.epoch = $3 AND l.expires_at >= now())",
            [
                sea_orm::Value::from(entity::lease::camera_resource(camera_id)),
                claim.instance_id.clone().into(),
                claim.epoch.into(),
            ],
        ),
        _ => Expr::value(true),
    }
}

/// The node holding a camera's live lease (PostgreSQL; None elsewhere or when nobody holds
/// it).
pub async fn camera_holder(
    db: &impl ConnectionTrait,
    camera_id: &str,
) -> Result<Option<String>, DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(None);
    }
    let row = db
        .query_one_raw(sea_orm::Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT node_id FROM leases WHERE resource = $1 AND expires_at >= now()",
            [entity::lease::camera_resource(camera_id).into()],
        ))
        .await?;
    match row {
        Some(row) => Ok(Some(row.try_get("", "node_id")?)),
        None => Ok(None),
    }
}

/// online → offline for one camera if it is still online and silent since `cutoff`.
pub async fn mark_camera_down(
    db: &impl ConnectionTrait,
    camera_id: &str,
    cutoff: DateTime<Utc>,
    message: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = camera::Entity::update_many()
        .col_expr(camera::Column::Status, Expr::value(CameraStatus::Offline))
        .col_expr(camera::Column::IsActive, false.into())
        .col_expr(
            camera::Column::StatusMessage,
            Some(message.to_owned()).into(),
        )
        .col_expr(camera::Column::StatusChangedAt, Some(now).into())
        .col_expr(
            camera::Column::StatusVersion,
            Expr::col(camera::Column::StatusVersion).add(1),
        )
        .filter(camera::Column::CameraId.eq(camera_id))
        .filter(camera::Column::Status.eq(CameraStatus::Online))
        .filter(
            camera::Column::LastFrameAt
                .lt(cutoff)
                .or(camera::Column::LastFrameAt.is_null()),
        )
        .filter(not_newly_held(db, cutoff))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Records a frame from a camera: moves `last_frame_at` forward (with a claim: only while the
/// claim's lease holds). False when the claim no longer holds.
pub async fn touch_camera(
    db: &impl ConnectionTrait,
    camera_id: &str,
    at: DateTime<Utc>,
    claim: Option<&LeaseClaim>,
) -> Result<bool, DbErr> {
    if claim.is_some() && !lease_holds(db, camera_id, claim).await? {
        return Ok(false);
    }
    camera::Entity::update_many()
        .col_expr(camera::Column::LastFrameAt, Some(at).into())
        .filter(camera::Column::CameraId.eq(camera_id))
        .filter(
            camera::Column::LastFrameAt
                .lt(at)
                .or(camera::Column::LastFrameAt.is_null()),
        )
        .exec(db)
        .await?;
    Ok(true)
}

/// Whether the claim's lease still holds (always, without a claim or off PostgreSQL).
async fn lease_holds(
    db: &impl ConnectionTrait,
    camera_id: &str,
    claim: Option<&LeaseClaim>,
) -> Result<bool, DbErr> {
    let found = camera::Entity::find()
        .filter(camera::Column::CameraId.eq(camera_id))
        .filter(claim_holds(db, camera_id, claim))
        .count(db)
        .await?;
    Ok(found > 0)
}

/// offline → online for one camera if it is still offline (with a claim: only while the
/// claim's lease holds). True when this call changed it.
pub async fn mark_camera_up(
    db: &impl ConnectionTrait,
    camera_id: &str,
    now: DateTime<Utc>,
    claim: Option<&LeaseClaim>,
) -> Result<bool, DbErr> {
    let result = camera::Entity::update_many()
        .col_expr(camera::Column::Status, Expr::value(CameraStatus::Online))
        .col_expr(camera::Column::IsActive, true.into())
        .col_expr(camera::Column::StatusMessage, Option::<String>::None.into())
        .col_expr(camera::Column::StatusChangedAt, Some(now).into())
        .col_expr(
            camera::Column::StatusVersion,
            Expr::col(camera::Column::StatusVersion).add(1),
        )
        .filter(camera::Column::CameraId.eq(camera_id))
        .filter(camera::Column::Status.eq(CameraStatus::Offline))
        .filter(claim_holds(db, camera_id, claim))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
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

#[cfg(test)]
mod tests;
