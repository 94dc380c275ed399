//! PostgreSQL: a backup is `pg_dump --format=custom` (PostgreSQL's own consistent snapshot,
//! taken beside running nodes), written under a temporary name, made the owner's only and
//! renamed into place, then listed by `pg_restore --list` to check it holds hadir's tables. A
//! restore is refused while any node runs; it first dumps the database it replaces, then
//! empties the `public` schema and runs `pg_restore --single-transaction`.

use std::{
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
};

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

use super::{
    BACKUP_FILE_MODE, BackupError, Report, must_not_exist, sqlite::counts, stamp, with_suffix,
};

/// Where Debian and Ubuntu install PostgreSQL's tools, one folder per major version.
const DEBIAN_TOOLS: &str = "/usr/lib/postgresql";
/// The table every hadir database has, looked for in a dump's table of contents.
const MIGRATIONS_TABLE: &str = "seaql_migrations";

/// `pg_dump` or `pg_restore`: on `PATH`, else the newest in `/usr/lib/postgresql/*/bin`.
pub fn find_tool(tool: &'static str) -> Result<PathBuf, BackupError> {
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    if let Some(found) = on_path
        .iter()
        .map(|dir| dir.join(tool))
        .find(|p| p.is_file())
    {
        return Ok(found);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(DEBIAN_TOOLS)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let path = entry.path().join("bin").join(tool);
            path.is_file().then_some((version, path))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, path)| path)
        .ok_or(BackupError::NoTool { tool })
}

/// Runs `tool` with `args`, its standard error in the error when it fails.
async fn run(tool: &'static str, args: &[&str]) -> Result<Vec<u8>, BackupError> {
    let path = find_tool(tool)?;
    let output = tokio::process::Command::new(&path)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .map_err(|source| BackupError::Tool {
            tool,
            status: "not started".into(),
            stderr: source.to_string(),
        })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(BackupError::Tool {
            tool,
            status: output.status.to_string(),
            stderr: crate::db::redact_database_url(stderr.trim()),
        });
    }
    Ok(output.stdout)
}

/// Dumps the database at `url` into `dest` (which must not exist).
pub async fn backup(
    db: &DatabaseConnection,
    url: &str,
    dest: &Path,
) -> Result<Report, BackupError> {
    must_not_exist(dest)?;
    dump(url, dest).await?;
    check_dump(dest).await?;
    Ok(Report {
        written: dest.to_path_buf(),
        counts: counts(db).await?,
        kept: None,
    })
}

async fn dump(url: &str, dest: &Path) -> Result<(), BackupError> {
    let partial = with_suffix(dest, &format!(".partial-{}", std::process::id()));
    let file_arg = format!("--file={}", partial.display());
    let db_arg = format!("--dbname={url}");
    let result = async {
        run(
            "pg_dump",
            &[
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                &file_arg,
                &db_arg,
            ],
        )
        .await?;
        let write_error = |source| BackupError::Write {
            path: dest.to_path_buf(),
            source,
        };
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

/// Checks that `file` is a custom-format dump holding hadir's migrations table.
pub async fn check_dump(file: &Path) -> Result<(), BackupError> {
    if !file.exists() {
        return Err(BackupError::Missing(file.to_path_buf()));
    }
    let file_arg = file.to_string_lossy().into_owned();
    let listing = run("pg_restore", &["--list", &file_arg])
        .await
        .map_err(|error| BackupError::NotABackup {
            path: file.to_path_buf(),
            reason: format!("pg_restore cannot read it as a pg_dump archive ({error})"),
        })?;
    let listing = String::from_utf8_lossy(&listing);
    if !listing
        .lines()
        .any(|line| line.contains("TABLE") && line.contains(MIGRATIONS_TABLE))
    {
        return Err(BackupError::NotABackup {
            path: file.to_path_buf(),
            reason: format!(
                "the dump has no {MIGRATIONS_TABLE} table: it is not of a hadir database"
            ),
        });
    }
    Ok(())
}

/// The nodes alive on `db` (none where the cluster's table does not exist yet).
async fn live_nodes(db: &DatabaseConnection) -> Vec<String> {
    db.query_all_raw(Statement::from_string(
        DbBackend::Postgres,
        "SELECT node_id FROM cluster_nodes WHERE expires_at >= now() ORDER BY node_id",
    ))
    .await
    .map(|rows| {
        rows.iter()
            .filter_map(|r| r.try_get::<String>("", "node_id").ok())
            .collect()
    })
    .unwrap_or_default()
}

/// Replaces the database at `url` with the dump `file`: refused while a node runs; the
/// database replaced is dumped first, beside `file` (`….before-restore-<time>.dump`).
pub async fn restore(
    db: &DatabaseConnection,
    url: &str,
    file: &Path,
) -> Result<Report, BackupError> {
    check_dump(file).await?;
    let running = live_nodes(db).await;
    if !running.is_empty() {
        return Err(BackupError::NodesRunning(running.join(", ")));
    }
    let kept = with_suffix(file, &format!(".before-restore-{}.dump", stamp()));
    dump(url, &kept).await?;
    db.execute_unprepared("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        .await?;
    let file_arg = file.to_string_lossy().into_owned();
    let db_arg = format!("--dbname={url}");
    run(
        "pg_restore",
        &[
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            &db_arg,
            &file_arg,
        ],
    )
    .await
    .map_err(|error| BackupError::Tool {
        tool: "pg_restore",
        status: "failed".into(),
        stderr: format!(
            "{error}; the database is empty now: what it held is in {} (hadir restore {0})",
            kept.display()
        ),
    })?;
    Ok(Report {
        written: PathBuf::from(crate::db::redact_database_url(url)),
        counts: counts(db).await?,
        kept: Some(kept),
    })
}
