//! `cluster_nodes`: one row per node id of a cluster on PostgreSQL: the instance that runs
//! under the id now, how peers reach it, and until when it is alive (PostgreSQL's clock).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "cluster_nodes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub node_id: String,
    /// A random UUID drawn at each start: two processes under one id are told apart by it.
    pub instance_id: String,
    /// How peers reach it (`http://host:port`).
    pub advertise_url: String,
    /// How many cameras it may read (None: no limit).
    pub max_cameras: Option<i32>,
    /// The hadir version it runs.
    pub version: String,
    /// SHA-256 of its camera folder's files (names and contents), in hex.
    pub folder_digest: String,
    pub started_at: DateTimeUtc,
    pub heartbeat_at: DateTimeUtc,
    /// Dead after this, unless renewed.
    pub expires_at: DateTimeUtc,
    /// Its clock minus PostgreSQL's, at its last heartbeat.
    pub clock_skew_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
