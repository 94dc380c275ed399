//! Cameras: the files in `camera_configs/`, their sync into the `cameras` table, and the
//! create/update/delete of cameras through the API.
//!
//! - [`config_file`]: reading and checking one camera file.
//! - [`sync`]: loading the whole folder into the table at start.
//! - [`registry`]: the camera service behind the GraphQL mutations and queries.
//! - [`supervisor`]: one task per enabled camera: capture, health, recognition.
//! - [`live`]: a camera's latest frame as JPEG for clients, annotated on request.
//! - [`regions`]: where in a camera's picture faces are ignored (posters, TVs).
//! - [`settings`]: the `[cameras]` section of `hadir.toml`.

pub mod config_file;
pub mod live;
pub mod regions;
pub mod registry;
pub mod settings;
pub mod supervisor;
pub mod sync;

pub use config_file::{CameraFile, CameraFileError};
pub use registry::{CameraPatch, CameraRegistry, NewCamera};
pub use sync::{SyncReport, sync_folder};
