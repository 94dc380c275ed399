//! `notifications`: alerts for the dashboard's bell and for integrators.

use std::fmt;

use sea_orm::entity::prelude::*;

/// What a notification is about: the `type` column (`VARCHAR(32)`, upper case).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum NotificationType {
    /// An employee was not seen for longer than `lost_after`.
    #[sea_orm(string_value = "EMPLOYEE_LOST")]
    EmployeeLost,
    /// A camera delivered nothing for longer than `camera_timeout`.
    #[sea_orm(string_value = "CAMERA_DOWN")]
    CameraDown,
    /// A camera that was down delivers again.
    #[sea_orm(string_value = "CAMERA_UP")]
    CameraUp,
}

impl NotificationType {
    /// The stored value, as the API names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EmployeeLost => "EMPLOYEE_LOST",
            Self::CameraDown => "CAMERA_DOWN",
            Self::CameraUp => "CAMERA_UP",
        }
    }
}

impl fmt::Display for NotificationType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notifications")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub employee_id: Option<String>,
    pub camera_id: Option<String>,
    #[sea_orm(column_name = "type")]
    pub kind: NotificationType,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_stored_under_their_names() {
        crate::check_stored_values(NotificationType::as_str);
    }
}
