//! The relay's wire format: an event as JSON in an envelope naming the format's version, the
//! instance that published it and its sequence number there,
//! `{"v":1,"o":"<instance>","s":<sequence>,"e":{…}}`. An envelope longer than
//! [`MAX_NOTIFY_PAYLOAD`] bytes (PostgreSQL refuses a `NOTIFY` payload of 8,000) is stored in
//! `cluster_payloads` and the notification names its row instead:
//! `{"v":1,"o":…,"s":…,"ref":<id>}`.
//!
//! No camera's stream URL travels (it may hold credentials): a decoded event's cameras have
//! an empty URL until [`restore_urls`] puts back the receiver's own.
//!
//! Length: one mirror — every event kind and its wire twin, both ways; split, the two
//! halves of each kind would sit in different files.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use entity::camera;
use serde::{Deserialize, Serialize};

use super::wire_model::{WireCamera, WireCounts, WireNotification, WirePresence};
use crate::{
    events::{ChangeKind, Detection, Event, NotificationRecord, UnknownFace},
    presence::view::EmployeePresence,
};

/// The version of the envelope this build writes and reads.
pub const WIRE_VERSION: u64 = 1;
/// The longest payload sent inline in a `NOTIFY` (PostgreSQL's limit is 8,000 bytes); longer
/// ones go by reference to `cluster_payloads`.
pub const MAX_NOTIFY_PAYLOAD: usize = 7_500;

/// Why a payload could not be read (or, rarely, written).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WireError {
    #[error("not a relay message: {0}")]
    Malformed(String),
    #[error("relay message format version {0} is unknown here (this hadir reads {WIRE_VERSION})")]
    UnknownVersion(u64),
    #[error("cannot encode an event: {0}")]
    Encode(String),
}

/// [`ChangeKind`] on the wire.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum WireChange {
    Created,
    Updated,
    Deleted,
}

/// Every [`Event`], mirrored.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "snake_case")]
enum WireEvent {
    EmployeeStatusChanged {
        presence: WirePresence,
    },
    EmployeeDetected {
        presence: WirePresence,
        camera: WireCamera,
        seen_at: chrono::DateTime<chrono::Utc>,
        score: Option<f64>,
        /// Absent from nodes that predate face tracks.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        track_id: Option<String>,
    },
    UnknownFaceSeen {
        camera: WireCamera,
        seen_at: chrono::DateTime<chrono::Utc>,
        best_score: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        track_id: Option<String>,
    },
    EmployeeChanged {
        kind: WireChange,
        employee_id: String,
        presence: Option<WirePresence>,
    },
    NotificationCreated {
        notification: WireNotification,
        employee: Option<WirePresence>,
        camera: Option<WireCamera>,
    },
    NotificationsRead {
        notification_ids: Vec<i64>,
        all: bool,
        unread_count: u64,
    },
    CameraStatusChanged {
        camera: WireCamera,
    },
    CameraChanged {
        kind: WireChange,
        camera_id: String,
        camera: Option<WireCamera>,
    },
    PresenceSummaryChanged {
        counts: WireCounts,
    },
}

fn change_out(kind: ChangeKind) -> WireChange {
    match kind {
        ChangeKind::Created => WireChange::Created,
        ChangeKind::Updated => WireChange::Updated,
        ChangeKind::Deleted => WireChange::Deleted,
    }
}

fn change_in(kind: WireChange) -> ChangeKind {
    match kind {
        WireChange::Created => ChangeKind::Created,
        WireChange::Updated => ChangeKind::Updated,
        WireChange::Deleted => ChangeKind::Deleted,
    }
}

impl From<&Event> for WireEvent {
    fn from(event: &Event) -> Self {
        match event {
            Event::EmployeeStatusChanged(p) => Self::EmployeeStatusChanged { presence: p.into() },
            Event::EmployeeDetected(d) => Self::EmployeeDetected {
                presence: (&d.presence).into(),
                camera: (&d.camera).into(),
                seen_at: d.seen_at,
                score: d.score,
                track_id: d.track_id.clone(),
            },
            Event::UnknownFaceSeen(u) => Self::UnknownFaceSeen {
                camera: (&u.camera).into(),
                seen_at: u.seen_at,
                best_score: u.best_score,
                track_id: u.track_id.clone(),
            },
            Event::EmployeeChanged {
                kind,
                employee_id,
                presence,
            } => Self::EmployeeChanged {
                kind: change_out(*kind),
                employee_id: employee_id.clone(),
                presence: presence.as_ref().map(WirePresence::from),
            },
            Event::NotificationCreated(r) => Self::NotificationCreated {
                notification: (&r.notification).into(),
                employee: r.employee.as_ref().map(WirePresence::from),
                camera: r.camera.as_ref().map(WireCamera::from),
            },
            Event::NotificationsRead {
                notification_ids,
                all,
                unread_count,
            } => Self::NotificationsRead {
                notification_ids: notification_ids.clone(),
                all: *all,
                unread_count: *unread_count,
            },
            Event::CameraStatusChanged(c) => Self::CameraStatusChanged { camera: c.into() },
            Event::CameraChanged {
                kind,
                camera_id,
                camera,
            } => Self::CameraChanged {
                kind: change_out(*kind),
                camera_id: camera_id.clone(),
                camera: camera.as_ref().map(WireCamera::from),
            },
            Event::PresenceSummaryChanged(c) => Self::PresenceSummaryChanged { counts: c.into() },
        }
    }
}

impl WireEvent {
    fn into_event(self) -> Event {
        match self {
            Self::EmployeeStatusChanged { presence } => {
                Event::EmployeeStatusChanged(presence.into_presence())
            }
            Self::EmployeeDetected {
                presence,
                camera,
                seen_at,
                score,
                track_id,
            } => Event::EmployeeDetected(Detection {
                presence: presence.into_presence(),
                camera: camera.into_model(),
                seen_at,
                score,
                track_id,
            }),
            Self::UnknownFaceSeen {
                camera,
                seen_at,
                best_score,
                track_id,
            } => Event::UnknownFaceSeen(UnknownFace {
                camera: camera.into_model(),
                seen_at,
                best_score,
                track_id,
            }),
            Self::EmployeeChanged {
                kind,
                employee_id,
                presence,
            } => Event::EmployeeChanged {
                kind: change_in(kind),
                employee_id,
                presence: presence.map(WirePresence::into_presence),
            },
            Self::NotificationCreated {
                notification,
                employee,
                camera,
            } => Event::NotificationCreated(NotificationRecord {
                notification: notification.into_model(),
                employee: employee.map(WirePresence::into_presence),
                camera: camera.map(WireCamera::into_model),
            }),
            Self::NotificationsRead {
                notification_ids,
                all,
                unread_count,
            } => Event::NotificationsRead {
                notification_ids,
                all,
                unread_count,
            },
            Self::CameraStatusChanged { camera } => Event::CameraStatusChanged(camera.into_model()),
            Self::CameraChanged {
                kind,
                camera_id,
                camera,
            } => Event::CameraChanged {
                kind: change_in(kind),
                camera_id,
                camera: camera.map(WireCamera::into_model),
            },
            Self::PresenceSummaryChanged { counts } => Event::PresenceSummaryChanged(counts.into()),
        }
    }
}

/// The envelope of an event, inline (`e`) or by reference (`ref`).
#[derive(Serialize, Deserialize)]
struct Envelope {
    v: u64,
    o: String,
    s: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    e: Option<WireEvent>,
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    reference: Option<i64>,
}

/// Only the version, read before anything else is trusted.
#[derive(Deserialize)]
struct Head {
    v: u64,
}

/// The version of any relay payload (events and control alike): garbage is
/// [`WireError::Malformed`], another version [`WireError::UnknownVersion`].
pub fn check_version(text: &str) -> Result<(), WireError> {
    let head: Head = serde_json::from_str(text).map_err(|e| WireError::Malformed(e.to_string()))?;
    if head.v != WIRE_VERSION {
        return Err(WireError::UnknownVersion(head.v));
    }
    Ok(())
}

/// What an event notification holds.
#[derive(Clone, Debug)]
pub enum Body {
    /// The event itself, its cameras' URLs empty until [`restore_urls`].
    Inline(Box<Event>),
    /// The id of its row in `cluster_payloads`.
    Stored(i64),
}

/// An event notification, decoded.
#[derive(Clone, Debug)]
pub struct Notice {
    pub origin: String,
    pub sequence: u64,
    pub body: Body,
}

/// The full envelope of an event (what goes inline, or into `cluster_payloads`).
pub fn encode(origin: &str, sequence: u64, event: &Event) -> Result<String, WireError> {
    serde_json::to_string(&Envelope {
        v: WIRE_VERSION,
        o: origin.to_owned(),
        s: sequence,
        e: Some(event.into()),
        reference: None,
    })
    .map_err(|e| WireError::Encode(e.to_string()))
}

/// Whether an envelope goes inline in a `NOTIFY` (else by reference).
pub fn fits_inline(envelope: &str) -> bool {
    envelope.len() <= MAX_NOTIFY_PAYLOAD
}

/// The notification of an event stored as row `id` of `cluster_payloads`.
pub fn reference(origin: &str, sequence: u64, id: i64) -> String {
    serde_json::json!({"v": WIRE_VERSION, "o": origin, "s": sequence, "ref": id}).to_string()
}

/// Reads an event notification (or a stored payload, which is always inline).
pub fn decode(text: &str) -> Result<Notice, WireError> {
    check_version(text)?;
    let envelope: Envelope =
        serde_json::from_str(text).map_err(|e| WireError::Malformed(e.to_string()))?;
    let body = match (envelope.e, envelope.reference) {
        (Some(event), None) => Body::Inline(Box::new(event.into_event())),
        (None, Some(id)) => Body::Stored(id),
        _ => {
            return Err(WireError::Malformed(
                "an event envelope holds exactly one of \"e\" and \"ref\"".to_owned(),
            ));
        }
    };
    Ok(Notice {
        origin: envelope.o,
        sequence: envelope.s,
        body,
    })
}

/// Every camera record an event holds, mutably.
fn cameras_of(event: &mut Event) -> Vec<&mut camera::Model> {
    fn presence(p: &mut EmployeePresence) -> Option<&mut camera::Model> {
        p.camera.as_mut()
    }
    match event {
        Event::EmployeeStatusChanged(p) => presence(p).into_iter().collect(),
        Event::EmployeeDetected(d) => std::iter::once(&mut d.camera)
            .chain(presence(&mut d.presence))
            .collect(),
        Event::UnknownFaceSeen(u) => vec![&mut u.camera],
        Event::EmployeeChanged { presence: p, .. } => {
            p.as_mut().and_then(presence).into_iter().collect()
        }
        Event::NotificationCreated(r) => r
            .camera
            .as_mut()
            .into_iter()
            .chain(r.employee.as_mut().and_then(presence))
            .collect(),
        Event::CameraStatusChanged(c) => vec![c],
        Event::CameraChanged { camera, .. } => camera.as_mut().into_iter().collect(),
        Event::NotificationsRead { .. } | Event::PresenceSummaryChanged(_) => Vec::new(),
    }
}

/// The ids of the cameras whose URLs a decoded event needs back.
pub fn camera_ids(event: &Event) -> BTreeSet<String> {
    cameras(event)
        .into_iter()
        .map(|c| c.camera_id.clone())
        .collect()
}

/// Each camera of the event by id, with when its record last changed (`updated_at`: a
/// changed stream URL changes it).
pub fn camera_versions(event: &Event) -> BTreeMap<String, DateTime<Utc>> {
    cameras(event)
        .into_iter()
        .map(|c| (c.camera_id.clone(), c.updated_at))
        .collect()
}

fn cameras(event: &Event) -> Vec<&camera::Model> {
    fn presence(p: &EmployeePresence) -> Option<&camera::Model> {
        p.camera.as_ref()
    }
    match event {
        Event::EmployeeStatusChanged(p) => presence(p).into_iter().collect(),
        Event::EmployeeDetected(d) => std::iter::once(&d.camera)
            .chain(presence(&d.presence))
            .collect(),
        Event::UnknownFaceSeen(u) => vec![&u.camera],
        Event::EmployeeChanged { presence: p, .. } => {
            p.as_ref().and_then(presence).into_iter().collect()
        }
        Event::NotificationCreated(r) => r
            .camera
            .as_ref()
            .into_iter()
            .chain(r.employee.as_ref().and_then(presence))
            .collect(),
        Event::CameraStatusChanged(c) => vec![c],
        Event::CameraChanged { camera, .. } => camera.as_ref().into_iter().collect(),
        Event::NotificationsRead { .. } | Event::PresenceSummaryChanged(_) => Vec::new(),
    }
}

/// Puts back each camera's stream URL from `urls` (camera id → URL, as the receiver's table
/// holds it); a camera no longer there keeps an empty URL.
pub fn restore_urls(event: &mut Event, urls: &HashMap<String, String>) {
    for camera in cameras_of(event) {
        camera.rtsp_url = urls.get(&camera.camera_id).cloned().unwrap_or_default();
    }
}
