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
//! - [`server_secret`]: keys the server makes for itself (grant signing, node requests).
//! - [`cluster_node`], [`lease`]: the nodes of a cluster on PostgreSQL and who holds each
//!   camera and the leader's jobs; [`cluster_state`]: what the leader keeps for the next.
//!
//! Status, type, role and source columns are plain strings in the database (portable between
//! SQLite and PostgreSQL, readable by operators); in Rust each is an enum
//! ([`DeriveActiveEnum`](sea_orm::DeriveActiveEnum)) next to its table:
//! [`api_token::Role`], [`attendance_log::AttendanceStatus`], [`camera::CameraStatus`],
//! [`camera::CameraSource`], [`employee_tracking::TrackingStatus`] and
//! [`notification::NotificationType`]. A value in the database that its enum does not know
//! is an error when the row is read (`unexpected value for <Enum> enum: <value>`), never a
//! default.

pub mod api_token;
pub mod attendance_log;
pub mod camera;
pub mod cluster_node;
pub mod cluster_state;
pub mod employee;
pub mod employee_tracking;
pub mod face_embedding;
pub mod lease;
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

/// Checks that an enum's `as_str` gives the value it is stored as, and reads back from it.
#[cfg(test)]
fn check_stored_values<E>(as_str: fn(E) -> &'static str)
where
    E: sea_orm::ActiveEnum<Value = String> + sea_orm::Iterable + Copy + PartialEq + std::fmt::Debug,
{
    for value in E::iter() {
        assert_eq!(value.to_value(), as_str(value));
        assert_eq!(
            E::try_from_value(&as_str(value).to_owned()).ok(),
            Some(value)
        );
    }
    assert!(E::try_from_value(&"no such value".to_owned()).is_err());
}
