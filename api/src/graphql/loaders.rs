//! DataLoaders: the employees and cameras that many notifications refer to, loaded in one
//! query per request instead of one per notification.

use std::collections::HashMap;

use async_graphql::{ErrorExtensions, ResultExt as _, dataloader::Loader};
use entity::camera;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use super::types::{Camera, Employee};
use crate::{employees::EmployeeDirectory, error::AppError, faces::store};

/// Employees (with presence) by id.
pub struct EmployeeLoader(pub EmployeeDirectory);

impl Loader<String> for EmployeeLoader {
    type Value = Employee;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Employee>, Self::Error> {
        Ok(self
            .0
            .get_many(keys)
            .await
            .extend()?
            .into_iter()
            .map(|p| (p.employee.employee_id.clone(), Employee::from(p)))
            .collect())
    }
}

/// Cameras by id.
pub struct CameraLoader(pub DatabaseConnection);

impl Loader<String> for CameraLoader {
    type Value = Camera;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Camera>, Self::Error> {
        let cameras = camera::Entity::find()
            .filter(camera::Column::CameraId.is_in(keys.iter().cloned()))
            .all(&self.0)
            .await
            .map_err(|e| AppError::from(e).extend())?;
        Ok(cameras
            .into_iter()
            .map(|c| (c.camera_id.clone(), Camera::from(c)))
            .collect())
    }
}

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
