//! `hadir doctor [--json]`: checks everything an operator can get wrong (the configuration,
//! the database, the models, the disk, every enabled camera) and says how to fix each; see
//! [`crate::doctor`]. It runs even when the configuration does not load (that is its first
//! finding), changes nothing, and exits 0 when nothing failed (warnings allowed), else 1.

use std::{io::Write as _, path::Path};

use crate::doctor;

#[derive(clap::Args)]
pub struct DoctorArgs {
    /// One JSON object (checks, cameras) instead of text, for scripts.
    #[arg(long)]
    pub json: bool,
}

/// Runs every check, prints the report, and exits 1 when a check failed.
pub async fn run(explicit_file: Option<&Path>, args: &DoctorArgs) -> anyhow::Result<()> {
    let report = doctor::run(explicit_file.map(Path::to_path_buf)).await;
    let out = if args.json {
        format!("{:#}\n", doctor::render::json(&report))
    } else {
        doctor::render::text(&report)
    };
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(out.as_bytes())?;
    stdout.flush()?;
    let code = report.exit_code();
    if code != 0 {
        std::process::exit(code);
    }
    Ok(())
}
