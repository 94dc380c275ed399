//! Step 1 of recognition: **a frame becomes tracked faces**. Motion gating decides where to
//! look (nowhere, a changed region, or the whole frame), refined by the faces followed
//! (vision's [`look`]: a change a followed face explains is searched around it, at its
//! scale), the face service finds the faces
//! there, drops those in the camera's ignore regions, and links the rest to the camera's
//! face tracks, which decide who they are (vision's [`TrackDecision`]). After each frame it
//! sets the camera's sampling pace: faster for a while when a newcomer's track is not yet
//! decided (vision's [`vision::look_more`]), the camera's own rate otherwise.

use std::{
    sync::{Arc, Mutex, atomic::Ordering},
    time::{Duration, Instant},
};

use vision::{
    look::{self, Window},
    look_more::LookMoreSettings,
    motion::{Look, MotionGate},
    source::{Frame, Pace},
    track::{DecisionSettings, TrackDecision, TrackEvent},
};

use super::counters::CameraCounters;
use crate::{
    cameras::regions::{self, Region},
    faces::{FaceService, FrameTracks},
};

/// What one frame gave.
pub enum Analysis {
    /// Nothing changed since the last frame: not looked at; tracks gone too long ended.
    Unchanged(Vec<TrackEvent>),
    /// The faces found (in frame pixels) with their tracks, and what the tracks decided.
    Faces(FrameTracks),
    /// Recognition failed on this frame (logged); the next frame is tried.
    Failed,
}

/// Turns one camera's frames into tracked faces.
pub struct Analyser {
    pub camera_id: String,
    pub faces: Arc<FaceService>,
    /// None: the whole frame every time.
    pub gate: Option<MotionGate>,
    pub ignore_regions: Arc<Vec<Region>>,
    pub counters: Arc<CameraCounters>,
    /// The camera's tracks (used by one frame at a time, on the inference worker).
    pub tracks: Arc<Mutex<TrackDecision>>,
    /// The camera's sampling pace, its own interval, and when to quicken it.
    pace: Option<(Pace, Duration, LookMoreSettings)>,
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
        decision: DecisionSettings,
    ) -> Self {
        Self {
            camera_id,
            faces,
            gate: full_frame_interval.map(MotionGate::new),
            ignore_regions: Arc::new(ignore_regions),
            counters,
            tracks: Arc::new(Mutex::new(TrackDecision::new(decision))),
            pace: None,
        }
    }

    /// Sets `pace` after each frame: `interval` (the camera's own), or quicker as `look_more`
    /// says while a newcomer's track is not yet decided.
    pub fn with_pace(
        mut self,
        pace: Pace,
        interval: Duration,
        look_more: LookMoreSettings,
    ) -> Self {
        self.pace = Some((pace, interval, look_more));
        self
    }

    /// Quickens or restores the camera's pace, as its tracks now stand.
    fn set_pace(&self, tracks: &TrackDecision, at: Instant) {
        let Some((pace, normal, look_more)) = &self.pace else {
            return;
        };
        let interval = look_more.interval(*normal, tracks.newest_undecided(), at);
        let quicker = interval < pace.interval();
        if pace.set(interval) && quicker {
            self.counters.looked_more.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(camera_id = %self.camera_id, ?interval, "looking more: a newcomer's track is not decided yet");
        }
    }

    /// Live tracks at this camera.
    pub fn live_tracks(&self) -> usize {
        self.tracks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .live_tracks()
    }

    /// The faces of `frame`, counted.
    pub async fn analyse(&mut self, frame: &Arc<Frame>) -> Analysis {
        let started = Instant::now();
        let windows = match self.gate.as_mut() {
            None => vec![Window::WHOLE],
            Some(gate) => {
                let look = gate.look(&frame.image, started);
                let mut tracks = self.tracks.lock().unwrap_or_else(|p| p.into_inner());
                if look == Look::Nothing {
                    self.counters.unchanged.fetch_add(1, Ordering::Relaxed);
                    let ended = tracks.expire(started);
                    self.set_pace(&tracks, started);
                    return Analysis::Unchanged(ended);
                }
                // Around the faces followed where they explain the change.
                look::plan(
                    look,
                    gate,
                    tracks.tracker().tracks(),
                    started,
                    frame.image.dimensions(),
                )
            }
        };
        let ignore = self.ignore_regions.clone();
        let (width, height) = frame.image.dimensions();
        let keep = move |face: &vision::face::DetectedFace| {
            ignore.is_empty()
                || !regions::ignores(
                    ignore.as_slice(),
                    [face.x1, face.y1, face.x2, face.y2],
                    width,
                    height,
                )
        };
        let tracked = match self
            .faces
            .track_frame(frame.clone(), windows, started, self.tracks.clone(), keep)
            .await
        {
            Ok(tracked) => tracked,
            Err(error) => {
                let camera_id = &self.camera_id;
                tracing::warn!(%camera_id, %error, "recognition failed on a frame");
                return Analysis::Failed;
            }
        };
        self.set_pace(
            &self.tracks.lock().unwrap_or_else(|p| p.into_inner()),
            Instant::now(),
        );
        let counters = &self.counters;
        counters
            .ignored_faces
            .fetch_add(tracked.ignored as u64, Ordering::Relaxed);
        counters.processed.fetch_add(1, Ordering::Relaxed);
        counters.observe_inference(started.elapsed().as_secs_f64());
        counters
            .faces
            .fetch_add(tracked.faces.len() as u64, Ordering::Relaxed);
        // A detector pass, and one embedding per face embedded.
        counters
            .inferences
            .fetch_add(1 + tracked.embedded as u64, Ordering::Relaxed);
        Analysis::Faces(tracked)
    }
}
