//! `attendance_logs`: one row per employee and day, for the report page.

use sea_orm::entity::prelude::*;

pub const STATUS_PRESENT: &str = "PRESENT";
pub const STATUS_ABSENT: &str = "ABSENT";
pub const STATUS_LATE: &str = "LATE";
pub const STATUS_LEFT_EARLY: &str = "LEFT_EARLY";

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "attendance_logs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub log_id: i64,
    pub employee_id: String,
    pub date: Date,
    pub first_seen: Option<DateTimeUtc>,
    pub last_seen: Option<DateTimeUtc>,
    /// Minutes present that day.
    pub total_duration: i32,
    pub status: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
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
}

impl Related<super::employee::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Employee.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
