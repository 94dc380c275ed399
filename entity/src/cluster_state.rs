//! `cluster_state`: small values the leader keeps for the cluster, by key (how far the
//! attendance closer has closed days, say), so that a new leader goes on where the last
//! stopped.

use sea_orm::entity::prelude::*;

/// The last day the attendance closer closed (`YYYY-MM-DD`).
pub const ATTENDANCE_CLOSED_THROUGH: &str = "attendance_closed_through";

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "cluster_state")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    #[sea_orm(column_type = "Text")]
    pub value: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
