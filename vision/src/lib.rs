//! hadir's face pipeline: frames in, recognitions out. It knows no database and no GraphQL.
//!
//! # Layout
//! - [`recognition`]: what the pipeline hands to the rest of hadir: a [`Recognition`] of a
//!   face at a camera, with its similarity score and box.
//!
//! Capture (RTSP, HTTP, files), detection, alignment, embedding and matching arrive with the
//! vision issue; the types here are the boundary they will fill.

pub mod recognition;

pub use recognition::{FaceBox, Recognition};
