//! Connecting to the database (SQLite by default, PostgreSQL at scale) and migrating it.

use std::{path::Path, time::Duration};

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};

/// Connections kept open to PostgreSQL per process.
pub const POSTGRES_MAX_CONNECTIONS: u32 = 16;
/// Connections kept open to SQLite (one writer at a time; readers run beside it in WAL mode).
pub const SQLITE_MAX_CONNECTIONS: u32 = 8;
/// How long a query waits for a free connection.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// Could not open or migrate the database.
#[derive(Debug, thiserror::Error)]
pub enum DbSetupError {
    #[error("cannot create the folder {folder} for the SQLite database: {source}")]
    Folder {
        folder: String,
        source: std::io::Error,
    },
    #[error("cannot connect to the database {url}: {source}")]
    Connect { url: String, source: sea_orm::DbErr },
    #[error("cannot migrate the database {url}: {source}")]
    Migrate { url: String, source: sea_orm::DbErr },
    #[error("cannot copy the database {url} before migrating it ({source}); it is left unchanged")]
    Backup {
        url: String,
        source: crate::backup::BackupError,
    },
    #[error(
        "the database {url} is read-only ({source}): hadir records every sighting in it; make \
         the file, its -wal and -shm files and its folder writable for the user hadir runs as"
    )]
    ReadOnly { url: String, source: sea_orm::DbErr },
}

/// Opens the database at `url` (creating an SQLite file and its folder when needed) and
/// applies every pending migration.
pub async fn connect_and_migrate(url: &str) -> Result<DatabaseConnection, DbSetupError> {
    let db = connect(url).await?;
    migrate(&db, url).await?;
    Ok(db)
}

/// Applies every pending migration to `db` (opened from `url`, named in errors); on SQLite
/// also checks that the file can be written.
pub async fn migrate(db: &DatabaseConnection, url: &str) -> Result<(), DbSetupError> {
    if url.starts_with("sqlite:")
        && let Some(path) = sqlite_path(url)
    {
        copy_before_migrating(db, url, path).await?;
    }
    Migrator::up(db, None)
        .await
        .map_err(|source| DbSetupError::Migrate {
            url: redact_database_url(url),
            source,
        })?;
    if url.starts_with("sqlite:") {
        // A write that changes nothing: refused at once by a read-only database (a file
        // others own, an immutable file, a read-only mount), which SQLite opens read-only
        // without a word.
        use sea_orm::ConnectionTrait;
        db.execute_unprepared("UPDATE seaql_migrations SET version = version WHERE 0")
            .await
            .map_err(|source| DbSetupError::ReadOnly {
                url: redact_database_url(url),
                source,
            })?;
    }
    Ok(())
}

/// Copies an SQLite database that has migrations to apply before they change it (a new,
/// empty database is not copied): `<file>.before-migration-<its last migration>`.
async fn copy_before_migrating(
    db: &DatabaseConnection,
    url: &str,
    path: &Path,
) -> Result<(), DbSetupError> {
    let migrate_error = |source| DbSetupError::Migrate {
        url: redact_database_url(url),
        source,
    };
    let applied = Migrator::get_applied_migrations(db)
        .await
        .map_err(migrate_error)?;
    let Some(last) = applied.last() else {
        return Ok(());
    };
    if Migrator::get_pending_migrations(db)
        .await
        .map_err(migrate_error)?
        .is_empty()
    {
        return Ok(());
    }
    let copy = crate::backup::sqlite::before_migration(db, path, last.name())
        .await
        .map_err(|source| DbSetupError::Backup {
            url: redact_database_url(url),
            source,
        })?;
    tracing::info!(
        copy = %copy.display(),
        "the database has migrations to apply: copied it first"
    );
    Ok(())
}

/// Opens the database at `url` without migrating.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbSetupError> {
    let is_sqlite = url.starts_with("sqlite:");
    if is_sqlite {
        ensure_sqlite_folder(url)?;
    }
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(if is_sqlite {
            SQLITE_MAX_CONNECTIONS
        } else {
            POSTGRES_MAX_CONNECTIONS
        })
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .sqlx_logging(false);
    if is_sqlite {
        options.map_sqlx_sqlite_opts(|o| {
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(ACQUIRE_TIMEOUT)
        });
        options.map_sqlx_sqlite_before_acquire(|connection, _| {
            Box::pin(async move { Ok(sqlite_connection_is_sound(connection)) })
        });
    }
    Database::connect(options)
        .await
        .map_err(|source| DbSetupError::Connect {
            url: redact_database_url(url),
            source,
        })
}

/// Permissions of a folder hadir creates for its SQLite database: the owner only.
pub const SQLITE_FOLDER_MODE: u32 = 0o700;
/// Permissions of the SQLite database and its `-wal` and `-shm` files (embeddings and token
/// hashes): the owner only. SQLite gives the `-wal` and `-shm` files the database's own.
pub const SQLITE_FILE_MODE: u32 = 0o600;

/// The file of an SQLite URL (`sqlite://data/hadir.sqlite?mode=rwc` → `data/hadir.sqlite`),
/// None for an in-memory database.
pub fn sqlite_path(url: &str) -> Option<&Path> {
    let path = url
        .trim_start_matches("sqlite:")
        .trim_start_matches("//")
        .split('?')
        .next()
        .unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then(|| Path::new(path))
}

/// Whether a pooled SQLite connection may be handed out. After a full disk (`SQLITE_FULL`)
/// or an I/O error, SQLite may end the transaction itself; sqlx still counts it open, and
/// from then on wraps every "transaction" on that connection in a savepoint of the one it
/// believes open: a failed write leaves the connection inside a transaction for good,
/// holding the write lock, and every other writer gets "database is locked". Such a
/// connection is closed (which ends what SQLite holds) and the pool opens a fresh one.
fn sqlite_connection_is_sound(connection: &mut sea_orm::sqlx::sqlite::SqliteConnection) -> bool {
    use sea_orm::sqlx::Connection;
    if connection.is_in_transaction() {
        tracing::warn!(
            "an SQLite connection came back inside a transaction (after a full disk or an I/O \
             error, SQLite ends transactions itself); it is closed and replaced"
        );
        return false;
    }
    true
}

/// Creates the folder of an SQLite file URL (owner only, when hadir creates it) and the
/// file itself (owner only); a database file others may read is made private.
pub fn ensure_sqlite_folder(url: &str) -> Result<(), DbSetupError> {
    let Some(path) = sqlite_path(url) else {
        return Ok(());
    };
    let folder_error = |folder: &Path, source| DbSetupError::Folder {
        folder: folder.display().to_string(),
        source,
    };
    if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty())
        && !folder.exists()
    {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, SQLITE_FOLDER_MODE);
        builder
            .create(folder)
            .map_err(|source| folder_error(folder, source))?;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        if !path.exists() {
            // Created empty and private before SQLite opens it (SQLite would use the umask).
            let _ = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(SQLITE_FILE_MODE)
                .open(path);
        }
        for suffix in ["", "-wal", "-shm"] {
            let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
            let Ok(metadata) = std::fs::metadata(&file) else {
                continue;
            };
            if metadata.permissions().mode() & 0o077 != 0 {
                match std::fs::set_permissions(
                    &file,
                    std::fs::Permissions::from_mode(SQLITE_FILE_MODE),
                ) {
                    Ok(()) => tracing::warn!(
                        file = %file.display(),
                        "the database file was readable by others; it is now the owner's only"
                    ),
                    Err(error) => tracing::warn!(
                        file = %file.display(),
                        %error,
                        "the database file is readable by others and cannot be made private"
                    ),
                }
            }
        }
    }
    Ok(())
}

/// The URL with any password replaced, for logs and errors.
pub fn redact_database_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}
