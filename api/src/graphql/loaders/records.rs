//! The employees and cameras that many notifications and attendance rows refer to, loaded
//! in one query per request instead of one per row.

use std::collections::HashMap;

use async_graphql::{ErrorExtensions, ResultExt as _, dataloader::Loader};
use entity::camera;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use crate::{
    employees::EmployeeDirectory,
    error::AppError,
    graphql::types::{camera::Camera, employee::Employee},
};

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
