//! Backups of the database and their restore, and the copy taken before a migration changes
//! an SQLite database.
//!
//! - [`sqlite`]: a consistent online copy (`VACUUM INTO`, beside a running server), checked
//!   (`PRAGMA integrity_check`, hadir's migrations); a restore that keeps the database it
//!   replaces.
//! - [`postgres`]: PostgreSQL's own tools (`pg_dump --format=custom`, `pg_restore`), found
//!   on `PATH` or in `/usr/lib/postgresql/*/bin`; a restore refused while a node runs, after
//!   a dump of what it replaces.
//!
//! Photos are never kept, so a backup holds the employees' embeddings, not their photos:
//! changing the face models means enrolling again (`hadir import` from the photo folder).

pub mod postgres;
pub mod sqlite;

use std::path::{Path, PathBuf};

/// A backup or restore that could not be made; each names the file or tool at fault.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0} already exists: a backup never overwrites a file; name another or remove it")]
    Exists(PathBuf),
    #[error("the backup {0} does not exist")]
    Missing(PathBuf),
    #[error("{path} is not a hadir database backup: {reason}")]
    NotABackup { path: PathBuf, reason: String },
    #[error(
        "{path} was made by a newer hadir (its migration {migration} is unknown to this one): \
         restore it with that version"
    )]
    Newer { path: PathBuf, migration: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the database: {0}")]
    Database(#[from] sea_orm::DbErr),
    #[error(
        "{tool} is not installed (looked on PATH and in /usr/lib/postgresql/*/bin): install \
         PostgreSQL's client tools (Debian: postgresql-client) of the server's version or newer"
    )]
    NoTool { tool: &'static str },
    #[error("{tool} failed ({status}): {stderr}")]
    Tool {
        tool: &'static str,
        status: String,
        stderr: String,
    },
    #[error(
        "hadir nodes are running on this database ({0}): stop every `hadir serve` before a \
         restore"
    )]
    NodesRunning(String),
}

/// What a backup or restore did, for the command to print.
#[derive(Debug, Clone)]
pub struct Report {
    /// The file written (the backup, or the database restored).
    pub written: PathBuf,
    /// What the database held: (table, rows) of the main tables.
    pub counts: Vec<(&'static str, u64)>,
    /// Where the database a restore replaced was kept.
    pub kept: Option<PathBuf>,
}

/// Permissions of a backup (embeddings and token hashes): the owner only.
pub const BACKUP_FILE_MODE: u32 = 0o600;

/// The tables a backup's summary counts.
pub const COUNTED_TABLES: [&str; 5] = [
    "employees",
    "face_embeddings",
    "cameras",
    "visits",
    "notifications",
];

/// `path` with `suffix` added to its file name (`hadir.sqlite` → `hadir.sqlite.before-…`).
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// A UTC time stamp for file names: `20261202T080310Z`.
pub fn stamp() -> String {
    chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string()
}

/// Refuses an existing destination.
fn must_not_exist(path: &Path) -> Result<(), BackupError> {
    if path.exists() {
        return Err(BackupError::Exists(path.to_path_buf()));
    }
    Ok(())
}
