//! Step 2 of recognition: **faces become a sighting**. The decision over consecutive frames
//! (vision's [`CameraDecision`]) names an employee once enough frames agree; each naming is
//! a sighting for the presence engine, and each face nobody matches is reported as unknown.

use std::sync::{Arc, atomic::Ordering};

use chrono::{DateTime, Utc};
use vision::recognizer::{CameraDecision, FaceMatch, Verdict};

use super::counters::CameraCounters;
use crate::presence::{PresenceEngine, Sighting};

/// Decides who one camera's faces are, and tells the presence engine.
pub struct Decider {
    pub camera_id: String,
    pub decision: CameraDecision,
    pub engine: Arc<PresenceEngine>,
    pub counters: Arc<CameraCounters>,
}

impl Decider {
    /// Records what the faces of one frame, seen at `seen_at`, decided.
    pub async fn decide(&mut self, matches: &[FaceMatch], seen_at: DateTime<Utc>) {
        let camera_id = &self.camera_id;
        for verdict in self.decision.decide(matches) {
            let result = match verdict {
                Verdict::Recognised {
                    employee_id, score, ..
                } => {
                    self.counters.recognitions.fetch_add(1, Ordering::Relaxed);
                    self.engine
                        .record_sighting(Sighting {
                            employee_id,
                            camera_id: camera_id.clone(),
                            seen_at: Some(seen_at),
                            score: Some(f64::from(score)),
                        })
                        .await
                        .map(|_| ())
                }
                Verdict::Unknown { best_score, .. } => {
                    self.counters.unknown_faces.fetch_add(1, Ordering::Relaxed);
                    self.engine
                        .unknown_face(camera_id, Some(seen_at), best_score.map(f64::from))
                        .await
                }
                Verdict::Tentative { .. } => Ok(()),
            };
            if let Err(error) = result {
                tracing::warn!(%camera_id, %error, "cannot record a recognition");
            }
        }
    }
}
