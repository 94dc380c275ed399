//! The output of the pipeline: one recognised (or unknown) face at one camera.

use std::time::SystemTime;

/// A face's bounding box in frame pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FaceBox {
    pub x: f32,
    pub y: f32,
    pub width: f32,
    pub height: f32,
}

/// A face seen at a camera: the employee it matched (None: unknown), the cosine similarity of
/// the best match, and where it was in the frame.
#[derive(Clone, Debug, PartialEq)]
pub struct Recognition {
    pub camera_id: String,
    pub employee_id: Option<String>,
    pub score: f32,
    pub face: Option<FaceBox>,
    pub seen_at: SystemTime,
}
