//! `leases`: who holds a resource of the cluster — a camera (`camera/<id>`) or the leader's
//! jobs (`leader`) — and until when (PostgreSQL's clock).

use sea_orm::entity::prelude::*;

/// The resource name of a camera's lease.
pub fn camera_resource(camera_id: &str) -> String {
    format!("{CAMERA_PREFIX}{camera_id}")
}

/// The prefix of a camera's resource name.
pub const CAMERA_PREFIX: &str = "camera/";
/// The resource name of the leader's lease.
pub const LEADER: &str = "leader";

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "leases")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub resource: String,
    pub node_id: String,
    pub instance_id: String,
    pub expires_at: DateTimeUtc,
    /// Grows by one at every change of holder.
    pub epoch: i64,
    /// When the holder took it (or renewed it after it had stopped reading).
    pub acquired_at: DateTimeUtc,
}

impl Model {
    /// The camera this lease is for, if it is a camera's.
    pub fn camera_id(&self) -> Option<&str> {
        self.resource.strip_prefix(CAMERA_PREFIX)
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
