//! `ApiToken` (the stored record, never the secret), `NewApiToken` (the secret, once) and `Me`.

use super::timestamp::Timestamp;
use async_graphql::{Enum, ID, SimpleObject};
use entity::api_token;

/// What a token may do.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "entity::api_token::Role")]
pub enum Role {
    /// Everything: queries, subscriptions, every mutation.
    Admin,
    /// Queries and subscriptions.
    Viewer,
    /// `reportSighting` and `reportCameraHeartbeat` only (edge devices).
    Ingest,
}

/// A stored token.
#[derive(SimpleObject, Clone, Debug)]
pub struct ApiToken {
    pub id: ID,
    pub name: String,
    pub role: Role,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

impl From<api_token::Model> for ApiToken {
    fn from(model: api_token::Model) -> Self {
        Self {
            id: ID(model.id.to_string()),
            name: model.name,
            role: model.role.into(),
            created_at: model.created_at.into(),
            last_used_at: model.last_used_at.map(Timestamp),
            revoked_at: model.revoked_at.map(Timestamp),
        }
    }
}

/// A token just created. `token` is shown this once: hadir keeps only its hash.
#[derive(SimpleObject, Clone, Debug)]
pub struct NewApiToken {
    pub token: String,
    pub api_token: ApiToken,
}

/// The caller.
#[derive(SimpleObject, Clone, Debug)]
pub struct Me {
    pub role: Role,
    /// The caller's token (null for the bootstrap `HADIR_ADMIN_TOKEN`).
    pub token_id: Option<ID>,
}
