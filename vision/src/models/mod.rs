//! The models and the runtime that runs them.
//!
//! - [`runtime`]: loading ONNX Runtime (dynamically) and opening sessions.
//! - [`manifest`]: the model files, their checksums and licences.
//! - [`file`]: a model file read once (capped, checked, edited) for every session made from it.
//! - [`graph_edit`]: the edits made to a model's graph before it is loaded (constants that
//!   pose as inputs, PReLU in vectorised operators).
//! - [`mtcnn`]: the MTCNN face detector with 5 landmarks (P-, R- and O-net).
//! - [`scrfd`]: the SCRFD face detector with 5 landmarks (InsightFace format).
//! - [`embedder`]: the face embedder (ArcFace-style, 112×112 aligned input).
//! - [`sets`]: the model configurations: default (MIT), sface (MIT and Apache-2.0) and
//!   InsightFace (opt-in, non-commercial).

pub mod embedder;
pub mod file;
pub mod graph_edit;
pub mod manifest;
pub mod mtcnn;
pub mod runtime;
pub mod scrfd;
pub mod sets;

use std::{cell::Cell, time::Duration, time::Instant};

use ort::{session::Session, value::TensorRef};

use crate::error::{VisionError, VisionResult};

thread_local! {
    /// Time this thread spent inside ONNX Runtime since the last [`take_inference_time`].
    static INFERENCE_TIME: Cell<Duration> = const { Cell::new(Duration::ZERO) };
}

/// The time this thread spent inside ONNX Runtime's `run` since the last call (for
/// benchmarks and metrics: pipeline time minus this is hadir's own work).
pub fn take_inference_time() -> Duration {
    INFERENCE_TIME.with(|t| t.replace(Duration::ZERO))
}

/// One output of a model: its shape and values.
pub(crate) struct Output<'a> {
    pub shape: Vec<i64>,
    pub values: &'a [f32],
}

/// Runs a model with one `f32` input of `shape` and hands every output, in the model's
/// order, to `read` (without copying them out of ONNX Runtime).
pub(crate) fn run<R>(
    session: &mut Session,
    model: &str,
    shape: &[usize],
    input: &[f32],
    read: impl FnOnce(&[Output<'_>]) -> VisionResult<R>,
) -> VisionResult<R> {
    let tensor = TensorRef::from_array_view((shape.to_vec(), input))
        .map_err(|e| VisionError::inference(model, e))?;
    let started = Instant::now();
    let outputs = session
        .run(ort::inputs![tensor])
        .map_err(|e| VisionError::inference(model, e))?;
    let elapsed = started.elapsed();
    INFERENCE_TIME.with(|t| t.set(t.get() + elapsed));
    let mut views = Vec::with_capacity(outputs.len());
    for index in 0..outputs.len() {
        let (shape, values) = outputs[index]
            .try_extract_tensor::<f32>()
            .map_err(|e| VisionError::inference(model, e))?;
        views.push(Output {
            shape: shape.to_vec(),
            values,
        });
    }
    read(&views)
}
