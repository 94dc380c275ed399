//! `Employee`, their `Presence`, the `PresenceSummary` and the events about employees.

use super::timestamp::Timestamp;
use async_graphql::{ComplexObject, Context, Enum, ID, SimpleObject, dataloader::DataLoader};
use chrono::Utc;
use entity::employee_tracking::TrackingStatus;

use super::camera::Camera;
use crate::{
    clock::Clock,
    presence::{EmployeePresence, PresenceCounts, rules},
};

/// Where an employee stands.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum PresenceStatus {
    /// Seen within `lost_after` (green).
    Available,
    /// Not seen for longer than `lost_after` (red).
    Offline,
    /// Never seen (grey).
    Unavailable,
}

impl From<TrackingStatus> for PresenceStatus {
    fn from(status: TrackingStatus) -> Self {
        match status {
            TrackingStatus::Available => Self::Available,
            TrackingStatus::Offline => Self::Offline,
        }
    }
}

/// What happened to an employee record (not to their presence).
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "crate::events::ChangeKind")]
pub enum ChangeKind {
    Created,
    Updated,
    Deleted,
}

/// An employee.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct Employee {
    pub employee_id: ID,
    pub name: String,
    pub department: Option<String>,
    pub role: Option<String>,
    /// A demo site's employee (removed with the demo: set `demo.enabled = false`).
    pub demo: bool,
    pub presence: Presence,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[ComplexObject]
impl Employee {
    /// When the employee consented to the most recent enrolment of their face (null
    /// without enrolled faces).
    async fn consented_at(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Timestamp>> {
        ctx.data_unchecked::<DataLoader<crate::graphql::loaders::faces::ConsentLoader>>()
            .load_one(self.employee_id.to_string())
            .await
            .map(|t| t.map(Timestamp))
    }

    /// Faces enrolled for this employee with the configured model.
    async fn face_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        Ok(ctx
            .data_unchecked::<DataLoader<crate::graphql::loaders::faces::FaceCountLoader>>()
            .load_one(self.employee_id.to_string())
            .await?
            .unwrap_or(0))
    }
}

/// Where and when an employee was last seen.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct Presence {
    pub status: PresenceStatus,
    pub last_seen: Option<Timestamp>,
    /// The camera of the last sighting.
    pub camera: Option<Camera>,
    /// Similarity of the last recognition, where known.
    pub score: Option<f64>,
    /// When the status last changed.
    pub since: Option<Timestamp>,
}

#[ComplexObject]
impl Presence {
    /// "11 hours ago", from the server's clock; null when never seen.
    async fn last_seen_ago(&self, ctx: &Context<'_>) -> Option<String> {
        let now = ctx
            .data_opt::<std::sync::Arc<dyn Clock>>()
            .map_or_else(Utc::now, |c| c.now());
        self.last_seen.map(|t| rules::humanize_ago(t.0, now))
    }
}

impl From<EmployeePresence> for Employee {
    fn from(value: EmployeePresence) -> Self {
        let EmployeePresence {
            employee,
            tracking,
            camera,
        } = value;
        let presence = match tracking {
            None => Presence {
                status: PresenceStatus::Unavailable,
                last_seen: None,
                camera: None,
                score: None,
                since: None,
            },
            Some(row) => Presence {
                status: row.status.into(),
                last_seen: Some(row.last_seen.into()),
                camera: camera.map(Camera::from),
                score: row.score,
                since: Some(row.status_changed_at.into()),
            },
        };
        Self {
            employee_id: ID(employee.employee_id),
            name: employee.name,
            department: employee.department,
            role: employee.role,
            demo: employee.demo,
            presence,
            created_at: employee.created_at.into(),
            updated_at: employee.updated_at.into(),
        }
    }
}

/// The dashboard's summary counts.
#[derive(SimpleObject, Clone, Copy, Debug, PartialEq, Eq)]
pub struct PresenceSummary {
    /// AVAILABLE employees.
    pub present: i32,
    /// OFFLINE employees.
    pub alert: i32,
    /// Employees never seen.
    pub unavailable: i32,
    /// All employees.
    pub total: i32,
}

impl From<PresenceCounts> for PresenceSummary {
    fn from(c: PresenceCounts) -> Self {
        let int = |n: i64| i32::try_from(n).unwrap_or(i32::MAX);
        Self {
            present: int(c.present),
            alert: int(c.alert),
            unavailable: int(c.unavailable),
            total: int(c.total),
        }
    }
}

/// A recognised face of an employee at a camera.
#[derive(SimpleObject, Clone, Debug)]
pub struct Detection {
    pub employee: Employee,
    pub camera: Camera,
    pub seen_at: Timestamp,
    /// The similarity of the recognition (of the face track's views together).
    pub score: Option<f64>,
    /// The camera's face track recognised: one person's face from the frame it appears in to
    /// the one it is last seen in (null for a sighting reported through the API). A track is
    /// announced when it is first recognised, then at most every
    /// `recognition.announce_interval_secs` while it lasts.
    pub track_id: Option<ID>,
}

/// An employee created, updated or deleted.
#[derive(SimpleObject, Clone, Debug)]
pub struct EmployeeChange {
    pub kind: ChangeKind,
    pub employee_id: ID,
    /// The employee after the change; null when deleted.
    pub employee: Option<Employee>,
}
