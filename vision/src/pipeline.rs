//! Detect → align → embed: every face of an image with its embedding, in the image's pixels,
//! or, for a camera frame (or a region of it, see [`crate::region`]), in the frame's. Matching
//! against the gallery and the decision over frames sit on top of this.

use std::path::Path;

use image::RgbImage;

use crate::{
    align, bounds,
    error::{VisionError, VisionResult},
    face::DetectedFace,
    frame::{MAX_ANALYSIS_PIXELS, RgbF32, Scaled},
    models::{
        embedder::Embedder,
        manifest::Manifest,
        runtime::{Runtime, cache_dir},
        sets::{Detector, ModelSet, SetFiles},
    },
    region::{FrameRegion, FrameView},
};

/// Name stored with embeddings made by the default configuration.
pub const DEFAULT_EMBEDDER_NAME: &str = ModelSet::Default.embedder_name();
/// Cosine similarity above which two faces are taken for the same person with the default
/// configuration.
pub const DEFAULT_MATCH_THRESHOLD: f32 = ModelSet::Default.default_threshold();

/// A face with its embedding.
#[derive(Clone, Debug)]
pub struct AnalysedFace {
    pub face: DetectedFace,
    pub embedding: Vec<f32>,
    /// The sharpness of the aligned face ([`crate::quality::sharpness`]): how much a view is
    /// worth to a track.
    pub sharpness: f32,
}

impl AnalysedFace {
    /// Multiplies the face's box and landmarks by `scale` (from the pixels of a shrunk image
    /// to the original's, see [`crate::frame::Scaled`]).
    pub fn scale_by(&mut self, scale: f32) {
        self.face.scale_by(scale);
    }
}

/// The detector and the embedder of one worker.
pub struct FacePipeline {
    pub set: ModelSet,
    pub detector: Detector,
    pub embedder: Embedder,
    /// Faces smaller than this (pixels across) are not embedded.
    min_face_size: f32,
}

impl FacePipeline {
    /// A configuration's models from `cache`, checked against `manifest`.
    pub fn open(
        runtime: &Runtime,
        set: ModelSet,
        manifest: &Manifest,
        cache: &Path,
        intra_threads: usize,
    ) -> VisionResult<Self> {
        Self::open_files(runtime, &set.read_files(manifest, cache)?, intra_threads)
    }

    /// A pipeline from a set's files read once ([`ModelSet::read_files`]): each worker of a
    /// pool opens its sessions from the same bytes.
    pub fn open_files(
        runtime: &Runtime,
        files: &SetFiles,
        intra_threads: usize,
    ) -> VisionResult<Self> {
        let (detector, embedder) = files.open(runtime, intra_threads)?;
        Ok(Self {
            set: files.set,
            detector,
            embedder,
            min_face_size: 0.0,
        })
    }

    /// The default configuration (MTCNN + fr_feature) from the cache, checked against the
    /// built-in manifest.
    pub fn open_default(runtime: &Runtime, intra_threads: usize) -> VisionResult<Self> {
        Self::open(
            runtime,
            ModelSet::Default,
            &Manifest::builtin(),
            &cache_dir(),
            intra_threads,
        )
    }

    /// Looks for faces of at least `pixels` across only: MTCNN's pyramid starts lower (far
    /// less inference), and smaller faces from any detector are dropped before embedding.
    pub fn set_min_face_size(&mut self, pixels: f32) {
        self.min_face_size = pixels;
        if let Detector::Mtcnn(mtcnn) = &mut self.detector {
            mtcnn.settings.min_face_size = pixels;
        }
    }

    /// Every face in `image`, with its embedding.
    pub fn analyse(&mut self, image: &RgbF32) -> VisionResult<Vec<AnalysedFace>> {
        let faces = self.detector.detect(image)?;
        let mut analysed = Vec::with_capacity(faces.len());
        for face in faces
            .into_iter()
            .filter(|f| f.width().min(f.height()) >= self.min_face_size)
        {
            let Some(aligned) = align::align(image, &face.landmarks) else {
                continue;
            };
            let embedding = self.embedder.embed(&aligned)?;
            let sharpness = crate::quality::sharpness(&aligned);
            analysed.push(AnalysedFace {
                face,
                embedding,
                sharpness,
            });
        }
        Ok(analysed)
    }

    /// Every face of a camera frame, or of `region` of it (where motion was seen; `None`: the
    /// whole frame), shrunk to at most [`MAX_ANALYSIS_PIXELS`]; boxes and landmarks in frame
    /// pixels. To convert before a pipeline is taken (hadir converts outside its pool of
    /// pipelines), make the [`FrameView`] first and use [`FacePipeline::analyse_view`].
    pub fn analyse_region(
        &mut self,
        frame: &RgbImage,
        region: Option<FrameRegion>,
    ) -> VisionResult<Vec<AnalysedFace>> {
        self.analyse_view(&FrameView::new(frame, region))
    }

    /// Every face of a frame (or region) already converted, with boxes and landmarks mapped
    /// back to the frame's pixels.
    pub fn analyse_view(&mut self, view: &FrameView) -> VisionResult<Vec<AnalysedFace>> {
        Ok(self.analyse_view_sparing(view, |_| true)?.0)
    }

    /// As [`FacePipeline::analyse_view`], but only the faces `embed` asks for (given each
    /// face in frame pixels) are aligned and embedded: the others come back as found, in
    /// frame pixels (a face tracker already knows them, see [`crate::track`]).
    pub fn analyse_view_sparing(
        &mut self,
        view: &FrameView,
        mut embed: impl FnMut(&DetectedFace) -> bool,
    ) -> VisionResult<(Vec<AnalysedFace>, Vec<DetectedFace>)> {
        let image = &view.image;
        let faces = self.detector.detect(image)?;
        let (mut analysed, mut spared) = (Vec::with_capacity(faces.len()), Vec::new());
        for face in faces
            .into_iter()
            .filter(|f| f.width().min(f.height()) >= self.min_face_size)
        {
            let mut placed = face.clone();
            view.to_frame.place(&mut placed);
            if !embed(&placed) {
                spared.push(placed);
                continue;
            }
            let Some(aligned) = align::align(image, &face.landmarks) else {
                continue;
            };
            let embedding = self.embedder.embed(&aligned)?;
            let sharpness = crate::quality::sharpness(&aligned);
            analysed.push(AnalysedFace {
                face: placed,
                embedding,
                sharpness,
            });
        }
        Ok((analysed, spared))
    }

    /// Every face in the `windows` of `frame` (see [`crate::look`]), each window converted on
    /// its own and searched for faces of at least its `min_face` (never below this pipeline's
    /// smallest face); a face found again in a window that overlaps another (a box more than
    /// half shared) counts once. Only the faces `embed` asks for are embedded, as with
    /// [`FacePipeline::analyse_view_sparing`]; boxes and landmarks in frame pixels.
    pub fn analyse_windows_sparing(
        &mut self,
        frame: &RgbImage,
        windows: &[crate::look::Window],
        mut embed: impl FnMut(&DetectedFace) -> bool,
    ) -> VisionResult<Vec<AnalysedFace>> {
        let mut analysed = Vec::new();
        let mut seen: Vec<[f32; 4]> = Vec::new();
        for window in windows {
            let view = FrameView::new(frame, window.region);
            let found = self.with_min_face(window.min_face, |pipeline| {
                pipeline.analyse_view_sparing(&view, |face| {
                    let bounds = [face.x1, face.y1, face.x2, face.y2];
                    if seen
                        .iter()
                        .any(|b| crate::track::overlap(b, &bounds) > WINDOW_DUPLICATE_OVERLAP)
                    {
                        return false;
                    }
                    seen.push(bounds);
                    embed(face)
                })
            })?;
            analysed.extend(found.0);
        }
        Ok(analysed)
    }

    /// Runs `job` looking for faces of at least `pixels` (when larger than this pipeline's
    /// own smallest face), then restores the pipeline's settings.
    fn with_min_face<T>(&mut self, pixels: Option<f32>, job: impl FnOnce(&mut Self) -> T) -> T {
        let Some(pixels) = pixels.filter(|&p| p > self.min_face_size) else {
            return job(self);
        };
        let floor = self.min_face_size;
        let detector_floor = match &self.detector {
            Detector::Mtcnn(mtcnn) => Some(mtcnn.settings.min_face_size),
            _ => None,
        };
        self.min_face_size = pixels;
        if let Detector::Mtcnn(mtcnn) = &mut self.detector {
            mtcnn.settings.min_face_size = pixels.max(detector_floor.unwrap_or(pixels));
        }
        let result = job(self);
        self.min_face_size = floor;
        if let (Detector::Mtcnn(mtcnn), Some(own)) = (&mut self.detector, detector_floor) {
            mtcnn.settings.min_face_size = own;
        }
        result
    }
}

/// Two faces from overlapping windows whose boxes share more than this (intersection over
/// union) are one face.
pub const WINDOW_DUPLICATE_OVERLAP: f32 = 0.5;

/// Reads an image file as RGB.
pub fn load_image(path: &Path) -> VisionResult<RgbF32> {
    let image = image::open(path)
        .map_err(|e| VisionError::Image(format!("{}: {e}", path.display())))?
        .to_rgb8();
    Ok(RgbF32::from_rgb8(&image))
}

/// Decodes an image held in memory (JPEG or PNG, from outside: an uploaded photo) for
/// analysis: through [`bounds::decode_image`] (its size checked before decoding, the decoder's
/// memory limited), then converted with [`RgbF32::from_rgb8_capped`] at most
/// [`MAX_ANALYSIS_PIXELS`]. Faces found in the result are in its pixels: map them back to the
/// photo's with [`AnalysedFace::scale_by`] and the returned scale.
pub fn decode_image(bytes: &[u8]) -> VisionResult<Scaled> {
    let image = bounds::decode_image(bytes).map_err(|e| VisionError::Image(e.to_string()))?;
    Ok(RgbF32::from_rgb8_capped(&image, MAX_ANALYSIS_PIXELS))
}
