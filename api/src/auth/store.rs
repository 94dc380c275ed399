//! [`TokenStore`]: checks tokens (through the cache, then the batched reader), creates,
//! lists and revokes them, and announces revocations to the connections of a token.

use std::{
    sync::{Arc, Mutex, MutexGuard},
    time::Instant,
};

use chrono::{DateTime, Utc};
use entity::api_token;
use sea_orm::{ActiveModelTrait, DatabaseConnection, DbErr, EntityTrait, QueryOrder, Set};

use super::{
    cache::{AuthCache, Remembered},
    last_used::LastUsed,
    principal::{Principal, Role},
    reader::TokenReader,
    revocation::{self, REVOCATION_QUEUE},
    token::{generate_token, hash_token, token_digest},
};
use crate::error::{AppError, AppResult};

/// Names of tokens are at most this long (in characters).
pub const MAX_TOKEN_NAME_CHARS: usize = 200;

/// Validates tokens against the database and the bootstrap admin token.
#[derive(Clone, Debug)]
pub struct TokenStore {
    pub(super) db: DatabaseConnection,
    pub(super) bootstrap_admin_hash: Option<String>,
    /// The id of each token revoked, by this process or (see [`Self::run_revocation_watch`])
    /// another: open connections of that token close.
    revoked: tokio::sync::broadcast::Sender<i64>,
    cache: Arc<Mutex<AuthCache>>,
    /// Uses of tokens, written every `LAST_USED_FLUSH_INTERVAL`.
    pub(super) last_used: LastUsed,
    /// Reads tokens, batched (see `AUTH_READERS`).
    pub(super) reader: TokenReader,
    /// The instance revocations are announced under to the other nodes (PostgreSQL; a
    /// random one until the relay's is set).
    origin: Arc<std::sync::OnceLock<String>>,
    drawn_origin: Arc<str>,
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
            bootstrap_admin_hash: bootstrap_admin_token.map(hash_token),
            revoked: tokio::sync::broadcast::Sender::new(REVOCATION_QUEUE),
            cache: Arc::default(),
            last_used: LastUsed::new(db.clone()),
            reader: TokenReader::new(db.clone()),
            origin: Arc::default(),
            drawn_origin: Arc::from(crate::cluster::identity::new_instance_id()),
            db,
        }
    }

    pub(super) fn cache(&self) -> MutexGuard<'_, AuthCache> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forgets token `id` and tells every listener (its sockets close).
    fn announce_revoked(&self, id: i64) {
        self.cache().forget(id);
        let _ = self.revoked.send(id);
    }

    /// Announces this process's revocations to the other nodes under `instance_id` (the
    /// relay's, which drops its own). Only the first call counts.
    pub fn set_cluster_origin(&self, instance_id: &str) {
        let _ = self.origin.set(instance_id.to_owned());
    }

    /// A token revoked on another node (told on the cluster's control channel): its
    /// connections here close now.
    pub fn revoked_elsewhere(&self, id: i64) {
        self.announce_revoked(id);
    }

    /// The ids of tokens as they are revoked.
    pub fn revocations(&self) -> tokio::sync::broadcast::Receiver<i64> {
        self.revoked.subscribe()
    }

    /// Looks for tokens revoked elsewhere every `interval` and announces them (tokens
    /// revoked here are announced at once; on PostgreSQL the other nodes and `hadir token
    /// revoke` tell on the control channel, and this is the backstop); never returns. Each
    /// poll reads how many tokens are revoked; their ids are read only when that number
    /// changed.
    pub async fn run_revocation_watch(self, interval: std::time::Duration) {
        let db = self.db.clone();
        revocation::watch(db, interval, move |id| self.announce_revoked(id)).await;
    }

    /// The principal of a token, or None when the token is unknown or revoked.
    pub async fn authenticate(&self, token: &str) -> AppResult<Option<Principal>> {
        let key = token_digest(token);
        let hash = hex::encode(key);
        if self.bootstrap_admin_hash.as_deref() == Some(hash.as_str()) {
            return Ok(Some(Principal {
                token_id: None,
                role: Role::Admin,
            }));
        }
        loop {
            let now = Utc::now();
            let flight = {
                let mut cache = self.cache();
                if let Some(remembered) = cache.get(&key, Instant::now()).cloned() {
                    if let Some(used) = self.note_use(&remembered, now)
                        && let Some(entry) = cache.entries.get_mut(&key)
                    {
                        entry.last_used_at = Some(used);
                    }
                    return Ok(Some(remembered.principal));
                }
                match cache.in_flight.get(&key) {
                    Some((_, answer)) => Err(answer.clone()),
                    None => Ok(cache.start_flight(key, &self.cache)),
                }
            };
            match flight {
                // Another check of the same token is reading the database: take its answer
                // (if it was abandoned, because its client left, look again).
                Err(mut answer) => {
                    let answer = answer
                        .wait_for(Option::is_some)
                        .await
                        .ok()
                        .and_then(|a| a.clone());
                    match answer {
                        Some(Ok(principal)) => return Ok(principal),
                        Some(Err(reason)) => {
                            return Err(AppError::Database(DbErr::Custom(reason)));
                        }
                        None => {}
                    }
                }
                Ok(flight) => {
                    let answer = self.look_up(key, &hash, flight.epoch, now).await;
                    flight.answer.send_replace(Some(
                        answer
                            .as_ref()
                            .map(Clone::clone)
                            .map_err(ToString::to_string),
                    ));
                    return answer;
                }
            }
        }
    }

    /// Reads token `hash` from the database and remembers it when valid (unless a revocation
    /// came since `epoch`).
    async fn look_up(
        &self,
        key: [u8; 32],
        hash: &str,
        epoch: u64,
        now: DateTime<Utc>,
    ) -> AppResult<Option<Principal>> {
        let Some(record) = self.reader.read(hash).await? else {
            return Ok(None);
        };
        let principal = Principal {
            token_id: Some(record.id),
            role: record.role,
        };
        let mut remembered = Remembered {
            principal: principal.clone(),
            checked_at: Instant::now(),
            last_used_at: record.last_used_at,
        };
        if let Some(used) = self.note_use(&remembered, now) {
            remembered.last_used_at = Some(used);
        }
        self.cache().insert(key, remembered, epoch, Instant::now());
        Ok(Some(principal))
    }

    /// Queues a write of the token's `last_used_at` when the known one is older than
    /// `LAST_USED_RESOLUTION`; returns the time queued.
    fn note_use(&self, remembered: &Remembered, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.last_used
            .note(remembered.principal.token_id, remembered.last_used_at, now)
    }

    /// Writes the queued uses of tokens now (also run before the server stops).
    pub async fn flush_last_used(&self) {
        self.last_used.flush().await;
    }

    /// Creates a token with `role`; the secret is returned once and never stored.
    pub async fn create(&self, role: Role, name: &str) -> AppResult<CreatedToken> {
        let name = name.trim();
        if name.is_empty() {
            return Err(AppError::invalid("name", "must not be empty"));
        }
        if name.chars().count() > MAX_TOKEN_NAME_CHARS {
            return Err(AppError::invalid(
                "name",
                format!("must be at most {MAX_TOKEN_NAME_CHARS} characters"),
            ));
        }
        let token = generate_token();
        let record = api_token::ActiveModel {
            name: Set(name.to_owned()),
            role: Set(role),
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
        self.announce_revoked(id);
        // The other nodes (PostgreSQL) close its connections too, at once.
        let origin = self
            .origin
            .get()
            .map_or(&*self.drawn_origin, String::as_str);
        let message = crate::cluster::control::ControlMessage::TokenRevoked { token_id: id };
        if let Err(error) = crate::cluster::bus::announce(&self.db, origin, &message).await {
            tracing::warn!(token_id = id, %error, "cannot tell the other nodes a token was revoked (their backstop poll will)");
        }
        Ok(true)
    }
}
