//! Notifications no leader delivered: how far the webhooks have delivered notifications is
//! kept in `cluster_state` ([`DELIVERED_THROUGH`]); a new leader (or a restart after a crash)
//! first posts the notifications created after it — at most [`MAX_REPLAY`], none older than
//! [`REPLAY_WINDOW`] — under their own delivery ids (`notification-{id}`), so a receiver
//! that got one already drops the repeat. Only notifications are replayed: they are stored;
//! detections and the like are not.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use entity::{cluster_state, notification};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::OnConflict,
};

use crate::events::NotificationRecord;

/// The `cluster_state` key of the last notification id the webhooks delivered.
pub const DELIVERED_THROUGH: &str = "webhooks_notified_through";
/// The most notifications one replay posts (the oldest first).
pub const MAX_REPLAY: u64 = 1_000;
/// Notifications older than this are not replayed (a receiver wants news, not history).
pub const REPLAY_WINDOW: Duration = Duration::from_secs(3_600);

/// The last notification id delivered, as stored.
async fn delivered_through(db: &DatabaseConnection) -> Result<Option<i64>, DbErr> {
    Ok(
        cluster_state::Entity::find_by_id(DELIVERED_THROUGH.to_owned())
            .one(db)
            .await?
            .and_then(|row| row.value.parse().ok()),
    )
}

async fn store(db: &DatabaseConnection, id: i64) -> Result<(), DbErr> {
    cluster_state::Entity::insert(cluster_state::ActiveModel {
        key: Set(DELIVERED_THROUGH.to_owned()),
        value: Set(id.to_string()),
    })
    .on_conflict(
        OnConflict::column(cluster_state::Column::Key)
            .update_column(cluster_state::Column::Value)
            .to_owned(),
    )
    .exec(db)
    .await?;
    Ok(())
}

/// Records that notification `id` was delivered (the mark only moves forward).
pub async fn record_delivered(db: &DatabaseConnection, id: i64) -> Result<(), DbErr> {
    if delivered_through(db)
        .await?
        .is_some_and(|through| through >= id)
    {
        return Ok(());
    }
    store(db, id).await
}

/// The notifications to post before the live ones. With no mark yet (the first start of
/// webhooks on this database), none: the mark is set at the newest notification.
pub async fn pending(db: &DatabaseConnection) -> Result<Vec<NotificationRecord>, DbErr> {
    let Some(through) = delivered_through(db).await? else {
        let newest = notification::Entity::find()
            .order_by_desc(notification::Column::Id)
            .one(db)
            .await?;
        store(db, newest.map_or(0, |n| n.id)).await?;
        return Ok(Vec::new());
    };
    let oldest = Utc::now() - TimeDelta::from_std(REPLAY_WINDOW).unwrap_or(TimeDelta::MAX);
    let rows = notification::Entity::find()
        .filter(notification::Column::Id.gt(through))
        .filter(notification::Column::CreatedAt.gte(oldest))
        .order_by_asc(notification::Column::Id)
        .limit(MAX_REPLAY)
        .all(db)
        .await?;
    crate::notifications::records(db, rows).await
}
