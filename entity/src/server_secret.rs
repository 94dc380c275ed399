//! `server_secrets`: keys the server makes for itself, shared by every process on the
//! database (e.g. the key that signs live-view grants). Never shown through the API.

use sea_orm::entity::prelude::*;

/// The key that signs the grants in `liveUrl` and `snapshotUrl`.
pub const GRANT_KEY: &str = "grant_key";

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "server_secrets")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    /// Hex of the random bytes.
    pub value: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
