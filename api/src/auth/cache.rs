//! The cache of tokens recently found valid, and of the database lookups under way, so
//! that a crowd checking one token reads it once (see [`AuthCache`]).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};

use super::principal::Principal;

/// How long a token found valid in the database is taken as valid without reading it again.
/// Revocations announced to this process forget it at once; this bounds how long one that
/// is never announced (the revocation watch cannot read the database) goes unnoticed.
pub const AUTH_CACHE_TTL: Duration = Duration::from_secs(1);
/// Tokens remembered at most; when full, expired ones are dropped, and if none has expired,
/// all of them.
pub const AUTH_CACHE_CAPACITY: usize = 65_536;

/// A token found valid in the database.
#[derive(Clone, Debug)]
pub(super) struct Remembered {
    pub(super) principal: Principal,
    /// When the database said so.
    pub(super) checked_at: Instant,
    /// The token's `last_used_at` as known here (written, or about to be).
    pub(super) last_used_at: Option<DateTime<Utc>>,
}

/// The answer of a database lookup of a token, for the checks of the same token waiting on
/// it: None while it runs, then the principal (None: unknown or revoked) or why it failed.
pub(super) type Answer = Option<Result<Option<Principal>, String>>;

/// Tokens recently found valid, by the SHA-256 of the token, and the lookups running.
#[derive(Debug, Default)]
pub(super) struct AuthCache {
    pub(super) entries: HashMap<[u8; 32], Remembered>,
    /// Counts revocations: a lookup that started before one is not remembered, since the
    /// database may have answered before the revocation was written.
    pub(super) epoch: u64,
    /// One database lookup at a time per token: the checks of a token that arrive while it
    /// is read wait for that answer (a crowd sharing a token reads it once).
    pub(super) in_flight: HashMap<[u8; 32], (u64, tokio::sync::watch::Receiver<Answer>)>,
    /// Numbers the lookups, so that one ending removes only itself.
    flights: u64,
}

/// A database lookup of one token under way; dropping it (done, or abandoned because its
/// client left) lets the next check of the token look for itself.
pub(super) struct Flight {
    cache: Arc<Mutex<AuthCache>>,
    key: [u8; 32],
    id: u64,
    /// The cache's epoch when the lookup started.
    pub(super) epoch: u64,
    /// Where the waiting checks of the same token hear the answer.
    pub(super) answer: tokio::sync::watch::Sender<Answer>,
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
    pub(super) fn start_flight(&mut self, key: [u8; 32], cache: &Arc<Mutex<AuthCache>>) -> Flight {
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

    pub(super) fn get(&self, key: &[u8; 32], now: Instant) -> Option<&Remembered> {
        self.entries
            .get(key)
            .filter(|r| now.saturating_duration_since(r.checked_at) < AUTH_CACHE_TTL)
    }

    /// Remembers `entry` unless a revocation came since `epoch`.
    pub(super) fn insert(&mut self, key: [u8; 32], entry: Remembered, epoch: u64, now: Instant) {
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
    pub(super) fn forget(&mut self, id: i64) {
        self.epoch += 1;
        self.entries.retain(|_, r| r.principal.token_id != Some(id));
    }
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    use super::*;
    use crate::auth::principal::Role;

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
}
