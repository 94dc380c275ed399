//! The monitor loop: runs the engine's tick at an interval until the server stops.

use std::{sync::Arc, time::Duration};

use tokio::{task::JoinHandle, time::MissedTickBehavior};

use super::PresenceEngine;

/// Starts the monitor; it logs what each tick changed and survives database errors.
pub fn spawn(engine: Arc<PresenceEngine>, interval: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            match engine.tick().await {
                Ok(report) => {
                    for employee_id in &report.lost {
                        tracing::info!(%employee_id, "employee lost: OFFLINE");
                    }
                    for camera_id in &report.cameras_down {
                        tracing::warn!(%camera_id, "camera down");
                    }
                }
                Err(error) => tracing::error!(%error, "presence monitor tick failed"),
            }
        }
    })
}
