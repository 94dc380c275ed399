//! The subscription root: live presence, detections, notifications, cameras, the summary,
//! the AI status and the server's clock. Every stream reads the event bus; events carry
//! complete snapshots, so no subscriber causes a database read.

use crate::graphql::types::Timestamp;
use std::{sync::Arc, time::Duration};

use async_graphql::{Context, ErrorExtensions, ID, ResultExt as _, SimpleObject, Subscription};
use futures_util::Stream;
use tokio_stream::{
    StreamExt,
    wrappers::{BroadcastStream, IntervalStream, WatchStream, errors::BroadcastStreamRecvError},
};

use crate::{
    events::Event,
    graphql::{
        guard::RoleGuard,
        types::{
            AiStatus, Camera, ChangeKind, Detection, Employee, EmployeeChange, Notification,
            NotificationType, PresenceSummary,
        },
    },
    state::AppState,
};

/// How often `serverTime` ticks.
pub const SERVER_TIME_INTERVAL: Duration = Duration::from_secs(1);

/// A face nobody enrolled is close to (no image is kept).
#[derive(SimpleObject, Clone, Debug)]
pub struct UnknownFaceSighting {
    pub camera: Camera,
    pub seen_at: Timestamp,
    /// The best similarity to anyone enrolled, where anyone is.
    pub best_score: Option<f64>,
    /// The face track nobody matched (one event per track; null when reported through the
    /// API).
    pub track_id: Option<ID>,
}

/// A face on a live frame.
#[derive(SimpleObject, Clone, Debug)]
pub struct FrameFace {
    /// `[x1, y1, x2, y2]` in the frame's pixels (as sent, after scaling).
    pub bounds: Vec<f64>,
    /// The employee recognised, if any.
    pub employee_id: Option<ID>,
}

/// One live frame of a camera.
#[derive(SimpleObject, Clone, Debug)]
pub struct VideoFrame {
    pub camera_id: ID,
    pub captured_at: Timestamp,
    pub width: i32,
    pub height: i32,
    /// The frame as JPEG, base64-encoded (`data:image/jpeg;base64,` + this, for an `<img>`).
    pub jpeg_base64: String,
    pub faces: Vec<FrameFace>,
}

/// Notifications marked read.
#[derive(SimpleObject, Clone, Debug)]
pub struct NotificationsRead {
    /// The notifications marked read (empty when `all`).
    pub notification_ids: Vec<ID>,
    /// Every notification was marked read.
    pub all: bool,
    /// Unread notifications after.
    pub unread_count: i64,
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
                    seen_at: d.seen_at.into(),
                    score: d.score,
                    track_id: d.track_id.clone().map(ID),
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
                    seen_at: u.seen_at.into(),
                    best_score: u.best_score,
                    track_id: u.track_id.clone().map(ID),
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
                kind: (*kind).into(),
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
                Some(Notification::from_record(record)).filter(|n| kind.is_none_or(|k| k == n.kind))
            }
            _ => None,
        })
    }

    /// Notifications were marked read (by anyone): follow the bell's badge without polling.
    #[graphql(guard = "RoleGuard::read()")]
    async fn notifications_read(&self, ctx: &Context<'_>) -> impl Stream<Item = NotificationsRead> {
        events(ctx).filter_map(|event| match &*event {
            Event::NotificationsRead {
                notification_ids,
                all,
                unread_count,
            } => Some(NotificationsRead {
                notification_ids: notification_ids
                    .iter()
                    .map(|id| ID(id.to_string()))
                    .collect(),
                all: *all,
                unread_count: i64::try_from(*unread_count).unwrap_or(i64::MAX),
            }),
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
                kind: (*kind).into(),
                camera_id: ID(camera_id.clone()),
                camera: camera.clone().map(Camera::from),
            }),
            _ => None,
        })
    }

    /// A camera's sampled frames as JPEG, at most `maxFps` per second, `width` pixels wide,
    /// with face boxes drawn when `annotate`. Switching cameras is a new subscription.
    #[graphql(guard = "RoleGuard::read()")]
    async fn video_frames(
        &self,
        ctx: &Context<'_>,
        camera_id: ID,
        #[graphql(default = 5.0)] max_fps: f64,
        width: Option<i32>,
        #[graphql(default = false)] annotate: bool,
    ) -> async_graphql::Result<impl Stream<Item = VideoFrame>> {
        let state = ctx.data_unchecked::<AppState>();
        if state.cameras.get(&camera_id).await.extend()?.is_none() {
            return Err(crate::error::AppError::not_found("camera", camera_id.as_str()).extend());
        }
        if !(max_fps > 0.0 && max_fps <= 30.0) {
            return Err(crate::graphql::error::bad_input(
                "maxFps",
                "must be more than 0 and at most 30",
            ));
        }
        let width = match width {
            None => None,
            Some(w) if (16..=3_840).contains(&w) => Some(w as u32),
            Some(_) => {
                return Err(crate::graphql::error::bad_input(
                    "width",
                    "must be between 16 and 3840",
                ));
            }
        };
        let gap = Duration::from_secs_f64(1.0 / max_fps);
        let receiver = state.live_cameras.watch_live(&camera_id);
        let encoder = state.live_encoder.clone();
        let id = camera_id.clone();
        let frames = WatchStream::new(receiver)
            .filter_map(|frame| frame)
            .throttle(gap);
        Ok(futures_util::StreamExt::filter_map(frames, move |live| {
            let encoder = encoder.clone();
            let id = id.clone();
            async move {
                let encoded = encoder.jpeg(&live, width, annotate).await.ok()?;
                let scale = f64::from(encoded.width) / f64::from(live.frame.image.width().max(1));
                Some(VideoFrame {
                    camera_id: id,
                    captured_at: chrono::DateTime::<chrono::Utc>::from(live.frame.captured_at)
                        .into(),
                    width: encoded.width as i32,
                    height: encoded.height as i32,
                    jpeg_base64: base64::Engine::encode(
                        &base64::engine::general_purpose::STANDARD,
                        &encoded.jpeg,
                    ),
                    faces: live
                        .faces
                        .iter()
                        .map(|(b, who)| FrameFace {
                            bounds: b
                                .iter()
                                .map(|v| (f64::from(*v) * scale * 10.0).round() / 10.0)
                                .collect(),
                            employee_id: who.clone().map(ID),
                        })
                        .collect(),
                })
            }
        }))
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
        WatchStream::from_changes(state.ai_status.watch()).map(AiStatus::from)
    }

    /// The server's time, every second.
    #[graphql(guard = "RoleGuard::read()")]
    async fn server_time(&self, ctx: &Context<'_>) -> impl Stream<Item = Timestamp> {
        let clock = ctx.data_unchecked::<AppState>().clock.clone();
        IntervalStream::new(tokio::time::interval(SERVER_TIME_INTERVAL))
            .map(move |_| clock.now().into())
    }
}
