//! hadir's face pipeline: frames in, recognitions out. It knows no database and no GraphQL.
//!
//! # Layout
//! Frames in:
//! - [`source`] (`source/`): where frames come from (RTSP, HTTP MJPEG and snapshots, webcams,
//!   files and recordings), behind one trait.
//! - [`bounds`] (`bounds.rs`): what hadir accepts from outside: frame sizes, and the one
//!   decoder of untrusted JPEG/PNG bytes (size checked before decoding, memory limited).
//! - [`motion`] (`motion.rs`): where a frame changed since the last one (detect only there).
//! - [`look`] (`look.rs`): the windows searched on a frame: around the faces followed, at
//!   their scale, where they explain the change; the rest of the change, or the whole frame.
//! - [`look_more`] (`look_more.rs`): when to sample a camera faster for a while (a newcomer's
//!   track not yet decided), through the source's [`source::Pace`].
//!
//! The pipeline's steps, in order:
//! - [`frame`] (`frame.rs`, `frame/resample.rs`): images as the pipeline holds them (RGB
//!   `f32`), cropping and resampling.
//! - [`region`] (`region.rs`): a region of a frame (or all of it) converted for analysis, and
//!   the way back from its pixels to the frame's.
//! - [`models`] (`models/`): ONNX Runtime start-up and the models: the detectors (MTCNN in
//!   `models/mtcnn/`, SCRFD in `models/scrfd.rs`), the embedder (`models/embedder.rs`).
//! - [`face`] (`face.rs`): a detected face: box, landmarks, score, whichever detector found it.
//! - [`align`] (`align.rs`): a face onto the ArcFace template: the 5-point similarity
//!   transform, and the warp.
//! - [`pipeline`] (`pipeline.rs`): a frame becomes faces: detect → align → embed, in the
//!   frame's pixels; and reading images.
//! - [`gallery`] (`gallery.rs`): enrolled embeddings as one matrix; cosine top-1.
//! - [`recognizer`] (`recognizer.rs`): faces matched against the gallery, the one rule for
//!   whether a match is accepted ([`recognizer::FaceMatch::accepted`]), and the decision over
//!   frames that makes matches recognitions.
//! - [`track`] (`track/`): faces followed across a camera's frames (SORT-style: motion,
//!   overlap and looks, Kuhn–Munkres), each track recognised from its quality-weighted views
//!   together, and said once per pass.
//!
//! Beside them:
//! - [`quality`] (`quality.rs`): whether a face is large and sharp enough to enrol.
//! - [`error`] (`error.rs`): the pipeline's errors, each saying how to fix what is wrong.
//! - `alloc_count` (`alloc_count.rs`, feature `alloc-count`, for tests): a counting global
//!   allocator that checks parsers of untrusted bytes stay within their caps.

pub mod align;
#[cfg(feature = "alloc-count")]
pub mod alloc_count;
pub mod bounds;
pub mod error;
pub mod face;
pub mod frame;
pub mod gallery;
pub mod look;
pub mod look_more;
pub mod models;
pub mod motion;
pub mod pipeline;
pub mod quality;
pub mod recognizer;
pub mod region;
pub mod source;
pub mod track;

pub use error::{VisionError, VisionResult};
