//! The resync: after the relay may have missed events (its connection lost, its listener
//! rebuilt, its own ping late, a sequence gap, a format it cannot read), what changed in the
//! database since shortly before the gap is read again and delivered where it is newer than
//! what this node delivered: employees' statuses, cameras' statuses, notifications.
//! Detections and unknown faces of the gap are not stored anywhere and stay lost (counted as
//! lost events). The summary is recomputed by the receiver after each resync.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use chrono::{DateTime, TimeDelta, Utc};
use entity::{camera, employee_tracking as tracking, notification};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::{
    counters::ResyncReason,
    delivered::{Admission, Delivered},
};
use crate::{
    events::{Event, EventBus},
    presence::store,
};

/// How far before the gap's start a resync reads (clocks of the writers differ a little).
pub const RESYNC_MARGIN: Duration = Duration::from_secs(5);
/// The most notifications one resync delivers (the oldest first).
pub const MAX_RESYNC_NOTIFICATIONS: u64 = 1_000;

/// A resync, as announced to the other parts of the node (the camera supervisor, the
/// gallery): why, and from when it read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resync {
    pub reason: ResyncReason,
    pub since: DateTime<Utc>,
}

/// What one resync delivered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ResyncReport {
    pub statuses: usize,
    pub cameras: usize,
    pub notifications: usize,
}

/// The time a resync after a gap that started at `gap_start` reads from.
pub fn since(gap_start: DateTime<Utc>) -> DateTime<Utc> {
    gap_start - TimeDelta::from_std(RESYNC_MARGIN).unwrap_or(TimeDelta::zero())
}

fn admit(delivered: &Mutex<Delivered>, event: &Event) -> bool {
    delivered
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .admit(event)
        == Admission::Fresh
}

/// Reads what changed after `since` and delivers what is newer than delivered.
pub async fn resync(
    db: &DatabaseConnection,
    events: &EventBus,
    delivered: &Mutex<Delivered>,
    since: DateTime<Utc>,
) -> Result<ResyncReport, DbErr> {
    let mut report = ResyncReport::default();
    let changed: Vec<String> = tracking::Entity::find()
        .select_only()
        .column(tracking::Column::EmployeeId)
        .filter(tracking::Column::StatusChangedAt.gt(since))
        .into_tuple()
        .all(db)
        .await?;
    if !changed.is_empty() {
        for presence in store::load_presence(db, Some(&changed)).await? {
            let event = Event::EmployeeStatusChanged(presence);
            if admit(delivered, &event) {
                events.deliver_remote(Arc::new(event));
                report.statuses += 1;
            }
        }
    }
    let cameras = camera::Entity::find()
        .filter(camera::Column::StatusChangedAt.gt(since))
        .order_by_asc(camera::Column::StatusChangedAt)
        .all(db)
        .await
        .map_err(store::in_table("cameras"))?;
    for camera in cameras {
        let event = Event::CameraStatusChanged(camera);
        if admit(delivered, &event) {
            events.deliver_remote(Arc::new(event));
            report.cameras += 1;
        }
    }
    let notifications = notification::Entity::find()
        .filter(notification::Column::CreatedAt.gt(since))
        .order_by_asc(notification::Column::Id)
        .limit(MAX_RESYNC_NOTIFICATIONS)
        .all(db)
        .await
        .map_err(store::in_table("notifications"))?;
    for record in crate::notifications::records(db, notifications).await? {
        let event = Event::NotificationCreated(record);
        if admit(delivered, &event) {
            events.deliver_remote(Arc::new(event));
            report.notifications += 1;
        }
    }
    Ok(report)
}
