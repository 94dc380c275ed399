//! Tests of the token store on a SQLite file: the cache against revocations, the batched
//! reads, the writes of `last_used_at`.

use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use entity::api_token;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};

use super::{
    cache::AUTH_CACHE_TTL,
    last_used::LAST_USED_FLUSH_INTERVAL,
    principal::Role,
    reader::{AUTH_READ_BATCH, AUTH_READERS},
    revocation::REVOCATION_POLL_INTERVAL,
    store::TokenStore,
};

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
    let watch = tokio::spawn(
        store
            .clone()
            .run_revocation_watch(crate::auth::REVOCATION_POLL_INTERVAL),
    );
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
    assert_eq!(store.last_used.pending().uses.len(), 3);
    // ... but by the flush that follows within LAST_USED_FLUSH_INTERVAL.
    tokio::time::sleep(LAST_USED_FLUSH_INTERVAL + Duration::from_millis(500)).await;
    for token in &tokens {
        let used = stored(&store, token.record.id).await.last_used_at.unwrap();
        assert!(used >= before - TimeDelta::seconds(1), "{used}");
    }
    assert!(store.last_used.pending().uses.is_empty());
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
    assert!(store.last_used.pending().uses.is_empty());
}

fn queries(store: &TokenStore) -> u64 {
    store.reader.queries_made()
}

/// Keeps new reads from starting (as if every reader were busy) until it is dropped.
struct ReadersBusy(TokenStore);

impl ReadersBusy {
    fn new(store: &TokenStore) -> Self {
        store.reader.queue().readers += AUTH_READERS;
        Self(store.clone())
    }
}

impl Drop for ReadersBusy {
    fn drop(&mut self) {
        let mut reads = self.0.reader.queue();
        reads.readers -= AUTH_READERS;
        if !reads.waiting.is_empty() {
            reads.readers += 1;
            tokio::spawn(self.0.reader.clone().read_queued());
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
    let answers = all_at_once(&store, (0..200).map(|_| store.authenticate(&created.token))).await;
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
    assert!(store.reader.queue().waiting.is_empty());
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

#[tokio::test]
async fn a_token_with_a_role_this_version_does_not_know_is_an_error() {
    let (_dir, store) = store().await;
    let created = store.create(Role::Viewer, "old").await.unwrap();
    store
        .db
        .execute_unprepared("UPDATE api_tokens SET role = 'root'")
        .await
        .unwrap();
    // Neither taken as some role nor as no token: an error naming the table and the value.
    let error = store.authenticate(&created.token).await.unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("api_tokens") && message.contains("root"),
        "{message}"
    );
}
