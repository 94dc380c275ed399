//! `visits`: the presence history. An employee at one camera from `started_at` to `ended_at`;
//! consecutive sightings at one camera extend the visit, a gap longer than `lost_after` or
//! another camera starts a new one.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "visits")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub employee_id: String,
    pub camera_id: Option<String>,
    pub started_at: DateTimeUtc,
    pub ended_at: DateTimeUtc,
    pub sightings: i32,
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

impl ActiveModelBehavior for ActiveModel {}
