//! `notifications`: alerts for the dashboard's bell and for integrators.

use sea_orm::entity::prelude::*;

/// An employee was not seen for longer than `lost_after`.
pub const TYPE_EMPLOYEE_LOST: &str = "EMPLOYEE_LOST";
/// A camera delivered nothing for longer than `camera_timeout`.
pub const TYPE_CAMERA_DOWN: &str = "CAMERA_DOWN";
/// A camera that was down delivers again.
pub const TYPE_CAMERA_UP: &str = "CAMERA_UP";

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notifications")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub employee_id: Option<String>,
    pub camera_id: Option<String>,
    #[sea_orm(column_name = "type")]
    pub kind: String,
    pub message: String,
    pub created_at: DateTimeUtc,
    pub is_read: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::employee::Entity",
        from = "Column::EmployeeId",
        to = "super::employee::Column::EmployeeId",
        on_delete = "SetNull"
    )]
    Employee,
    #[sea_orm(
        belongs_to = "super::camera::Entity",
        from = "Column::CameraId",
        to = "super::camera::Column::CameraId",
        on_delete = "SetNull"
    )]
    Camera,
}

impl ActiveModelBehavior for ActiveModel {}
