//! The errors of the vision pipeline, each saying what is at fault and how to fix it.

use std::path::PathBuf;

/// What went wrong in the pipeline.
#[derive(Debug, thiserror::Error)]
pub enum VisionError {
    /// The ONNX Runtime library is missing or unusable.
    #[error(
        "ONNX Runtime library {path}: {reason}. Fetch it with `python3 models/fetch.py` \
         (or point ORT_DYLIB_PATH at a libonnxruntime.so of version 1.22 or newer)"
    )]
    Runtime { path: PathBuf, reason: String },
    /// A model file is missing, corrupt or not what the manifest says.
    #[error("model {name} ({path}): {reason}. Fetch the models with `python3 models/fetch.py`")]
    Model {
        name: String,
        path: PathBuf,
        reason: String,
    },
    /// The manifest cannot be read.
    #[error("model manifest {path}: {reason}")]
    Manifest { path: PathBuf, reason: String },
    /// Inference failed.
    #[error("inference with {model} failed: {reason}")]
    Inference { model: String, reason: String },
    /// An image that cannot be used.
    #[error("image: {0}")]
    Image(String),
}

pub type VisionResult<T> = Result<T, VisionError>;

impl VisionError {
    pub(crate) fn inference(model: &str, error: impl std::fmt::Display) -> Self {
        Self::Inference {
            model: model.to_owned(),
            reason: error.to_string(),
        }
    }
}
