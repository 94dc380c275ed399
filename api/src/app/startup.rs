//! Start-up, before anything is served: the database opened and migrated, the camera folder
//! synced into it, the first admin token made.
//!
//! - On SQLite one `hadir serve` per database file: an exclusive lock on
//!   `<database file>.serve.lock` (a second one would run every camera twice, unseen);
//!   the CLI's other commands do not take it.
//! - On PostgreSQL, nodes starting at once take turns: the three steps run under a
//!   session-level advisory lock on a `cluster.listen_url` connection, so the migrations, the
//!   camera inserts and the first admin token happen once. The camera folder is synced only
//!   when no live node has another folder (a node missing a file would disable cameras the
//!   others read): otherwise it is skipped and said so, naming both nodes.

use std::{fs::File, io::Write as _, path::PathBuf, time::Duration};

use anyhow::Context as _;
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement,
};

use crate::{auth::TokenStore, cameras, config::Config, db};

/// The advisory lock nodes take turns under at start-up ("hadir" in ASCII).
pub const STARTUP_LOCK_KEY: i64 = 0x68_61_64_69_72;
/// How long a start waits for the others' start-ups to finish.
pub const STARTUP_LOCK_TIMEOUT: Duration = Duration::from_secs(120);

/// Another `hadir serve` runs on this SQLite file.
#[derive(Debug, thiserror::Error)]
#[error(
    "another `hadir serve` (pid {holder}) already serves the SQLite database {database}: it \
     holds {lock}. One server per SQLite file (a second would read every camera again); to \
     run several, put them on one PostgreSQL (HADIR_DATABASE_URL=postgres://…)"
)]
pub struct AlreadyServing {
    pub database: String,
    pub lock: String,
    /// The holder's pid, as its lock file says (`unknown` if unreadable).
    pub holder: String,
}

/// The exclusive lock of the one `serve` on an SQLite file, held while the process runs.
#[derive(Debug)]
pub struct ServeLock {
    _file: File,
    pub path: PathBuf,
}

/// Takes the serve lock of the SQLite database at `url` (None for PostgreSQL).
pub fn lock_sqlite(url: &str) -> anyhow::Result<Option<ServeLock>> {
    let Some(database) = url
        .starts_with("sqlite:")
        .then(|| db::sqlite_path(url))
        .flatten()
    else {
        return Ok(None);
    };
    // The folder as the database wants it (the owner's only), before the lock file.
    db::ensure_sqlite_folder(url)?;
    let mut path = database.as_os_str().to_owned();
    path.push(".serve.lock");
    let path = PathBuf::from(path);
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("cannot open the lock file {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let holder = std::fs::read_to_string(&path)
                .ok()
                .map(|pid| pid.trim().to_owned())
                .filter(|pid| !pid.is_empty() && pid.len() < 32)
                .unwrap_or_else(|| "unknown".to_owned());
            return Err(AlreadyServing {
                database: database.display().to_string(),
                lock: path.display().to_string(),
                holder,
            }
            .into());
        }
        Err(std::fs::TryLockError::Error(error)) => {
            return Err(error).with_context(|| format!("cannot lock {}", path.display()));
        }
    }
    file.set_len(0)?;
    write!(file, "{}", std::process::id())?;
    file.flush()?;
    Ok(Some(ServeLock { _file: file, path }))
}

/// What start-up did that the rest of the server reports.
#[derive(Debug, Default)]
pub struct Started {
    /// The first admin token, when one had to be made (shown in the banner).
    pub first_admin_token: Option<String>,
    /// Why the camera folder was not synced, if it was not (shown by `/healthz`).
    pub folder_skipped: Option<String>,
}

/// Opens and migrates the database, syncs the camera folder and makes the first admin
/// token; on PostgreSQL under the start-up lock. `node_id` pins the folder's local cameras.
pub async fn prepare(
    config: &Config,
    node_id: &str,
    folder_digest: &str,
) -> anyhow::Result<(DatabaseConnection, Started)> {
    let database = db::connect(&config.database_url).await?;
    let lock = match database.get_database_backend() {
        DbBackend::Postgres => {
            let url = config
                .cluster
                .listen_url
                .as_deref()
                .unwrap_or(&config.database_url);
            Some(StartupLock::acquire(url).await?)
        }
        _ => None,
    };
    let result = prepare_locked(config, &database, node_id, folder_digest).await;
    if let Some(lock) = lock {
        lock.release().await;
    }
    Ok((database, result?))
}

async fn prepare_locked(
    config: &Config,
    database: &DatabaseConnection,
    node_id: &str,
    folder_digest: &str,
) -> anyhow::Result<Started> {
    db::migrate(database, &config.database_url).await?;
    tracing::info!(database = %db::redact_database_url(&config.database_url), "database ready");
    let mut started = Started::default();
    match other_folder(database, node_id, folder_digest).await? {
        Some(other) => {
            let reason = format!(
                "the camera folder {} of node {node_id} differs from node {other}'s: it was \
                 not synced (nothing was disabled); give every node the same camera files",
                config.cameras.configs.display()
            );
            tracing::error!("{reason}");
            started.folder_skipped = Some(reason);
        }
        None => sync_folder(config, database, node_id).await?,
    }
    let tokens = TokenStore::new(database.clone(), config.admin_token.as_deref());
    started.first_admin_token = tokens.ensure_first_admin().await?.map(|c| c.token);
    Ok(started)
}

/// A live node other than `node_id` whose camera folder digests otherwise.
async fn other_folder(
    database: &DatabaseConnection,
    node_id: &str,
    folder_digest: &str,
) -> anyhow::Result<Option<String>> {
    if database.get_database_backend() != DbBackend::Postgres {
        return Ok(None);
    }
    let row = database
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT node_id FROM cluster_nodes WHERE expires_at >= now() AND node_id <> $1 \
               AND folder_digest <> $2 ORDER BY node_id LIMIT 1",
            [node_id.into(), folder_digest.into()],
        ))
        .await
        .context("cannot compare the camera folder with the other nodes'")?;
    Ok(match row {
        Some(row) => Some(row.try_get("", "node_id")?),
        None => None,
    })
}

async fn sync_folder(
    config: &Config,
    database: &DatabaseConnection,
    node_id: &str,
) -> anyhow::Result<()> {
    let report = cameras::sync_folder(database, &config.cameras.configs, node_id)
        .await
        .context("cannot sync the camera folder into the database")?;
    for error in &report.errors {
        tracing::error!("camera file skipped: {error}");
    }
    tracing::info!(
        folder = %config.cameras.configs.display(),
        created = report.created.len(),
        updated = report.updated.len(),
        disabled = report.disabled.len(),
        broken = report.errors.len(),
        "camera files synced"
    );
    Ok(())
}

/// The session-level advisory lock of start-up, on a connection of its own.
struct StartupLock {
    connection: DatabaseConnection,
}

impl StartupLock {
    async fn acquire(url: &str) -> anyhow::Result<Self> {
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(db::ACQUIRE_TIMEOUT)
            .sqlx_logging(false);
        let shown = db::redact_database_url(url);
        let connection = Database::connect(options)
            .await
            .with_context(|| format!("cannot connect to {shown} for the start-up lock"))?;
        let take = connection.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_lock($1)",
            [STARTUP_LOCK_KEY.into()],
        ));
        tokio::time::timeout(STARTUP_LOCK_TIMEOUT, take)
            .await
            .map_err(|_| {
                anyhow::anyhow!(
                    "waited {}s for other nodes' start-up (the advisory lock {STARTUP_LOCK_KEY} \
                     on {shown}) in vain",
                    STARTUP_LOCK_TIMEOUT.as_secs()
                )
            })?
            .with_context(|| format!("cannot take the start-up lock on {shown}"))?;
        Ok(Self { connection })
    }

    async fn release(self) {
        let unlock = self.connection.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_unlock($1)",
            [STARTUP_LOCK_KEY.into()],
        ));
        if let Err(error) = unlock.await {
            tracing::warn!(%error, "cannot release the start-up lock (it ends with its session)");
        }
        let _ = self.connection.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_serve_per_sqlite_file() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("h.sqlite").display()
        );
        let first = lock_sqlite(&url).unwrap().expect("a lock on SQLite");
        let error = lock_sqlite(&url).unwrap_err();
        let refused = error
            .downcast_ref::<AlreadyServing>()
            .expect("AlreadyServing");
        assert_eq!(refused.holder, std::process::id().to_string());
        let message = error.to_string();
        assert!(message.contains("h.sqlite"), "{message}");
        assert!(message.contains("PostgreSQL"), "{message}");
        drop(first);
        assert!(
            lock_sqlite(&url).unwrap().is_some(),
            "free again once released"
        );
        assert!(lock_sqlite("postgres://h/db").unwrap().is_none());
    }
}
