//! Reads of tokens from the database, batched: tokens to read queue up while
//! [`AUTH_READERS`] queries run, and the next query reads up to [`AUTH_READ_BATCH`] of them.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicU64, Ordering},
    },
};

use entity::api_token;
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter};

use crate::error::{AppError, AppResult};

/// Queries reading tokens at once. Tokens to read queue up while these run and the next
/// query reads up to [`AUTH_READ_BATCH`] of them: a crowd of distinct tokens is read in a
/// few hundred queries instead of one each (each of those held ~15 KB while it waited for a
/// connection: 7,000 of them held 100 MB at the peak of a 10,000-client storm).
pub const AUTH_READERS: usize = 2;
/// Tokens one query reads at most (`WHERE token_hash IN (…)`).
pub const AUTH_READ_BATCH: usize = 256;

/// What a read of one token found: its record, if it exists unrevoked.
type ReadResult = Result<Option<api_token::Model>, String>;

/// Tokens waiting to be read, and how many readers are at it.
#[derive(Debug, Default)]
pub(super) struct ReadQueue {
    pub(super) waiting: Vec<(String, tokio::sync::oneshot::Sender<ReadResult>)>,
    pub(super) readers: usize,
}

/// Reads tokens by hash, [`AUTH_READ_BATCH`] a query; cheap to clone (one queue).
#[derive(Clone, Debug)]
pub(super) struct TokenReader {
    db: DatabaseConnection,
    /// Tokens waiting to be read (see [`AUTH_READERS`]).
    queue: Arc<Mutex<ReadQueue>>,
    /// Queries reading tokens made so far.
    queries_made: Arc<AtomicU64>,
}

impl TokenReader {
    pub(super) fn new(db: DatabaseConnection) -> Self {
        Self {
            db,
            queue: Arc::default(),
            queries_made: Arc::default(),
        }
    }

    pub(super) fn queue(&self) -> MutexGuard<'_, ReadQueue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queries reading tokens made so far.
    #[cfg(test)]
    pub(super) fn queries_made(&self) -> u64 {
        self.queries_made.load(Ordering::Relaxed)
    }

    /// The unrevoked record of token `hash`, read with the other tokens waiting (see
    /// [`AUTH_READERS`]).
    pub(super) async fn read(&self, hash: &str) -> AppResult<Option<api_token::Model>> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let start_reader = {
            let mut reads = self.queue();
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
            Ok(Err(reason)) => Err(AppError::Database(DbErr::Custom(reason))),
            Err(_) => Err(AppError::Refused(
                "the token reader stopped before answering".to_owned(),
            )),
        }
    }

    /// Reads the queued tokens, [`AUTH_READ_BATCH`] a query, until none is left.
    pub(super) async fn read_queued(self) {
        loop {
            let batch: Vec<_> = {
                let mut reads = self.queue();
                if reads.waiting.is_empty() {
                    reads.readers -= 1;
                    return;
                }
                let n = reads.waiting.len().min(AUTH_READ_BATCH);
                reads.waiting.drain(..n).collect()
            };
            self.queries_made.fetch_add(1, Ordering::Relaxed);
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
                    let reason = match error {
                        // A role this version does not know: `api_tokens: unexpected value
                        // for Role enum: …`.
                        DbErr::Type(message) => format!("api_tokens: {message}"),
                        other => other.to_string(),
                    };
                    for (_, answer) in batch {
                        let _ = answer.send(Err(reason.clone()));
                    }
                }
            }
        }
    }
}
