//! The presence engine: sightings and unknown faces applied to the database (through the
//! pure rules and conditional writes) and published as events. Cameras' health is in
//! [`super::cameras`], the monitor's tick in [`super::tick`].

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use entity::{camera, employee};
use sea_orm::{DatabaseConnection, DbBackend, EntityTrait, TransactionTrait};
use tokio::sync::Mutex;

use super::{
    rules::{self, SightingEffect, Status},
    store,
    view::EmployeePresence,
};
use crate::{
    attendance::Attendance,
    clock::{Clock, to_stored_precision},
    error::{AppError, AppResult},
    events::{Detection, Event, EventBus, UnknownFace},
};

/// How often a sighting retries when another writer changed the employee's row between its
/// read and its write.
pub const MAX_WRITE_ATTEMPTS: usize = 8;

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
    /// The camera's face track this sighting comes from (None: reported through the API).
    pub track_id: Option<String>,
    /// Whether subscribers are told (`employeeDetected`); presence is updated either way. A
    /// track announces its start, then at most every few seconds.
    pub announce: bool,
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
    pub(super) db: DatabaseConnection,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) settings: PresenceSettings,
    pub(super) events: EventBus,
    pub(super) started_at: DateTime<Utc>,
    /// SQLite takes one writer at a time: writes from this process queue here instead of
    /// failing on a busy database. None on PostgreSQL.
    pub(super) write_lock: Option<Mutex<()>>,
    /// Keeps the daily logs current as sightings land (None: no attendance).
    pub(super) attendance: Option<Attendance>,
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

    pub(super) async fn write_guard(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
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
            let current = store::tracking_of(&self.db, &employee.employee_id).await?;
            let known = current.as_ref().map(|r| (r.status, r.last_seen));
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
                    .refresh_for_sighting(&employee, seen_at, self.settings.lost_after)
                    .await?;
            }

            let presence = store::presence_after(&self.db, &employee, &camera).await?;
            let old_status = current.as_ref().map(|r| r.status);
            let status_after = presence.tracking.as_ref().map(|r| r.status);
            if old_status != status_after {
                self.events
                    .publish(Event::EmployeeStatusChanged(presence.clone()));
                self.publish_counts().await;
            }
            if effect == SightingEffect::Available && sighting.announce {
                self.events.publish(Event::EmployeeDetected(Detection {
                    presence: presence.clone(),
                    camera,
                    seen_at,
                    score: sighting.score,
                    track_id: sighting.track_id.clone(),
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
        track_id: Option<String>,
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
            track_id,
        }));
        Ok(())
    }

    /// Publishes the current summary counts.
    pub async fn publish_counts(&self) {
        match store::counts(&self.db).await {
            Ok(counts) => self.events.publish(Event::PresenceSummaryChanged(counts)),
            Err(error) => tracing::warn!(%error, "cannot count presence for the summary"),
        }
    }
}
