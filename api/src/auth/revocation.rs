//! The revocation watch: tokens revoked by another process (`hadir token revoke`, another
//! node) are looked for every [`REVOCATION_POLL_INTERVAL`] on SQLite, so that their
//! WebSockets close within about this long; on PostgreSQL revocations are told on the
//! cluster's control channel, and the poll, every [`CLUSTER_REVOCATION_POLL_INTERVAL`], is a
//! backstop.

use std::collections::HashSet;

use entity::api_token;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect,
};

use crate::error::AppResult;

/// How often tokens revoked by another process (`hadir token revoke`, another node) are
/// looked for, so that their WebSockets close within about this long.
pub const REVOCATION_POLL_INTERVAL: std::time::Duration = std::time::Duration::from_millis(500);
/// How often the backstop poll runs on PostgreSQL, where revocations are told on the
/// control channel (a node idle otherwise makes almost no queries).
pub const CLUSTER_REVOCATION_POLL_INTERVAL: std::time::Duration =
    std::time::Duration::from_secs(30);
/// Revocations waiting for slow listeners before they skip some (and re-check instead).
pub const REVOCATION_QUEUE: usize = 256;

/// Every revoked token's id.
async fn revoked_ids(db: &DatabaseConnection) -> AppResult<HashSet<i64>> {
    Ok(api_token::Entity::find()
        .select_only()
        .column(api_token::Column::Id)
        .filter(api_token::Column::RevokedAt.is_not_null())
        .into_tuple::<i64>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

/// How many tokens are revoked: one number, read at every poll instead of every id.
async fn revoked_count(db: &DatabaseConnection) -> AppResult<u64> {
    Ok(api_token::Entity::find()
        .filter(api_token::Column::RevokedAt.is_not_null())
        .count(db)
        .await?)
}

/// Looks for newly revoked tokens every `interval` and calls `announce` with each one's id;
/// never returns (the composition root stops it). Each poll reads how many tokens are
/// revoked; their ids are read only when that number changed.
pub(super) async fn watch(
    db: DatabaseConnection,
    interval: std::time::Duration,
    announce: impl Fn(i64),
) {
    let mut known = revoked_ids(&db).await.unwrap_or_default();
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let changed = match revoked_count(&db).await {
            Ok(count) => count != known.len() as u64,
            Err(error) => {
                tracing::debug!(%error, "cannot look for revoked tokens");
                continue;
            }
        };
        if !changed {
            continue;
        }
        match revoked_ids(&db).await {
            Ok(now) => {
                for id in now.difference(&known) {
                    announce(*id);
                }
                known = now;
            }
            Err(error) => {
                tracing::debug!(%error, "cannot look for revoked tokens");
            }
        }
    }
}
