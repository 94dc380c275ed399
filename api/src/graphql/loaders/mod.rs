//! DataLoaders against N+1: what many objects of one response refer to, loaded once per
//! request.
//!
//! - [`records`]: employees and cameras by id.
//! - [`faces`]: enrolled faces per employee (count, latest consent).
//! - [`nodes`]: the cluster node reading each camera.

pub mod faces;
pub mod nodes;
pub mod records;

pub use faces::{ConsentLoader, FaceCountLoader};
pub use nodes::CameraNodeLoader;
pub use records::{CameraLoader, EmployeeLoader};
