//! `last_used_at` of tokens, written for many tokens in one statement every
//! [`LAST_USED_FLUSH_INTERVAL`] instead of by each request that used a token.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use chrono::{DateTime, TimeDelta, Utc};
use entity::api_token;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

/// `last_used_at` is written at most this often per token.
pub const LAST_USED_RESOLUTION: TimeDelta = TimeDelta::minutes(1);
/// Uses of tokens are gathered this long and then written (`last_used_at`) in one statement
/// per [`LAST_USED_BATCH`] tokens; `last_used_at` is exact to within this long.
pub const LAST_USED_FLUSH_INTERVAL: Duration = Duration::from_secs(1);
/// Tokens one `last_used_at` statement updates at most.
pub const LAST_USED_BATCH: usize = 500;

/// Uses of tokens not yet written.
#[derive(Debug, Default)]
pub(super) struct PendingUses {
    /// Token id → when it was last used.
    pub(super) uses: HashMap<i64, DateTime<Utc>>,
    /// A flush is on its way.
    scheduled: bool,
}

/// Gathers uses of tokens and writes them; cheap to clone (one set of pending uses).
#[derive(Clone, Debug)]
pub(super) struct LastUsed {
    db: DatabaseConnection,
    pending: Arc<Mutex<PendingUses>>,
}

impl LastUsed {
    pub(super) fn new(db: DatabaseConnection) -> Self {
        Self {
            db,
            pending: Arc::default(),
        }
    }

    pub(super) fn pending(&self) -> MutexGuard<'_, PendingUses> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues a write of `last_used_at` for token `id` when the known one (`known`) is older
    /// than [`LAST_USED_RESOLUTION`]; returns the time queued.
    pub(super) fn note(
        &self,
        id: Option<i64>,
        known: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let id = id?;
        if known.is_some_and(|t| now - t <= LAST_USED_RESOLUTION) {
            return None;
        }
        let mut pending = self.pending();
        pending.uses.insert(id, now);
        if !pending.scheduled {
            pending.scheduled = true;
            let writer = self.clone();
            tokio::spawn(async move {
                tokio::time::sleep(LAST_USED_FLUSH_INTERVAL).await;
                writer.flush().await;
            });
        }
        Some(now)
    }

    /// Writes the queued uses of tokens now.
    pub(super) async fn flush(&self) {
        let uses = {
            let mut pending = self.pending();
            pending.scheduled = false;
            std::mem::take(&mut pending.uses)
        };
        let ids: Vec<i64> = uses.keys().copied().collect();
        for batch in ids.chunks(LAST_USED_BATCH) {
            // Each token's latest use of the batch's: within LAST_USED_FLUSH_INTERVAL of all.
            let Some(latest) = batch.iter().filter_map(|id| uses.get(id)).max().copied() else {
                continue;
            };
            let written = api_token::Entity::update_many()
                .col_expr(api_token::Column::LastUsedAt, Some(latest).into())
                .filter(api_token::Column::Id.is_in(batch.iter().copied()))
                .exec(&self.db)
                .await;
            if let Err(error) = written {
                tracing::warn!(tokens = batch.len(), %error, "cannot record the tokens' last use");
            }
        }
    }
}
