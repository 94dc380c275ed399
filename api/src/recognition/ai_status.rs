//! Whether face recognition runs in this process, as the dashboard's AI indicator shows it:
//! set by the camera supervisor, read by queries and subscriptions (which wrap it).

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use crate::faces::FaceService;

/// The state of the recognition pipeline.
#[derive(Copy, Clone, Debug, Eq, PartialEq)]
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

/// Whether recognition runs, and why (not).
#[derive(Clone, Debug, PartialEq)]
pub struct AiStatus {
    /// True while recognition runs (RUNNING or DEGRADED).
    pub running: bool,
    pub state: AiState,
    pub message: String,
    pub changed_at: DateTime<Utc>,
}

impl AiStatus {
    pub fn new(state: AiState, message: impl Into<String>) -> Self {
        Self {
            running: matches!(state, AiState::Running | AiState::Degraded),
            state,
            message: message.into(),
            changed_at: Utc::now(),
        }
    }

    /// The status that the face service's readiness gives, with `cameras` being recognised.
    pub fn of(faces: &FaceService, cameras: usize) -> Self {
        match faces.readiness() {
            Ok(()) => Self::new(
                AiState::Running,
                format!(
                    "face models loaded ({}: {}); {} inference worker(s); recognising {cameras} camera(s){}",
                    faces.model_set().name(),
                    faces.model(),
                    faces.workers(),
                    faces
                        .licence_note()
                        .map(|n| format!(". Licence: {n}"))
                        .unwrap_or_default()
                ),
            ),
            Err(reason) => Self::new(
                AiState::Stopped,
                format!("face recognition is unavailable: {reason}"),
            ),
        }
    }
}

/// The current status, shared: the pipeline sets it, queries and subscriptions read it.
#[derive(Clone, Debug)]
pub struct AiStatusHandle(watch::Sender<AiStatus>);

impl AiStatusHandle {
    pub fn new(initial: AiStatus) -> Self {
        Self(watch::Sender::new(initial))
    }

    pub fn current(&self) -> AiStatus {
        self.0.borrow().clone()
    }

    /// Sets the status; subscribers hear of it only when it differs.
    pub fn set(&self, status: AiStatus) {
        self.0.send_if_modified(|current| {
            let changed = current.state != status.state || current.message != status.message;
            if changed {
                *current = status;
            }
            changed
        });
    }

    pub fn watch(&self) -> watch::Receiver<AiStatus> {
        self.0.subscribe()
    }
}
