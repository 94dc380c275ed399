//! `ClusterNode`: a `hadir serve` process among those on one PostgreSQL (on SQLite the one
//! process), with the cameras it reads.

use super::timestamp::Timestamp;
use async_graphql::{ComplexObject, Context, ID, SimpleObject};

use crate::{auth::Principal, cluster::view::NodeView};

/// A node of the cluster.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct ClusterNode {
    pub node_id: ID,
    #[graphql(skip)]
    pub advertise_url: String,
    /// Its lease on life is being renewed.
    pub live: bool,
    /// It runs the leader's jobs (the presence monitor, attendance, retention, MQTT,
    /// webhooks).
    pub leader: bool,
    /// The cameras it reads, by id.
    pub cameras: Vec<ID>,
    pub started_at: Timestamp,
    pub last_heartbeat: Timestamp,
}

#[ComplexObject]
impl ClusterNode {
    /// How the other nodes reach it (admins only; null for a cluster of one).
    async fn url(&self, ctx: &Context<'_>) -> Option<String> {
        let admin = ctx.data_opt::<Principal>().is_some_and(Principal::is_admin);
        (admin && !self.advertise_url.is_empty()).then(|| self.advertise_url.clone())
    }
}

impl From<NodeView> for ClusterNode {
    fn from(node: NodeView) -> Self {
        Self {
            node_id: ID(node.node_id),
            advertise_url: node.advertise_url,
            live: node.live,
            leader: node.leader,
            cameras: node.cameras.into_iter().map(ID).collect(),
            started_at: node.started_at.into(),
            last_heartbeat: node.heartbeat_at.into(),
        }
    }
}
