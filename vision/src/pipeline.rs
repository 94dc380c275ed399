//! Detect → align → embed: every face of an image with its embedding. Matching against the
//! gallery and the decision over frames sit on top of this.

use std::path::{Path, PathBuf};

use crate::{
    align,
    error::{VisionError, VisionResult},
    frame::RgbF32,
    models::{
        embedder::{Embedder, FR_FEATURE},
        mtcnn::{DetectedFace, Mtcnn, MtcnnSettings},
        runtime::{Runtime, cache_dir},
    },
};

/// Name stored with embeddings made by the default configuration.
pub const DEFAULT_EMBEDDER_NAME: &str = "faceplugin-fr_feature-512";
/// Cosine similarity above which two faces are taken for the same person with the default
/// configuration (measured: same person 0.67–0.72, different people ≤ 0.24).
pub const DEFAULT_MATCH_THRESHOLD: f32 = 0.45;

/// Where the default configuration's files lie in the cache.
pub fn default_mtcnn_folder() -> PathBuf {
    cache_dir().join("models").join("mtcnn")
}

pub fn default_embedder_path() -> PathBuf {
    cache_dir()
        .join("models")
        .join("faceplugin")
        .join("fr_feature.onnx")
}

/// A face with its embedding.
#[derive(Clone, Debug)]
pub struct AnalysedFace {
    pub face: DetectedFace,
    pub embedding: Vec<f32>,
}

/// The detector and the embedder of one worker.
pub struct FacePipeline {
    pub detector: Mtcnn,
    pub embedder: Embedder,
}

impl FacePipeline {
    /// The default configuration (MTCNN + fr_feature) from the cache.
    pub fn open_default(runtime: &Runtime, intra_threads: usize) -> VisionResult<Self> {
        Ok(Self {
            detector: Mtcnn::open(
                runtime,
                &default_mtcnn_folder(),
                MtcnnSettings::default(),
                intra_threads,
            )?,
            embedder: Embedder::open(
                runtime,
                DEFAULT_EMBEDDER_NAME,
                &default_embedder_path(),
                FR_FEATURE,
                intra_threads,
            )?,
        })
    }

    /// Every face in `image`, with its embedding.
    pub fn analyse(&mut self, image: &RgbF32) -> VisionResult<Vec<AnalysedFace>> {
        let faces = self.detector.detect(image)?;
        let mut analysed = Vec::with_capacity(faces.len());
        for face in faces {
            let Some(aligned) = align::align(image, &face.landmarks) else {
                continue;
            };
            let embedding = self.embedder.embed(&aligned)?;
            analysed.push(AnalysedFace { face, embedding });
        }
        Ok(analysed)
    }
}

/// Reads an image file as RGB.
pub fn load_image(path: &Path) -> VisionResult<RgbF32> {
    let image = image::open(path)
        .map_err(|e| VisionError::Image(format!("{}: {e}", path.display())))?
        .to_rgb8();
    Ok(RgbF32::from_rgb8(&image))
}

/// Decodes an image held in memory (JPEG or PNG) as RGB.
pub fn decode_image(bytes: &[u8]) -> VisionResult<RgbF32> {
    let image = image::load_from_memory(bytes)
        .map_err(|e| VisionError::Image(format!("not a JPEG or PNG image: {e}")))?
        .to_rgb8();
    Ok(RgbF32::from_rgb8(&image))
}
