//! How the face service is set up: the model set, threshold, workers, limits.

use vision::models::{runtime::Provider, sets::ModelSet};

use crate::{
    error::{AppError, AppResult},
    recognition::settings::RecognitionSection,
};

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
    /// The settings of `[recognition]`.
    pub fn from_settings(settings: &RecognitionSection) -> AppResult<Self> {
        Ok(Self {
            set: settings
                .model_set()
                .map_err(|e| AppError::invalid("face_models", e.to_string()))?,
            manifest: settings.model_manifest.clone(),
            threshold: settings.match_threshold,
            max_photo_bytes: settings.max_photo_bytes,
            intra_threads: settings.inference_threads,
            workers: settings.inference_workers,
            min_face_px: settings.min_face_px,
            provider: settings
                .provider()
                .map_err(|e| AppError::invalid("execution_provider", e.to_string()))?,
        })
    }
}
