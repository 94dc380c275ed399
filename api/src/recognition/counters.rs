//! Frames and faces counted per camera, for `/metrics`: what the source delivered, what
//! recognition looked at, dropped or skipped, the model runs and face tracks, and how long
//! recognition took.

use std::sync::atomic::{AtomicU64, Ordering};

/// Frames counted per camera.
#[derive(Debug, Default)]
pub struct CameraCounters {
    /// Frames the source delivered (decoded, sampled).
    pub frames: AtomicU64,
    /// Frames recognition ran on.
    pub processed: AtomicU64,
    /// Frames replaced by a newer one before recognition got to them.
    /// (Counted when recognition takes a frame: those it never saw.)
    pub dropped: AtomicU64,
    /// Frames skipped because nothing changed since the last one.
    pub unchanged: AtomicU64,
    pub reconnects: AtomicU64,
    pub faces: AtomicU64,
    pub recognitions: AtomicU64,
    pub unknown_faces: AtomicU64,
    /// Faces in the camera's ignore regions, dropped.
    pub ignored_faces: AtomicU64,
    /// Model runs: one detector pass per frame looked at, one embedding per face embedded
    /// (faces found where a recognised track was predicted are not).
    pub inferences: AtomicU64,
    /// Times the camera was sampled faster for a while because a new face's track was not
    /// decided (vision's [`vision::look_more`]).
    pub looked_more: AtomicU64,
    /// Face tracks live now (a gauge).
    pub live_tracks: AtomicU64,
    /// Tracks ended that had been taken for an employee.
    pub tracks_recognised: AtomicU64,
    /// Tracks ended that nobody matched.
    pub tracks_unknown: AtomicU64,
    /// Recognition time per frame: counts per bucket of [`INFERENCE_BUCKETS`], and the sum.
    pub inference_buckets: [AtomicU64; INFERENCE_BUCKETS.len()],
    pub inference_count: AtomicU64,
    pub inference_micros: AtomicU64,
}

/// Upper bounds (seconds) of the recognition-time histogram's buckets.
pub const INFERENCE_BUCKETS: [f64; 10] = [0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4];

impl CameraCounters {
    /// Counts one frame's recognition time.
    pub fn observe_inference(&self, seconds: f64) {
        for (bucket, bound) in self.inference_buckets.iter().zip(INFERENCE_BUCKETS) {
            if seconds <= bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.inference_count.fetch_add(1, Ordering::Relaxed);
        self.inference_micros
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
    }
}
