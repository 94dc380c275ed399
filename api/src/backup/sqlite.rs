//! SQLite: a backup is `VACUUM INTO` a new file (a consistent copy, taken beside a running
//! server, whatever its write-ahead log holds), written under a temporary name, made the
//! owner's only (it holds embeddings and token hashes) and renamed into place once complete,
//! then checked. A restore checks the backup, keeps the database it replaces (a copy of its
//! own), and swaps the files with the write-ahead log of the old one removed.

use std::{
    io::Read,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
};

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement};

use super::{
    BACKUP_FILE_MODE, BackupError, COUNTED_TABLES, Report, must_not_exist, stamp, with_suffix,
};

/// The first 16 bytes of every SQLite database file.
const MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// Copies the database `db` is connected to into `dest` (which must not exist).
pub async fn backup(db: &DatabaseConnection, dest: &Path) -> Result<Report, BackupError> {
    must_not_exist(dest)?;
    vacuum_into(db, dest).await?;
    let counts = verify(dest).await?.1;
    Ok(Report {
        written: dest.to_path_buf(),
        counts,
        kept: None,
    })
}

/// `VACUUM INTO` a partial file beside `dest`, made the owner's only, then renamed to `dest`.
async fn vacuum_into(db: &DatabaseConnection, dest: &Path) -> Result<(), BackupError> {
    let partial = with_suffix(dest, &format!(".partial-{}", std::process::id()));
    let write_error = |source| BackupError::Write {
        path: dest.to_path_buf(),
        source,
    };
    if partial.exists() {
        std::fs::remove_file(&partial).map_err(write_error)?;
    }
    let result = async {
        db.execute_raw(Statement::from_sql_and_values(
            DbBackend::Sqlite,
            "VACUUM INTO ?",
            [partial.to_string_lossy().into_owned().into()],
        ))
        .await?;
        std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(BACKUP_FILE_MODE))
            .map_err(write_error)?;
        must_not_exist(dest)?;
        std::fs::rename(&partial, dest).map_err(write_error)
    }
    .await;
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}

/// Checks that `path` is a sound hadir database this build knows: SQLite's header, its
/// integrity check, hadir's migrations (none newer than this build's). Returns its
/// migrations and the rows of the main tables.
pub async fn verify(path: &Path) -> Result<(Vec<String>, Vec<(&'static str, u64)>), BackupError> {
    let not = |reason: String| BackupError::NotABackup {
        path: path.to_path_buf(),
        reason,
    };
    let mut header = [0u8; 16];
    match std::fs::File::open(path) {
        Ok(mut file) => file
            .read_exact(&mut header)
            .map_err(|_| not("it is shorter than an SQLite header".into()))?,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(BackupError::Missing(path.to_path_buf()));
        }
        Err(error) => return Err(not(error.to_string())),
    }
    if &header != MAGIC {
        return Err(not("it is not an SQLite database".into()));
    }
    let url = format!("sqlite://{}?mode=ro", path.display());
    let db = Database::connect(&url).await?;
    let result = check_open(&db, path).await;
    let _ = db.close().await;
    result
}

async fn check_open(
    db: &DatabaseConnection,
    path: &Path,
) -> Result<(Vec<String>, Vec<(&'static str, u64)>), BackupError> {
    let not = |reason: String| BackupError::NotABackup {
        path: path.to_path_buf(),
        reason,
    };
    let integrity = db
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "PRAGMA integrity_check",
        ))
        .await?
        .and_then(|row| row.try_get_by_index::<String>(0).ok())
        .unwrap_or_default();
    if integrity != "ok" {
        return Err(not(format!("SQLite's integrity check says: {integrity}")));
    }
    let versions: Vec<String> = db
        .query_all_raw(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT version FROM seaql_migrations ORDER BY version",
        ))
        .await
        .map_err(|_| not("it has no hadir migrations table (seaql_migrations)".into()))?
        .iter()
        .filter_map(|row| row.try_get::<String>("", "version").ok())
        .collect();
    if versions.is_empty() {
        return Err(not("it records no hadir migration".into()));
    }
    let known: Vec<String> = Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    if let Some(unknown) = versions.iter().find(|v| !known.contains(v)) {
        return Err(BackupError::Newer {
            path: path.to_path_buf(),
            migration: unknown.clone(),
        });
    }
    Ok((versions, counts(db).await?))
}

/// The rows of [`COUNTED_TABLES`] (a table missing in an older database counts 0).
pub async fn counts(db: &DatabaseConnection) -> Result<Vec<(&'static str, u64)>, BackupError> {
    let mut counts = Vec::with_capacity(COUNTED_TABLES.len());
    for table in COUNTED_TABLES {
        let rows = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .ok()
            .flatten()
            .and_then(|row| row.try_get::<i64>("", "n").ok())
            .unwrap_or(0);
        counts.push((table, rows.max(0) as u64));
    }
    Ok(counts)
}

/// Replaces the database file `database` with the backup `file`; the caller holds the serve
/// lock. The database replaced is kept beside it (`….before-restore-<time>`).
pub async fn restore(database: &Path, file: &Path) -> Result<Report, BackupError> {
    let counts = verify(file).await?.1;
    let write_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| BackupError::Write { path, source }
    };
    let kept = if database.exists() {
        let kept = with_suffix(database, &format!(".before-restore-{}", stamp()));
        let url = format!("sqlite://{}", database.display());
        let current = Database::connect(&url).await?;
        let copied = vacuum_into(&current, &kept).await;
        let _ = current.close().await;
        copied?;
        Some(kept)
    } else {
        None
    };
    let partial = with_suffix(database, ".restore-partial");
    std::fs::copy(file, &partial).map_err(write_error(&partial))?;
    std::fs::File::open(&partial)
        .and_then(|f| f.sync_all())
        .map_err(write_error(&partial))?;
    std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(BACKUP_FILE_MODE))
        .map_err(write_error(&partial))?;
    // The old database's write-ahead log must not be applied to the restored file.
    for suffix in ["-wal", "-shm"] {
        match std::fs::remove_file(with_suffix(database, suffix)) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(write_error(&with_suffix(database, suffix))(error)),
        }
    }
    std::fs::rename(&partial, database).map_err(write_error(database))?;
    Ok(Report {
        written: database.to_path_buf(),
        counts,
        kept,
    })
}

/// Copies an SQLite database that has migrations to apply, before they change it
/// (`<file>.before-migration-<its last migration>`); returns the copy's path.
pub async fn before_migration(
    db: &DatabaseConnection,
    database: &Path,
    last_applied: &str,
) -> Result<PathBuf, BackupError> {
    let mut copy = with_suffix(database, &format!(".before-migration-{last_applied}"));
    if copy.exists() {
        copy = with_suffix(&copy, &format!("-{}", stamp()));
    }
    vacuum_into(db, &copy).await?;
    Ok(copy)
}
