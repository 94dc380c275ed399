//! Faces: enrolment (photo → checked embedding in the database and the in-memory gallery),
//! removal, and recognition of photos against the gallery. The models run on a blocking
//! thread; the gallery follows every enrolment and deletion at once.
//!
//! - [`settings`]: how the service is set up.
//! - [`service`]: the runtime, the models, the gallery, the pipelines.
//! - [`enrol`]: a photo becomes an embedding (checked, then stored); removal.
//! - [`refusal`]: why a photo is not enrolled.
//! - [`recognise`]: frames and photos matched against the gallery.
//! - [`pool`]: the pipelines, one per inference worker.
//! - [`store`]: embeddings in the database.
//! - [`sync`]: other processes told of face changes, and one employee reloaded when told.
//!
//! When the ONNX Runtime library or the models are missing, the server still runs: enrolment
//! and recognition answer with the reason and how to fix it, and `aiStatus` says so.

pub mod enrol;
pub mod pool;
pub mod recognise;
pub mod refusal;
pub mod service;
pub mod settings;
pub mod store;
pub mod sync;

pub use enrol::{CheckedFace, Enrolment, SamePhoto, Stored};
pub use recognise::{FrameTracks, RecognisedFace};
pub use refusal::PhotoRefusal;
pub use service::{CLUSTER_GALLERY_REFRESH_INTERVAL, FaceService, GALLERY_REFRESH_INTERVAL};
pub use settings::FaceSettings;
