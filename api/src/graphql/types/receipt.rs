//! What an edge device learns from what it reports: that it counted, and nothing more of
//! the records it touched (an `ingest` token must not read the employee directory).

use super::timestamp::Timestamp;
use async_graphql::{ID, SimpleObject};

use super::{camera::CameraStatus, employee::PresenceStatus};

/// A sighting, as recorded.
#[derive(SimpleObject, Clone, Debug)]
pub struct SightingReceipt {
    pub employee_id: ID,
    pub camera_id: ID,
    /// When the sighting was, as stored (to the millisecond).
    pub seen_at: Timestamp,
    /// The employee's status after it.
    pub status: PresenceStatus,
    /// Whether it is now the employee's latest sighting (an older one only joins the
    /// history).
    pub latest: bool,
}

/// A camera heartbeat, as recorded.
#[derive(SimpleObject, Clone, Debug)]
pub struct HeartbeatReceipt {
    pub camera_id: ID,
    /// The camera's status after it.
    pub status: CameraStatus,
    /// The camera's latest frame time now.
    pub last_frame_at: Option<Timestamp>,
}
