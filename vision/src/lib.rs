//! hadir's face pipeline: frames in, recognitions out. It knows no database and no GraphQL.
//!
//! # Layout
//! - [`bounds`]: what hadir accepts from outside: frame sizes, and the one decoder of
//!   untrusted JPEG/PNG bytes (size checked before decoding, memory limited).
//! - [`frame`]: images as the pipeline holds them (RGB `f32`), cropping and resampling.
//! - [`models`]: ONNX Runtime start-up and the models: the MTCNN detector, the embedder.
//! - [`align`]: the 5-point similarity transform onto the ArcFace template, and the warp.
//! - [`motion`]: where a frame changed since the last one (detect only there).
//! - [`gallery`]: enrolled embeddings as one matrix; cosine top-1.
//! - [`pipeline`]: detect → align → embed, and reading images.
//! - [`quality`]: whether a face is large and sharp enough to enrol.
//! - [`recognizer`]: matching faces against the gallery, and the decision over frames.
//! - [`source`]: where frames come from (RTSP, HTTP MJPEG and snapshots, webcams, files and
//!   recordings), behind one trait.
//! - [`recognition`]: what the pipeline hands to the rest of hadir.
//! - [`error`]: the pipeline's errors, each saying how to fix what is wrong.
//! - `alloc_count` (feature `alloc-count`, for tests): a counting global allocator that
//!   checks parsers of untrusted bytes stay within their caps.

pub mod align;
#[cfg(feature = "alloc-count")]
pub mod alloc_count;
pub mod bounds;
pub mod error;
pub mod face;
pub mod frame;
pub mod gallery;
pub mod models;
pub mod motion;
pub mod pipeline;
pub mod quality;
pub mod region;
pub mod recognizer;
pub mod source;

pub use error::{VisionError, VisionResult};
