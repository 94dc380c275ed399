//! SeaORM entities of hadir: one module per table.
//!
//! # Layout
//! - [`employee`]: the people hadir recognises (the seed's `employees`).
//! - [`face_embedding`]: enrolled face embeddings, several per employee, each with its model.
//! - [`camera`]: the cameras, from `camera_configs/` or created through the API.
//! - [`employee_tracking`]: one row per employee: status, last camera, `last_seen`.
//! - [`visit`]: the presence history: an employee at a camera from one time to another.
//! - [`notification`]: alerts such as `EMPLOYEE_LOST` and `CAMERA_DOWN`.
//! - [`attendance_log`]: one row per employee and day, for reports.
//! - [`api_token`]: bearer tokens (stored hashed) and their roles.
//! - [`server_secret`]: keys the server makes for itself (grant signing).
//!
//! Status and type columns are plain strings in the database (portable between SQLite and
//! PostgreSQL, readable by operators); the `*_STATUS`/`TYPE` constants below name the values.

pub mod api_token;
pub mod attendance_log;
pub mod camera;
pub mod employee;
pub mod employee_tracking;
pub mod face_embedding;
pub mod notification;
pub mod server_secret;
pub mod visit;

pub mod prelude {
    //! The entities under short names.
    pub use crate::api_token::Entity as ApiToken;
    pub use crate::attendance_log::Entity as AttendanceLog;
    pub use crate::camera::Entity as Camera;
    pub use crate::employee::Entity as Employee;
    pub use crate::employee_tracking::Entity as EmployeeTracking;
    pub use crate::face_embedding::Entity as FaceEmbedding;
    pub use crate::notification::Entity as Notification;
    pub use crate::visit::Entity as Visit;
}
