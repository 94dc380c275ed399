//! Bearer tokens, roles and the guard that GraphQL resolvers use.
//!
//! Tokens are random (`hdr_` + 64 hex digits) and stored as their SHA-256; the token itself is
//! shown once, when it is created. Roles: `admin` (everything), `viewer` (queries and
//! subscriptions), `ingest` (`reportSighting` and camera heartbeats only).

use async_graphql::{Context, Guard};
use chrono::{TimeDelta, Utc};
use entity::api_token;
use rand::RngCore;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};
use sha2::{Digest, Sha256};

use crate::error::{AppError, AppResult};

/// Prefix of every token hadir makes, so that leaked tokens are easy to recognise.
pub const TOKEN_PREFIX: &str = "hdr_";
/// Random bytes in a token.
pub const TOKEN_BYTES: usize = 32;
/// `last_used_at` is written at most this often per token.
pub const LAST_USED_RESOLUTION: TimeDelta = TimeDelta::minutes(1);
/// Name of the token created on first start when none exists.
pub const FIRST_START_TOKEN_NAME: &str = "first start";
/// How often tokens revoked by another process (`hadir token revoke`, another node) are
/// looked for, so that their WebSockets close within about this long.
pub const REVOCATION_POLL_INTERVAL: std::time::Duration = std::time::Duration::from_millis(500);
/// Revocations waiting for slow listeners before they skip some (and re-check instead).
pub const REVOCATION_QUEUE: usize = 256;
/// Name under which `HADIR_ADMIN_TOKEN` is recorded.
pub const BOOTSTRAP_TOKEN_NAME: &str = "HADIR_ADMIN_TOKEN";

/// What a token may do.
#[derive(async_graphql::Enum, Copy, Clone, Debug, Eq, PartialEq, Hash)]
pub enum Role {
    /// Everything: queries, subscriptions, every mutation.
    Admin,
    /// Queries and subscriptions.
    Viewer,
    /// `reportSighting` and `reportCameraHeartbeat` only (edge devices).
    Ingest,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => api_token::ROLE_ADMIN,
            Role::Viewer => api_token::ROLE_VIEWER,
            Role::Ingest => api_token::ROLE_INGEST,
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            api_token::ROLE_ADMIN => Some(Role::Admin),
            api_token::ROLE_VIEWER => Some(Role::Viewer),
            api_token::ROLE_INGEST => Some(Role::Ingest),
            _ => None,
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who is calling: the token's id (None for the bootstrap token) and role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub token_id: Option<i64>,
    pub role: Role,
}

impl Principal {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// A new random token.
pub fn generate_token() -> String {
    let mut bytes = [0u8; TOKEN_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    format!("{TOKEN_PREFIX}{}", hex::encode(bytes))
}

/// The stored form of a token.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}

/// The token in an `Authorization` value: `Bearer TOKEN` (or the bare token).
pub fn token_from_authorization(value: &str) -> Option<&str> {
    let value = value.trim();
    let token = match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        Some(_) => return None,
        None if value.eq_ignore_ascii_case("bearer") => return None,
        None => value,
    };
    Some(token).filter(|t| !t.is_empty())
}

/// Validates tokens against the database and the bootstrap admin token.
#[derive(Clone, Debug)]
pub struct TokenStore {
    db: DatabaseConnection,
    bootstrap_admin_hash: Option<String>,
    /// The id of each token revoked, by this process or (see [`Self::spawn_revocation_watch`])
    /// another: open connections of that token close.
    revoked: tokio::sync::broadcast::Sender<i64>,
}

/// A token just created: the secret (shown once) and its stored record.
#[derive(Clone, Debug)]
pub struct CreatedToken {
    pub token: String,
    pub record: api_token::Model,
}

impl TokenStore {
    pub fn new(db: DatabaseConnection, bootstrap_admin_token: Option<&str>) -> Self {
        Self {
            db,
            bootstrap_admin_hash: bootstrap_admin_token.map(hash_token),
            revoked: tokio::sync::broadcast::Sender::new(REVOCATION_QUEUE),
        }
    }

    /// The ids of tokens as they are revoked.
    pub fn revocations(&self) -> tokio::sync::broadcast::Receiver<i64> {
        self.revoked.subscribe()
    }

    /// Every revoked token's id.
    async fn revoked_ids(&self) -> AppResult<std::collections::HashSet<i64>> {
        use sea_orm::QuerySelect;
        Ok(api_token::Entity::find()
            .select_only()
            .column(api_token::Column::Id)
            .filter(api_token::Column::RevokedAt.is_not_null())
            .into_tuple::<i64>()
            .all(&self.db)
            .await?
            .into_iter()
            .collect())
    }

    /// Looks for tokens revoked elsewhere every [`REVOCATION_POLL_INTERVAL`] and announces
    /// them (tokens revoked here are announced at once).
    pub fn spawn_revocation_watch(&self) -> tokio::task::JoinHandle<()> {
        let store = self.clone();
        tokio::spawn(async move {
            let mut known = store.revoked_ids().await.unwrap_or_default();
            let mut ticker = tokio::time::interval(REVOCATION_POLL_INTERVAL);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                match store.revoked_ids().await {
                    Ok(now) => {
                        for id in now.difference(&known) {
                            let _ = store.revoked.send(*id);
                        }
                        known = now;
                    }
                    Err(error) => {
                        tracing::debug!(%error, "cannot look for revoked tokens");
                    }
                }
            }
        })
    }

    /// The principal of a token, or None when the token is unknown or revoked.
    pub async fn authenticate(&self, token: &str) -> AppResult<Option<Principal>> {
        let hash = hash_token(token);
        if self.bootstrap_admin_hash.as_deref() == Some(hash.as_str()) {
            return Ok(Some(Principal {
                token_id: None,
                role: Role::Admin,
            }));
        }
        let Some(record) = api_token::Entity::find()
            .filter(api_token::Column::TokenHash.eq(&hash))
            .filter(api_token::Column::RevokedAt.is_null())
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        let Some(role) = Role::parse(&record.role) else {
            tracing::warn!(token_id = record.id, role = %record.role, "token has an unknown role");
            return Ok(None);
        };
        let id = record.id;
        let now = Utc::now();
        if record
            .last_used_at
            .is_none_or(|t| now - t > LAST_USED_RESOLUTION)
        {
            let mut active: api_token::ActiveModel = record.into();
            active.last_used_at = Set(Some(now));
            if let Err(error) = active.update(&self.db).await {
                tracing::warn!(token_id = id, %error, "cannot record the token's last use");
            }
        }
        Ok(Some(Principal {
            token_id: Some(id),
            role,
        }))
    }

    /// Creates a token with `role`; the secret is returned once and never stored.
    pub async fn create(&self, role: Role, name: &str) -> AppResult<CreatedToken> {
        let name = name.trim();
        if name.is_empty() {
            return Err(AppError::invalid("name", "must not be empty"));
        }
        if name.chars().count() > 200 {
            return Err(AppError::invalid("name", "must be at most 200 characters"));
        }
        let token = generate_token();
        let record = api_token::ActiveModel {
            name: Set(name.to_owned()),
            role: Set(role.as_str().to_owned()),
            token_hash: Set(hash_token(&token)),
            created_at: Set(Utc::now()),
            last_used_at: Set(None),
            revoked_at: Set(None),
            ..Default::default()
        }
        .insert(&self.db)
        .await?;
        Ok(CreatedToken { token, record })
    }

    /// Every token (revoked ones too), oldest first.
    pub async fn list(&self) -> AppResult<Vec<api_token::Model>> {
        Ok(api_token::Entity::find()
            .order_by_asc(api_token::Column::Id)
            .all(&self.db)
            .await?)
    }

    /// Revokes a token; false when it was already revoked.
    pub async fn revoke(&self, id: i64) -> AppResult<bool> {
        let record = api_token::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or_else(|| AppError::not_found("token", id.to_string()))?;
        if record.revoked_at.is_some() {
            return Ok(false);
        }
        let mut active: api_token::ActiveModel = record.into();
        active.revoked_at = Set(Some(Utc::now()));
        active.update(&self.db).await?;
        let _ = self.revoked.send(id);
        Ok(true)
    }

    /// On a first start with no admin token configured and no token stored, creates an admin
    /// token and returns it, to be printed once.
    pub async fn ensure_first_admin(&self) -> AppResult<Option<CreatedToken>> {
        if self.bootstrap_admin_hash.is_some() {
            return Ok(None);
        }
        let active_admins = api_token::Entity::find()
            .filter(api_token::Column::Role.eq(api_token::ROLE_ADMIN))
            .filter(api_token::Column::RevokedAt.is_null())
            .count(&self.db)
            .await?;
        if active_admins > 0 {
            return Ok(None);
        }
        self.create(Role::Admin, FIRST_START_TOKEN_NAME)
            .await
            .map(Some)
    }
}

/// The roles a resolver admits; the caller's principal comes from the request's data.
pub struct RoleGuard {
    allowed: &'static [Role],
}

impl RoleGuard {
    /// Queries and subscriptions: admins and viewers.
    pub fn read() -> Self {
        Self {
            allowed: &[Role::Admin, Role::Viewer],
        }
    }

    /// Changes to employees, cameras, notifications and tokens: admins.
    pub fn admin() -> Self {
        Self {
            allowed: &[Role::Admin],
        }
    }

    /// Sightings and heartbeats from edge devices: admins and ingest tokens.
    pub fn ingest() -> Self {
        Self {
            allowed: &[Role::Admin, Role::Ingest],
        }
    }
}

impl Guard for RoleGuard {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        use crate::graphql::error::{forbidden, unauthenticated};
        match ctx.data_opt::<Principal>() {
            None => Err(unauthenticated()),
            Some(p) if self.allowed.contains(&p.role) => Ok(()),
            Some(p) => Err(forbidden(p.role, self.allowed)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hash_stably() {
        let a = generate_token();
        let b = generate_token();
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX));
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 2 * TOKEN_BYTES);
        assert_eq!(hash_token(&a), hash_token(&format!(" {a} ")));
        assert_ne!(hash_token(&a), hash_token(&b));
        assert_eq!(hash_token(&a).len(), 64);
    }

    #[test]
    fn authorization_values_yield_their_token() {
        assert_eq!(token_from_authorization("Bearer abc"), Some("abc"));
        assert_eq!(token_from_authorization("bearer   abc "), Some("abc"));
        assert_eq!(token_from_authorization("abc"), Some("abc"));
        assert_eq!(token_from_authorization("Basic abc"), None);
        assert_eq!(token_from_authorization("Bearer "), None);
        assert_eq!(token_from_authorization(""), None);
    }

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in [Role::Admin, Role::Viewer, Role::Ingest] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
