//! `AiStatus`: whether face recognition is running, pushed to clients when it changes (the
//! GraphQL face of [`crate::recognition::ai_status`]).

use super::timestamp::Timestamp;
use async_graphql::{Enum, SimpleObject};

use crate::recognition::ai_status as domain;

/// The state of the recognition pipeline.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "domain::AiState")]
pub enum AiState {
    /// No recognition runs in this process (the message says why); sightings still arrive
    /// through `reportSighting`.
    Stopped,
    /// Models are loading.
    Starting,
    /// Models loaded and workers running.
    Running,
    /// Running with faults (see the message).
    Degraded,
}

/// Whether recognition runs, for the dashboard's AI indicator.
#[derive(SimpleObject, Clone, Debug, PartialEq)]
pub struct AiStatus {
    /// True while recognition runs (RUNNING or DEGRADED).
    pub running: bool,
    pub state: AiState,
    pub message: String,
    pub changed_at: Timestamp,
    /// The version of hadir serving (after an upgrade, the new one).
    pub version: String,
}

impl From<domain::AiStatus> for AiStatus {
    fn from(status: domain::AiStatus) -> Self {
        Self {
            running: status.running,
            state: status.state.into(),
            message: status.message,
            changed_at: status.changed_at.into(),
            version: crate::VERSION.to_owned(),
        }
    }
}
