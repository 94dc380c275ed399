//! The monitor's tick: employees unseen for longer than `lost_after` become OFFLINE (with
//! EMPLOYEE_LOST), cameras silent for longer than `camera_timeout` go down.

use chrono::{DateTime, Utc};
use entity::{employee_tracking as tracking, notification::NotificationType};
use sea_orm::TransactionTrait;

use super::{
    engine::{PresenceEngine, TickReport},
    rules::{self},
    store,
};
use crate::{
    error::AppResult,
    events::{Event, NotificationRecord},
};

impl PresenceEngine {
    /// One pass of the monitor: employees not seen for longer than `lost_after` become
    /// OFFLINE with one EMPLOYEE_LOST each; cameras silent for `camera_timeout` go offline
    /// with one CAMERA_DOWN each.
    pub async fn tick(&self) -> AppResult<TickReport> {
        let now = self.clock.now();
        let mut report = TickReport::default();
        let cutoff = rules::lost_cutoff(now, self.settings.lost_after);
        let camera_cutoff =
            rules::camera_down_cutoff(now, self.settings.camera_timeout, self.started_at);
        // Both reads in one transaction: one snapshot, and one database transaction per tick
        // instead of two (the monitor's is most of an idle leader's load).
        let (candidates, silent) = {
            let read = self.db.begin().await?;
            let candidates = store::lost_candidates(&read, cutoff).await?;
            let silent = match camera_cutoff {
                Some(camera_cutoff) => store::cameras::silent_cameras(&read, camera_cutoff).await?,
                None => Vec::new(),
            };
            read.commit().await?;
            (candidates, silent)
        };
        for candidate in candidates {
            if let Some(record) = self.mark_lost(&candidate, cutoff, now).await? {
                report.lost.push(candidate.employee_id.clone());
                if let Some(presence) = record.employee.clone() {
                    self.events.publish(Event::EmployeeStatusChanged(presence));
                }
                self.events.publish(Event::NotificationCreated(record));
            }
        }
        if !report.lost.is_empty() {
            self.publish_counts().await;
        }
        if let Some(cutoff) = camera_cutoff {
            for camera in silent {
                if let Some(record) = self.mark_camera_down(&camera, cutoff, now).await? {
                    report.cameras_down.push(camera.camera_id.clone());
                    if let Some(camera) = record.camera.clone() {
                        self.events.publish(Event::CameraStatusChanged(camera));
                    }
                    self.events.publish(Event::NotificationCreated(record));
                }
            }
        }
        Ok(report)
    }

    async fn mark_lost(
        &self,
        row: &tracking::Model,
        cutoff: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> AppResult<Option<NotificationRecord>> {
        let _guard = self.write_guard().await;
        let txn = self.db.begin().await?;
        if !store::mark_lost(&txn, &row.employee_id, cutoff, now).await? {
            txn.rollback().await?;
            return Ok(None);
        }
        let presence = store::presence_of(&txn, &row.employee_id).await?;
        let name = presence
            .as_ref()
            .map_or(row.employee_id.as_str(), |p| p.employee.name.as_str());
        let place = presence
            .as_ref()
            .and_then(|p| p.camera.as_ref())
            .map(|c| format!(" at {}", c.camera_name))
            .unwrap_or_default();
        let message = format!(
            "{name} ({}) has not been seen for {}; last seen{place} at {}",
            row.employee_id,
            rules::humanize_duration(self.settings.lost_after),
            row.last_seen.format("%Y-%m-%d %H:%M:%S UTC"),
        );
        let notification = store::insert_notification(
            &txn,
            NotificationType::EmployeeLost,
            Some(&row.employee_id),
            row.camera_id.as_deref(),
            message,
            now,
        )
        .await?;
        txn.commit().await?;
        let camera = presence.as_ref().and_then(|p| p.camera.clone());
        Ok(Some(NotificationRecord {
            notification,
            employee: presence,
            camera,
        }))
    }
}
