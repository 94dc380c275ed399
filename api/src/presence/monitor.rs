//! The monitor loop: runs the engine's tick at an interval until the server stops it.

use std::{sync::Arc, time::Duration};

use tokio::time::MissedTickBehavior;

use super::engine::PresenceEngine;

/// The monitor: never returns (the composition root stops it); it logs what each tick
/// changed and survives database errors.
pub async fn run(engine: Arc<PresenceEngine>, interval: Duration) {
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
}
