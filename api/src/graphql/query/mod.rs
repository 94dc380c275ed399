//! The query root, merged from one object per domain.

mod attendance;
mod camera;
mod employee;
mod notification;
mod system;

pub use notification::parse_notification_id;

use async_graphql::MergedObject;

/// Every query.
#[derive(MergedObject, Default)]
pub struct QueryRoot(
    employee::EmployeeQuery,
    camera::CameraQuery,
    notification::NotificationQuery,
    system::SystemQuery,
    attendance::AttendanceQuery,
);
