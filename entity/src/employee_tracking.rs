//! `employee_tracking`: one row per employee that has been seen (upserted on `employee_id`).
//! An employee without a row has never been seen: UNAVAILABLE.

use sea_orm::entity::prelude::*;

/// Seen within `lost_after`.
pub const STATUS_AVAILABLE: &str = "AVAILABLE";
/// Not seen for longer than `lost_after`.
pub const STATUS_OFFLINE: &str = "OFFLINE";
/// Never seen (not stored: the absence of a row means it).
pub const STATUS_UNAVAILABLE: &str = "UNAVAILABLE";

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "employee_tracking")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub employee_id: String,
    pub camera_id: Option<String>,
    pub last_seen: DateTimeUtc,
    pub status: String,
    /// Similarity of the last recognition, where known.
    pub score: Option<f64>,
    pub status_changed_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::employee::Entity",
        from = "Column::EmployeeId",
        to = "super::employee::Column::EmployeeId",
        on_delete = "Cascade"
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

impl Related<super::employee::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Employee.def()
    }
}

impl Related<super::camera::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Camera.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
