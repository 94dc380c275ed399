//! Each employee's enrolled faces: how many, and the latest consent, for many employees in
//! one query per request.

use std::collections::HashMap;

use async_graphql::{ErrorExtensions, dataloader::Loader};
use sea_orm::DatabaseConnection;

use crate::{error::AppError, faces::store};

/// Enrolled faces (of the configured model, whose name it holds) per employee.
pub struct FaceCountLoader(pub DatabaseConnection, pub &'static str);

impl Loader<String> for FaceCountLoader {
    type Value = i64;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, i64>, Self::Error> {
        let counts = store::count_faces_of(&self.0, keys, self.1)
            .await
            .map_err(|e| AppError::from(e).extend())?;
        Ok(keys
            .iter()
            .map(|k| (k.clone(), counts.get(k).copied().unwrap_or(0)))
            .collect())
    }
}

/// The latest consent time of each employee's enrolled faces.
pub struct ConsentLoader(pub DatabaseConnection);

impl Loader<String> for ConsentLoader {
    type Value = chrono::DateTime<chrono::Utc>;
    type Error = async_graphql::Error;

    async fn load(
        &self,
        keys: &[String],
    ) -> Result<HashMap<String, chrono::DateTime<chrono::Utc>>, Self::Error> {
        store::latest_consents(&self.0, keys)
            .await
            .map_err(|e| AppError::from(e).extend())
    }
}
