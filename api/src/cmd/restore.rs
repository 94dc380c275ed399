//! `hadir restore FILE`: puts a backup made by `hadir backup` in place of the database, with
//! the server stopped (refused while a `serve` runs on the SQLite file, or while any node is
//! alive on PostgreSQL). What it replaces is kept; the restored database is then migrated to
//! this version.

use std::path::PathBuf;

use anyhow::Context;
use sea_orm::DbBackend;

use super::backup::summary;
use crate::{app::startup, backup, config::Config, db};

#[derive(clap::Args)]
pub struct RestoreArgs {
    /// The backup to restore (a file `hadir backup` wrote).
    pub file: PathBuf,
}

/// Restores `args.file` into the configured database.
pub async fn run(config: &Config, args: &RestoreArgs) -> anyhow::Result<()> {
    let url = &config.database_url;
    let shown = db::redact_database_url(url);
    let report = if url.starts_with("sqlite:") {
        let path = db::sqlite_path(url)
            .context("an in-memory SQLite database cannot be restored into")?
            .to_path_buf();
        // Held until the end: no `serve` starts on the file meanwhile.
        let _lock = startup::lock_sqlite(url).context("stop `hadir serve` before a restore")?;
        backup::sqlite::restore(&path, &args.file)
            .await
            .with_context(|| format!("cannot restore {} into {shown}", args.file.display()))?
    } else {
        let database = db::connect(url).await?;
        anyhow::ensure!(
            database.get_database_backend() == DbBackend::Postgres,
            "hadir restores into SQLite and PostgreSQL only"
        );
        let report = backup::postgres::restore(&database, url, &args.file)
            .await
            .with_context(|| format!("cannot restore {} into {shown}", args.file.display()))?;
        let _ = database.close().await;
        report
    };
    let database = db::connect_and_migrate(url).await?;
    let _ = database.close().await;
    println!(
        "restored {} into {shown} ({}); it is migrated to this version of hadir",
        args.file.display(),
        summary(&report.counts)
    );
    if let Some(kept) = &report.kept {
        println!("the database it replaced is kept in {}", kept.display());
    }
    Ok(())
}
