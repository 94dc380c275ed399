//! `hadir backup FILE`: a consistent copy of the database, taken beside a running server
//! (SQLite: `VACUUM INTO`; PostgreSQL: `pg_dump --format=custom`), checked, then summarised.

use std::path::PathBuf;

use anyhow::Context;
use sea_orm::DbBackend;

use crate::{backup, config::Config, db};

#[derive(clap::Args)]
pub struct BackupArgs {
    /// The file to write (it must not exist).
    pub file: PathBuf,
}

/// Backs up the configured database into `args.file`.
pub async fn run(config: &Config, args: &BackupArgs) -> anyhow::Result<()> {
    let url = &config.database_url;
    if let Some(path) = db::sqlite_path(url).filter(|_| url.starts_with("sqlite:"))
        && !path.exists()
    {
        anyhow::bail!(
            "there is no database at {}: nothing to back up",
            path.display()
        );
    }
    let database = db::connect(url).await?;
    let report = match database.get_database_backend() {
        DbBackend::Postgres => backup::postgres::backup(&database, url, &args.file).await,
        _ => backup::sqlite::backup(&database, &args.file).await,
    }
    .with_context(|| format!("cannot back up {}", db::redact_database_url(url)))?;
    let _ = database.close().await;
    println!(
        "backed up {} into {} ({})",
        db::redact_database_url(url),
        report.written.display(),
        summary(&report.counts)
    );
    Ok(())
}

/// `3 employees, 12 face_embeddings, …`.
pub fn summary(counts: &[(&str, u64)]) -> String {
    counts
        .iter()
        .map(|(table, rows)| format!("{rows} {table}"))
        .collect::<Vec<_>>()
        .join(", ")
}
