//! How the face service is set up: the model set, threshold, workers, limits.

use vision::models::{runtime::Provider, sets::ModelSet};

use crate::error::{AppError, AppResult};

/// Largest photo accepted for enrolment or recognition.
pub const DEFAULT_MAX_PHOTO_BYTES: usize = 8 * 1024 * 1024;

/// How the face service is set up.
#[derive(Clone, Debug)]
pub struct FaceSettings {
    pub set: ModelSet,
    /// None: the built-in manifest.
    pub manifest: Option<std::path::PathBuf>,
    /// None: the set's measured threshold.
    pub threshold: Option<f32>,
    pub max_photo_bytes: usize,
    pub intra_threads: usize,
    pub provider: Provider,
    /// Pipelines analysing frames at once.
    pub workers: usize,
    /// Smallest face looked for, in pixels across.
    pub min_face_px: f32,
}

impl FaceSettings {
    pub fn from_config(config: &crate::config::Config) -> AppResult<Self> {
        Ok(Self {
            set: config
                .model_set()
                .map_err(|e| AppError::invalid("face_models", e.to_string()))?,
            manifest: config.model_manifest.clone(),
            threshold: config.match_threshold,
            max_photo_bytes: config.max_photo_bytes,
            intra_threads: config.inference_threads,
            workers: config.inference_workers,
            min_face_px: config.min_face_px,
            provider: config
                .provider()
                .map_err(|e| AppError::invalid("execution_provider", e.to_string()))?,
        })
    }
}
