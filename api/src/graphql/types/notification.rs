//! `Notification`: an alert, with the employee and camera it refers to.

use std::sync::Arc;

use async_graphql::{ComplexObject, Context, Enum, ID, SimpleObject, dataloader::DataLoader};
use chrono::{DateTime, Utc};
use entity::notification;

use super::{Camera, Employee};
use crate::{
    events::NotificationRecord,
    graphql::loaders::{CameraLoader, EmployeeLoader},
};

/// What a notification is about.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum NotificationType {
    /// An employee was not seen for longer than `lost_after`.
    EmployeeLost,
    /// A camera delivered no frame for `camera_timeout`.
    CameraDown,
    /// A camera that was down delivers again.
    CameraUp,
}

impl NotificationType {
    pub fn as_stored(self) -> &'static str {
        match self {
            Self::EmployeeLost => notification::TYPE_EMPLOYEE_LOST,
            Self::CameraDown => notification::TYPE_CAMERA_DOWN,
            Self::CameraUp => notification::TYPE_CAMERA_UP,
        }
    }

    pub fn from_stored(text: &str) -> Option<Self> {
        match text {
            notification::TYPE_EMPLOYEE_LOST => Some(Self::EmployeeLost),
            notification::TYPE_CAMERA_DOWN => Some(Self::CameraDown),
            notification::TYPE_CAMERA_UP => Some(Self::CameraUp),
            _ => None,
        }
    }
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
    pub created_at: DateTime<Utc>,
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

impl Notification {
    /// From a stored row; None for a type this version does not know (logged).
    pub fn from_model(model: notification::Model) -> Option<Self> {
        let Some(kind) = NotificationType::from_stored(&model.kind) else {
            tracing::warn!(id = model.id, kind = %model.kind, "notification of an unknown type");
            return None;
        };
        Some(Self {
            id: ID(model.id.to_string()),
            kind,
            message: model.message,
            created_at: model.created_at,
            is_read: model.is_read,
            employee_id: model.employee_id,
            camera_id: model.camera_id,
            related: None,
        })
    }

    /// From an event, with what it refers to already resolved.
    pub fn from_record(record: &NotificationRecord) -> Option<Self> {
        let mut notification = Self::from_model(record.notification.clone())?;
        notification.related = Some(Arc::new(Related {
            employee: record.employee.clone().map(Employee::from),
            camera: record.camera.clone().map(Camera::from),
        }));
        Some(notification)
    }
}
