//! `hadir migrate`: applies pending database migrations and exits.

use crate::{config::Config, db};

/// Migrates the configured database.
pub async fn run(config: &Config) -> anyhow::Result<()> {
    db::connect_and_migrate(&config.database_url).await?;
    println!(
        "database {} is up to date",
        db::redact_database_url(&config.database_url)
    );
    Ok(())
}
