//! The presence engine: who is where, from recognitions and camera frames.
//!
//! - [`rules`]: the rules themselves, pure (what a sighting or the passing of time changes).
//! - [`store`]: the conditional reads and writes that apply them to the database.
//! - [`monitor`]: the loop that runs [`PresenceEngine::tick`] at an interval.
//! - [`settings`]: the `[presence]` section of `hadir.toml`.
//!
//! The database holds the state: a restarted engine resumes from it, and several engines on
//! one PostgreSQL never raise the same notification twice (see [`store`]).

pub mod monitor;
pub mod rules;
pub mod settings;
pub mod store;

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use entity::{camera, employee, employee_tracking as tracking, notification};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter, TransactionTrait,
};
use tokio::sync::Mutex;

use crate::{
    attendance::Attendance,
    clock::{Clock, to_stored_precision},
    error::{AppError, AppResult},
    events::{Detection, Event, EventBus, NotificationRecord, UnknownFace},
};
use rules::{SightingEffect, Status};

/// How often a sighting retries when another writer changed the employee's row between its
/// read and its write.
pub const MAX_WRITE_ATTEMPTS: usize = 8;

/// An employee with their presence: the tracking row (None: never seen) and its camera.
#[derive(Clone, Debug)]
pub struct EmployeePresence {
    pub employee: employee::Model,
    pub tracking: Option<tracking::Model>,
    pub camera: Option<camera::Model>,
}

/// The dashboard's summary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PresenceCounts {
    pub present: i64,
    pub alert: i64,
    pub unavailable: i64,
    pub total: i64,
}

/// The engine's settings.
#[derive(Clone, Copy, Debug)]
pub struct PresenceSettings {
    pub lost_after: Duration,
    pub camera_timeout: Duration,
}

/// A face of an employee seen at a camera.
#[derive(Clone, Debug)]
pub struct Sighting {
    pub employee_id: String,
    pub camera_id: String,
    /// When; None means now. May lie in the past (edge devices buffer).
    pub seen_at: Option<DateTime<Utc>>,
    /// Similarity of the recognition, in [-1, 1].
    pub score: Option<f64>,
}

/// What changed in one tick of the monitor.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TickReport {
    /// Employees that became OFFLINE.
    pub lost: Vec<String>,
    /// Cameras that went down.
    pub cameras_down: Vec<String>,
}

/// The presence engine. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct PresenceEngine {
    db: DatabaseConnection,
    clock: Arc<dyn Clock>,
    settings: PresenceSettings,
    events: EventBus,
    started_at: DateTime<Utc>,
    /// SQLite takes one writer at a time: writes from this process queue here instead of
    /// failing on a busy database. None on PostgreSQL.
    write_lock: Option<Mutex<()>>,
    /// Keeps the daily logs current as sightings land (None: no attendance).
    attendance: Option<Attendance>,
}

impl PresenceEngine {
    pub fn new(
        db: DatabaseConnection,
        clock: Arc<dyn Clock>,
        settings: PresenceSettings,
        events: EventBus,
    ) -> Self {
        let started_at = clock.now();
        let write_lock = (db.get_database_backend() == DbBackend::Sqlite).then(|| Mutex::new(()));
        Self {
            db,
            clock,
            settings,
            events,
            started_at,
            write_lock,
            attendance: None,
        }
    }

    /// Keeps `attendance` current with every sighting, past ones included.
    pub fn with_attendance(mut self, attendance: Attendance) -> Self {
        self.attendance = Some(attendance);
        self
    }

    pub fn settings(&self) -> PresenceSettings {
        self.settings
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    async fn write_guard(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match &self.write_lock {
            Some(lock) => Some(lock.lock().await),
            None => None,
        }
    }

    /// Applies a sighting: AVAILABLE at that camera (or, for a sighting older than what is
    /// known, history only). Returns the employee's presence after it.
    pub async fn record_sighting(&self, sighting: Sighting) -> AppResult<EmployeePresence> {
        let now = self.clock.now();
        if let Some(score) = sighting.score
            && !(-1.0..=1.0).contains(&score)
        {
            return Err(AppError::invalid(
                "score",
                format!("{score} is not a similarity between -1 and 1"),
            ));
        }
        let seen_at = to_stored_precision(sighting.seen_at.unwrap_or(now));
        if rules::is_in_future(seen_at, now) {
            return Err(AppError::invalid(
                "seenAt",
                format!("{seen_at} lies in the future (server time {now})"),
            ));
        }
        let employee = employee::Entity::find_by_id(sighting.employee_id.clone())
            .one(&self.db)
            .await?
            .ok_or_else(|| AppError::not_found("employee", &sighting.employee_id))?;
        let camera = camera::Entity::find_by_id(sighting.camera_id.clone())
            .one(&self.db)
            .await?
            .ok_or_else(|| AppError::not_found("camera", &sighting.camera_id))?;

        let _guard = self.write_guard().await;
        for _ in 0..MAX_WRITE_ATTEMPTS {
            let current = tracking::Entity::find()
                .filter(tracking::Column::EmployeeId.eq(&employee.employee_id))
                .one(&self.db)
                .await?;
            let known = current.as_ref().map(|r| (store::status_of(r), r.last_seen));
            let effect = rules::sighting_effect(known, seen_at, now, self.settings.lost_after);
            let txn = self.db.begin().await?;
            let new_status = match effect {
                SightingEffect::HistoryOnly => None,
                SightingEffect::Record { status } => Some(status),
                SightingEffect::Available => Some(Status::Available),
            };
            if let Some(status) = new_status {
                let moved = store::move_tracking(
                    &txn,
                    current.as_ref(),
                    store::TrackingMove {
                        employee_id: &employee.employee_id,
                        camera_id: &camera.camera_id,
                        seen_at,
                        status,
                        score: sighting.score,
                    },
                    now,
                )
                .await?;
                if !moved {
                    txn.rollback().await?;
                    continue;
                }
            }
            store::record_visit(
                &txn,
                &employee.employee_id,
                &camera.camera_id,
                seen_at,
                self.settings.lost_after,
            )
            .await?;
            txn.commit().await?;
            if let Some(attendance) = &self.attendance {
                attendance
                    .refresh_for_sighting(&employee.employee_id, seen_at, self.settings.lost_after)
                    .await?;
            }

            let presence = store::presence_of(&self.db, &employee.employee_id)
                .await?
                .ok_or_else(|| AppError::not_found("employee", &employee.employee_id))?;
            let old_status = current.as_ref().map(|r| r.status.as_str());
            let new_status_text = presence.tracking.as_ref().map(|r| r.status.as_str());
            if old_status != new_status_text {
                self.events
                    .publish(Event::EmployeeStatusChanged(presence.clone()));
                self.publish_counts().await;
            }
            if effect == SightingEffect::Available {
                self.events.publish(Event::EmployeeDetected(Detection {
                    presence: presence.clone(),
                    camera,
                    seen_at,
                    score: sighting.score,
                }));
            }
            return Ok(presence);
        }
        Err(AppError::Refused(format!(
            "employee {:?} is being updated by other writers; try again",
            employee.employee_id
        )))
    }

    /// Reports a face nobody enrolled matched, at a camera: published to subscribers, never
    /// stored (no image, no embedding).
    pub async fn unknown_face(
        &self,
        camera_id: &str,
        seen_at: Option<DateTime<Utc>>,
        best_score: Option<f64>,
    ) -> AppResult<()> {
        let now = self.clock.now();
        let seen_at = to_stored_precision(seen_at.unwrap_or(now));
        if rules::is_in_future(seen_at, now) {
            return Err(AppError::invalid(
                "seenAt",
                format!("{seen_at} lies in the future (server time {now})"),
            ));
        }
        if let Some(score) = best_score
            && !(-1.0..=1.0).contains(&score)
        {
            return Err(AppError::invalid(
                "bestScore",
                format!("{score} is not a similarity between -1 and 1"),
            ));
        }
        let camera = camera::Entity::find_by_id(camera_id.to_owned())
            .one(&self.db)
            .await?
            .ok_or_else(|| AppError::not_found("camera", camera_id))?;
        self.events.publish(Event::UnknownFaceSeen(UnknownFace {
            camera,
            seen_at,
            best_score,
        }));
        Ok(())
    }

    /// Records that a camera delivered a frame at `at` (None: now). A camera that was
    /// offline comes back online; one that had been online before gets a CAMERA_UP.
    pub async fn camera_frame(
        &self,
        camera_id: &str,
        at: Option<DateTime<Utc>>,
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
        store::touch_camera(&txn, camera_id, at).await?;
        let came_up = before.status != camera::STATUS_ONLINE
            && store::mark_camera_up(&txn, camera_id, now).await?;
        let notification = if came_up && before.last_frame_at.is_some() {
            let message = format!(
                "Camera {} ({}) delivers frames again",
                before.camera_name, before.camera_id
            );
            Some(
                store::insert_notification(
                    &txn,
                    notification::TYPE_CAMERA_UP,
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

    /// One pass of the monitor: employees not seen for longer than `lost_after` become
    /// OFFLINE with one EMPLOYEE_LOST each; cameras silent for `camera_timeout` go offline
    /// with one CAMERA_DOWN each.
    pub async fn tick(&self) -> AppResult<TickReport> {
        let now = self.clock.now();
        let mut report = TickReport::default();
        let cutoff = rules::lost_cutoff(now, self.settings.lost_after);
        for candidate in store::lost_candidates(&self.db, cutoff).await? {
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
        if let Some(cutoff) =
            rules::camera_down_cutoff(now, self.settings.camera_timeout, self.started_at)
        {
            for camera in store::silent_cameras(&self.db, cutoff).await? {
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
            notification::TYPE_EMPLOYEE_LOST,
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

    async fn mark_camera_down(
        &self,
        camera: &camera::Model,
        cutoff: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> AppResult<Option<NotificationRecord>> {
        let silence = rules::humanize_duration(self.settings.camera_timeout);
        let status_message = format!("no frame for {silence}");
        let _guard = self.write_guard().await;
        let txn = self.db.begin().await?;
        if !store::mark_camera_down(&txn, &camera.camera_id, cutoff, &status_message, now).await? {
            txn.rollback().await?;
            return Ok(None);
        }
        let since = camera
            .last_frame_at
            .map(|t| format!(" since {}", t.format("%Y-%m-%d %H:%M:%S UTC")))
            .unwrap_or_default();
        let message = format!(
            "Camera {} ({}) is down: no frame for {silence}{since}",
            camera.camera_name, camera.camera_id
        );
        let notification = store::insert_notification(
            &txn,
            notification::TYPE_CAMERA_DOWN,
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

    /// Publishes the current summary counts.
    pub async fn publish_counts(&self) {
        match store::counts(&self.db).await {
            Ok(counts) => self.events.publish(Event::PresenceSummaryChanged(counts)),
            Err(error) => tracing::warn!(%error, "cannot count presence for the summary"),
        }
    }
}
