//! The subscription root: live presence, detections, notifications, cameras, the summary,
//! the AI status and the server's clock. Every stream reads the event bus; events carry
//! complete snapshots, so no subscriber causes a database read.

use std::{sync::Arc, time::Duration};

use async_graphql::{Context, ID, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use futures_util::Stream;
use tokio_stream::{
    StreamExt,
    wrappers::{BroadcastStream, IntervalStream, WatchStream, errors::BroadcastStreamRecvError},
};

use crate::{
    auth::RoleGuard,
    events::{ChangeKind, Event},
    graphql::types::{
        AiStatus, Camera, Detection, Employee, EmployeeChange, Notification, NotificationType,
        PresenceSummary,
    },
    state::AppState,
};

/// How often `serverTime` ticks.
pub const SERVER_TIME_INTERVAL: Duration = Duration::from_secs(1);

/// A face nobody enrolled is close to (no image is kept).
#[derive(SimpleObject, Clone, Debug)]
pub struct UnknownFaceSighting {
    pub camera: Camera,
    pub seen_at: DateTime<Utc>,
    /// The best similarity to anyone enrolled, where anyone is.
    pub best_score: Option<f64>,
}

/// A camera created, updated or deleted.
#[derive(SimpleObject, Clone, Debug)]
pub struct CameraChange {
    pub kind: ChangeKind,
    pub camera_id: ID,
    /// The camera after the change; null when deleted.
    pub camera: Option<Camera>,
}

#[derive(Default)]
pub struct SubscriptionRoot;

/// The event bus as a stream; a subscriber too slow to keep up skips what it missed.
fn events(ctx: &Context<'_>) -> impl Stream<Item = Arc<Event>> + use<> {
    let state = ctx.data_unchecked::<AppState>();
    BroadcastStream::new(state.events.subscribe()).filter_map(|item| match item {
        Ok(event) => Some(event),
        Err(BroadcastStreamRecvError::Lagged(missed)) => {
            tracing::warn!(missed, "a subscriber fell behind and skipped events");
            None
        }
    })
}

fn matches(filter: &Option<ID>, value: &str) -> bool {
    filter.as_ref().is_none_or(|id| id.as_str() == value)
}

#[Subscription]
impl SubscriptionRoot {
    /// An employee's status changed (AVAILABLE, OFFLINE); optionally one employee only.
    #[graphql(guard = "RoleGuard::read()")]
    async fn employee_status_changed(
        &self,
        ctx: &Context<'_>,
        employee_id: Option<ID>,
    ) -> impl Stream<Item = Employee> {
        events(ctx).filter_map(move |event| match &*event {
            Event::EmployeeStatusChanged(p) if matches(&employee_id, &p.employee.employee_id) => {
                Some(Employee::from(p.clone()))
            }
            _ => None,
        })
    }

    /// Every recognition of an employee at a camera (also when the status stays the same).
    #[graphql(guard = "RoleGuard::read()")]
    async fn employee_detected(
        &self,
        ctx: &Context<'_>,
        employee_id: Option<ID>,
        camera_id: Option<ID>,
    ) -> impl Stream<Item = Detection> {
        events(ctx).filter_map(move |event| match &*event {
            Event::EmployeeDetected(d)
                if matches(&employee_id, &d.presence.employee.employee_id)
                    && matches(&camera_id, &d.camera.camera_id) =>
            {
                Some(Detection {
                    employee: d.presence.clone().into(),
                    camera: d.camera.clone().into(),
                    seen_at: d.seen_at,
                    score: d.score,
                })
            }
            _ => None,
        })
    }

    /// A face nobody enrolled matched; optionally at one camera only.
    #[graphql(guard = "RoleGuard::read()")]
    async fn unknown_face_detected(
        &self,
        ctx: &Context<'_>,
        camera_id: Option<ID>,
    ) -> impl Stream<Item = UnknownFaceSighting> {
        events(ctx).filter_map(move |event| match &*event {
            Event::UnknownFaceSeen(u) if matches(&camera_id, &u.camera.camera_id) => {
                Some(UnknownFaceSighting {
                    camera: u.camera.clone().into(),
                    seen_at: u.seen_at,
                    best_score: u.best_score,
                })
            }
            _ => None,
        })
    }

    /// An employee was created, updated or deleted.
    #[graphql(guard = "RoleGuard::read()")]
    async fn employee_changed(&self, ctx: &Context<'_>) -> impl Stream<Item = EmployeeChange> {
        events(ctx).filter_map(|event| match &*event {
            Event::EmployeeChanged {
                kind,
                employee_id,
                presence,
            } => Some(EmployeeChange {
                kind: *kind,
                employee_id: ID(employee_id.clone()),
                employee: presence.clone().map(Employee::from),
            }),
            _ => None,
        })
    }

    /// A new notification; optionally of one type only.
    #[graphql(guard = "RoleGuard::read()")]
    async fn notification_created(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "type")] kind: Option<NotificationType>,
    ) -> impl Stream<Item = Notification> {
        events(ctx).filter_map(move |event| match &*event {
            Event::NotificationCreated(record) => {
                Notification::from_record(record).filter(|n| kind.is_none_or(|k| k == n.kind))
            }
            _ => None,
        })
    }

    /// A camera went online or offline; optionally one camera only.
    #[graphql(guard = "RoleGuard::read()")]
    async fn camera_status_changed(
        &self,
        ctx: &Context<'_>,
        camera_id: Option<ID>,
    ) -> impl Stream<Item = Camera> {
        events(ctx).filter_map(move |event| match &*event {
            Event::CameraStatusChanged(c) if matches(&camera_id, &c.camera_id) => {
                Some(Camera::from(c.clone()))
            }
            _ => None,
        })
    }

    /// A camera was created, updated or deleted.
    #[graphql(guard = "RoleGuard::read()")]
    async fn camera_changed(&self, ctx: &Context<'_>) -> impl Stream<Item = CameraChange> {
        events(ctx).filter_map(|event| match &*event {
            Event::CameraChanged {
                kind,
                camera_id,
                camera,
            } => Some(CameraChange {
                kind: *kind,
                camera_id: ID(camera_id.clone()),
                camera: camera.clone().map(Camera::from),
            }),
            _ => None,
        })
    }

    /// The summary counts, whenever they change.
    #[graphql(guard = "RoleGuard::read()")]
    async fn presence_summary_changed(
        &self,
        ctx: &Context<'_>,
    ) -> impl Stream<Item = PresenceSummary> {
        events(ctx).filter_map(|event| match &*event {
            Event::PresenceSummaryChanged(counts) => Some(PresenceSummary::from(*counts)),
            _ => None,
        })
    }

    /// The AI status, whenever it changes.
    #[graphql(guard = "RoleGuard::read()")]
    async fn ai_status_changed(&self, ctx: &Context<'_>) -> impl Stream<Item = AiStatus> {
        let state = ctx.data_unchecked::<AppState>();
        WatchStream::from_changes(state.ai_status.watch())
    }

    /// The server's time, every second.
    #[graphql(guard = "RoleGuard::read()")]
    async fn server_time(&self, ctx: &Context<'_>) -> impl Stream<Item = DateTime<Utc>> {
        let clock = ctx.data_unchecked::<AppState>().clock.clone();
        IntervalStream::new(tokio::time::interval(SERVER_TIME_INTERVAL)).map(move |_| clock.now())
    }
}
