//! Step 2 of recognition: **what the tracks decided becomes sightings**. Every view that
//! confirms a track's employee is a sighting for the presence engine (presence stays fresh),
//! announced as `employeeDetected` only when the track says so (its start, a new employee,
//! then at most every few seconds); a track nobody matches is one unknown face.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use chrono::{DateTime, Utc};
use vision::track::{TrackEvent, TrackId};

use super::counters::CameraCounters;
use crate::presence::{PresenceEngine, Sighting};

/// Tells the presence engine what one camera's tracks decided.
pub struct Decider {
    pub camera_id: String,
    /// Makes this task's track numbers unique beyond it: the task's start, in Unix
    /// milliseconds (`<start>-<track>`).
    pub track_prefix: String,
    pub engine: Arc<PresenceEngine>,
    pub counters: Arc<CameraCounters>,
}

impl Decider {
    /// The id a track is known by outside this task.
    pub fn track_id(&self, track: TrackId) -> String {
        format!("{}-{track}", self.track_prefix)
    }

    /// Records what one frame's tracks decided (the frame was seen at `seen_at`).
    pub async fn decide(&mut self, events: Vec<TrackEvent>, seen_at: DateTime<Utc>) {
        let camera_id = &self.camera_id;
        for event in events {
            let result = match event {
                TrackEvent::Recognised {
                    track,
                    employee_id,
                    score,
                    announce,
                    ..
                } => {
                    self.counters.recognitions.fetch_add(1, Ordering::Relaxed);
                    self.engine
                        .record_sighting(Sighting {
                            employee_id,
                            camera_id: camera_id.clone(),
                            seen_at: Some(seen_at),
                            score: Some(f64::from(score)),
                            track_id: Some(self.track_id(track)),
                            announce,
                        })
                        .await
                        .map(|_| ())
                }
                TrackEvent::Unknown {
                    track, best_score, ..
                } => {
                    self.counters.unknown_faces.fetch_add(1, Ordering::Relaxed);
                    self.engine
                        .unknown_face(
                            camera_id,
                            Some(seen_at),
                            best_score.map(f64::from),
                            Some(self.track_id(track)),
                        )
                        .await
                }
                TrackEvent::Ended { employee_id, .. } => {
                    let ended = if employee_id.is_some() {
                        &self.counters.tracks_recognised
                    } else {
                        &self.counters.tracks_unknown
                    };
                    ended.fetch_add(1, Ordering::Relaxed);
                    Ok(())
                }
            };
            if let Err(error) = result {
                tracing::warn!(%camera_id, %error, "cannot record a recognition");
            }
        }
    }
}
