//! `hadir report attendance --from DAY --to DAY [--department D] [--format csv|table]`: the
//! daily attendance logs, as the CSV route gives them or as a table.

use clap::Subcommand;

use crate::{attendance::report, config::Config, db};

/// Reports.
#[derive(Subcommand)]
pub enum ReportCommand {
    /// The daily attendance logs from one day to another.
    Attendance {
        #[arg(long)]
        from: chrono::NaiveDate,
        #[arg(long)]
        to: chrono::NaiveDate,
        #[arg(long)]
        department: Option<String>,
        /// csv (RFC 4180) or table.
        #[arg(long, default_value = "table", value_parser = ["csv", "table"])]
        format: String,
    },
}

/// Prints a report.
pub async fn run(config: &Config, command: ReportCommand) -> anyhow::Result<()> {
    let ReportCommand::Attendance {
        from,
        to,
        department,
        format,
    } = command;
    let database = db::connect_and_migrate(&config.database_url).await?;
    let rows = report::logs_between(&database, from, to, department.as_deref()).await?;
    let tz = config.schedule()?.timezone;
    if format == "csv" {
        print!("{}", report::to_csv(&rows, tz));
    } else {
        print!("{}", report::to_table(&rows, tz));
    }
    Ok(())
}
