//! The presence engine's writes about cameras: frames coming (under the reading node's
//! lease, in a cluster), up and down, and who holds a camera's lease. Conditional writes, as
//! in [`super`]: of several processes, one makes a change.

use chrono::{DateTime, Utc};
use entity::camera::{self, CameraStatus};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    sea_query::{Expr, ExprTrait},
};

use super::{CAMERAS, in_table};
use crate::cluster::leases::LeaseClaim;

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
