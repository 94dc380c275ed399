//! Queries about cameras.

use async_graphql::ResultExt as _;
use async_graphql::{Context, ID, Object};

use crate::{
    graphql::{guard::RoleGuard, types::Camera},
    state::AppState,
};

#[derive(Default)]
pub struct CameraQuery;

#[Object]
impl CameraQuery {
    /// Every camera, by id.
    #[graphql(guard = "RoleGuard::read()")]
    async fn cameras(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Camera>> {
        let state = ctx.data_unchecked::<AppState>();
        Ok(state
            .cameras
            .list()
            .await
            .extend()?
            .into_iter()
            .map(Camera::from)
            .collect())
    }

    /// One camera; null when there is none with that id.
    #[graphql(guard = "RoleGuard::read()")]
    async fn camera(
        &self,
        ctx: &Context<'_>,
        camera_id: ID,
    ) -> async_graphql::Result<Option<Camera>> {
        let state = ctx.data_unchecked::<AppState>();
        Ok(state
            .cameras
            .get(&camera_id)
            .await
            .extend()?
            .map(Camera::from))
    }
}
