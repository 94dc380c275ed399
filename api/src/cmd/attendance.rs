//! `hadir attendance rebuild --from DAY --to DAY`: recomputes past days' attendance from the
//! visits.

use std::sync::Arc;

use clap::Subcommand;

use crate::{attendance::Attendance, clock::SystemClock, config::Config, db};

/// Attendance upkeep.
#[derive(Subcommand)]
pub enum AttendanceCommand {
    /// Recompute the daily logs of past days from the visits.
    Rebuild {
        /// First day, YYYY-MM-DD (site's time zone).
        #[arg(long)]
        from: chrono::NaiveDate,
        /// Last day, YYYY-MM-DD (inclusive).
        #[arg(long)]
        to: chrono::NaiveDate,
    },
}

/// Runs an attendance command.
pub async fn run(config: &Config, command: AttendanceCommand) -> anyhow::Result<()> {
    let AttendanceCommand::Rebuild { from, to } = command;
    let database = db::connect_and_migrate(&config.database_url).await?;
    let attendance = Attendance::new(
        database,
        Arc::new(config.schedule()?),
        Arc::new(SystemClock),
    );
    let days = attendance.rebuild(from, to).await?;
    println!("rebuilt {days} day(s) of attendance from {from} to {to}");
    Ok(())
}
