//! Recognition against the gallery: every face of a camera frame (or of a region of it),
//! followed by the camera's tracks, and every face of a photo with its best match.

use std::{
    sync::{Arc, Mutex},
    time::Instant,
};

use vision::{
    face::DetectedFace,
    look::{self, Window},
    recognizer::match_faces,
    track::{TrackDecision, TrackEvent, TrackedFace},
};

use super::service::FaceService;
use crate::error::{AppError, AppResult};

/// One face found in a photo, with its best match in the gallery.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RecognisedFace {
    /// `[x1, y1, x2, y2]`, pixels.
    #[serde(rename = "box")]
    pub bounds: [f32; 4],
    /// Five `[x, y]`: left eye, right eye, nose, left and right mouth corners.
    pub landmarks: [[f32; 2]; 5],
    #[serde(rename = "detectionScore")]
    pub detection_score: f32,
    /// The employee above the threshold, if any.
    #[serde(rename = "employeeId")]
    pub employee_id: Option<String>,
    /// The best similarity in the gallery (whoever it belongs to), if the gallery has any.
    pub similarity: Option<f32>,
    /// Who that best similarity belongs to, even below the threshold (for tuning).
    #[serde(rename = "closestEmployeeId")]
    pub closest_employee_id: Option<String>,
}

/// What one look at a camera frame gave: its faces with their tracks, what the tracks
/// decided, and how many faces were found and dropped in ignore regions.
#[derive(Debug, Default)]
pub struct FrameTracks {
    pub faces: Vec<TrackedFace>,
    pub events: Vec<TrackEvent>,
    /// Faces dropped because they lie in the camera's ignore regions.
    pub ignored: usize,
    /// Faces embedded (the others were known to their tracks, or ignored).
    pub embedded: usize,
}

impl FaceService {
    /// Every face in the `windows` of a camera frame (see [`vision::look`]) looked at `at`, on a blocking
    /// thread: found, embedded, the faces `keep` refuses (ignore regions) dropped, linked to
    /// the camera's tracks in `decision` and decided against the gallery. Boxes and landmarks
    /// are in frame pixels.
    ///
    /// The frame is converted for analysis only once a worker is free, into memory that
    /// worker holds: however many cameras wait, at most one converted frame per worker
    /// exists.
    pub async fn track_frame(
        self: &Arc<Self>,
        frame: Arc<vision::source::Frame>,
        windows: Vec<Window>,
        at: Instant,
        decision: Arc<Mutex<TrackDecision>>,
        keep: impl Fn(&DetectedFace) -> bool + Send + 'static,
    ) -> AppResult<FrameTracks> {
        self.on_pipeline(move |service, pipelines| {
            let mut decision = decision.lock().unwrap_or_else(|p| p.into_inner());
            // Faces found where a recognised track was predicted are not embedded.
            let mut known = Vec::new();
            let faces = pipelines
                .with(|p| {
                    p.analyse_windows_sparing(&frame.image, &windows, |face| {
                        match decision.spares(face, at, &known) {
                            Some(track) => {
                                known.push((track, face.clone()));
                                false
                            }
                            None => true,
                        }
                    })
                })
                .map_err(|e| AppError::Refused(format!("face analysis failed: {e}")))?;
            let before = faces.len() + known.len();
            let faces: Vec<_> = faces.into_iter().filter(|f| keep(&f.face)).collect();
            known.retain(|(_, face)| keep(face));
            let ignored = before - faces.len() - known.len();
            let embedded = faces.len();
            let gallery = service.gallery.read().unwrap_or_else(|p| p.into_inner());
            let covered = look::coverage(&windows);
            let (faces, events) = decision.observe_sparing(&faces, &known, covered, at, |query| {
                gallery
                    .best_match(query)
                    .map(|m| (m.owner.to_owned(), m.score))
            });
            Ok(FrameTracks {
                faces,
                events,
                ignored,
                embedded,
            })
        })
        .await
    }

    /// Every face of a photo with its best match.
    pub async fn recognize(self: &Arc<Self>, photo: Vec<u8>) -> AppResult<Vec<RecognisedFace>> {
        self.check_size(&photo)?;
        let (_, mut faces, scale) = self.analyse(photo).await?;
        for face in &mut faces {
            face.scale_by(scale);
        }
        let gallery = self.gallery.read().unwrap_or_else(|p| p.into_inner());
        Ok(match_faces(&gallery, &faces)
            .into_iter()
            .map(|m| RecognisedFace {
                bounds: [m.face.x1, m.face.y1, m.face.x2, m.face.y2],
                landmarks: m.face.landmarks,
                detection_score: m.face.score,
                employee_id: m.accepted(self.threshold).map(str::to_owned),
                similarity: m.score,
                closest_employee_id: m.closest,
            })
            .collect())
    }
}
