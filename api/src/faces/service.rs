//! The face service: the ONNX Runtime and the models (or why they are missing), the
//! in-memory gallery kept in step with the database, and the pipelines photos and frames run
//! on, off the async runtime. Enrolment is in [`super::enrol`], recognition in
//! [`super::recognise`].

use std::sync::{Arc, Mutex, OnceLock, RwLock};

use sea_orm::DatabaseConnection;
use vision::{
    frame::RgbF32,
    gallery::Gallery,
    models::{
        manifest::Manifest,
        runtime::{Runtime, cache_dir, default_library_path},
        sets::ModelSet,
    },
    pipeline::{AnalysedFace, FacePipeline, decode_image},
};

use super::{pool, settings::FaceSettings, store};
use crate::error::{AppError, AppResult};

/// How often the gallery checks the database for faces enrolled or removed elsewhere (by
/// `hadir enroll`, or another hadir process on the same database), on SQLite.
pub const GALLERY_REFRESH_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);
/// The same check on PostgreSQL, where every change is also announced (`FacesChanged` on the
/// cluster's control channel) and a check follows every resync: a backstop only.
pub const CLUSTER_GALLERY_REFRESH_INTERVAL: std::time::Duration =
    std::time::Duration::from_secs(60);

/// The face service.
pub struct FaceService {
    pub(super) db: DatabaseConnection,
    pub(super) set: ModelSet,
    /// Licence terms of the chosen models beyond the packages' declared licences.
    pub(super) licence_note: Option<String>,
    pub(super) pipeline: Result<pool::PipelinePool, String>,
    pub(super) gallery: RwLock<Gallery>,
    /// What the gallery was loaded from: (rows, highest id) of the model's embeddings.
    pub(super) loaded_from: Mutex<(u64, i64)>,
    pub(super) threshold: f32,
    pub(super) max_photo_bytes: usize,
    /// The instance id this process announces face changes under: the relay's, once set
    /// ([`Self::set_cluster_origin`]), so that its own announcements are not heard back.
    pub(super) cluster_origin: OnceLock<String>,
    /// The id used until then (and for good in a process without a relay, `hadir enroll`).
    pub(super) drawn_origin: String,
    /// Held from an enrolment's duplicate checks to its write: one at a time.
    pub(super) enrolling: tokio::sync::Mutex<()>,
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
            // Each model file read, checked and edited once for every worker.
            let files = set
                .read_files(&manifest, &cache_dir())
                .map_err(|e| e.to_string())?;
            let pipelines = (0..workers)
                .map(|_| {
                    FacePipeline::open_files(&runtime, &files, intra_threads).map(|mut p| {
                        p.set_min_face_size(min_face);
                        p
                    })
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| e.to_string())?;
            drop(files);
            Ok::<_, String>(pool::PipelinePool::new(pipelines))
        })
        .await
        .map_err(|e| AppError::Refused(format!("model start-up failed: {e}")))?;
        if let Err(reason) = &pipeline {
            tracing::error!("face recognition is unavailable: {reason}");
        }
        let model = set.embedder_name();
        let loaded_from = store::signature(&db, model).await?;
        let gallery = store::load_gallery(&db, set).await?;
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
            cluster_origin: OnceLock::new(),
            drawn_origin: crate::cluster::identity::new_instance_id(),
            enrolling: tokio::sync::Mutex::new(()),
        }))
    }

    /// The gallery of `set`'s embedder from the database, without loading any model (tests of
    /// what keeps the gallery in step; recognition answers that it is unavailable).
    #[cfg(test)]
    pub async fn gallery_only(db: DatabaseConnection, set: ModelSet) -> AppResult<Arc<Self>> {
        let model = set.embedder_name();
        Ok(Arc::new(Self {
            loaded_from: Mutex::new(store::signature(&db, model).await?),
            gallery: RwLock::new(store::load_gallery(&db, set).await?),
            db,
            set,
            licence_note: None,
            pipeline: Err("no models in this test".to_owned()),
            threshold: set.default_threshold(),
            max_photo_bytes: 0,
            cluster_origin: OnceLock::new(),
            drawn_origin: crate::cluster::identity::new_instance_id(),
            enrolling: tokio::sync::Mutex::new(()),
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
        let gallery = store::load_gallery(&self.db, self.set).await?;
        *self.gallery.write().unwrap_or_else(|p| p.into_inner()) = gallery;
        *self.loaded_from.lock().unwrap_or_else(|p| p.into_inner()) = now;
        Ok(true)
    }

    /// Keeps the gallery in step with the database, checking every
    /// [`GALLERY_REFRESH_INTERVAL`]; never returns (the composition root stops it).
    pub async fn run_refresh(self: Arc<Self>) {
        self.run_refresh_every(GALLERY_REFRESH_INTERVAL).await
    }

    /// The same, checking every `interval` (on PostgreSQL the cluster's gallery follower,
    /// `cluster::gallery::follow`, runs instead).
    pub async fn run_refresh_every(self: Arc<Self>, interval: std::time::Duration) {
        let mut ticker = tokio::time::interval(interval);
        loop {
            ticker.tick().await;
            self.check_gallery().await;
        }
    }

    /// Reloads the gallery if the database's embeddings changed, logging what happened.
    pub async fn check_gallery(&self) {
        match self.refresh_gallery().await {
            Ok(true) => tracing::info!(
                embeddings = self.gallery_size(),
                "gallery reloaded: faces changed in the database"
            ),
            Ok(false) => {}
            Err(error) => tracing::warn!(%error, "cannot check the gallery"),
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

    pub(super) fn check_size(&self, bytes: &[u8]) -> AppResult<()> {
        match self.size_refusal(bytes) {
            Some(refusal) => Err(AppError::invalid("photo", refusal.to_string())),
            None => Ok(()),
        }
    }

    /// Why a photo of this size is refused (empty, or over `max_photo_bytes`), if it is.
    pub(super) fn size_refusal(&self, bytes: &[u8]) -> Option<super::refusal::PhotoRefusal> {
        if bytes.is_empty() {
            return Some(super::refusal::PhotoRefusal::Empty);
        }
        (bytes.len() > self.max_photo_bytes).then_some(super::refusal::PhotoRefusal::TooLarge {
            bytes: bytes.len() as u64,
            limit: self.max_photo_bytes as u64,
        })
    }

    /// The largest photo accepted (`max_photo_bytes`).
    pub fn max_photo_bytes(&self) -> usize {
        self.max_photo_bytes
    }

    /// Runs `job` on a blocking thread once recognition is ready; `job` gets the service and
    /// a way to borrow a pipeline of the pool.
    pub(super) async fn on_pipeline<T: Send + 'static>(
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
    pub(super) async fn analyse(
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
}
