//! The gallery kept in step across the cluster (on PostgreSQL, instead of
//! `FaceService::run_refresh`): one employee's faces reloaded at each `FacesChanged` another
//! process announces, the full check after each resync (an announcement may have been
//! missed), and every `interval` as a backstop
//! ([`crate::faces::CLUSTER_GALLERY_REFRESH_INTERVAL`] by default).

use std::{sync::Arc, time::Duration};

use tokio::sync::broadcast::{self, error::RecvError};

use super::{control::ControlMessage, resync::Resync};
use crate::faces::FaceService;

/// Follows the relay's control messages and resyncs until the server stops (the composition
/// root cancels it); without them (the relay gone) it keeps the periodic check.
pub async fn follow(
    faces: Arc<FaceService>,
    control: broadcast::Receiver<ControlMessage>,
    resyncs: broadcast::Receiver<Resync>,
    interval: Duration,
) {
    let mut control = Some(control);
    let mut resyncs = Some(resyncs);
    let mut ticker = tokio::time::interval(interval);
    // The first tick is immediate; the gallery was just loaded.
    ticker.tick().await;
    loop {
        tokio::select! {
            _ = ticker.tick() => faces.check_gallery().await,
            message = recv(&mut control) => match message {
                Ok(ControlMessage::FacesChanged { employee_id }) => {
                    match faces.reload_employee(&employee_id).await {
                        Ok(n) => tracing::info!(
                            employee_id,
                            embeddings = n,
                            "gallery: reloaded an employee's faces changed elsewhere"
                        ),
                        Err(error) => {
                            tracing::warn!(employee_id, %error, "gallery: cannot reload an employee's faces");
                        }
                    }
                }
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => faces.check_gallery().await,
                Err(RecvError::Closed) => control = None,
            },
            resync = recv(&mut resyncs) => match resync {
                Ok(_) | Err(RecvError::Lagged(_)) => faces.check_gallery().await,
                Err(RecvError::Closed) => resyncs = None,
            },
        }
    }
}

/// The next message of a receiver still open; never, once it closed.
async fn recv<T: Clone>(receiver: &mut Option<broadcast::Receiver<T>>) -> Result<T, RecvError> {
    match receiver {
        Some(r) => r.recv().await,
        None => std::future::pending().await,
    }
}
