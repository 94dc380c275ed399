//! `attendance_logs`: one row per employee and day, for the report page.

use std::fmt;

use sea_orm::entity::prelude::*;

/// A day's status: the `status` column (`VARCHAR(16)`, upper case).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum AttendanceStatus {
    /// Seen, on time (or on a day off).
    #[sea_orm(string_value = "PRESENT")]
    Present,
    /// Not seen on a working day that has ended.
    #[sea_orm(string_value = "ABSENT")]
    Absent,
    /// First seen after the start plus the grace minutes.
    #[sea_orm(string_value = "LATE")]
    Late,
    /// Last seen before the end minus the grace minutes (on time in the morning).
    #[sea_orm(string_value = "LEFT_EARLY")]
    LeftEarly,
}

impl AttendanceStatus {
    /// The stored value, as reports show it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Present => "PRESENT",
            Self::Absent => "ABSENT",
            Self::Late => "LATE",
            Self::LeftEarly => "LEFT_EARLY",
        }
    }
}

impl fmt::Display for AttendanceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

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
    pub status: AttendanceStatus,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_stored_under_their_names() {
        crate::check_stored_values(AttendanceStatus::as_str);
    }
}
