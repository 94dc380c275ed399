//! Step 1 of recognition: **a frame becomes faces**. Motion gating decides where to look
//! (nowhere, a changed region, or the whole frame), the face service finds and matches the
//! faces there, and faces in the camera's ignore regions are dropped.

use std::{
    sync::{Arc, atomic::Ordering},
    time::{Duration, Instant},
};

use vision::{
    motion::{Look, MotionGate},
    recognizer::FaceMatch,
    region::FrameRegion,
    source::Frame,
};

use super::counters::CameraCounters;
use crate::{
    cameras::regions::{self, Region},
    faces::FaceService,
};

/// What one frame gave.
pub enum Analysis {
    /// Nothing changed since the last frame: not looked at.
    Unchanged,
    /// The faces found (in frame pixels), each with its best match in the gallery.
    Faces(Vec<FaceMatch>),
    /// Recognition failed on this frame (logged); the next frame is tried.
    Failed,
}

/// Turns one camera's frames into faces.
pub struct Analyser {
    pub camera_id: String,
    pub faces: Arc<FaceService>,
    /// None: the whole frame every time.
    pub gate: Option<MotionGate>,
    pub ignore_regions: Vec<Region>,
    pub counters: Arc<CameraCounters>,
}

impl Analyser {
    /// An analyser; with `full_frame_interval`, looks only where frames changed, with a
    /// full-frame pass that often.
    pub fn new(
        camera_id: String,
        faces: Arc<FaceService>,
        full_frame_interval: Option<Duration>,
        ignore_regions: Vec<Region>,
        counters: Arc<CameraCounters>,
    ) -> Self {
        Self {
            camera_id,
            faces,
            gate: full_frame_interval.map(MotionGate::new),
            ignore_regions,
            counters,
        }
    }

    /// The faces of `frame`, counted.
    pub async fn analyse(&mut self, frame: &Arc<Frame>) -> Analysis {
        let started = Instant::now();
        let region = match self.gate.as_mut().map(|g| g.look(&frame.image, started)) {
            None | Some(Look::Full) => None,
            Some(Look::Region {
                x,
                y,
                width,
                height,
            }) => Some(FrameRegion::new(x, y, width, height)),
            Some(Look::Nothing) => {
                self.counters.unchanged.fetch_add(1, Ordering::Relaxed);
                return Analysis::Unchanged;
            }
        };
        let mut matches = match self.faces.match_frame(frame.clone(), region).await {
            Ok(matches) => matches,
            Err(error) => {
                let camera_id = &self.camera_id;
                tracing::warn!(%camera_id, %error, "recognition failed on a frame");
                return Analysis::Failed;
            }
        };
        if !self.ignore_regions.is_empty() {
            let (width, height) = frame.image.dimensions();
            let before = matches.len();
            matches.retain(|m| {
                !regions::ignores(
                    &self.ignore_regions,
                    [m.face.x1, m.face.y1, m.face.x2, m.face.y2],
                    width,
                    height,
                )
            });
            self.counters
                .ignored_faces
                .fetch_add((before - matches.len()) as u64, Ordering::Relaxed);
        }
        let counters = &self.counters;
        counters.processed.fetch_add(1, Ordering::Relaxed);
        counters.observe_inference(started.elapsed().as_secs_f64());
        counters
            .faces
            .fetch_add(matches.len() as u64, Ordering::Relaxed);
        Analysis::Faces(matches)
    }
}
