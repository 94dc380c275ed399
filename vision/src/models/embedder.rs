//! The face embedder: an aligned 112×112 face in, an L2-normalised vector out. The default
//! is `fr_feature` (npm `faceplugin-face-recognition-js`, 512-d, `(x − 127) / 128`); ArcFace
//! MBF (`w600k_mbf`, `(x − 127.5) / 127.5`) and OpenCV's SFace (128-d, raw pixels) take the
//! same input.

use ort::session::Session;

use super::{
    file::ModelFile,
    run,
    runtime::{GraphRewrite, Runtime},
};
use crate::{
    align::ALIGNED_SIZE,
    error::{VisionError, VisionResult},
    frame::RgbF32,
};

/// How an embedder wants its pixels: `(x − mean) / std`, RGB, NCHW.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Normalisation {
    pub mean: f32,
    pub std: f32,
}

/// `fr_feature`'s normalisation.
pub const FR_FEATURE: Normalisation = Normalisation {
    mean: 127.0,
    std: 128.0,
};
/// SFace's: raw pixels (its graph normalises them itself).
pub const SFACE: Normalisation = Normalisation {
    mean: 0.0,
    std: 1.0,
};
/// ArcFace (InsightFace) normalisation.
pub const ARCFACE: Normalisation = Normalisation {
    mean: 127.5,
    std: 127.5,
};

/// An embedding model. Not `Sync`: give each worker its own.
pub struct Embedder {
    session: Session,
    name: String,
    normalisation: Normalisation,
    dimensions: Option<usize>,
}

impl Embedder {
    pub fn open(
        runtime: &Runtime,
        name: &str,
        file: &ModelFile,
        normalisation: Normalisation,
        intra_threads: usize,
        rewrite: GraphRewrite,
    ) -> VisionResult<Self> {
        Ok(Self {
            session: runtime.session(name, file, intra_threads, rewrite)?,
            name: name.to_owned(),
            normalisation,
            dimensions: None,
        })
    }

    /// The model's name, stored with every embedding it makes.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The embedding of one aligned face, L2-normalised.
    pub fn embed(&mut self, face: &RgbF32) -> VisionResult<Vec<f32>> {
        if face.width != ALIGNED_SIZE || face.height != ALIGNED_SIZE {
            return Err(VisionError::Image(format!(
                "an aligned face is {ALIGNED_SIZE}×{ALIGNED_SIZE}, not {}×{}",
                face.width, face.height
            )));
        }
        let plane = ALIGNED_SIZE * ALIGNED_SIZE;
        let mut tensor = vec![0.0f32; 3 * plane];
        let Normalisation { mean, std } = self.normalisation;
        for (i, pixel) in face.data.chunks_exact(3).enumerate() {
            for c in 0..3 {
                tensor[c * plane + i] = (pixel[c] - mean) / std;
            }
        }
        let mut vector = run(
            &mut self.session,
            &self.name,
            &[1, 3, ALIGNED_SIZE, ALIGNED_SIZE],
            &tensor,
            |outputs| {
                outputs
                    .first()
                    .map(|o| o.values.to_vec())
                    .ok_or_else(|| VisionError::inference(&self.name, "no output"))
            },
        )?;
        if let Some(expected) = self.dimensions
            && vector.len() != expected
        {
            return Err(VisionError::inference(
                &self.name,
                format!("{} values instead of {expected}", vector.len()),
            ));
        }
        self.dimensions = Some(vector.len());
        normalise(&mut vector);
        Ok(vector)
    }
}

/// Scales a vector to unit length (a zero vector stays zero).
pub fn normalise(vector: &mut [f32]) {
    let norm = vector.iter().map(|v| v * v).sum::<f32>().sqrt();
    if norm > 0.0 {
        vector.iter_mut().for_each(|v| *v /= norm);
    }
}
