//! `Notification`: an alert, with the employee and camera it refers to.

use super::timestamp::Timestamp;
use std::sync::Arc;

use async_graphql::{ComplexObject, Context, Enum, ID, SimpleObject, dataloader::DataLoader};
use entity::notification;

use super::{camera::Camera, employee::Employee};
use crate::{
    events::NotificationRecord,
    graphql::loaders::records::{CameraLoader, EmployeeLoader},
};

/// What a notification is about.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "entity::notification::NotificationType")]
pub enum NotificationType {
    /// An employee was not seen for longer than `lost_after`.
    EmployeeLost,
    /// A camera delivered no frame for `camera_timeout`.
    CameraDown,
    /// A camera that was down delivers again.
    CameraUp,
}

/// What a notification refers to, when known at creation (events carry it, lists load it).
#[derive(Clone, Debug)]
struct Related {
    employee: Option<Employee>,
    camera: Option<Camera>,
}

/// An alert for the dashboard's bell and for integrators.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct Notification {
    pub id: ID,
    #[graphql(name = "type")]
    pub kind: NotificationType,
    pub message: String,
    pub created_at: Timestamp,
    pub is_read: bool,
    #[graphql(skip)]
    employee_id: Option<String>,
    #[graphql(skip)]
    camera_id: Option<String>,
    #[graphql(skip)]
    related: Option<Arc<Related>>,
}

#[ComplexObject]
impl Notification {
    /// The employee it is about (null for camera notifications, or once erased).
    async fn employee(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Employee>> {
        if let Some(related) = &self.related {
            return Ok(related.employee.clone());
        }
        let Some(id) = &self.employee_id else {
            return Ok(None);
        };
        ctx.data_unchecked::<DataLoader<EmployeeLoader>>()
            .load_one(id.clone())
            .await
    }

    /// The camera it is about, where there is one.
    async fn camera(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Camera>> {
        if let Some(related) = &self.related {
            return Ok(related.camera.clone());
        }
        let Some(id) = &self.camera_id else {
            return Ok(None);
        };
        ctx.data_unchecked::<DataLoader<CameraLoader>>()
            .load_one(id.clone())
            .await
    }
}

impl From<notification::Model> for Notification {
    /// From a stored row; what it refers to is loaded when asked for.
    fn from(model: notification::Model) -> Self {
        Self {
            id: ID(model.id.to_string()),
            kind: model.kind.into(),
            message: model.message,
            created_at: model.created_at.into(),
            is_read: model.is_read,
            employee_id: model.employee_id,
            camera_id: model.camera_id,
            related: None,
        }
    }
}

impl Notification {
    /// From an event, with what it refers to already resolved.
    pub fn from_record(record: &NotificationRecord) -> Self {
        let mut notification = Self::from(record.notification.clone());
        notification.related = Some(Arc::new(Related {
            employee: record.employee.clone().map(Employee::from),
            camera: record.camera.clone().map(Camera::from),
        }));
        notification
    }
}
