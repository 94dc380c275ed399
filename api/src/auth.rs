//! Bearer tokens and roles (the guard that GraphQL resolvers use is `graphql::guard`).
//!
//! Tokens are random (`hdr_` + 64 hex digits) and stored as their SHA-256; the token itself is
//! shown once, when it is created. Roles: `admin` (everything), `viewer` (queries and
//! subscriptions), `ingest` (`reportSighting` and camera heartbeats only).
//!
//! A token that was just found valid is remembered for [`AUTH_CACHE_TTL`], so that a crowd of
//! clients connecting at once (after a restart, every dashboard reconnects, each checking its
//! token at `connection_init` and again at its first `subscribe`) does not read the database
//! for each check (checks of one token that arrive while it is being read wait for that
//! read, and tokens waiting to be read are read together, [`AUTH_READ_BATCH`] a query); a
//! revocation, here or seen from another process, forgets the token at
//! once. `last_used_at` is written for many tokens in one statement every
//! [`LAST_USED_FLUSH_INTERVAL`], not by the request that used the token.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use chrono::{DateTime, TimeDelta, Utc};
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
/// How long a token found valid in the database is taken as valid without reading it again.
/// Revocations announced to this process forget it at once; this bounds how long one that
/// is never announced (the revocation watch cannot read the database) goes unnoticed.
pub const AUTH_CACHE_TTL: Duration = Duration::from_secs(1);
/// Tokens remembered at most; when full, expired ones are dropped, and if none has expired,
/// all of them.
pub const AUTH_CACHE_CAPACITY: usize = 65_536;
/// Queries reading tokens at once. Tokens to read queue up while these run and the next
/// query reads up to [`AUTH_READ_BATCH`] of them: a crowd of distinct tokens is read in a
/// few hundred queries instead of one each (each of those held ~15 KB while it waited for a
/// connection: 7,000 of them held 100 MB at the peak of a 10,000-client storm).
pub const AUTH_READERS: usize = 2;
/// Tokens one query reads at most (`WHERE token_hash IN (…)`).
pub const AUTH_READ_BATCH: usize = 256;
/// Uses of tokens are gathered this long and then written (`last_used_at`) in one statement
/// per [`LAST_USED_BATCH`] tokens; `last_used_at` is exact to within this long.
pub const LAST_USED_FLUSH_INTERVAL: Duration = Duration::from_secs(1);
/// Tokens one `last_used_at` statement updates at most.
pub const LAST_USED_BATCH: usize = 500;

/// What a token may do (the `api_tokens.role` column).
pub use entity::api_token::Role;

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

/// A token found valid in the database.
#[derive(Clone, Debug)]
struct Remembered {
    principal: Principal,
    /// When the database said so.
    checked_at: Instant,
    /// The token's `last_used_at` as known here (written, or about to be).
    last_used_at: Option<DateTime<Utc>>,
}

/// The answer of a database lookup of a token, for the checks of the same token waiting on
/// it: None while it runs, then the principal (None: unknown or revoked) or why it failed.
type Answer = Option<Result<Option<Principal>, String>>;

/// Tokens recently found valid, by the SHA-256 of the token, and the lookups running.
#[derive(Debug, Default)]
struct AuthCache {
    entries: HashMap<[u8; 32], Remembered>,
    /// Counts revocations: a lookup that started before one is not remembered, since the
    /// database may have answered before the revocation was written.
    epoch: u64,
    /// One database lookup at a time per token: the checks of a token that arrive while it
    /// is read wait for that answer (a crowd sharing a token reads it once).
    in_flight: HashMap<[u8; 32], (u64, tokio::sync::watch::Receiver<Answer>)>,
    /// Numbers the lookups, so that one ending removes only itself.
    flights: u64,
}

/// A database lookup of one token under way; dropping it (done, or abandoned because its
/// client left) lets the next check of the token look for itself.
struct Flight {
    cache: Arc<Mutex<AuthCache>>,
    key: [u8; 32],
    id: u64,
    epoch: u64,
    answer: tokio::sync::watch::Sender<Answer>,
}

impl Drop for Flight {
    fn drop(&mut self) {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache
            .in_flight
            .get(&self.key)
            .is_some_and(|(id, _)| *id == self.id)
        {
            cache.in_flight.remove(&self.key);
        }
    }
}

impl AuthCache {
    /// Records a lookup of `key` as running, to be answered through the returned flight.
    fn start_flight(&mut self, key: [u8; 32], cache: &Arc<Mutex<AuthCache>>) -> Flight {
        self.flights += 1;
        let (answer, waiting) = tokio::sync::watch::channel(None);
        self.in_flight.insert(key, (self.flights, waiting));
        Flight {
            cache: cache.clone(),
            key,
            id: self.flights,
            epoch: self.epoch,
            answer,
        }
    }

    fn get(&self, key: &[u8; 32], now: Instant) -> Option<&Remembered> {
        self.entries
            .get(key)
            .filter(|r| now.saturating_duration_since(r.checked_at) < AUTH_CACHE_TTL)
    }

    /// Remembers `entry` unless a revocation came since `epoch`.
    fn insert(&mut self, key: [u8; 32], entry: Remembered, epoch: u64, now: Instant) {
        if epoch != self.epoch {
            return;
        }
        if self.entries.len() >= AUTH_CACHE_CAPACITY && !self.entries.contains_key(&key) {
            self.entries
                .retain(|_, r| now.saturating_duration_since(r.checked_at) < AUTH_CACHE_TTL);
            if self.entries.len() >= AUTH_CACHE_CAPACITY {
                self.entries.clear();
            }
        }
        self.entries.insert(key, entry);
    }

    /// Forgets every entry of token `id`.
    fn forget(&mut self, id: i64) {
        self.epoch += 1;
        self.entries.retain(|_, r| r.principal.token_id != Some(id));
    }
}

/// Uses of tokens not yet written.
#[derive(Debug, Default)]
struct PendingUses {
    /// Token id → when it was last used.
    uses: HashMap<i64, DateTime<Utc>>,
    /// A flush is on its way.
    scheduled: bool,
}

/// Validates tokens against the database and the bootstrap admin token.
#[derive(Clone, Debug)]
pub struct TokenStore {
    db: DatabaseConnection,
    bootstrap_admin_hash: Option<String>,
    /// The id of each token revoked, by this process or (see [`Self::spawn_revocation_watch`])
    /// another: open connections of that token close.
    revoked: tokio::sync::broadcast::Sender<i64>,
    cache: Arc<Mutex<AuthCache>>,
    pending_uses: Arc<Mutex<PendingUses>>,
    /// Tokens waiting to be read (see [`AUTH_READERS`]).
    reads: Arc<Mutex<ReadQueue>>,
    /// Queries reading tokens made so far.
    queries_made: Arc<std::sync::atomic::AtomicU64>,
}

/// What a read of one token found: its record, if it exists unrevoked.
type ReadResult = Result<Option<api_token::Model>, String>;

/// Tokens waiting to be read, and how many readers are at it.
#[derive(Debug, Default)]
struct ReadQueue {
    waiting: Vec<(String, tokio::sync::oneshot::Sender<ReadResult>)>,
    readers: usize,
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
            cache: Arc::default(),
            pending_uses: Arc::default(),
            reads: Arc::default(),
            queries_made: Arc::default(),
        }
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, AuthCache> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn pending_uses(&self) -> std::sync::MutexGuard<'_, PendingUses> {
        self.pending_uses.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forgets token `id` and tells every listener (its sockets close).
    fn announce_revoked(&self, id: i64) {
        self.cache().forget(id);
        let _ = self.revoked.send(id);
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

    /// How many tokens are revoked: one number, read at every poll instead of every id.
    async fn revoked_count(&self) -> AppResult<u64> {
        Ok(api_token::Entity::find()
            .filter(api_token::Column::RevokedAt.is_not_null())
            .count(&self.db)
            .await?)
    }

    /// Looks for tokens revoked elsewhere every [`REVOCATION_POLL_INTERVAL`] and announces
    /// them (tokens revoked here are announced at once). Each poll reads how many tokens
    /// are revoked; their ids are read only when that number changed.
    pub fn spawn_revocation_watch(&self) -> tokio::task::JoinHandle<()> {
        let store = self.clone();
        tokio::spawn(async move {
            let mut known = store.revoked_ids().await.unwrap_or_default();
            let mut ticker = tokio::time::interval(REVOCATION_POLL_INTERVAL);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                let changed = match store.revoked_count().await {
                    Ok(count) => count != known.len() as u64,
                    Err(error) => {
                        tracing::debug!(%error, "cannot look for revoked tokens");
                        continue;
                    }
                };
                if !changed {
                    continue;
                }
                match store.revoked_ids().await {
                    Ok(now) => {
                        for id in now.difference(&known) {
                            store.announce_revoked(*id);
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
        let key: [u8; 32] = Sha256::digest(token.trim().as_bytes()).into();
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
                            return Err(AppError::Database(sea_orm::DbErr::Custom(reason)));
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
        let Some(record) = self.read(hash).await? else {
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

    fn reads(&self) -> std::sync::MutexGuard<'_, ReadQueue> {
        self.reads.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The unrevoked record of token `hash`, read with the other tokens waiting (see
    /// [`AUTH_READERS`]).
    async fn read(&self, hash: &str) -> AppResult<Option<api_token::Model>> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let start_reader = {
            let mut reads = self.reads();
            reads.waiting.push((hash.to_owned(), answer));
            let start = reads.readers < AUTH_READERS;
            if start {
                reads.readers += 1;
            }
            start
        };
        if start_reader {
            // A task of its own: it answers everyone queued, whether this check waits for its
            // answer or not.
            tokio::spawn(self.clone().read_queued());
        }
        match answered.await {
            Ok(Ok(record)) => Ok(record),
            Ok(Err(reason)) => Err(AppError::Database(sea_orm::DbErr::Custom(reason))),
            Err(_) => Err(AppError::Refused(
                "the token reader stopped before answering".to_owned(),
            )),
        }
    }

    /// Reads the queued tokens, [`AUTH_READ_BATCH`] a query, until none is left.
    async fn read_queued(self) {
        loop {
            let batch: Vec<_> = {
                let mut reads = self.reads();
                if reads.waiting.is_empty() {
                    reads.readers -= 1;
                    return;
                }
                let n = reads.waiting.len().min(AUTH_READ_BATCH);
                reads.waiting.drain(..n).collect()
            };
            self.queries_made
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let hashes: Vec<&str> = batch.iter().map(|(hash, _)| hash.as_str()).collect();
            let found = api_token::Entity::find()
                .filter(api_token::Column::TokenHash.is_in(hashes))
                .filter(api_token::Column::RevokedAt.is_null())
                .all(&self.db)
                .await;
            match found {
                Ok(records) => {
                    let by_hash: HashMap<String, api_token::Model> = records
                        .into_iter()
                        .map(|r| (r.token_hash.clone(), r))
                        .collect();
                    // A hash may be queued twice (a check abandoned, then its token checked
                    // again before the reader came to it): each gets the record.
                    for (hash, answer) in batch {
                        let _ = answer.send(Ok(by_hash.get(&hash).cloned()));
                    }
                }
                Err(error) => {
                    let reason = error.to_string();
                    for (_, answer) in batch {
                        let _ = answer.send(Err(reason.clone()));
                    }
                }
            }
        }
    }

    /// Queues a write of `last_used_at` when the known one is older than
    /// [`LAST_USED_RESOLUTION`]; returns the time queued.
    fn note_use(&self, remembered: &Remembered, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let id = remembered.principal.token_id?;
        if remembered
            .last_used_at
            .is_some_and(|t| now - t <= LAST_USED_RESOLUTION)
        {
            return None;
        }
        let mut pending = self.pending_uses();
        pending.uses.insert(id, now);
        if !pending.scheduled {
            pending.scheduled = true;
            let store = self.clone();
            tokio::spawn(async move {
                tokio::time::sleep(LAST_USED_FLUSH_INTERVAL).await;
                store.flush_last_used().await;
            });
        }
        Some(now)
    }

    /// Writes the queued uses of tokens now (also run before the server stops).
    pub async fn flush_last_used(&self) {
        let uses = {
            let mut pending = self.pending_uses();
            pending.scheduled = false;
            std::mem::take(&mut pending.uses)
        };
        let ids: Vec<i64> = uses.keys().copied().collect();
        for batch in ids.chunks(LAST_USED_BATCH) {
            // Each token's latest use of the batch's: within LAST_USED_FLUSH_INTERVAL of all.
            let Some(latest) = batch.iter().filter_map(|id| uses.get(id)).max().copied() else {
                continue;
            };
            let written = api_token::Entity::update_many()
                .col_expr(api_token::Column::LastUsedAt, Some(latest).into())
                .filter(api_token::Column::Id.is_in(batch.iter().copied()))
                .exec(&self.db)
                .await;
            if let Err(error) = written {
                tracing::warn!(tokens = batch.len(), %error, "cannot record the tokens' last use");
            }
        }
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
        Ok(true)
    }

    /// On a first start with no admin token configured and no token stored, creates an admin
    /// token and returns it, to be printed once.
    pub async fn ensure_first_admin(&self) -> AppResult<Option<CreatedToken>> {
        if self.bootstrap_admin_hash.is_some() {
            return Ok(None);
        }
        let active_admins = api_token::Entity::find()
            .filter(api_token::Column::Role.eq(Role::Admin))
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

    fn remembered(id: i64, checked_at: Instant) -> Remembered {
        Remembered {
            principal: Principal {
                token_id: Some(id),
                role: Role::Viewer,
            },
            checked_at,
            last_used_at: None,
        }
    }

    #[test]
    fn the_cache_forgets_expired_and_revoked_tokens() {
        let start = Instant::now();
        let mut cache = AuthCache::default();
        cache.insert([1; 32], remembered(1, start), 0, start);
        cache.insert([2; 32], remembered(2, start), 0, start);
        assert!(cache.get(&[1; 32], start).is_some());
        assert!(cache.get(&[1; 32], start + AUTH_CACHE_TTL).is_none());
        cache.forget(2);
        assert!(cache.get(&[2; 32], start).is_none());
        assert!(cache.get(&[1; 32], start).is_some());
    }

    #[test]
    fn a_lookup_that_started_before_a_revocation_is_not_remembered() {
        let now = Instant::now();
        let mut cache = AuthCache::default();
        let epoch = cache.epoch;
        // The database answered "valid", then the token was revoked, then the answer came back.
        cache.forget(1);
        cache.insert([1; 32], remembered(1, now), epoch, now);
        assert!(cache.get(&[1; 32], now).is_none());
        cache.insert([1; 32], remembered(1, now), cache.epoch, now);
        assert!(cache.get(&[1; 32], now).is_some());
    }

    #[test]
    fn a_full_cache_drops_expired_entries_then_everything() {
        let old = Instant::now();
        let now = old + AUTH_CACHE_TTL;
        let mut cache = AuthCache::default();
        for i in 0..AUTH_CACHE_CAPACITY {
            let mut key = [0u8; 32];
            key[..8].copy_from_slice(&(i as u64).to_le_bytes());
            let checked = if i % 2 == 0 { old } else { now };
            cache.insert(key, remembered(i as i64, checked), 0, now);
        }
        cache.insert([0xff; 32], remembered(-1, now), 0, now);
        assert_eq!(cache.entries.len(), AUTH_CACHE_CAPACITY / 2 + 1);
        while cache.entries.len() < AUTH_CACHE_CAPACITY {
            let key: [u8; 32] = Sha256::digest(cache.entries.len().to_le_bytes()).into();
            cache.insert(key, remembered(0, now), 0, now);
        }
        cache.insert([0xfe; 32], remembered(-2, now), 0, now);
        assert_eq!(cache.entries.len(), 1);
        assert!(cache.get(&[0xfe; 32], now).is_some());
    }

    async fn store() -> (tempfile::TempDir, TokenStore) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("t.sqlite").display()
        );
        let db = crate::db::connect_and_migrate(&url).await.unwrap();
        (dir, TokenStore::new(db, Some("bootstrap")))
    }

    async fn stored(store: &TokenStore, id: i64) -> api_token::Model {
        api_token::Entity::find_by_id(id)
            .one(&store.db)
            .await
            .unwrap()
            .unwrap()
    }

    #[tokio::test]
    async fn revoking_a_token_ends_it_at_once_despite_the_cache() {
        let (_dir, store) = store().await;
        let created = store.create(Role::Viewer, "dashboard").await.unwrap();
        let mut revocations = store.revocations();
        for _ in 0..3 {
            let principal = store.authenticate(&created.token).await.unwrap().unwrap();
            assert_eq!(principal.token_id, Some(created.record.id));
        }
        assert!(store.revoke(created.record.id).await.unwrap());
        assert_eq!(revocations.recv().await.unwrap(), created.record.id);
        assert_eq!(store.authenticate(&created.token).await.unwrap(), None);
        assert_eq!(store.authenticate("hdr_unknown").await.unwrap(), None);
        assert!(
            store
                .authenticate("bootstrap")
                .await
                .unwrap()
                .unwrap()
                .is_admin()
        );
    }

    #[tokio::test]
    async fn a_revocation_by_another_process_ends_the_cached_token_within_a_second() {
        let (_dir, store) = store().await;
        let created = store.create(Role::Viewer, "dashboard").await.unwrap();
        let watch = store.spawn_revocation_watch();
        // Let the watch read the revocations there are before this one.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(store.authenticate(&created.token).await.unwrap().is_some());
        // Another process (`hadir token revoke`): the same database, another store.
        let other = TokenStore::new(store.db.clone(), None);
        let mut revocations = store.revocations();
        other.revoke(created.record.id).await.unwrap();
        let started = Instant::now();
        let announced = tokio::time::timeout(Duration::from_secs(2), revocations.recv()).await;
        assert_eq!(announced.unwrap().unwrap(), created.record.id);
        assert_eq!(store.authenticate(&created.token).await.unwrap(), None);
        assert!(started.elapsed() < REVOCATION_POLL_INTERVAL + AUTH_CACHE_TTL);
        watch.abort();
    }

    #[tokio::test]
    async fn an_unannounced_revocation_ends_the_cached_token_after_the_ttl() {
        let (_dir, store) = store().await;
        let created = store.create(Role::Viewer, "dashboard").await.unwrap();
        assert!(store.authenticate(&created.token).await.unwrap().is_some());
        // Revoked behind the store's back, with no watch running: the cache answers until
        // its entry expires, then the database does.
        let mut active: api_token::ActiveModel = stored(&store, created.record.id).await.into();
        active.revoked_at = Set(Some(Utc::now()));
        active.update(&store.db).await.unwrap();
        assert!(store.authenticate(&created.token).await.unwrap().is_some());
        tokio::time::sleep(AUTH_CACHE_TTL).await;
        assert_eq!(store.authenticate(&created.token).await.unwrap(), None);
    }

    #[tokio::test]
    async fn uses_are_written_together_after_the_flush_interval() {
        let (_dir, store) = store().await;
        let mut tokens = Vec::new();
        for i in 0..3 {
            tokens.push(store.create(Role::Viewer, &format!("t{i}")).await.unwrap());
        }
        let before = Utc::now();
        for _ in 0..5 {
            for token in &tokens {
                assert!(store.authenticate(&token.token).await.unwrap().is_some());
            }
        }
        // Not written by the requests themselves ...
        assert_eq!(stored(&store, tokens[0].record.id).await.last_used_at, None);
        assert_eq!(store.pending_uses().uses.len(), 3);
        // ... but by the flush that follows within LAST_USED_FLUSH_INTERVAL.
        tokio::time::sleep(LAST_USED_FLUSH_INTERVAL + Duration::from_millis(500)).await;
        for token in &tokens {
            let used = stored(&store, token.record.id).await.last_used_at.unwrap();
            assert!(used >= before - TimeDelta::seconds(1), "{used}");
        }
        assert!(store.pending_uses().uses.is_empty());
        // Used again within LAST_USED_RESOLUTION: nothing more to write.
        assert!(
            store
                .authenticate(&tokens[0].token)
                .await
                .unwrap()
                .is_some()
        );
        tokio::time::sleep(AUTH_CACHE_TTL).await;
        assert!(
            store
                .authenticate(&tokens[0].token)
                .await
                .unwrap()
                .is_some()
        );
        assert!(store.pending_uses().uses.is_empty());
    }

    fn queries(store: &TokenStore) -> u64 {
        store
            .queries_made
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Keeps new reads from starting (as if every reader were busy) until it is dropped.
    struct ReadersBusy(TokenStore);

    impl ReadersBusy {
        fn new(store: &TokenStore) -> Self {
            store.reads().readers += AUTH_READERS;
            Self(store.clone())
        }
    }

    impl Drop for ReadersBusy {
        fn drop(&mut self) {
            let mut reads = self.0.reads();
            reads.readers -= AUTH_READERS;
            if !reads.waiting.is_empty() {
                reads.readers += 1;
                tokio::spawn(self.0.clone().read_queued());
            }
        }
    }

    /// Runs `checks` together while the readers are kept busy, so that all of them are under
    /// way before the first read can answer; then lets the reads run.
    async fn all_at_once<F: std::future::Future>(
        store: &TokenStore,
        checks: impl IntoIterator<Item = F>,
    ) -> Vec<F::Output> {
        let busy = ReadersBusy::new(store);
        let release = async {
            tokio::task::yield_now().await;
            drop(busy);
        };
        let (answers, ()) = tokio::join!(futures_util::future::join_all(checks), release);
        answers
    }

    #[tokio::test]
    async fn a_crowd_checking_one_token_reads_it_once() {
        let (_dir, store) = store().await;
        let created = store.create(Role::Viewer, "kiosk").await.unwrap();
        let answers =
            all_at_once(&store, (0..200).map(|_| store.authenticate(&created.token))).await;
        assert!(answers.iter().all(|a| a.as_ref().unwrap().is_some()));
        assert_eq!(queries(&store), 1);
        // Unknown tokens too: one read, the same answer for everyone.
        let answers = all_at_once(&store, (0..50).map(|_| store.authenticate("hdr_nobody"))).await;
        assert!(answers.iter().all(|a| a.as_ref().unwrap().is_none()));
        assert_eq!(queries(&store), 2);
        assert!(store.cache().in_flight.is_empty());
    }

    #[tokio::test]
    async fn a_crowd_of_distinct_tokens_is_read_in_batches() {
        let (_dir, store) = store().await;
        let mut tokens = Vec::new();
        for i in 0..(AUTH_READ_BATCH + 10) {
            tokens.push(store.create(Role::Viewer, &format!("d{i}")).await.unwrap());
        }
        let revoked = store.create(Role::Viewer, "gone").await.unwrap();
        store.revoke(revoked.record.id).await.unwrap();
        let checks = tokens
            .iter()
            .map(|t| t.token.as_str())
            .chain(["hdr_nobody", revoked.token.as_str()])
            .map(|t| store.authenticate(t));
        let answers = all_at_once(&store, checks).await;
        for (answer, token) in answers.iter().zip(&tokens) {
            let principal = answer.as_ref().unwrap().as_ref().unwrap();
            assert_eq!(principal.token_id, Some(token.record.id));
        }
        assert_eq!(answers[tokens.len()].as_ref().unwrap(), &None);
        assert_eq!(answers[tokens.len() + 1].as_ref().unwrap(), &None);
        // One query per AUTH_READ_BATCH tokens, not one per token.
        assert_eq!(
            queries(&store),
            (tokens.len() + 2).div_ceil(AUTH_READ_BATCH) as u64
        );
        assert!(store.reads().waiting.is_empty());
    }

    #[tokio::test]
    async fn an_abandoned_lookup_lets_the_next_check_look_again() {
        let (_dir, store) = store().await;
        let created = store.create(Role::Viewer, "dashboard").await.unwrap();
        // Under way (queued for a reader), then dropped, as when its client leaves.
        let busy = ReadersBusy::new(&store);
        let abandoned = tokio::time::timeout(Duration::ZERO, store.authenticate(&created.token));
        assert!(abandoned.await.is_err());
        assert!(store.cache().in_flight.is_empty());
        drop(busy);
        let principal = store.authenticate(&created.token).await.unwrap().unwrap();
        assert_eq!(principal.token_id, Some(created.record.id));
    }

    #[tokio::test]
    async fn flushing_writes_pending_uses_at_once() {
        let (_dir, store) = store().await;
        let created = store.create(Role::Ingest, "jetson").await.unwrap();
        assert!(store.authenticate(&created.token).await.unwrap().is_some());
        store.flush_last_used().await;
        assert!(
            stored(&store, created.record.id)
                .await
                .last_used_at
                .is_some()
        );
    }
}
