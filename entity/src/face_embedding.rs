//! `face_embeddings`: enrolled face embeddings, several per employee.
//!
//! `vector` holds `dimensions` little-endian `f32`s; `model` names the model that made it, so
//! that vectors of different models are never compared.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "face_embeddings")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub employee_id: String,
    pub model: String,
    pub dimensions: i32,
    pub vector: Vec<u8>,
    pub consented_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
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
