//! `hadir import CSV [--photos DIR] [--json]`: imports a staff directory (see
//! [`crate::import`]): a progress bar on a terminal (plain lines otherwise) on stderr, then
//! the report on stdout. Fails (exit 1) when any row or photo was refused.

use std::{
    io::{IsTerminal as _, Read as _},
    path::PathBuf,
};

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};

use crate::{
    config::Config,
    db,
    employees::EmployeeDirectory,
    events::EventBus,
    faces::{FaceService, FaceSettings},
    import::{
        Importer, Progress,
        photos::PhotoFolder,
        report::{Change, Refusal},
        rows::MAX_CSV_BYTES,
    },
};

/// The arguments of `hadir import`.
#[derive(clap::Args)]
pub struct ImportArgs {
    /// The CSV: employee_id, name, department, role, photos (`;`-separated file names).
    csv: PathBuf,
    /// The folder the photo names are relative to (default: the CSV's folder).
    #[arg(long)]
    photos: Option<PathBuf>,
    /// The report as JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Imports the CSV and prints the report.
pub async fn run(config: &Config, args: &ImportArgs) -> anyhow::Result<()> {
    let csv = read_csv(&args.csv)?;
    let folder = match &args.photos {
        Some(dir) => dir.clone(),
        None => match args.csv.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        },
    };
    let photos = PhotoFolder::open(&folder)?;
    let database = db::connect_and_migrate(&config.database_url).await?;
    let faces = FaceService::open(
        database.clone(),
        FaceSettings::from_settings(&config.recognition)?,
    )
    .await?;
    let importer = Importer::new(EmployeeDirectory::new(database, EventBus::default()), faces);
    let progress = Bar::new();
    let report = importer.run(&csv, &photos, &progress).await?;
    progress.finish();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.to_text());
    }
    let refused = report.refused.len();
    if refused > 0 {
        anyhow::bail!(
            "{} row(s) and {} photo(s) refused (see the report)",
            report.refused_rows(),
            report.refused_photos()
        );
    }
    Ok(())
}

/// The CSV's bytes, refusing one over [`MAX_CSV_BYTES`] before reading it.
fn read_csv(path: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    if size > MAX_CSV_BYTES as u64 {
        anyhow::bail!(
            "{} is {size} bytes; a CSV may be at most {MAX_CSV_BYTES} bytes: split it (re-running \
             an import is safe)",
            path.display()
        );
    }
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(MAX_CSV_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok(bytes)
}

/// A progress bar on a terminal; one line per row otherwise (a log, a pipe).
struct Bar {
    bar: Option<ProgressBar>,
    total: std::sync::atomic::AtomicU64,
    done: std::sync::atomic::AtomicU64,
}

impl Bar {
    fn new() -> Self {
        Self {
            bar: std::io::stderr().is_terminal().then(ProgressBar::hidden),
            total: Default::default(),
            done: Default::default(),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Progress for Bar {
    fn begin(&self, rows: u64) {
        self.total.store(rows, std::sync::atomic::Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            bar.set_length(rows);
            bar.set_style(
                ProgressStyle::with_template("{bar:40} {pos}/{len} rows, {eta} left  {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        }
    }

    fn row(
        &self,
        line: u64,
        employee_id: Option<&str>,
        change: Option<Change>,
        refused: &[Refusal],
    ) {
        let done = self.done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        let total = self.total.load(std::sync::atomic::Ordering::Relaxed);
        let id = employee_id.unwrap_or("-");
        let what = match change {
            Some(Change::Created) => "created",
            Some(Change::Updated) => "updated",
            Some(Change::Unchanged) => "unchanged",
            None => "refused",
        };
        let mut lines = vec![format!("[{done}/{total}] line {line} {id}: {what}")];
        lines.extend(refused.iter().map(|r| {
            format!(
                "    {}{}: {}",
                r.photo
                    .as_deref()
                    .map(|p| format!("{p}: "))
                    .unwrap_or_default(),
                r.reason.name(),
                r.message
            )
        }));
        match &self.bar {
            Some(bar) => {
                // Only what went wrong stays above the bar.
                if !refused.is_empty() {
                    bar.println(lines.join("\n"));
                }
                bar.set_message(format!("{id}: {what}"));
                bar.inc(1);
            }
            None => eprintln!("{}", lines.join("\n")),
        }
    }
}
