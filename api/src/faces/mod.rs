//! Faces: enrolment (photo → checked embedding in the database and the in-memory gallery),
//! removal, and recognition of photos against the gallery. The models run on a blocking
//! thread; the gallery follows every enrolment and deletion at once.
//!
//! When the ONNX Runtime library or the models are missing, the server still runs: enrolment
//! and recognition answer with the reason and how to fix it, and `aiStatus` says so.

pub mod pool;
pub mod store;

use std::sync::{Arc, Mutex, RwLock};

use chrono::Utc;
use entity::employee;
use sea_orm::{DatabaseConnection, EntityTrait};
use vision::{
    align,
    frame::{MAX_ANALYSIS_PIXELS, RgbF32},
    gallery::Gallery,
    models::{
        manifest::Manifest,
        runtime::{Provider, Runtime, cache_dir, default_library_path},
        sets::ModelSet,
    },
    pipeline::{AnalysedFace, FacePipeline, decode_image},
    quality,
    recognizer::match_faces,
};

use crate::{
    error::{AppError, AppResult},
    recognition::settings::RecognitionSection,
};

/// One face found in a photo, with its best match in the gallery.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RecognisedFace {
    /// `[x1, y1, x2, y2]`, pixels.
    #[serde(rename = "box")]
    pub bounds: [f32; 4],
    /// Five `[x, y]`: left eye, right eye, nose, left and right mouth corners.
    pub landmarks: [[f32; 2]; 5],
    #[serde(rename = "detectionScore")]
    pub detection_score: f32,
    /// The employee above the threshold, if any.
    #[serde(rename = "employeeId")]
    pub employee_id: Option<String>,
    /// The best similarity in the gallery (whoever it belongs to), if the gallery has any.
    pub similarity: Option<f32>,
    /// Who that best similarity belongs to, even below the threshold (for tuning).
    #[serde(rename = "closestEmployeeId")]
    pub closest_employee_id: Option<String>,
}

/// What an enrolment stored.
#[derive(Clone, Debug)]
pub struct Enrolment {
    pub employee_id: String,
    pub face_count: u64,
    pub sharpness: f32,
    pub face_size: f32,
}

/// How often the gallery checks the database for faces enrolled or removed elsewhere (by
/// `hadir enroll`, or another hadir process on the same database).
pub const GALLERY_REFRESH_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

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

/// The face service.
pub struct FaceService {
    db: DatabaseConnection,
    set: ModelSet,
    /// Licence terms of the chosen models beyond the packages' declared licences.
    licence_note: Option<String>,
    pipeline: Result<pool::PipelinePool, String>,
    gallery: RwLock<Gallery>,
    /// What the gallery was loaded from: (rows, highest id) of the model's embeddings.
    loaded_from: Mutex<(u64, i64)>,
    threshold: f32,
    max_photo_bytes: usize,
}

impl FaceService {
    /// Loads the runtime and the default models (keeping the error if they are missing) and
    /// the gallery of the model from the database.
    pub async fn open(db: DatabaseConnection, settings: FaceSettings) -> AppResult<Arc<Self>> {
        let set = settings.set;
        let manifest = match &settings.manifest {
            Some(path) => Manifest::load(path)
                .map_err(|e| AppError::invalid("model_manifest", e.to_string()))?,
            None => Manifest::builtin(),
        };
        let licence_note = set.licence_note(&manifest);
        if let Some(note) = &licence_note {
            tracing::warn!(
                models = set.name(),
                "licence of the chosen face models: {note}"
            );
        }
        let intra_threads = settings.intra_threads;
        let provider = settings.provider;
        let workers = settings.workers.max(1);
        let min_face = settings.min_face_px;
        let pipeline = tokio::task::spawn_blocking(move || {
            let runtime =
                Runtime::load_for(&default_library_path(), provider).map_err(|e| e.to_string())?;
            let pipelines = (0..workers)
                .map(|_| {
                    FacePipeline::open(&runtime, set, &manifest, &cache_dir(), intra_threads).map(
                        |mut p| {
                            p.set_min_face_size(min_face);
                            p
                        },
                    )
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| e.to_string())?;
            Ok::<_, String>(pool::PipelinePool::new(pipelines))
        })
        .await
        .map_err(|e| AppError::Refused(format!("model start-up failed: {e}")))?;
        if let Err(reason) = &pipeline {
            tracing::error!("face recognition is unavailable: {reason}");
        }
        let model = set.embedder_name();
        let loaded_from = store::signature(&db, model).await?;
        let gallery = store::load_gallery(&db, model).await?;
        let others = store::count_other_models(&db, model).await?;
        if others > 0 {
            tracing::warn!(
                embeddings = others,
                model,
                "embeddings made by another model are ignored: re-enrol those employees"
            );
        }
        Ok(Arc::new(Self {
            db,
            set,
            licence_note,
            pipeline,
            gallery: RwLock::new(gallery),
            loaded_from: Mutex::new(loaded_from),
            threshold: settings.threshold.unwrap_or(set.default_threshold()),
            max_photo_bytes: settings.max_photo_bytes,
        }))
    }

    /// The licence terms of the chosen models, where they go beyond the declared licences.
    pub fn licence_note(&self) -> Option<&str> {
        self.licence_note.as_deref()
    }

    pub fn model_set(&self) -> ModelSet {
        self.set
    }

    /// Reloads the gallery when the database's embeddings changed behind this process.
    /// Returns whether it reloaded.
    pub async fn refresh_gallery(&self) -> AppResult<bool> {
        let now = store::signature(&self.db, self.model()).await?;
        let before = *self.loaded_from.lock().unwrap_or_else(|p| p.into_inner());
        if now == before {
            return Ok(false);
        }
        let gallery = store::load_gallery(&self.db, self.model()).await?;
        *self.gallery.write().unwrap_or_else(|p| p.into_inner()) = gallery;
        *self.loaded_from.lock().unwrap_or_else(|p| p.into_inner()) = now;
        Ok(true)
    }

    /// Keeps the gallery in step with the database; never returns (the composition root
    /// stops it).
    pub async fn run_refresh(self: Arc<Self>) {
        let mut ticker = tokio::time::interval(GALLERY_REFRESH_INTERVAL);
        loop {
            ticker.tick().await;
            match self.refresh_gallery().await {
                Ok(true) => tracing::info!(
                    embeddings = self.gallery_size(),
                    "gallery reloaded: faces changed in the database"
                ),
                Ok(false) => {}
                Err(error) => tracing::warn!(%error, "cannot check the gallery"),
            }
        }
    }

    /// Inference workers running (0 when the models are not loaded).
    pub fn workers(&self) -> usize {
        self.pipeline.as_ref().map_or(0, |p| p.size())
    }

    /// Whether the models are loaded; the reason when they are not.
    pub fn readiness(&self) -> Result<(), &str> {
        self.pipeline.as_ref().map(|_| ()).map_err(String::as_str)
    }

    /// The embedder's name, stored with every embedding.
    pub fn model(&self) -> &'static str {
        self.set.embedder_name()
    }

    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    /// Embeddings in the gallery.
    pub fn gallery_size(&self) -> usize {
        self.gallery.read().map(|g| g.len()).unwrap_or_default()
    }

    fn check_size(&self, bytes: &[u8]) -> AppResult<()> {
        if bytes.is_empty() {
            return Err(AppError::invalid("photo", "the file is empty"));
        }
        if bytes.len() > self.max_photo_bytes {
            return Err(AppError::invalid(
                "photo",
                format!(
                    "the file is {:.1} MB; photos may be at most {:.1} MB",
                    bytes.len() as f64 / 1_048_576.0,
                    self.max_photo_bytes as f64 / 1_048_576.0
                ),
            ));
        }
        Ok(())
    }

    /// Runs `job` on a blocking thread once recognition is ready; `job` gets the service and
    /// a way to borrow a pipeline of the pool.
    async fn on_pipeline<T: Send + 'static>(
        self: &Arc<Self>,
        job: impl FnOnce(&Self, &pool::PipelinePool) -> AppResult<T> + Send + 'static,
    ) -> AppResult<T> {
        if let Err(reason) = self.readiness() {
            return Err(AppError::Refused(format!(
                "face recognition is unavailable: {reason}"
            )));
        }
        let service = self.clone();
        tokio::task::spawn_blocking(move || {
            let Ok(pipelines) = &service.pipeline else {
                return Err(AppError::Refused("face recognition is unavailable".into()));
            };
            job(&service, pipelines)
        })
        .await
        .map_err(|e| AppError::Refused(format!("face analysis failed: {e}")))?
    }

    /// Decodes a photo and finds its faces, on a blocking thread: the image as analysed
    /// (shrunk if the photo is larger than `MAX_ANALYSIS_PIXELS`), its faces in its pixels,
    /// and the scale from those to the photo's pixels.
    async fn analyse(
        self: &Arc<Self>,
        bytes: Vec<u8>,
    ) -> AppResult<(RgbF32, Vec<AnalysedFace>, f32)> {
        self.on_pipeline(move |_, pipelines| {
            let scaled =
                decode_image(&bytes).map_err(|e| AppError::invalid("photo", e.to_string()))?;
            let faces = pipelines
                .with(|p| p.analyse(&scaled.image))
                .map_err(|e| AppError::Refused(format!("face analysis failed: {e}")))?;
            Ok((scaled.image, faces, scaled.scale))
        })
        .await
    }

    /// Enrols the one face of `photo` for `employee_id`, after checking it: exactly one
    /// clear face, large enough, sharp enough. Stores the embedding, the model and the
    /// consent time; never the photo.
    pub async fn enroll(
        self: &Arc<Self>,
        employee_id: &str,
        photo: Vec<u8>,
    ) -> AppResult<Enrolment> {
        let employee_id = employee_id.trim().to_owned();
        if employee::Entity::find_by_id(employee_id.clone())
            .one(&self.db)
            .await?
            .is_none()
        {
            return Err(AppError::not_found("employee", employee_id));
        }
        self.check_size(&photo)?;
        let (image, faces, scale) = self.analyse(photo).await?;
        let clear: Vec<&AnalysedFace> = faces
            .iter()
            .filter(|f| f.face.score >= self.set.enrol_min_score())
            .collect();
        let face = match clear.as_slice() {
            [] => {
                return Err(AppError::invalid(
                    "photo",
                    "no face found: use a photo that shows the employee's face, facing the camera",
                ));
            }
            [one] => *one,
            many => {
                return Err(AppError::invalid(
                    "photo",
                    format!(
                        "{} faces found: an enrolment photo must show exactly one face",
                        many.len()
                    ),
                ));
            }
        };
        // In the photo's pixels (the analysed image may be shrunk).
        let face_size = face.face.width().min(face.face.height()) * scale;
        if face_size < quality::MIN_ENROL_FACE_SIZE {
            return Err(AppError::invalid(
                "photo",
                format!(
                    "the face is {} px across; enrolment needs at least {:.0} px",
                    shown_below(face_size, quality::MIN_ENROL_FACE_SIZE),
                    quality::MIN_ENROL_FACE_SIZE
                ),
            ));
        }
        let sharpness = align::align(&image, &face.face.landmarks)
            .map(|aligned| quality::sharpness(&aligned))
            .unwrap_or_default();
        if sharpness < quality::MIN_ENROL_SHARPNESS {
            return Err(AppError::invalid(
                "photo",
                format!(
                    "the face is too blurred (sharpness {}, at least {:.0} needed): use a sharper photo",
                    shown_below(sharpness, quality::MIN_ENROL_SHARPNESS),
                    quality::MIN_ENROL_SHARPNESS
                ),
            ));
        }
        store::insert_embedding(
            &self.db,
            &employee_id,
            self.model(),
            &face.embedding,
            Utc::now(),
        )
        .await?;
        {
            let mut gallery = self.gallery.write().unwrap_or_else(|p| p.into_inner());
            gallery
                .add(employee_id.clone(), &face.embedding)
                .map_err(|e| AppError::Refused(e.to_string()))?;
        }
        self.note_own_change().await?;
        let face_count = store::count_faces(&self.db, &employee_id, self.model()).await?;
        Ok(Enrolment {
            employee_id,
            face_count,
            sharpness,
            face_size,
        })
    }

    /// Removes every face of an employee (database and gallery); returns how many.
    pub async fn remove_faces(&self, employee_id: &str) -> AppResult<u64> {
        let employee_id = employee_id.trim();
        if employee::Entity::find_by_id(employee_id.to_owned())
            .one(&self.db)
            .await?
            .is_none()
        {
            return Err(AppError::not_found("employee", employee_id));
        }
        let removed = store::delete_embeddings(&self.db, employee_id).await?;
        self.forget(employee_id);
        self.note_own_change().await?;
        Ok(removed)
    }

    /// Records the database's state after a change this process made to both the database
    /// and the gallery, so that the next refresh does not reload for it.
    async fn note_own_change(&self) -> AppResult<()> {
        let now = store::signature(&self.db, self.model()).await?;
        *self.loaded_from.lock().unwrap_or_else(|p| p.into_inner()) = now;
        Ok(())
    }

    /// Drops an employee's faces from the gallery (their rows went with the employee).
    pub fn forget(&self, employee_id: &str) {
        self.gallery
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove_owner(employee_id);
    }

    /// Every face of a camera frame (or of the `region` x, y, width, height of it), matched
    /// against the gallery, on a blocking thread. Boxes and landmarks are in frame pixels.
    pub async fn match_frame(
        self: &Arc<Self>,
        frame: Arc<vision::source::Frame>,
        region: Option<(u32, u32, u32, u32)>,
    ) -> AppResult<Vec<vision::recognizer::FaceMatch>> {
        self.on_pipeline(move |service, pipelines| {
            let (scaled, (dx, dy)) = match region {
                Some((x, y, w, h)) => (
                    RgbF32::from_rgb8_capped(
                        &image::imageops::crop_imm(&frame.image, x, y, w, h).to_image(),
                        MAX_ANALYSIS_PIXELS,
                    ),
                    (x as f32, y as f32),
                ),
                None => (
                    RgbF32::from_rgb8_capped(&frame.image, MAX_ANALYSIS_PIXELS),
                    (0.0, 0.0),
                ),
            };
            let mut faces = pipelines
                .with(|p| p.analyse(&scaled.image))
                .map_err(|e| AppError::Refused(format!("face analysis failed: {e}")))?;
            for f in &mut faces {
                f.scale_by(scaled.scale);
                f.face.x1 += dx;
                f.face.x2 += dx;
                f.face.y1 += dy;
                f.face.y2 += dy;
                for point in &mut f.face.landmarks {
                    point[0] += dx;
                    point[1] += dy;
                }
            }
            let gallery = service.gallery.read().unwrap_or_else(|p| p.into_inner());
            Ok(match_faces(&gallery, &faces))
        })
        .await
    }

    /// Every face of a photo with its best match.
    pub async fn recognize(self: &Arc<Self>, photo: Vec<u8>) -> AppResult<Vec<RecognisedFace>> {
        self.check_size(&photo)?;
        let (_, mut faces, scale) = self.analyse(photo).await?;
        for face in &mut faces {
            face.scale_by(scale);
        }
        let gallery = self.gallery.read().unwrap_or_else(|p| p.into_inner());
        Ok(match_faces(&gallery, &faces)
            .into_iter()
            .map(|m| RecognisedFace {
                bounds: [m.face.x1, m.face.y1, m.face.x2, m.face.y2],
                landmarks: m.face.landmarks,
                detection_score: m.face.score,
                employee_id: m
                    .closest
                    .clone()
                    .filter(|_| m.score.is_some_and(|s| s >= self.threshold)),
                similarity: m.score,
                closest_employee_id: m.closest,
            })
            .collect())
    }
}

/// A measure that fell short of `limit`, to one decimal, and never shown as the limit
/// itself: 79.96 px below 80 is "79.9", not "80".
fn shown_below(value: f32, limit: f32) -> String {
    let shown = format!("{value:.1}");
    match shown.parse::<f32>() {
        Ok(rounded) if rounded >= limit => format!("{:.1}", (f64::from(limit) * 10.0 - 1.0) / 10.0),
        _ => shown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_below_a_limit_never_read_as_the_limit() {
        assert_eq!(shown_below(79.6, 80.0), "79.6");
        assert_eq!(shown_below(79.96, 80.0), "79.9");
        assert_eq!(shown_below(79.999, 80.0), "79.9");
        assert_eq!(shown_below(12.0, 80.0), "12.0");
        assert_eq!(shown_below(49.97, 50.0), "49.9");
    }
}
