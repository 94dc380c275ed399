//! Cameras: the files in `camera_configs/`, their sync into the `cameras` table, and the
//! create/update/delete of cameras through the API (the camera tasks are
//! [`crate::recognition`]'s).
//!
//! - [`config_file`]: reading and checking one camera file.
//! - [`sync`]: loading the whole folder into the table at start.
//! - [`registry`]: the camera service behind the GraphQL mutations and queries.
//! - [`regions`]: where in a camera's picture faces are ignored (posters, TVs).
//! - [`settings`]: the `[cameras]` section of `hadir.toml`.

pub mod config_file;
pub mod regions;
pub mod registry;
pub mod settings;
pub mod sync;

pub use config_file::{CameraFile, CameraFileError};
pub use registry::{CameraPatch, CameraRegistry, NewCamera};
pub use sync::{SyncReport, sync_folder};
