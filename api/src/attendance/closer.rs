//! The closer: each working day is closed once it ends (everyone without a visit ABSENT),
//! by the leader only. How far it has closed is kept in `cluster_state`, so that a new leader
//! (or a restart) goes on from there rather than from [`super::CATCH_UP_DAYS`] ago; closing a
//! day twice writes the same rows (two leaders overlapping for a moment do no harm).

use std::time::Duration;

use chrono::{NaiveDate, TimeDelta};
use entity::cluster_state::{self, ATTENDANCE_CLOSED_THROUGH};
use sea_orm::{EntityTrait, Set, sea_query::OnConflict};

use super::{Attendance, CATCH_UP_DAYS};
use crate::error::AppResult;

impl Attendance {
    /// The last day closed, as stored (None: never, or unreadable).
    pub async fn closed_through(&self) -> AppResult<Option<NaiveDate>> {
        let row = cluster_state::Entity::find_by_id(ATTENDANCE_CLOSED_THROUGH.to_owned())
            .one(&self.db)
            .await?;
        Ok(row.and_then(|r| r.value.parse().ok()))
    }

    async fn record_closed_through(&self, date: NaiveDate) -> AppResult<()> {
        cluster_state::Entity::insert(cluster_state::ActiveModel {
            key: Set(ATTENDANCE_CLOSED_THROUGH.to_owned()),
            value: Set(date.to_string()),
        })
        .on_conflict(
            OnConflict::column(cluster_state::Column::Key)
                .update_column(cluster_state::Column::Value)
                .to_owned(),
        )
        .exec(&self.db)
        .await?;
        Ok(())
    }

    /// Keeps attendance closed as working days end (checking every `interval`), from the
    /// day after the last closed (at most [`CATCH_UP_DAYS`] back); never returns (the
    /// composition root stops it).
    pub async fn run_closer(self, interval: Duration) {
        let earliest = self.today() - TimeDelta::days(CATCH_UP_DAYS);
        let mut closed_through = match self.closed_through().await {
            Ok(Some(date)) => date.max(earliest),
            Ok(None) => earliest,
            Err(error) => {
                tracing::warn!(%error, "cannot read how far attendance was closed; closing the last week");
                earliest
            }
        };
        let mut ticker = tokio::time::interval(interval);
        loop {
            ticker.tick().await;
            let today = self.today();
            let mut date = closed_through.succ_opt().unwrap_or(closed_through);
            while date <= today {
                if let Err(error) = self.close_day(date).await {
                    tracing::error!(%error, %date, "cannot close the attendance day");
                    break;
                }
                if date < today {
                    closed_through = date;
                    if let Err(error) = self.record_closed_through(date).await {
                        tracing::warn!(%error, %date, "cannot record how far attendance is closed");
                    }
                }
                date = date.succ_opt().unwrap_or(date);
            }
        }
    }
}
