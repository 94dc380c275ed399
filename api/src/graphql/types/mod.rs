//! The GraphQL object types, one file per domain, built from the services' records.

pub mod ai_status;
pub mod attendance;
pub mod camera;
pub mod cluster;
pub mod employee;
pub mod import;
pub mod notification;
pub mod receipt;
pub mod timestamp;
pub mod token;

pub use ai_status::{AiState, AiStatus};
pub use attendance::{AttendanceLog, AttendanceStatus, AttendanceSummary, Date, Visit};
pub use camera::{Camera, CameraSource, CameraStatus};
pub use cluster::ClusterNode;
pub use employee::{
    ChangeKind, Detection, Employee, EmployeeChange, Presence, PresenceStatus, PresenceSummary,
};
pub use import::{ImportRefusal, ImportRefusalReason, ImportReport};
pub use notification::{Notification, NotificationType};
pub use receipt::{HeartbeatReceipt, SightingReceipt};
pub use timestamp::Timestamp;
pub use token::{ApiToken, Me, NewApiToken, Role};
