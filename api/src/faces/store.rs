//! Embeddings in the database: little-endian `f32`s with their model, dimensions and the
//! consent time of the enrolment.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::face_embedding;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QuerySelect, Set,
};
use vision::{gallery::Gallery, models::sets::ModelSet};

pub fn to_bytes(vector: &[f32]) -> Vec<u8> {
    vector.iter().flat_map(|v| v.to_le_bytes()).collect()
}

pub fn from_bytes(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

pub async fn insert_embedding(
    db: &impl ConnectionTrait,
    employee_id: &str,
    model: &str,
    vector: &[f32],
    consented_at: DateTime<Utc>,
) -> Result<face_embedding::Model, DbErr> {
    face_embedding::ActiveModel {
        employee_id: Set(employee_id.to_owned()),
        model: Set(model.to_owned()),
        dimensions: Set(vector.len() as i32),
        vector: Set(to_bytes(vector)),
        consented_at: Set(consented_at),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await
}

/// Every embedding of `set`'s embedder, as a gallery of that embedder's dimensions.
pub async fn load_gallery(db: &impl ConnectionTrait, set: ModelSet) -> Result<Gallery, DbErr> {
    let model = set.embedder_name();
    let rows = face_embedding::Entity::find()
        .filter(face_embedding::Column::Model.eq(model))
        .all(db)
        .await?;
    let mut gallery = Gallery::new(model, set.embedding_dimensions());
    for row in rows {
        if let Err(error) = gallery.add(row.employee_id.clone(), &from_bytes(&row.vector)) {
            tracing::warn!(id = row.id, %error, "embedding skipped");
        }
    }
    Ok(gallery)
}

/// One employee's embeddings of `model`.
pub async fn embeddings_of(
    db: &impl ConnectionTrait,
    employee_id: &str,
    model: &str,
) -> Result<Vec<Vec<f32>>, DbErr> {
    Ok(face_embedding::Entity::find()
        .filter(face_embedding::Column::EmployeeId.eq(employee_id))
        .filter(face_embedding::Column::Model.eq(model))
        .all(db)
        .await?
        .into_iter()
        .map(|row| from_bytes(&row.vector))
        .collect())
}

/// (rows, highest id) of a model's embeddings: changes whenever one is added or removed.
pub async fn signature(db: &impl ConnectionTrait, model: &str) -> Result<(u64, i64), DbErr> {
    let rows = face_embedding::Entity::find()
        .filter(face_embedding::Column::Model.eq(model))
        .count(db)
        .await?;
    let highest: Option<i64> = face_embedding::Entity::find()
        .select_only()
        .column_as(face_embedding::Column::Id.max(), "highest")
        .filter(face_embedding::Column::Model.eq(model))
        .into_tuple::<Option<i64>>()
        .one(db)
        .await?
        .flatten();
    Ok((rows, highest.unwrap_or(0)))
}

pub async fn count_other_models(db: &impl ConnectionTrait, model: &str) -> Result<u64, DbErr> {
    face_embedding::Entity::find()
        .filter(face_embedding::Column::Model.ne(model))
        .count(db)
        .await
}

pub async fn count_faces(
    db: &impl ConnectionTrait,
    employee_id: &str,
    model: &str,
) -> Result<u64, DbErr> {
    face_embedding::Entity::find()
        .filter(face_embedding::Column::EmployeeId.eq(employee_id))
        .filter(face_embedding::Column::Model.eq(model))
        .count(db)
        .await
}

/// Face counts of several employees (those with none are absent).
pub async fn count_faces_of(
    db: &impl ConnectionTrait,
    employee_ids: &[String],
    model: &str,
) -> Result<HashMap<String, i64>, DbErr> {
    let rows: Vec<(String, i64)> = face_embedding::Entity::find()
        .select_only()
        .column(face_embedding::Column::EmployeeId)
        .column_as(face_embedding::Column::Id.count(), "count")
        .filter(face_embedding::Column::EmployeeId.is_in(employee_ids.iter().cloned()))
        .filter(face_embedding::Column::Model.eq(model))
        .group_by(face_embedding::Column::EmployeeId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

/// The latest consent time of each employee's embeddings (those without any are absent).
pub async fn latest_consents(
    db: &impl ConnectionTrait,
    employee_ids: &[String],
) -> Result<HashMap<String, DateTime<Utc>>, DbErr> {
    let rows: Vec<(String, DateTime<Utc>)> = face_embedding::Entity::find()
        .select_only()
        .column(face_embedding::Column::EmployeeId)
        .column(face_embedding::Column::ConsentedAt)
        .filter(face_embedding::Column::EmployeeId.is_in(employee_ids.iter().cloned()))
        .into_tuple()
        .all(db)
        .await?;
    let mut latest: HashMap<String, DateTime<Utc>> = HashMap::new();
    for (employee_id, consented_at) in rows {
        let entry = latest.entry(employee_id).or_insert(consented_at);
        *entry = (*entry).max(consented_at);
    }
    Ok(latest)
}

pub async fn delete_embeddings(db: &impl ConnectionTrait, employee_id: &str) -> Result<u64, DbErr> {
    Ok(face_embedding::Entity::delete_many()
        .filter(face_embedding::Column::EmployeeId.eq(employee_id))
        .exec(db)
        .await?
        .rows_affected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_round_trip_through_bytes() {
        let v = vec![0.5f32, -1.25, 3.0e-8, f32::MAX];
        assert_eq!(from_bytes(&to_bytes(&v)), v);
        assert_eq!(to_bytes(&v).len(), 16);
    }
}
