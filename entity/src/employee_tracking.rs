//! `employee_tracking`: one row per employee that has been seen (upserted on `employee_id`).
//! An employee without a row has never been seen: UNAVAILABLE.

use std::fmt;

use sea_orm::entity::prelude::*;

/// An employee's stored presence: the `status` column (`VARCHAR(16)`, upper case). Never seen
/// (UNAVAILABLE in the API) is not a value here: the absence of a row means it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum TrackingStatus {
    /// Seen within `lost_after`.
    #[sea_orm(string_value = "AVAILABLE")]
    Available,
    /// Not seen for longer than `lost_after`.
    #[sea_orm(string_value = "OFFLINE")]
    Offline,
}

impl TrackingStatus {
    /// The stored value, as the API names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Available => "AVAILABLE",
            Self::Offline => "OFFLINE",
        }
    }
}

impl fmt::Display for TrackingStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "employee_tracking")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub employee_id: String,
    pub camera_id: Option<String>,
    pub last_seen: DateTimeUtc,
    pub status: TrackingStatus,
    /// Similarity of the last recognition, where known.
    pub score: Option<f64>,
    pub status_changed_at: DateTimeUtc,
    /// Grows by one at every write that changes `status` (a node told a status twice delivers
    /// only what is newer).
    pub status_version: i64,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_stored_under_their_names() {
        crate::check_stored_values(TrackingStatus::as_str);
    }
}
