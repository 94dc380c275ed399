//! Retention: visits, notifications and attendance are kept for a configured number of days
//! each, then purged by a periodic task. Zero keeps them forever.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use entity::{attendance_log, notification, visit};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use super::rules::local_date;
use crate::{clock::Clock, error::AppResult};

/// How often the purge runs.
pub const PURGE_INTERVAL: Duration = Duration::from_secs(3_600);
/// The retention windows, in days (0: forever): the `[retention]` section as it is.
pub use super::settings::RetentionSection as Retention;

/// What one purge removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Purged {
    pub visits: u64,
    pub notifications: u64,
    pub attendance: u64,
}

/// Removes what is older than each window at `now`: visits that ended, notifications
/// created, and attendance days (site's dates) before it.
pub async fn purge(
    db: &DatabaseConnection,
    retention: Retention,
    tz: Tz,
    now: DateTime<Utc>,
) -> AppResult<Purged> {
    let mut purged = Purged::default();
    if retention.visits_days > 0 {
        let cutoff = now - TimeDelta::days(i64::from(retention.visits_days));
        purged.visits = visit::Entity::delete_many()
            .filter(visit::Column::EndedAt.lt(cutoff))
            .exec(db)
            .await?
            .rows_affected;
    }
    if retention.notifications_days > 0 {
        let cutoff = now - TimeDelta::days(i64::from(retention.notifications_days));
        purged.notifications = notification::Entity::delete_many()
            .filter(notification::Column::CreatedAt.lt(cutoff))
            .exec(db)
            .await?
            .rows_affected;
    }
    if retention.attendance_days > 0 {
        let cutoff = local_date(tz, now) - TimeDelta::days(i64::from(retention.attendance_days));
        purged.attendance = attendance_log::Entity::delete_many()
            .filter(attendance_log::Column::Date.lt(cutoff))
            .exec(db)
            .await?
            .rows_affected;
    }
    Ok(purged)
}

/// Runs the purge at start and then every [`PURGE_INTERVAL`]; never returns (the
/// composition root stops it).
pub async fn run(db: DatabaseConnection, retention: Retention, tz: Tz, clock: Arc<dyn Clock>) {
    let mut ticker = tokio::time::interval(PURGE_INTERVAL);
    loop {
        ticker.tick().await;
        match purge(&db, retention, tz, clock.now()).await {
            Ok(p) if p != Purged::default() => tracing::info!(
                visits = p.visits,
                notifications = p.notifications,
                attendance = p.attendance,
                "purged what is past its retention"
            ),
            Ok(_) => {}
            Err(error) => tracing::error!(%error, "retention purge failed"),
        }
    }
}
