//! The cluster as the API shows it: each node, whether it is alive and leads, the cameras it
//! holds; and which node reads a camera. On SQLite: this node alone, holding every enabled
//! camera.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{camera, cluster_node, lease};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};

use super::{leases, membership::Cluster};

/// One node of the cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeView {
    pub node_id: String,
    /// How peers reach it (empty for a cluster of one).
    pub advertise_url: String,
    /// Its row is being renewed.
    pub live: bool,
    pub leader: bool,
    /// The cameras it holds the lease of, by id.
    pub cameras: Vec<String>,
    pub started_at: DateTime<Utc>,
    pub heartbeat_at: DateTime<Utc>,
}

/// Every node that has a row (dead ones included, until the purge), by id; on SQLite this
/// node alone.
pub async fn nodes(db: &impl ConnectionTrait, me: &Cluster) -> Result<Vec<NodeView>, DbErr> {
    if !me.is_shared() {
        let cameras = camera::Entity::find()
            .filter(camera::Column::Enabled.eq(true))
            .order_by_asc(camera::Column::CameraId)
            .all(db)
            .await?
            .into_iter()
            .map(|c| c.camera_id)
            .collect();
        return Ok(vec![NodeView {
            node_id: me.identity.node_id.clone(),
            advertise_url: String::new(),
            live: true,
            leader: true,
            cameras,
            started_at: me.started_at,
            heartbeat_at: Utc::now(),
        }]);
    }
    let now = leases::database_now(db).await?;
    let live_leases = lease::Entity::find()
        .filter(lease::Column::ExpiresAt.gte(now))
        .order_by_asc(lease::Column::Resource)
        .all(db)
        .await?;
    Ok(cluster_node::Entity::find()
        .order_by_asc(cluster_node::Column::NodeId)
        .all(db)
        .await?
        .into_iter()
        .map(|node| {
            let mine = |l: &&lease::Model| l.instance_id == node.instance_id;
            NodeView {
                live: node.expires_at >= now,
                leader: live_leases
                    .iter()
                    .filter(mine)
                    .any(|l| l.resource == lease::LEADER),
                cameras: live_leases
                    .iter()
                    .filter(mine)
                    .filter_map(|l| l.camera_id().map(str::to_owned))
                    .collect(),
                node_id: node.node_id,
                advertise_url: node.advertise_url,
                started_at: node.started_at,
                heartbeat_at: node.heartbeat_at,
            }
        })
        .collect())
}

/// The node reading each of `camera_ids`, where one does (on SQLite: this node, for enabled
/// cameras).
pub async fn holders(
    db: &impl ConnectionTrait,
    me: &Cluster,
    camera_ids: &[String],
) -> Result<HashMap<String, NodeView>, DbErr> {
    let nodes = nodes(db, me).await?;
    let mut by_camera = HashMap::new();
    for node in nodes.into_iter().filter(|n| n.live) {
        for camera_id in &node.cameras {
            if camera_ids.contains(camera_id) {
                by_camera.insert(camera_id.clone(), node.clone());
            }
        }
    }
    Ok(by_camera)
}
