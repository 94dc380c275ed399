//! `employees`: the people hadir recognises.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "employees")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub employee_id: String,
    pub name: String,
    pub department: Option<String>,
    pub role: Option<String>,
    /// Made by the demo site (removed with it when the demo is switched off).
    pub demo: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_one = "super::employee_tracking::Entity")]
    EmployeeTracking,
    #[sea_orm(has_many = "super::face_embedding::Entity")]
    FaceEmbedding,
}

impl Related<super::employee_tracking::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::EmployeeTracking.def()
    }
}

impl Related<super::face_embedding::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::FaceEmbedding.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
