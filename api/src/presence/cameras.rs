//! The presence engine's view of cameras: frames coming mark a camera online (and, after it
//! was down, CAMERA_UP), a stream's problem is recorded, a silent camera is marked down.

use chrono::{DateTime, Utc};
use entity::{camera, camera::CameraStatus, notification::NotificationType};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};

use super::{engine::PresenceEngine, rules, store};
use crate::{
    clock::to_stored_precision,
    cluster::leases::LeaseClaim,
    error::{AppError, AppResult},
    events::{Event, NotificationRecord},
};

impl PresenceEngine {
    /// Records that a camera delivered a frame at `at` (None: now). A camera that was
    /// offline comes back online; one that had been online before gets a CAMERA_UP.
    pub async fn camera_frame(
        &self,
        camera_id: &str,
        at: Option<DateTime<Utc>>,
    ) -> AppResult<camera::Model> {
        self.camera_frame_under(camera_id, at, None).await
    }

    /// As [`Self::camera_frame`], from a camera task reading under a lease (`claim`): written
    /// only while the lease is still this instance's at that epoch, so a node that lost the
    /// camera never marks it up after its new holder. Refused when the claim lapsed.
    pub async fn camera_frame_under(
        &self,
        camera_id: &str,
        at: Option<DateTime<Utc>>,
        claim: Option<&LeaseClaim>,
    ) -> AppResult<camera::Model> {
        let now = self.clock.now();
        let at = to_stored_precision(at.unwrap_or(now));
        if rules::is_in_future(at, now) {
            return Err(AppError::invalid(
                "at",
                format!("{at} lies in the future (server time {now})"),
            ));
        }
        let before = camera::Entity::find_by_id(camera_id.to_owned())
            .one(&self.db)
            .await?
            .ok_or_else(|| AppError::not_found("camera", camera_id))?;
        let _guard = self.write_guard().await;
        let txn = self.db.begin().await?;
        if !store::cameras::touch_camera(&txn, camera_id, at, claim).await? {
            txn.rollback().await?;
            return Err(AppError::Refused(format!(
                "camera {camera_id:?}: this node no longer holds its lease"
            )));
        }
        let came_up = before.status != CameraStatus::Online
            && store::cameras::mark_camera_up(&txn, camera_id, now, claim).await?;
        let notification = if came_up && before.last_frame_at.is_some() {
            let message = format!(
                "Camera {} ({}) delivers frames again",
                before.camera_name, before.camera_id
            );
            Some(
                store::insert_notification(
                    &txn,
                    NotificationType::CameraUp,
                    None,
                    Some(camera_id),
                    message,
                    now,
                )
                .await?,
            )
        } else {
            None
        };
        txn.commit().await?;
        let after = camera::Entity::find_by_id(camera_id.to_owned())
            .one(&self.db)
            .await?
            .ok_or_else(|| AppError::not_found("camera", camera_id))?;
        if came_up {
            self.events
                .publish(Event::CameraStatusChanged(after.clone()));
        }
        if let Some(notification) = notification {
            self.events
                .publish(Event::NotificationCreated(NotificationRecord {
                    notification,
                    employee: None,
                    camera: Some(after.clone()),
                }));
        }
        Ok(after)
    }

    /// Records why a camera delivers nothing (an error from its stream), shown as its
    /// `statusMessage`; its status changes only through frames and the monitor.
    pub async fn camera_problem(&self, camera_id: &str, message: &str) -> AppResult<()> {
        // Stored without the secrets a URL in it may carry.
        let message: String = crate::redact::message_for_logs(message)
            .chars()
            .take(500)
            .collect();
        let result = camera::Entity::update_many()
            .col_expr(camera::Column::StatusMessage, Some(message).into())
            .filter(camera::Column::CameraId.eq(camera_id))
            .exec(&self.db)
            .await?;
        if result.rows_affected == 0 {
            return Err(AppError::not_found("camera", camera_id));
        }
        Ok(())
    }

    pub(super) async fn mark_camera_down(
        &self,
        camera: &camera::Model,
        cutoff: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> AppResult<Option<NotificationRecord>> {
        let silence = rules::humanize_duration(self.settings.camera_timeout);
        // In a cluster: a camera nobody holds is down for that reason, said so.
        let unheld = self.db.get_database_backend() == sea_orm::DbBackend::Postgres
            && store::cameras::camera_holder(&self.db, &camera.camera_id)
                .await?
                .is_none();
        let status_message = if unheld {
            format!("no frame for {silence}: no hadir node holds it")
        } else {
            format!("no frame for {silence}")
        };
        let _guard = self.write_guard().await;
        let txn = self.db.begin().await?;
        if !store::cameras::mark_camera_down(&txn, &camera.camera_id, cutoff, &status_message, now)
            .await?
        {
            txn.rollback().await?;
            return Ok(None);
        }
        let since = camera
            .last_frame_at
            .map(|t| format!(" since {}", t.format("%Y-%m-%d %H:%M:%S UTC")))
            .unwrap_or_default();
        let message = format!(
            "Camera {} ({}) is down: {status_message}{since}",
            camera.camera_name, camera.camera_id
        );
        let notification = store::insert_notification(
            &txn,
            NotificationType::CameraDown,
            None,
            Some(&camera.camera_id),
            message,
            now,
        )
        .await?;
        let after = camera::Entity::find_by_id(camera.camera_id.clone())
            .one(&txn)
            .await?;
        txn.commit().await?;
        Ok(Some(NotificationRecord {
            notification,
            employee: None,
            camera: after,
        }))
    }
}
