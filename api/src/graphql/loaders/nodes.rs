//! The node reading each camera of a response, loaded once per request.

use std::collections::HashMap;

use async_graphql::{ErrorExtensions, dataloader::Loader};

use crate::{
    cluster::view, error::AppError, graphql::types::cluster::ClusterNode, state::AppState,
};

/// The node reading a camera, by camera id.
pub struct CameraNodeLoader(pub AppState);

impl Loader<String> for CameraNodeLoader {
    type Value = ClusterNode;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, ClusterNode>, Self::Error> {
        let holders = view::holders(&self.0.db, &self.0.cluster, keys)
            .await
            .map_err(|e| AppError::from(e).extend())?;
        Ok(holders
            .into_iter()
            .map(|(camera_id, node)| (camera_id, ClusterNode::from(node)))
            .collect())
    }
}
