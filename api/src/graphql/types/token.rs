//! `ApiToken` (the stored record, never the secret), `NewApiToken` (the secret, once) and `Me`.

use async_graphql::{ID, SimpleObject};
use chrono::{DateTime, Utc};
use entity::api_token;

use crate::auth::Role;

/// A stored token.
#[derive(SimpleObject, Clone, Debug)]
pub struct ApiToken {
    pub id: ID,
    pub name: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ApiToken {
    pub fn from_model(model: api_token::Model) -> Option<Self> {
        Some(Self {
            id: ID(model.id.to_string()),
            name: model.name,
            role: Role::parse(&model.role)?,
            created_at: model.created_at,
            last_used_at: model.last_used_at,
            revoked_at: model.revoked_at,
        })
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
